"""Pure repairs of what OpenAI-compatible servers return for gpt-oss (no I/O, no HTTP).

Servers translate gpt-oss's harmony output into Chat Completions and sometimes get it
wrong: tool names keep harmony debris (`query_dataset<|channel|>commentary`), a tool
call arrives as text in `content`, harmony tokens leak into the answer, arguments are
not valid JSON. The recordings these repairs are based on are listed in
../shared/wire/gptoss/INDEX.md. Everything here is a pure function so it can be tested
without a server; agent/llm/chat.py applies `repair_message` to every finished model turn.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, InvalidToolCall, ToolCall

from agent.llm.repair.args import (
    JUNK_CHARS,
    ArgumentsError,
    RawCall,
    calls_in_json_content,
    clean_tool_name,
    example_for,
    only_fit,
    parse_arguments,
)
from agent.llm.repair.harmony import Harmony, split_harmony

__all__ = [
    "ArgumentsError",
    "Harmony",
    "RawCall",
    "calls_in_json_content",
    "clean_tool_name",
    "example_for",
    "is_empty",
    "parse_arguments",
    "repair_message",
    "split_harmony",
    "strip_harmony",
]


def strip_harmony(text: str) -> str:
    """Return only the visible answer of text that may hold harmony tokens."""
    return split_harmony(text).content


REPAIRS_KEY = "repairs"
"""additional_kwargs key: call id -> what was repaired to run that call (shown in the steps)."""
CUT_KEY = "cut_off"
"""additional_kwargs key: True when the server stopped the turn at the output cap."""


def repair_message(
    message: AIMessage,
    known: Sequence[str] = (),
    schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> AIMessage:
    """Repair one finished assistant turn (pure: returns a new message).

    Cleans tool names, repairs or explains bad arguments (unrepairable calls land in
    `invalid_tool_calls` with an `error` the model can act on), recovers tool calls
    sent as harmony or JSON text in `content` (also after prose or in a code fence),
    runs a call whose name is only harmony debris as the one tool its arguments fit,
    strips harmony tokens from the answer and moves leaked analysis text into
    `additional_kwargs["reasoning_content"]`.

    Args:
        message: The model's turn as parsed by langchain-openai.
        known: Names of the tools offered to the model.
        schemas: Tool name -> JSON schema of its parameters (names are taken from it when
            `known` is empty).

    Returns:
        The repaired message (the same object when nothing needed repair).
    """
    schemas = dict(schemas or {})
    known = list(known or schemas)
    raw: list[tuple[RawCall, str | None]] = [
        (RawCall(tc["name"], json.dumps(tc["args"])), tc.get("id")) for tc in message.tool_calls
    ]
    raw += [
        (RawCall(tc.get("name") or "", tc.get("args") or ""), tc.get("id"))
        for tc in message.invalid_tool_calls
    ]
    content = message.content
    extra = dict(message.additional_kwargs)
    if isinstance(content, str):
        parts = split_harmony(content)
        content = parts.content
        raw += [(c, None) for c in parts.calls]
        if parts.reasoning and not extra.get("reasoning_content"):
            extra["reasoning_content"] = parts.reasoning
        if not raw:
            json_calls, content = calls_in_json_content(content, schemas)
            raw += [(c, None) for c in json_calls]
        if not content.strip(JUNK_CHARS + " \t\r\n"):
            content = ""
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    notes: dict[str, str] = dict(extra.get(REPAIRS_KEY) or {})
    taken: set[str] = set()
    for index, (call, given_id) in enumerate(raw):
        call_id = unique_id(given_id or _call_id(message, call, index), index, taken)
        name, note = _resolve_name(call, known, schemas)
        if note:
            notes[call_id] = note
        try:
            args = parse_arguments(call.arguments, name, schemas.get(name))
        except ArgumentsError as exc:
            invalid.append(
                InvalidToolCall(
                    type="invalid_tool_call",
                    name=name,
                    args=call.arguments,
                    id=call_id,
                    error=str(exc),
                )
            )
            continue
        if isinstance(call.arguments, str) and not _plain_json(call.arguments, args):
            notes.setdefault(call_id, "arguments repaired")
        calls.append(ToolCall(type="tool_call", name=name, args=args, id=call_id))
    if notes:
        extra[REPAIRS_KEY] = notes
    update = {
        "content": content,
        "tool_calls": calls,
        "invalid_tool_calls": invalid,
        "additional_kwargs": extra,
    }
    if all(getattr(message, key) == value for key, value in update.items()):
        return message
    return message.model_copy(update=update)


def _plain_json(text: str, args: dict[str, Any]) -> bool:
    try:
        return bool(json.loads(text) == args)
    except ValueError:
        return False


def _resolve_name(
    call: RawCall, known: Sequence[str], schemas: Mapping[str, Mapping[str, Any]]
) -> tuple[str, str]:
    """The tool to run for a call, and a note when that took more than cleaning the name."""
    name = clean_tool_name(call.name, known)
    if name in known or not schemas:
        return name, ""
    try:
        args = parse_arguments(call.arguments)
    except ArgumentsError:
        return name, ""
    only = only_fit(args, schemas)
    if only is None:
        return name, ""
    shown = " ".join(call.name.split())[:60]
    return only, f"tool name {shown!r} is not a tool; ran {only}, the one tool the arguments fit"


_ID = re.compile(r"[\w.:-]{1,128}", re.ASCII)


def unique_id(call_id: str, index: int, taken: set[str]) -> str:
    """The call's id, or a new one when it is missing, odd or already used in this turn.

    Every call must have its own id before anything runs: results are paired with calls by
    id, so 50 calls sharing one id would all be answered by one result.
    """
    if not _ID.fullmatch(call_id):
        call_id = "call_" + hashlib.sha1(call_id.encode("utf-8", "replace")).hexdigest()[:24]
    candidate, n = call_id, index
    while candidate in taken:
        candidate, n = f"{call_id}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _call_id(message: AIMessage, call: RawCall, index: int) -> str:
    """Keep the server's id when the call had one, else derive a stable one."""
    for old in message.invalid_tool_calls:
        if old.get("id") and (old.get("args") or "") == call.arguments:
            return str(old["id"])
    seed = f"{message.id}|{index}|{call.name}|{call.arguments}".encode()
    return "call_" + hashlib.sha1(seed).hexdigest()[:24]


def is_empty(message: AIMessage) -> bool:
    """True for a turn with no visible content and no tool call (the server lost the output)."""
    text = message.content if isinstance(message.content, str) else message.text
    return not text.strip(JUNK_CHARS + " \t\r\n") and not (
        message.tool_calls or message.invalid_tool_calls
    )
