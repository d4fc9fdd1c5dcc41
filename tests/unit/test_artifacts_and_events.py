"""One parser of tool artifacts (tools/artifacts.py) behind cursors and evidence; one builder
of a run's events (agent/events.py) for streamed tokens and steps alike."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage

from agent.events import RunEvents
from agent.evidence.seen import seen_documents
from agent.schemas import StepEvent
from agent.state import DUPLICATE_OF, NOT_RUN
from tools.artifacts import parse_artifact
from tools.cursors import CursorRegistry
from tools.schemas import DocWindow, FindResult, SearchHit, SearchResult

LINES = ["# Zephyr", "The Zephyr drone is made by Acme Robotics.", "It flies at night."]


def _hit(cursor: int, doc_id: str) -> SearchHit:
    return SearchHit(
        cursor=cursor,
        doc_id=doc_id,
        source=f"{doc_id}.md",
        title="Zephyr",
        chunk_id=f"{doc_id}-0",
        chunk_index=0,
        start_line=1,
        end_line=3,
        score=1.0,
        text="\n".join(LINES),
    )


def _window(cursor: int, doc_id: str) -> DocWindow:
    return DocWindow(
        cursor=cursor,
        doc_id=doc_id,
        source=f"{doc_id}.md",
        title="Zephyr",
        start_line=1,
        end_line=3,
        total_lines=3,
        lines=LINES,
    )


def _messages(as_dicts: bool) -> list[Any]:
    search = SearchResult(query="zephyr", k=2, hits=[_hit(0, "a"), _hit(1, "b")])
    find = FindResult(
        cursor=2,
        doc_id="c",
        source="c.md",
        title="Zephyr",
        pattern="night",
        total_lines=3,
        matches=1,
        windows=[_window(2, "c")],
    )
    artifacts: list[Any] = [search, _window(1, "b"), find]
    if as_dicts:  # as a checkpoint round trip may leave them
        artifacts = [a.model_dump() for a in artifacts]
    return [
        HumanMessage("Who makes the Zephyr?"),
        *(ToolMessage("...", tool_call_id=f"t{i}", artifact=a) for i, a in enumerate(artifacts)),
    ]


def test_models_and_checkpoint_dicts_parse_to_the_same_models() -> None:
    live, stored = _messages(False), _messages(True)
    assert [parse_artifact(m.artifact) for m in live[1:]] == [
        parse_artifact(m.artifact) for m in stored[1:]
    ]
    assert [type(parse_artifact(m.artifact)) for m in stored[1:]] == [
        SearchResult,
        DocWindow,
        FindResult,
    ]
    assert parse_artifact({"hits": [{"cursor": 0}]}) is None  # a broken search result
    assert parse_artifact("text") is None and parse_artifact(None) is None


def test_cursors_and_evidence_read_the_same_documents() -> None:
    broken = ToolMessage("...", tool_call_id="t9", artifact={"cursor": 7, "doc_id": "z"})
    for as_dicts in (False, True):
        messages = [*_messages(as_dicts), broken]
        registry = CursorRegistry.from_messages(messages)
        assert registry.by_cursor == {0: "a", 1: "b", 2: "c"}
        seen = seen_documents(messages)
        assert {c: d.doc_id for c, d in seen.items()} == registry.by_cursor
        assert seen[1].fetched and not seen[0].fetched


def _turn() -> AIMessage:
    calls = [
        {"name": "milvus_search", "args": {"query": "zephyr"}, "id": "c1"},
        {"name": "fetch_doc", "args": {"cursor": 0}, "id": "c2"},
        {"name": "fetch_doc", "args": {"cursor": 0}, "id": "c3"},
    ]
    return AIMessage("", tool_calls=calls, additional_kwargs={"reasoning_content": "search"})


def _results() -> list[ToolMessage]:
    search = SearchResult(query="zephyr", k=1, hits=[_hit(0, "a")])
    return [
        ToolMessage("...", tool_call_id="c1", name="milvus_search", artifact=search),
        ToolMessage(
            "...",
            tool_call_id="c2",
            name="fetch_doc",
            artifact=_window(0, "a"),
            response_metadata={DUPLICATE_OF: "c0"},
        ),
        ToolMessage(
            "Too many calls",
            tool_call_id="c3",
            name="fetch_doc",
            status="error",
            response_metadata={NOT_RUN: True},
        ),
    ]


def test_steps_come_out_the_same_with_or_without_tokens() -> None:
    updates = [{"call_model": {"messages": [_turn()]}}, {"tools": {"messages": _results()}}]
    plain = RunEvents(tokens=False)
    with_tokens = RunEvents(tokens=True)
    chunk = AIMessageChunk("Acme", additional_kwargs={"reasoning_content": "so"})
    token_items = [
        ("messages", (chunk, {"langgraph_node": "call_model"})),
        ("messages", (chunk, {"langgraph_node": "tools"})),  # not the model's: no tokens
    ]
    steps = [e for u in updates for e in plain.of(u)]
    mixed = [e for item in token_items for e in with_tokens.of(item)]
    mixed += [e for u in updates for e in with_tokens.of(("updates", u))]
    assert plain.modes == "updates" and with_tokens.modes == ["updates", "messages"]
    assert [(e.kind, e.result) for e in mixed[:2] if isinstance(e, StepEvent)] == [
        ("reasoning_token", "so"),
        ("answer_token", "Acme"),
    ]
    assert mixed[2:] == steps
    assert [(e.kind, e.tool, e.result, e.note) for e in steps if isinstance(e, StepEvent)] == [
        ("reasoning", "", "search", ""),
        ("tool_call", "milvus_search", "", ""),
        ("tool_result", "milvus_search", "1 hit", ""),
        ("tool_call", "fetch_doc", "", "answered from an earlier identical call"),
        ("tool_result", "fetch_doc", "repeated: lines 1-3 of 3", ""),
        ("refused", "fetch_doc", "not run: Too many calls", ""),
    ]
