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
import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.messages import AIMessage, InvalidToolCall, ToolCall

from agent.llm.repair_args import (
    HARMONY_TOKEN,
    JUNK_CHARS,
    ArgumentsError,
    RawCall,
    calls_in_json_content,
    example_for,
    parse_arguments,
)

_TOKEN_SPLIT = re.compile(r"(<\|[a-z_]{1,16}\|>)")
_RECIPIENT = re.compile(r"(?:^|[\s>])to=\s*(?P<to>[^<\n]*)")
_CHANNEL = re.compile(r"<\|channel\|>\s*(?P<channel>\w+)")


@dataclass(frozen=True)
class Harmony:
    """Text split into the harmony channels it contained."""

    content: str
    reasoning: str
    calls: tuple[RawCall, ...]


def clean_tool_name(name: str, known: Sequence[str] = ()) -> str:
    """Remove harmony debris from a tool name.

    Handles `name<|channel|>commentary`, `functions.name`, `to=functions.name`,
    zero-width junk and spaces (`Web Search`). Unknown names stay unknown (the graph
    answers them); a known name is returned in its exact spelling when it matches.

    Args:
        name: The name the server returned.
        known: Names of the tools offered to the model.

    Returns:
        The cleaned name; never contains `<|`.
    """
    text = name.translate({ord(c): " " for c in JUNK_CHARS})
    if "to=" in text:
        text = text.rsplit("to=", 1)[1]
    text = re.sub(r"^(?:\s*<\|[a-z_]*\|>)+", "", text).split("<|", 1)[0]
    text = re.sub(r"^\s*(?:functions\s*\.\s*)+", "", text)
    text = re.sub(r"\s+json$", "", text.strip()).strip(" .:\"'`")
    wanted = _normalise(text)
    first = _normalise(text.split(" ", 1)[0]) if text else ""
    for candidate in (wanted, first):
        for tool in known:
            if _normalise(tool) == candidate:
                return tool
    return re.sub(r"\s+", "_", text)


def _normalise(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip()).lower()


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


def split_harmony(text: str) -> Harmony:
    """Split raw harmony text into final content, analysis reasoning and tool calls.

    Text without harmony tokens or a `to=` recipient is returned unchanged as content.
    """
    if "<|" not in text and "to=" not in text:
        return Harmony(text, "", ())
    content: list[str] = []
    reasoning: list[str] = []
    calls: list[RawCall] = []
    header: list[str] = []
    body: list[str] | None = None

    def flush() -> None:
        nonlocal body
        head = "".join(header)
        recipient = _RECIPIENT.search(head)
        channel = _CHANNEL.search(head)
        if recipient is not None:
            name = clean_tool_name(recipient.group("to").rsplit(" json", 1)[0])
            calls.append(RawCall(name, "".join(body or []).strip()))
        elif body is None:
            content.append(HARMONY_TOKEN.sub("", head))
        elif channel is not None and channel.group("channel") == "analysis":
            reasoning.append("".join(body))
        else:
            content.append("".join(body))
        header.clear()
        body = None

    for part in _TOKEN_SPLIT.split(text):
        if part == "<|start|>":
            flush()
            header.append("<|start|>")
        elif part in ("<|end|>", "<|call|>", "<|return|>"):
            flush()
        elif part == "<|message|>":
            body = []
        elif part in ("<|channel|>", "<|constrain|>"):
            if body is not None:
                flush()
            header.append(part)
        elif not HARMONY_TOKEN.fullmatch(part):
            (header if body is None else body).append(part)
    flush()
    visible = re.sub(r"^\s*<\|start\|>\s*(?:assistant)?", "", "".join(content))
    return Harmony(visible, "".join(reasoning).strip(), tuple(calls))


def repair_message(message: AIMessage, known: Sequence[str] = ()) -> AIMessage:
    """Repair one finished assistant turn (pure: returns a new message).

    Cleans tool names, repairs or explains bad arguments (unrepairable calls land in
    `invalid_tool_calls` with an `error` the model can act on), recovers tool calls
    sent as harmony or JSON text in `content`, strips harmony tokens from the answer
    and moves leaked analysis text into `additional_kwargs["reasoning_content"]`.

    Args:
        message: The model's turn as parsed by langchain-openai.
        known: Names of the tools offered to the model.

    Returns:
        The repaired message (the same object when nothing needed repair).
    """
    calls: list[ToolCall] = [
        {**tc, "name": clean_tool_name(tc["name"], known)} for tc in message.tool_calls
    ]
    invalid: list[InvalidToolCall] = []
    raw = [
        RawCall(clean_tool_name(tc.get("name") or "", known), tc.get("args") or "")
        for tc in message.invalid_tool_calls
    ]
    content = message.content
    extra = dict(message.additional_kwargs)
    if isinstance(content, str):
        parts = split_harmony(content)
        content = parts.content
        raw += [RawCall(clean_tool_name(c.name, known), c.arguments) for c in parts.calls]
        if parts.reasoning and not extra.get("reasoning_content"):
            extra["reasoning_content"] = parts.reasoning
        if not (calls or raw):
            json_calls = calls_in_json_content(content)
            raw += [RawCall(clean_tool_name(c.name, known), c.arguments) for c in json_calls]
            content = "" if json_calls else content
        if not content.strip(JUNK_CHARS + " \t\r\n"):
            content = ""
    for index, call in enumerate(raw):
        call_id = _call_id(message, call, index)
        try:
            args = parse_arguments(call.arguments, call.name)
        except ArgumentsError as exc:
            invalid.append(
                InvalidToolCall(
                    type="invalid_tool_call",
                    name=call.name,
                    args=call.arguments,
                    id=call_id,
                    error=str(exc),
                )
            )
            continue
        calls.append(ToolCall(type="tool_call", name=call.name, args=args, id=call_id))
    update = {
        "content": content,
        "tool_calls": calls,
        "invalid_tool_calls": invalid,
        "additional_kwargs": extra,
    }
    if all(getattr(message, key) == value for key, value in update.items()):
        return message
    return message.model_copy(update=update)


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
