"""Model-server faults during a whole research run (graph + real client + real sockets).

tests/integration/test_llm_errors.py checks the chat client on its own. Here each fault hits
the second model turn of a run, after a tool result was gathered: a fault a retry can fix
must leave the run's answer intact; any other ends the run with one line naming the server
and what to check, and the run resumes from its checkpoint without redoing the tool call.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.llm.chat import GptOssChat, build_chat_model
from agent.llm.servers.providers import PRESETS, ServerConfig
from agent.settings import Settings
from graphs.research import build_graph
from tests.support.corpus import DOCS
from tests.support.fake_tools import FakeCorpus
from tests.support.faults import (
    answer_reply,
    chat_body,
    sse_reply,
    stalled,
    tool_call,
    tool_call_reply,
)
from tests.support.foundation import free_port
from tests.support.wire_server import Reply, WireServer
from tools.errors import ModelServerError

pytestmark = pytest.mark.timeout(60)

QUESTION = "Who makes the Zephyr drone?"
SEARCH_ARGS = {"query": "Zephyr drone maker", "k": 3}
SEARCH = tool_call_reply("milvus_search", SEARCH_ARGS)
ANSWER = "The Zephyr drone is made by Acme Robotics 【0†L1-L3】."
ERROR = {"error": {"message": "upstream exploded", "type": "server_error"}}
TOOL_USE_FAILED = {
    "error": {
        "message": "Failed to call a function. Please adjust your prompt.",
        "type": "invalid_request_error",
        "code": "tool_use_failed",
        "failed_generation": '{"name": "milvus_search", "arguments": {"k": "five"}}',
    }
}
MANDATORY = {
    "error": {"message": "Reasoning is mandatory for this endpoint and cannot be disabled."}
}
OUT_OF_TOKENS = {
    "error": {
        "type": "invalid_request_error",
        "message": "Failed to format non-streaming choice: Expected special token (<|start|>), "
        "but out of tokens",
    }
}


def reasoning_only_stream(truncate: bool) -> Reply:
    frame = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "openai/gpt-oss-20b",
        "choices": [{"index": 0, "delta": {"reasoning": "thinking"}, "finish_reason": None}],
    }
    import json

    data = f"data: {json.dumps(frame)}\n\n"
    return Reply.sse(data * 2, truncate=truncate)


def chat_for(url: str, **settings: Any) -> GptOssChat:
    config = ServerConfig(url, "openai/gpt-oss-20b", "test-key", PRESETS["vllm"])
    values = {"request_timeout": 1.0, "max_retries": 2, **settings}
    return build_chat_model(Settings(**values), config, retry_backoff=0.01, retry_wait_cap=2.0)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text
    return text


# What can help with a retry: the fault, then a good answer.
TRANSIENT: dict[str, list[Reply]] = {
    "500": [Reply.json(ERROR, 500)],
    "503 twice": [Reply.json(ERROR, 503), Reply.json(ERROR, 503)],
    "429 Retry-After": [Reply.json(ERROR, 429, {"Retry-After": "1"})],
    "timeout mid-response": [stalled(chat_body(ANSWER), seconds=3.0)],
    "truncated SSE stream": [reasoning_only_stream(truncate=True)],
    "empty assistant message": [Reply.json(chat_body(""))],
    "empty SSE stream": [Reply.sse("data: [DONE]\n\n")],
    "null content, no tool call": [Reply.json(chat_body(None, reasoning=""))],
    "400 tool_use_failed": [Reply.json(TOOL_USE_FAILED, 400)],
    "400 Reasoning is mandatory": [Reply.json(MANDATORY, 400)],
}


@pytest.mark.parametrize("fault", list(TRANSIENT))
def test_fault_a_retry_can_fix_leaves_the_answer_intact(
    wire_server: WireServer, fault: str
) -> None:
    streaming = "SSE" in fault
    if streaming:  # every turn streams
        search = sse_reply(chat_body(None, [tool_call("milvus_search", SEARCH_ARGS)]))
        wire_server.script(search, *TRANSIENT[fault], sse_reply(chat_body(ANSWER)))
    else:
        wire_server.script(SEARCH, *TRANSIENT[fault], answer_reply(ANSWER))
    corpus = FakeCorpus(dict(DOCS))
    model = chat_for(wire_server.url, request_timeout=1.0)
    model.streaming = streaming
    started = time.monotonic()
    state = build_graph(model, tools=corpus.tools()).invoke({"question": QUESTION})
    elapsed = time.monotonic() - started
    answer = state["answer"]
    assert answer.status == "answered", answer
    assert [(c.source, c.start_line, c.end_line) for c in answer.citations] == [
        ("drones/zephyr.md", 1, 3)
    ]
    assert corpus.searches == ["Zephyr drone maker"]  # the tool ran once, before the fault
    assert len(wire_server.bodies) == 2 + len(TRANSIENT[fault])
    if fault == "429 Retry-After":
        assert elapsed >= 0.9  # the server's Retry-After was honoured
    if fault == "400 Reasoning is mandatory":
        assert wire_server.bodies[-1]["reasoning"]["enabled"] is True
    # the retried request carried the tool result gathered before the fault
    tool_turn = [m for m in wire_server.bodies[-1]["messages"] if m["role"] == "tool"]
    assert len(tool_turn) == 1 and "Zephyr drone" in tool_turn[0]["content"]


# What a retry cannot fix (or retries that ran out): one line naming the server and what to do.
FATAL: dict[str, tuple[list[Reply], str]] = {
    "500 forever": ([Reply.json(ERROR, 500)] * 3, "keeps failing (HTTP 500"),
    "429 forever": ([Reply.json(ERROR, 429, {"Retry-After": "0"})] * 3, "rate-limiting us"),
    "timeout forever": ([stalled(chat_body(ANSWER)) for _ in range(3)], "did not answer in time"),
    "body is not JSON": ([Reply.text("<html>502 Bad Gateway</html>")], "not JSON"),
    "two empty messages": ([Reply.json(chat_body(""))] * 2, "twice returned an empty message"),
    "tool_use_failed forever": ([Reply.json(TOOL_USE_FAILED, 400)] * 3, "tool_use_failed"),
    "400 out of tokens": ([Reply.json(OUT_OF_TOKENS, 400)], "rejected the request (HTTP 400"),
    "401 bad key": ([Reply.json(ERROR, 401)], "refused the API key"),
}


@pytest.mark.parametrize("fault", list(FATAL))
def test_fault_ends_the_run_with_one_line_then_the_thread_resumes(
    wire_server: WireServer, fault: str
) -> None:
    replies, expected = FATAL[fault]
    wire_server.script(SEARCH, *replies)
    corpus = FakeCorpus(dict(DOCS))
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": f"fault-{fault}"}}
    graph = build_graph(chat_for(wire_server.url), saver, tools=corpus.tools())
    with pytest.raises(ModelServerError) as caught:
        graph.invoke({"question": QUESTION}, config)
    message = one_line(caught.value)
    assert expected in message and wire_server.url in message
    # the tool result gathered before the fault is in the checkpoint
    saved = graph.get_state(config)
    assert saved.next == ("call_model",)
    results = [m for m in saved.values["messages"] if isinstance(m, ToolMessage)]
    assert len(results) == 1 and results[0].status == "success"
    # the server is fixed: the same thread resumes where it stopped, without searching again
    with WireServer() as fixed:
        fixed.script(answer_reply(ANSWER))
        resumed = build_graph(chat_for(fixed.url), saver, tools=corpus.tools())
        state = resumed.invoke(None, config)
        assert len(fixed.bodies) == 1
    assert state["answer"].status == "answered"
    assert len(state["answer"].citations) == 1
    assert corpus.searches == ["Zephyr drone maker"]


def test_connection_refused_mid_run_names_the_server_and_resumes() -> None:
    corpus = FakeCorpus(dict(DOCS))
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "refused"}}
    with WireServer() as server:
        server.script(SEARCH)
        graph = build_graph(chat_for(server.url), saver, tools=corpus.tools())
        graph.invoke({"question": QUESTION}, config, interrupt_after=["tools"])
    # the server went away before the second turn: nothing listens on its port any more
    dead = f"http://127.0.0.1:{free_port()}/v1"
    graph = build_graph(chat_for(dead), saver, tools=corpus.tools())
    with pytest.raises(ModelServerError) as caught:
        graph.invoke(None, config)
    message = one_line(caught.value)
    assert message.startswith(f"Is the vLLM server running at {dead}? No connection after 3 ")
    assert message.endswith("Start it or pass --base-url.")
    with WireServer() as fixed:
        fixed.script(answer_reply(ANSWER))
        state = build_graph(chat_for(fixed.url), saver, tools=corpus.tools()).invoke(None, config)
    assert state["answer"].status == "answered"
    assert corpus.searches == ["Zephyr drone maker"]


def cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    from agent.cli.app import main

    monkeypatch.setattr(sys, "argv", ["research-agent", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("PROVIDER", "BASE_URL", "MODEL", "MILVUS_URI"):
        monkeypatch.delenv(f"RESEARCH_AGENT_{name}", raising=False)
    monkeypatch.setenv("RESEARCH_AGENT_DATA_DIR", str(tmp_path / "ra"))
    monkeypatch.setenv("RESEARCH_AGENT_MAX_RETRIES", "1")


@pytest.mark.usefixtures("cli_env")
def test_cli_prints_one_error_line_for_a_failing_server(
    wire_server: WireServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wire_server.script(Reply.json(ERROR, 502), Reply.json(ERROR, 502))
    code = cli(["ask", QUESTION, "--base-url", wire_server.url, "--model", "m"], monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [
        f"error: The OpenAI-compatible server at {wire_server.url} keeps failing (HTTP 502: "
        "Error code: 502 - upstream exploded) after 2 attempts. Check its log."
    ]


@pytest.mark.usefixtures("cli_env")
def test_cli_prints_one_error_line_when_nothing_listens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    code = cli(["ask", QUESTION, "--base-url", url], monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [
        f"error: No OpenAI-compatible server answers at {url}. Start it, fix "
        "--provider/--base-url, or use --provider offline."
    ]
