"""Summaries of tool results: one line each, and a run's steps as (tool, args, summary)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agent.state import DUPLICATE_OF
from tools.artifacts import parse_artifact
from tools.schemas import DocWindow, FindResult, SearchResult


def summarize(message: ToolMessage) -> str:
    """A one-line summary of a tool result: "5 hits", "lines 1-60 of 120", "error: ..."."""
    if message.status == "error":
        first = message.text.strip().splitlines()[0] if message.text.strip() else "failed"
        return f"error: {first.removeprefix('Error: ')}"[:200]
    prefix = "repeated: " if message.response_metadata.get(DUPLICATE_OF) else ""
    parsed = parse_artifact(message.artifact)
    if isinstance(parsed, SearchResult):
        count = len(parsed.hits)
        return f"{prefix}{count} hit{'s' if count != 1 else ''}"
    if isinstance(parsed, DocWindow):
        return f"{prefix}lines {parsed.start_line}-{parsed.end_line} of {parsed.total_lines}"
    if isinstance(parsed, FindResult):
        return f"{prefix}{parsed.matches} match{'es' if parsed.matches != 1 else ''}"
    return prefix + "done"


def tool_steps(messages: Sequence[BaseMessage]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(tool, args, summary) for every answered tool call among `messages`, in call order."""
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    for message in messages:
        if not isinstance(message, AIMessage):
            continue
        calls: list[tuple[str, dict[str, Any], str | None]] = [
            (c["name"], c["args"], c["id"]) for c in message.tool_calls
        ]
        calls += [
            (c["name"] or "", {"raw": c["args"]}, c["id"]) for c in message.invalid_tool_calls
        ]
        for name, args, call_id in calls:
            result = results.get(call_id or "")
            if result is not None:
                yield name, args, summarize(result)
