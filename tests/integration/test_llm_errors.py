"""Retries, provider errors and user-facing failures of GptOssChat, over real sockets."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from agent.llm.chat import GptOssChat, build_chat_model
from agent.llm.servers.providers import PRESETS, ServerConfig
from agent.settings import Settings
from tests.support import wire_path
from tests.support.wire_server import Reply, WireServer
from tools.errors import ModelServerError

pytestmark = [pytest.mark.timeout(30)]
QUESTION = [HumanMessage("Capital of France?")]
PARIS = "The capital of France is **Paris**."


def model_for(
    url: str, preset: str = "vllm", wait_cap: float = 30.0, **settings: Any
) -> GptOssChat:
    config = ServerConfig(url, PRESETS[preset].default_model, "test-key", PRESETS[preset])
    values = {"request_timeout": 5.0, "max_retries": 2, **settings}
    return build_chat_model(
        Settings(**values), config, retry_backoff=0.001, retry_wait_cap=wait_cap
    )


def good() -> Reply:
    return Reply.from_file(wire_path("bodies", "cerebras_120b_reasoning_field.json"))


def recorded(name: str) -> list[dict[str, Any]]:
    path = wire_path("cassettes", "pydantic_ai", name)
    return json.loads(path.read_text())["interactions"]


def issue_text(name: str) -> str:
    lines = wire_path("issues", name).read_text().splitlines()
    return "\n".join(line for line in lines if not line.startswith("#")).strip()


def one_line(exc: pytest.ExceptionInfo[ModelServerError]) -> str:
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_groq_tool_use_failed_400_is_retried(wire_server: WireServer) -> None:
    turns = recorded("groq_tool_use_failed_error.json")
    wire_server.script(Reply.from_interaction(turns[0]), Reply.from_interaction(turns[1]))

    message = model_for(wire_server.url, "openrouter").invoke(QUESTION)

    assert len(wire_server.bodies) == 2
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_something_by_name", {"name": "test"})
    ]


def test_groq_in_stream_tool_use_failed_is_retried_without_duplicate_reasoning(
    wire_server: WireServer,
) -> None:
    turns = recorded("groq_tool_use_failed_error_streaming.json")
    wire_server.script(Reply.from_interaction(turns[0]), Reply.from_interaction(turns[1]))
    model = model_for(wire_server.url, "openrouter")

    message = asyncio.run(model.ainvoke(QUESTION, stream=True))

    assert len(wire_server.bodies) == 2
    reasoning = message.additional_kwargs["reasoning_content"]
    assert reasoning.count("We") >= 1 and reasoning == "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("reasoning") or ""
        for line in turns[1]["response"]["body_raw"].splitlines()
        if line.startswith("data: {") and json.loads(line[6:]).get("choices")
    )


def test_tool_use_failed_gives_up_after_max_retries(wire_server: WireServer) -> None:
    failed = recorded("groq_tool_use_failed_error.json")[0]
    wire_server.script(*(Reply.from_interaction(failed) for _ in range(3)))

    with pytest.raises(ModelServerError) as exc:
        model_for(wire_server.url, "openrouter").invoke(QUESTION)

    assert len(wire_server.bodies) == 3
    assert one_line(exc) == (
        f"The OpenRouter server at {wire_server.url} kept rejecting the model's tool calls "
        "(tool_use_failed) after 3 attempts. Ask again, or use another provider."
    )


def test_openrouter_reasoning_mandatory_resends_with_reasoning_on(wire_server: WireServer) -> None:
    text = issue_text("openrouter_cherry9051_reasoning_mandatory_400.txt").removeprefix("400 ")
    wire_server.script(Reply.json({"error": {"message": text, "code": 400}}, 400), good(), good())
    model = model_for(wire_server.url, "openrouter", effort="low")

    assert model.invoke(QUESTION).content == PARIS
    assert model.invoke(QUESTION).content == PARIS  # remembered: no second 400

    first, second, third = wire_server.bodies
    assert first["reasoning_effort"] == "low" and "reasoning" not in first
    assert second["reasoning"] == {"enabled": True, "effort": "low"}
    assert "reasoning_effort" not in second
    assert third["reasoning"] == {"enabled": True, "effort": "low"}


@pytest.mark.serial
def test_429_honours_retry_after(wire_server: WireServer) -> None:
    wire_server.script(
        Reply.json({"error": {"message": "slow down"}}, 429, {"Retry-After": "1"}), good()
    )

    started = time.monotonic()
    answer = model_for(wire_server.url).invoke(QUESTION)

    assert answer.content == PARIS
    assert len(wire_server.bodies) == 2
    assert 1.0 <= time.monotonic() - started < 3.0


@pytest.mark.serial
def test_retry_after_is_capped_and_429_ends_in_a_clear_error(wire_server: WireServer) -> None:
    limited = Reply.json({"error": {"message": "slow down"}}, 429, {"Retry-After": "3600"})
    wire_server.script(limited, limited, limited)

    started = time.monotonic()
    with pytest.raises(ModelServerError) as exc:
        model_for(wire_server.url, wait_cap=0.05).invoke(QUESTION)

    assert time.monotonic() - started < 2.0
    assert len(wire_server.bodies) == 3
    assert one_line(exc) == (
        f"The vLLM server at {wire_server.url} is rate-limiting us (after 3 attempts). "
        "Wait, then retry."
    )


def test_5xx_is_retried_then_reported(wire_server: WireServer) -> None:
    # Ollama answers 500 when the model's arguments do not parse (ollama_12064_...txt).
    error = Reply.text(
        issue_text("ollama_odysseus5877_error_parsing_tool_call_builtin_python.txt"),
        500,
        "text/plain",
    )
    wire_server.script(error, error, error, error)

    with pytest.raises(ModelServerError) as exc:
        asyncio.run(model_for(wire_server.url, "ollama", max_retries=3).ainvoke(QUESTION))

    assert len(wire_server.bodies) == 4
    message = one_line(exc)
    assert message.startswith(f"The Ollama server at {wire_server.url} keeps failing (HTTP 500: ")
    assert message.endswith("after 4 attempts. Check its log.")


def test_5xx_then_success_recovers(wire_server: WireServer) -> None:
    error = Reply.json(
        json.loads(
            wire_path("issues", "fireworks_chatterui435_out_of_tokens_error.json").read_text()
        ),
        503,
    )
    wire_server.script(error, good())

    assert model_for(wire_server.url).invoke(QUESTION).content == PARIS
    assert len(wire_server.bodies) == 2


def test_nothing_listening_names_the_server_and_what_to_do() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"

    with pytest.raises(ModelServerError) as exc:
        model_for(url, max_retries=1).invoke(QUESTION)

    message = one_line(exc)
    assert message.startswith(
        f"Is the vLLM server running at {url}? No connection after 2 attempts"
    )
    assert message.endswith("Start it or pass --base-url.")


def test_timeout_is_retried_then_reported(wire_server: WireServer) -> None:
    slow = Reply.from_file(wire_path("bodies", "cerebras_120b_reasoning_field.json"))
    slow.delay = 2.0
    wire_server.script(slow, slow)

    with pytest.raises(ModelServerError) as exc:
        model_for(wire_server.url, "llamacpp", request_timeout=0.2, max_retries=1).invoke(QUESTION)

    assert len(wire_server.bodies) == 2
    assert one_line(exc) == (
        f"The llama.cpp server at {wire_server.url} did not answer in time (after 2 attempts). "
        "Check that it is up and not overloaded, or raise RESEARCH_AGENT_REQUEST_TIMEOUT."
    )


@pytest.mark.parametrize("run_async", [False, True])
def test_stream_cut_during_reasoning_is_retried_cleanly(
    wire_server: WireServer, run_async: bool
) -> None:
    sse = wire_path("bodies", "llamacpp_b7010_tool_stream_turn0.sse")
    wire_server.script(Reply.from_file(sse, keep=6, truncate=True), Reply.from_file(sse))
    model = model_for(wire_server.url, "llamacpp")

    if run_async:
        message = asyncio.run(model.ainvoke(QUESTION, stream=True))
    else:
        message = model.invoke(QUESTION, stream=True)

    assert len(wire_server.bodies) == 2
    frames = [
        json.loads(line[6:]) for line in sse.read_text().splitlines() if line.startswith("data: {")
    ]
    deltas = [f["choices"][0]["delta"] for f in frames if f["choices"]]
    reasoning = "".join(d.get("reasoning_content") or "" for d in deltas)
    assert message.additional_kwargs["reasoning_content"] == reasoning  # not twice
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("weather", {"location": "Florence, Italy"})
    ]


def test_stream_cut_after_answer_started_is_reported(wire_server: WireServer) -> None:
    sse = wire_path("bodies", "llamacpp_b7010_tool_stream_turn1.sse")
    frames = Reply.from_file(sse).events or []
    wire_server.script(Reply.from_file(sse, keep=len(frames) - 3, truncate=True))

    with pytest.raises(ModelServerError) as exc:
        list(model_for(wire_server.url, "llamacpp").stream(QUESTION))

    assert len(wire_server.bodies) == 1
    assert one_line(exc).startswith(
        f"The llama.cpp server at {wire_server.url} broke off its streamed reply"
    )


def test_non_json_body_is_reported(wire_server: WireServer) -> None:
    wire_server.script(Reply.text("<html><body>Bad gateway login page</body></html>"))

    with pytest.raises(ModelServerError) as exc:
        model_for(wire_server.url).invoke(QUESTION)

    assert one_line(exc) == (
        f"The server at {wire_server.url} sent a reply that is not JSON "
        "('<html><body>Bad gateway login page</body></html>'). "
        "Is it an OpenAI-compatible /v1 endpoint? Check --base-url."
    )


def test_broken_json_body_is_reported(wire_server: WireServer) -> None:
    cut = wire_path("bodies", "cerebras_120b_reasoning_field.json").read_bytes()[:120]
    wire_server.script(Reply(200, cut, {"Content-Type": "application/json"}))

    with pytest.raises(ModelServerError) as exc:
        asyncio.run(model_for(wire_server.url).ainvoke(QUESTION))

    assert len(wire_server.bodies) == 1
    assert one_line(exc).startswith(
        f"The server at {wire_server.url} sent a reply that is not JSON"
    )


def empty() -> Reply:
    # vLLM's failure mode in vllm_41902_...txt: content=null, reasoning=null.
    assert (
        "content=null, reasoning=null"
        in wire_path("issues", "vllm_41902_nonstream_reasoning_field.partial.txt").read_text()
    )
    data = json.loads(wire_path("bodies", "cerebras_120b_reasoning_field.json").read_text())
    data["choices"][0]["message"].update(content=None, reasoning=None)
    return Reply.json(data)


def test_empty_message_is_retried_once(wire_server: WireServer) -> None:
    wire_server.script(empty(), good())

    assert model_for(wire_server.url).invoke(QUESTION).content == PARIS
    assert len(wire_server.bodies) == 2


def test_two_empty_messages_raise(wire_server: WireServer) -> None:
    wire_server.script(empty(), empty())

    with pytest.raises(ModelServerError) as exc:
        asyncio.run(model_for(wire_server.url).ainvoke(QUESTION))

    assert len(wire_server.bodies) == 2
    assert one_line(exc) == (
        f"The vLLM server at {wire_server.url} twice returned an empty message (no text, no "
        "tool call). Check that openai/gpt-oss-20b is loaded and that the server's gpt-oss "
        "reasoning and tool parsers are on."
    )


@pytest.mark.parametrize("run_async", [False, True])
def test_streamed_5xx_is_retried_by_the_client_and_not_again(
    wire_server: WireServer, run_async: bool
) -> None:
    # The openai client resends the request (its retry count header says which attempt);
    # GptOssChat's own loop must not start the client's three attempts over again.
    error = Reply.json({"error": {"message": "overloaded"}}, 503)
    wire_server.script(*[error] * 9)
    model = model_for(wire_server.url, max_retries=2)

    async def collect() -> None:
        async for _ in model.astream(QUESTION):
            pass

    with pytest.raises(ModelServerError) as exc:
        asyncio.run(collect()) if run_async else list(model.stream(QUESTION))

    assert [r.headers.get("x-stainless-retry-count") for r in wire_server.requests] == [
        "0",
        "1",
        "2",
    ]
    assert one_line(exc) == (
        f"The vLLM server at {wire_server.url} keeps failing "
        "(HTTP 503: Error code: 503 - overloaded) after 3 attempts. Check its log."
    )


def test_tool_use_failed_then_5xx_counts_every_request(wire_server: WireServer) -> None:
    # Our loop retries what the client cannot (tool_use_failed); the client then retries the
    # 5xx of the next attempt itself. The message counts the requests of both.
    failed = Reply.from_interaction(recorded("groq_tool_use_failed_error.json")[0])
    error = Reply.json({"error": {"message": "overloaded"}}, 503)
    wire_server.script(failed, error, error, error)

    with pytest.raises(ModelServerError) as exc:
        model_for(wire_server.url, "openrouter", max_retries=2).invoke(QUESTION)

    assert len(wire_server.bodies) == 4
    assert one_line(exc).endswith("overloaded) after 4 attempts. Check its log.")
