"""The events of a research run (steps, tokens, the Answer), built from the graph's stream.

One builder serves `stream`, `astream` and `resume_stream` in agent/api.py: each item the
graph streams (an `updates` chunk, or a (`mode`, data) pair when tokens are streamed too)
becomes zero or more events, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage

from agent.evidence.summaries import summarize
from agent.llm.repair.message import REPAIRS_KEY
from agent.schemas import Answer, StepEvent
from agent.state import DUPLICATE_OF, NOT_RUN

Event = StepEvent | Answer
Call = tuple[str, dict[str, Any], str]
"""A tool call as the events show it: (tool, args, the repair note of its call)."""


class RunEvents:
    """Turns the items of one run's graph stream into events, remembering the calls made."""

    def __init__(self, *, tokens: bool) -> None:
        """Start a run's events.

        Args:
            tokens: The graph streams tokens too (modes `updates` and `messages`).
        """
        self.tokens = tokens
        self.calls: dict[str, Call] = {}

    @property
    def modes(self) -> list[str] | str:
        """The `stream_mode` to ask the graph for."""
        return ["updates", "messages"] if self.tokens else "updates"

    def of(self, item: Any) -> Iterator[Event]:
        """The events of one streamed item."""
        mode, data = item if self.tokens else ("updates", item)
        if mode == "messages":
            yield from token_events(*data)
        else:
            yield from update_events(data, self.calls)


def update_events(update: dict[str, Any], calls: dict[str, Call]) -> Iterator[Event]:
    """Translate one `updates` chunk of the graph into step events and the final Answer.

    A call is shown as run (`tool_call`, then `tool_result`) only once the tools node ran it;
    a call that never ran is `refused`, with the reason.

    Args:
        update: The chunk: node name -> that node's state update.
        calls: The run's calls by id so far; the model's new calls are added to it.
    """
    for node, values in update.items():
        values = values or {}
        if node == "respond":
            if values.get("answer") is not None:
                yield values["answer"]
            continue
        for message in values.get("messages", []):
            if isinstance(message, AIMessage):
                yield from _model_turn(message, values.get("budget_spent") or "", calls)
            elif isinstance(message, ToolMessage):
                yield from _tool_result(message, calls)


def _model_turn(message: AIMessage, spent: str, calls: dict[str, Call]) -> Iterator[StepEvent]:
    """The reasoning of a model turn, and its calls refused when the budget is spent."""
    reasoning = message.additional_kwargs.get("reasoning_content")
    if reasoning:
        yield StepEvent(kind="reasoning", result=str(reasoning))
    notes = message.additional_kwargs.get(REPAIRS_KEY) or {}
    for call in message.tool_calls:
        if spent:
            yield StepEvent(
                kind="refused",
                tool=call["name"],
                args=call["args"],
                result=f"not run: the budget is spent ({spent}); the model had "
                "to answer without tools",
            )
        calls[call["id"] or ""] = (call["name"], call["args"], notes.get(call["id"], ""))
    for bad in message.invalid_tool_calls:
        if spent:
            yield StepEvent(
                kind="refused",
                tool=bad["name"] or "",
                result=f"not run: the budget is spent ({spent})",
            )


def _tool_result(message: ToolMessage, calls: dict[str, Call]) -> Iterator[StepEvent]:
    """A tool result: the call and its summary, or the call refused with the reason."""
    name, args, note = calls.get(message.tool_call_id, (message.name or "", {}, ""))
    if message.response_metadata.get(NOT_RUN):
        text = " ".join(message.text.split())
        yield StepEvent(kind="refused", tool=name, args=args, result=f"not run: {text[:300]}")
        return
    if message.response_metadata.get(DUPLICATE_OF):
        note = note or "answered from an earlier identical call"
    yield StepEvent(kind="tool_call", tool=name, args=args, note=note)
    yield StepEvent(kind="tool_result", tool=name, args=args, result=summarize(message))


def token_events(chunk: Any, metadata: dict[str, Any]) -> Iterator[Event]:
    """Token events of one `messages` item: the model's answer and reasoning text, apart."""
    if metadata.get("langgraph_node") != "call_model" or not isinstance(chunk, AIMessageChunk):
        return
    reasoning = chunk.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        yield StepEvent(kind="reasoning_token", result=reasoning)
    if isinstance(chunk.content, str) and chunk.content:
        yield StepEvent(kind="answer_token", result=chunk.content)
