"""Exact bookkeeping of tool calls whose ids a server got wrong.

A turn of 50 calls sharing one id (and calls with no id) gets a unique id for every call
before anything runs: each call is answered by its own result, what ran is shown as run,
what the budget refused is shown as refused, and the next request pairs every call with
exactly one result.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from agent.events import update_events
from agent.llm.chat import build_chat_model
from agent.llm.servers.providers import PRESETS, ServerConfig
from agent.schemas import StepEvent
from agent.settings import Context, Settings
from agent.state import NOT_RUN
from graphs.research import build_graph
from tests.support.corpus import DOCS
from tests.support.fake_tools import FakeCorpus
from tests.support.faults import answer_reply, chat_body, tool_call
from tests.support.wire_server import Reply, WireServer

pytestmark = pytest.mark.timeout(60)
ANSWER = "The Zephyr drone is made by Acme Robotics 【0†L1-L3】."


def run(server: WireServer, calls: list[dict[str, Any]]) -> tuple[dict[str, Any], list[Any]]:
    server.script(Reply.json(chat_body(None, calls)), answer_reply(ANSWER))
    config = ServerConfig(server.url, "openai/gpt-oss-20b", "k", PRESETS["vllm"])
    model = build_chat_model(Settings(request_timeout=5.0, max_retries=0), config)
    graph = build_graph(model, tools=FakeCorpus(dict(DOCS)).tools())
    events: list[Any] = []
    seen: dict[str, tuple[str, dict[str, Any], str]] = {}
    state: dict[str, Any] = {}
    context = Context(max_tool_calls=8)
    for update in graph.stream({"question": "Who makes it?"}, context=context):
        events += list(update_events(update, seen))
        for values in update.values():
            messages = [*state.get("messages", []), *(values or {}).get("messages", [])]
            state.update(values or {}, messages=messages)
    return state, events


def test_fifty_calls_sharing_one_id_are_each_answered_once(wire_server: WireServer) -> None:
    calls = [tool_call("milvus_search", {"query": f"zephyr {i}"}, "same") for i in range(50)]
    run(wire_server, calls)
    second = wire_server.bodies[1]["messages"]
    assistant = next(m for m in second if m["role"] == "assistant")
    ids = [c["id"] for c in assistant["tool_calls"]]
    assert len(ids) == 50 and len(set(ids)) == 50
    answered = Counter(m["tool_call_id"] for m in second if m["role"] == "tool")
    assert answered == Counter(ids)  # every call paired with exactly one result


def test_what_was_refused_is_recorded_as_refused(wire_server: WireServer) -> None:
    calls = [tool_call("milvus_search", {"query": f"zephyr {i}"}, "same") for i in range(50)]
    _, events = run(wire_server, calls)
    kinds = Counter(e.kind for e in events if isinstance(e, StepEvent))
    assert kinds["tool_call"] == 8 and kinds["tool_result"] == 8  # the budget: 8 calls
    assert kinds["refused"] == 42
    refused = [e for e in events if isinstance(e, StepEvent) and e.kind == "refused"]
    assert all("budget" in (e.result or "") for e in refused)


def test_calls_without_ids_get_distinct_ids(wire_server: WireServer) -> None:
    calls = [tool_call("milvus_search", {"query": "zephyr"}, "") for _ in range(2)]
    calls.append({"type": "function", "function": {"name": "fetch_doc", "arguments": "{"}})
    state, _ = run(wire_server, calls)
    turn = next(m for m in state["messages"] if isinstance(m, AIMessage))
    ids = [c["id"] for c in [*turn.tool_calls, *turn.invalid_tool_calls]]
    assert len(ids) == 3 and len(set(ids)) == 3 and all(ids)
    results = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert sorted(m.tool_call_id for m in results) == sorted(ids)
    assert [m.response_metadata.get(NOT_RUN, False) for m in results].count(True) == 1
