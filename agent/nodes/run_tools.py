"""The `tools` node: runs a turn's tool calls and answers every one of them with a ToolMessage.

Execution itself is langgraph's ToolNode (InjectedState, runtime, errors); this
module decides what to run and shapes what the model reads back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolInvocationError
from langgraph.runtime import Runtime
from pydantic import BaseModel, ValidationError

from agent import prompts
from agent.evidence.seen import run_start
from agent.settings import Context
from agent.state import DUPLICATE_OF, NOT_RUN, State
from tools.errors import ToolInputError

HARMONY_TOKEN = re.compile(r"<\|([A-Za-z_]{1,20})\|>")


def neutralise(text: str) -> str:
    """Defuse harmony control tokens and our own delimiters inside untrusted text."""
    text = HARMONY_TOKEN.sub(r"<\1>", text)  # `<|end|>` -> `<end>`: no longer a special token
    text = text.replace("<|", "< |").replace("|>", "| >")  # halves of one, e.g. echoed args
    return text.replace("<<<", "<< <").replace(">>>", "> >>")


def wrap_untrusted(tool: str, content: str) -> str:
    """Put a tool's output in the clearly delimited untrusted-data block the prompt describes."""
    opening = prompts.UNTRUSTED_OPEN.format(tool=tool)
    return f"{opening}\n{neutralise(content)}\n{prompts.UNTRUSTED_CLOSE}"


def call_key(call: ToolCall, tool: BaseTool | None) -> str:
    """Identity of a call: name and arguments with the tool's defaults filled in."""
    args: Any = call["args"]
    schema = tool.tool_call_schema if tool is not None else None
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            args = schema.model_validate(args).model_dump()
        except ValidationError:
            pass  # ToolNode reports it; the raw arguments still identify the call
    return call["name"] + json.dumps(args, sort_keys=True, default=str)


ERROR_CHARS = 1500
"""Longest tool error the model reads: a validation error quotes the bad value in full."""


def bounded(text: str, limit: int = ERROR_CHARS) -> str:
    """Clip an error text the model reads, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters of this error left out]"


def _tool_error(exc: ToolInputError | ToolInvocationError) -> str:
    if isinstance(exc, ToolInputError):
        return bounded(f"Error: {exc}")
    return bounded(prompts.ARGUMENTS_ERROR.format(name=exc.tool_name, error=exc.message))


# ToolNode reads the handler's annotation to learn which errors it handles; with postponed
# annotations it would see a string, so the real union is put back. Others propagate.
_tool_error.__annotations__["exc"] = ToolInputError | ToolInvocationError


def _error(call_id: str, name: str, text: str) -> ToolMessage:
    return ToolMessage(
        neutralise(bounded(text)),
        name=name[:200],
        tool_call_id=call_id,
        status="error",
        response_metadata={NOT_RUN: True},
    )


def earlier_results(
    messages: Sequence[BaseMessage], tools: dict[str, BaseTool]
) -> dict[str, ToolMessage]:
    """Results of this run's earlier tool calls, by call key."""
    current = messages[run_start(messages) :]
    by_id = {m.tool_call_id: m for m in current if isinstance(m, ToolMessage)}
    found: dict[str, ToolMessage] = {}
    for message in current:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call["id"] in by_id:
                    found.setdefault(call_key(call, tools.get(call["name"])), by_id[call["id"]])
    return found


def repeat(call: ToolCall, earlier: ToolMessage) -> ToolMessage:
    """Answer a repeated call from its earlier result, with a note, instead of running it."""
    note = prompts.DUPLICATE_CALL_NOTE.format(tool=call["name"])
    return ToolMessage(
        f"{note}\n{earlier.text}",
        name=call["name"],
        tool_call_id=call["id"] or "",
        artifact=earlier.artifact,
        status=earlier.status,
        response_metadata={DUPLICATE_OF: earlier.tool_call_id},
    )


class ToolsNode(Protocol):
    """The `tools` node's signature, as LangGraph calls it."""

    def __call__(self, state: State, *, runtime: Runtime[Context]) -> dict[str, Any]:
        """Run the node on the state; return the state update."""
        ...


def make_run_tools(tools: Sequence[BaseTool]) -> ToolsNode:
    """Build the `tools` node.

    Args:
        tools: The tools the model may call.

    Returns:
        The node function.
    """
    by_name = {t.name: t for t in tools}
    node = ToolNode(list(tools), handle_tool_errors=_tool_error)

    def run_tools(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        messages = state["messages"]
        last = messages[-1]
        assert isinstance(last, AIMessage), "the tools node runs after a model turn"
        context = runtime.context or Context()
        earlier = earlier_results(messages[:-1], by_name)
        left = context.settings().max_tool_calls - state.get("tool_calls", 0)
        answers: dict[str, ToolMessage] = {}
        first_of: dict[str, str] = {}
        duplicates: list[tuple[ToolCall, str]] = []
        to_run: list[ToolCall] = []
        for call in last.tool_calls:
            call_id, name = call["id"] or "", call["name"]
            left -= 1
            if left < 0:
                answers[call_id] = _error(call_id, name, prompts.TOOL_BUDGET_ERROR)
            elif name not in by_name:
                text = prompts.UNKNOWN_TOOL_ERROR.format(name=name, available=", ".join(by_name))
                answers[call_id] = _error(call_id, name, text)
            elif (key := call_key(call, by_name[name])) in earlier:
                answers[call_id] = repeat(call, earlier[key])
            elif key in first_of:
                duplicates.append((call, first_of[key]))
            else:
                first_of[key] = call_id
                to_run.append(call)
        # Tools read the run's context themselves (tools.context), None included.
        config = get_config()
        done: list[ToolMessage] = []
        for call in to_run:
            # One at a time: tools number new documents from the results they are shown, so
            # two concurrent searches would both hand out the same next cursor.
            request = AIMessage(content="", tool_calls=[call], id=last.id)
            output = node.invoke({"messages": [*messages[:-1], *done, request]}, config)
            (result,) = output["messages"]
            done.append(result.model_copy())  # raw, as tools expect their own results
            if result.status != "error":
                result.content = wrap_untrusted(result.name or "", result.text)
            answers[result.tool_call_id] = result
        for call, first_id in duplicates:
            answers[call["id"] or ""] = repeat(call, answers[first_id])
        ordered = [answers[call["id"] or ""] for call in last.tool_calls]
        for index, bad in enumerate(last.invalid_tool_calls):
            name = bad["name"] or "unknown"
            text = prompts.INVALID_CALL_ERROR.format(
                name=name, error=bad["error"] or "not valid JSON."
            )
            ordered.append(_error(bad["id"] or f"invalid_{index}", name, text))
        spent = len(last.tool_calls) + len(last.invalid_tool_calls)
        return {"messages": ordered, "tool_calls": state.get("tool_calls", 0) + spent}

    return run_tools
