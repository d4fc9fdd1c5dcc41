"""The server's context window, read from local fakes shaped like each server's docs.

Shapes: vLLM `GET /v1/models` (max_model_len), llama.cpp `GET /props`
(default_generation_settings.n_ctx), Ollama `GET /api/ps` (context_length of a loaded
model) and `POST /api/show` (parameters' num_ctx, model_info's <arch>.context_length),
LM Studio `GET /api/v0/models/{model}` (loaded_context_length, max_context_length).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from pydantic import SecretStr

from agent.doctor import check_context_window
from agent.llm.chat import GptOssChat
from agent.llm.servers import context_window
from agent.llm.servers.context_window import ANSWER_ROOM, context_budget, discover
from agent.llm.servers.providers import PRESETS, ServerConfig
from agent.settings import Context, Settings
from graphs.research import build_graph
from tests.support.corpus import DOCS
from tests.support.fake_chat import FakeToolCallingModel
from tests.support.fake_tools import FakeCorpus

MODEL = "openai/gpt-oss-20b"
Routes = dict[tuple[str, str], Any]


class FakeServer:
    """Answers (method, path) with a JSON body; everything else is a 404."""

    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self.seen: list[tuple[str, str, Any]] = []
        handler = self._handler()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                server.seen.append((method, self.path, body))
                reply = server.routes.get((method, self.path))
                data = json.dumps(reply if reply is not None else {"error": "not found"})
                self.send_response(200 if reply is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode())

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

        return Handler

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[FakeServer] = []

    def start(routes: Routes) -> FakeServer:
        servers.append(FakeServer(routes))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
    context_window._CACHE.clear()


VLLM: Routes = {
    ("GET", "/v1/models"): {
        "object": "list",
        "data": [{"id": MODEL, "object": "model", "owned_by": "vllm", "max_model_len": 16384}],
    }
}
LLAMACPP: Routes = {
    ("GET", "/props"): {
        "default_generation_settings": {"n_ctx": 8192, "temperature": 0.8},
        "total_slots": 1,
        "model_path": "/models/gpt-oss-20b-mxfp4.gguf",
    },
    ("GET", "/v1/models"): {"object": "list", "data": [{"id": "gpt-oss-20b"}]},
}
LMSTUDIO: Routes = {
    ("GET", f"/api/v0/models/{MODEL}"): {
        "id": MODEL,
        "object": "model",
        "type": "llm",
        "state": "loaded",
        "max_context_length": 131072,
        "loaded_context_length": 4096,
    }
}
SHOW = {"model_info": {"gptoss.context_length": 131072}, "parameters": "temperature 1"}


def ollama(show: dict[str, Any], running: list[dict[str, Any]]) -> Routes:
    return {("POST", "/api/show"): show, ("GET", "/api/ps"): {"models": running}}


@pytest.mark.parametrize(
    ("routes", "kind", "tokens", "source"),
    [
        (VLLM, "vllm", 16384, "vLLM /v1/models max_model_len"),
        (LLAMACPP, "llamacpp", 8192, "llama.cpp /props n_ctx"),
        (LMSTUDIO, "lmstudio", 4096, "LM Studio loaded_context_length"),
        (ollama(SHOW, [{"model": MODEL, "context_length": 32768}]), "ollama", 32768, "/api/ps"),
        (
            ollama({**SHOW, "parameters": "num_ctx 8192\ntemperature 1"}, []),
            "ollama",
            8192,
            "num_ctx",
        ),
        (ollama(SHOW, []), "ollama", 4096, "Ollama's default"),
    ],
)
def test_each_server_shape(serve: Any, routes: Routes, kind: str, tokens: int, source: str) -> None:
    server = serve(routes)
    for asked in (kind, None):  # preset known, or every shape tried in turn
        window = discover(server.url, MODEL, asked)
        assert window is not None
        assert (window.server, window.tokens) == (kind, tokens)
        assert source in window.source


def test_ollama_reports_the_models_trained_maximum(serve: Any) -> None:
    window = discover(serve(ollama(SHOW, [])).url, MODEL, "ollama")
    assert window is not None and window.model_max == 131072
    assert "OLLAMA_CONTEXT_LENGTH" in window.fix()


def test_a_server_that_says_nothing_gives_no_window(serve: Any) -> None:
    assert discover(serve({}).url, MODEL) is None


def test_vllm_window_of_another_model_is_not_taken(serve: Any) -> None:
    assert discover(serve(VLLM).url, "some/other-model", "vllm") is None


def _chat(url: str, label: str) -> GptOssChat:
    return GptOssChat(model=MODEL, base_url=url, api_key=SecretStr("k"), server_label=label)


def test_the_budget_is_the_smaller_of_the_setting_and_the_window(serve: Any) -> None:
    server = serve(LLAMACPP)
    chat = _chat(server.url, "llama.cpp")
    assert context_budget(chat, 24000) == 8192 - ANSWER_ROOM
    assert context_budget(chat, 2000) == 2000
    asked = len(server.seen)
    context_budget(chat, 24000)
    assert len(server.seen) == asked  # asked once per server and model


class ServedFake(FakeToolCallingModel):
    """The scripted model, standing in for a model served by a llama.cpp server."""

    openai_api_base: str
    server_label: str = "llama.cpp"


def test_a_run_on_a_small_window_stops_using_tools_at_the_window(serve: Any) -> None:
    server = serve({("GET", "/props"): {"default_generation_settings": {"n_ctx": 4500}}})
    model = ServedFake(
        script=[AIMessage("Insufficient evidence: the window is small.")],
        openai_api_base=server.url,
        model_name=MODEL,
    )
    graph = build_graph(model, tools=FakeCorpus(dict(DOCS)).tools())
    state = graph.invoke({"question": "Who makes the Zephyr drone?"}, context=Context())
    assert model.calls[0]["tools"] is None  # the first turn already had no tools
    assert state["budget_spent"] == f"{4500 - ANSWER_ROOM} context tokens"
    assert state["answer"].status == "budget_exhausted"


def test_doctor_warns_with_the_fix_for_that_server(serve: Any) -> None:
    server = ServerConfig(serve(LMSTUDIO).url, MODEL, "", PRESETS["lmstudio"])
    check = check_context_window(Settings(), server)
    assert not check.ok
    assert check.detail.startswith("4096 tokens (model maximum 131072), from LM Studio")
    assert "lms load" in check.detail and "--context-length" in check.detail


def test_doctor_accepts_a_window_that_holds_a_run(serve: Any) -> None:
    server = ServerConfig(serve(VLLM).url, MODEL, "", PRESETS["vllm"])
    check = check_context_window(Settings(max_context_tokens=8000), server)
    assert check.ok and check.detail == "16384 tokens, from vLLM /v1/models max_model_len"


def test_a_remote_server_of_unknown_kind_is_not_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_client(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a remote server of unknown kind was asked")

    monkeypatch.setattr(context_window.httpx, "Client", no_client)
    assert discover("https://openrouter.ai/api/v1", MODEL, "openrouter") is None
    with pytest.raises(AssertionError):  # a local one of unknown kind is asked
        discover("http://127.0.0.1:9/v1", MODEL, "openai")


@pytest.mark.parametrize(
    ("routes", "preset", "line"),
    [
        (VLLM, "vllm", "16384 tokens, from vLLM /v1/models max_model_len"),
        (LLAMACPP, "llamacpp", "8192 tokens, from llama.cpp /props n_ctx"),
        (ollama(SHOW, []), "ollama", "4096 tokens (model maximum 131072), from Ollama's default"),
        (LMSTUDIO, "lmstudio", "4096 tokens (model maximum 131072), from LM Studio"),
    ],
)
def test_doctor_shows_the_window_of_each_server(
    serve: Any, routes: Routes, preset: str, line: str
) -> None:
    server = ServerConfig(serve(routes).url, MODEL, "", PRESETS[preset])
    check = check_context_window(Settings(max_context_tokens=2000), server)
    assert check.name == "context window" and check.detail.startswith(line)
    assert check.ok == (int(line.split()[0]) >= 2000 + Settings().output_cap())
