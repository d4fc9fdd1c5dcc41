"""Deadlines hold against servers that never finish: keep-alives, trickles, silence.

RESEARCH_AGENT_REQUEST_TIMEOUT bounds one request from connect to the last byte (not each
read); RESEARCH_AGENT_RUN_TIMEOUT bounds a whole run. Each test's server would go on for
30 s or more; the bounds below are the deadline plus a generous margin for a loaded CI.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.llm.chat import GptOssChat, build_chat_model
from agent.llm.servers.providers import PRESETS, ServerConfig
from agent.llm.wire.deadline import run_deadline
from agent.settings import Settings
from graphs.research import build_graph
from tests.support.corpus import DOCS
from tests.support.fake_tools import FakeCorpus
from tests.support.faults import answer_reply, chat_body, tool_call_reply
from tests.support.wire_server import Reply, WireServer
from tools.errors import ModelServerError, RunTimeoutError

pytestmark = [pytest.mark.timeout(60), pytest.mark.serial]
QUESTION = [HumanMessage("Who makes the Zephyr drone?")]
MARGIN = 2.5
"""Seconds allowed past a deadline (thread start-up, a loaded machine)."""


def chat_for(url: str, timeout: float = 1.0, retries: int = 0) -> GptOssChat:
    config = ServerConfig(url, "openai/gpt-oss-20b", "test-key", PRESETS["vllm"])
    settings = Settings(request_timeout=timeout, max_retries=retries)
    return build_chat_model(settings, config, retry_backoff=0.01, retry_wait_cap=0.05)


def keep_alive(every: float = 0.2) -> Reply:
    """An SSE stream of keep-alive comments for minutes: never a byte of answer."""
    frames = [b": keep-alive\n\n"] * 1000
    return Reply(200, b"", {"Content-Type": "text/event-stream"}, frames, pace=every)


def trickle(every: float = 0.05) -> Reply:
    """A whole JSON answer sent one byte at a time (about a minute for this body)."""
    body = json.dumps(chat_body("The Zephyr drone is made by Acme Robotics." * 30)).encode()
    pieces = [body[i : i + 1] for i in range(len(body))]
    return Reply(200, b"", {"Content-Type": "application/json"}, pieces, pace=every)


def silent() -> Reply:
    """Headers and one frame, then 30 s of silence before the rest."""
    first = b'data: {"choices": [{"index": 0, "delta": {"reasoning": "hm"}}]}\n\n'
    return Reply(200, b"", {"Content-Type": "text/event-stream"}, [first, first], pace=30.0)


def timed(call: Callable[[], Any]) -> tuple[BaseException, float]:
    start = time.monotonic()
    with pytest.raises(ModelServerError) as caught:
        call()
    return caught.value, time.monotonic() - start


CASES = {
    "keep-alive comments": (keep_alive, True),
    "body trickled byte by byte": (trickle, False),
    "silent after the first frame": (silent, True),
}


@pytest.mark.parametrize("run_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("case", list(CASES))
def test_request_deadline_ends_a_reply_that_never_finishes(
    wire_server: WireServer, case: str, run_async: bool
) -> None:
    make, streamed = CASES[case]
    wire_server.script(make())
    model = chat_for(wire_server.url, timeout=1.0)
    if run_async:
        error, took = timed(lambda: asyncio.run(model.ainvoke(QUESTION, stream=streamed)))
    else:
        error, took = timed(lambda: model.invoke(QUESTION, stream=streamed))
    assert 0.9 < took < 1.0 + MARGIN
    assert "did not answer in time" in str(error) and "\n" not in str(error)
    assert "RESEARCH_AGENT_REQUEST_TIMEOUT" in str(error)


@pytest.mark.parametrize("run_async", [False, True], ids=["sync", "async"])
def test_silence_after_bytes_ends_at_the_deadline_not_a_read_timeout_later(
    wire_server: WireServer, run_async: bool
) -> None:
    # frames at 0, 0.4, 0.8, 1.2 s, then silence: a per-read timeout of 2 s would end it at
    # 3.2 s; the request's deadline ends it at 2 s
    first = b'data: {"choices": [{"index": 0, "delta": {"reasoning": "hm"}}]}\n\n'
    stop = (4, threading.Event(), threading.Event())
    wire_server.script(
        Reply(200, b"", {"Content-Type": "text/event-stream"}, [first] * 5, pace=0.4, gate=stop)
    )
    model = chat_for(wire_server.url, timeout=2.0)
    if run_async:
        _, took = timed(lambda: asyncio.run(model.ainvoke(QUESTION, stream=True)))
    else:
        _, took = timed(lambda: model.invoke(QUESTION, stream=True))
    stop[1].set()
    assert 1.9 < took < 2.9


def test_request_deadline_counts_retries_separately(wire_server: WireServer) -> None:
    wire_server.script(keep_alive(), keep_alive())
    error, took = timed(lambda: chat_for(wire_server.url, 0.8, retries=1).invoke(QUESTION))
    assert len(wire_server.bodies) == 2 and 1.6 < took < 1.6 + MARGIN
    assert "after 2 attempts" in str(error)


def test_run_deadline_stops_retries_and_names_the_setting(wire_server: WireServer) -> None:
    wire_server.script(*[keep_alive() for _ in range(5)])
    model = chat_for(wire_server.url, timeout=10.0, retries=4)
    with run_deadline(1.5):
        error, took = timed(lambda: model.invoke(QUESTION, stream=True))
    assert isinstance(error, RunTimeoutError)
    assert 1.4 < took < 1.5 + MARGIN
    assert "RESEARCH_AGENT_RUN_TIMEOUT=1.5 s" in str(error) and "resume" in str(error)


def test_run_deadline_on_a_thread_leaves_it_resumable(wire_server: WireServer) -> None:
    wire_server.script(tool_call_reply("milvus_search", {"query": "Zephyr maker"}), keep_alive())
    corpus = FakeCorpus(dict(DOCS))
    saver = InMemorySaver()
    config: Any = {"configurable": {"thread_id": "deadline"}}
    graph = build_graph(chat_for(wire_server.url, timeout=10.0), saver, tools=corpus.tools())
    with run_deadline(1.5), pytest.raises(RunTimeoutError):
        graph.invoke({"question": "Who makes the Zephyr drone?"}, config)
    saved = graph.get_state(config)
    assert saved.next == ("call_model",)
    assert [m.status for m in saved.values["messages"] if isinstance(m, ToolMessage)] == ["success"]
    with WireServer() as fixed:
        fixed.script(answer_reply("The Zephyr drone is made by Acme Robotics 【0†L1-L3】."))
        resumed = build_graph(chat_for(fixed.url), saver, tools=corpus.tools())
        with run_deadline(30):
            state = resumed.invoke(None, config)
    assert state["answer"].status == "answered"
    assert corpus.searches == ["Zephyr maker"]  # the search was not run again


def cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    from agent.cli.app import main  # lazy: the CLI is only needed by these two tests

    monkeypatch.setattr(sys, "argv", ["research-agent", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"REQUEST_TIMEOUT": "1", "MAX_RETRIES": "0"}, "did not answer in time"),
        (
            {"REQUEST_TIMEOUT": "30", "MAX_RETRIES": "3", "RUN_TIMEOUT": "1.5"},
            "The run did not finish within RESEARCH_AGENT_RUN_TIMEOUT=1.5 s",
        ),
    ],
    ids=["request", "run"],
)
def test_cli_ends_a_keep_alive_server_with_one_error_line(
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    env: dict[str, str],
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("PROVIDER", "BASE_URL", "MODEL", "MILVUS_URI"):
        monkeypatch.delenv(f"RESEARCH_AGENT_{name}", raising=False)
    monkeypatch.setenv("RESEARCH_AGENT_DATA_DIR", str(tmp_path / "ra"))
    for name, value in env.items():
        monkeypatch.setenv(f"RESEARCH_AGENT_{name}", value)
    wire_server.script(*[keep_alive() for _ in range(4)])
    start = time.monotonic()
    argv = ["ask", "Who makes the Zephyr drone?", "--base-url", wire_server.url, "--model", "m"]
    code = cli(argv, monkeypatch)
    took = time.monotonic() - start
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("error: ")
    assert expected in err[0]
    assert took < 1.5 + MARGIN + 2.0  # the CLI's start-up included
