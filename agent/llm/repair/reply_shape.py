"""What a server sent, brought into the shape the OpenAI client and our repairs expect.

A hostile or broken server can put any JSON type in any field (arguments as an object,
a number as a tool name, `choices` that is not a list), nest values thousands of levels
deep, or send lone UTF-16 surrogates, NUL or invalid UTF-8. Everything that reaches
openai/langchain-openai passes through here first (agent/llm/wire/transport.py), so what they
parse is always the documented Chat Completions shape; what cannot be read becomes an
`UnreadableReply` with a one-line reason. Pure functions, no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting kept in a reply value; deeper arguments become an unreadable call."""
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
TOO_DEEP = "[arguments nested more than 64 levels deep]"
"""What a tool call's arguments become when they nest deeper than MAX_DEPTH."""


class UnreadableReply(ValueError):
    """A reply that is not a Chat Completions reply at all; the message says why."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        """Keep whether another attempt may fare better (a sampling slip) or not (HTML)."""
        super().__init__(message)
        self.retry = retry


def clean_text(value: object) -> str:
    """A string safe to store, print and send again: no NUL, no lone surrogate."""
    text = value if isinstance(value, str) else ""
    return _BAD_CHARS.sub("\ufffd", text) if _BAD_CHARS.search(text) else text


def decode(body: bytes) -> Any:
    """Parse a JSON body; invalid UTF-8 becomes U+FFFD.

    Raises:
        UnreadableReply: Nested too deeply to parse.
        ValueError: Not JSON (JSONDecodeError).
    """
    text = body.decode("utf-8", "replace")
    if depth_over(text, MAX_DEPTH * 8):
        raise UnreadableReply(f"the reply nests more than {MAX_DEPTH * 8} levels deep")
    return json.loads(text)


def depth_over(text: str, limit: int) -> bool:
    """True when JSON-ish text opens more than `limit` brackets at once (strings ignored)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):  # content parts: keep their text
        parts = [p.get("text") for p in value if isinstance(p, dict)]
        return clean_text("".join(p for p in parts if isinstance(p, str)))
    if isinstance(value, bool | int | float):
        return str(value)
    return None


def _arguments(value: object, streamed: bool = True) -> str:
    """Tool-call arguments as text: objects and lists are serialised, deep ones refused.

    Whole text that is JSON but not an object (`["q"]`, `7`, a JSON string) gets a leading
    zero-width space: langchain-openai would build a message whose arguments are a list
    and crash on it; the repair (agent/llm/repair/args.py) strips that character, reads
    the value and explains or unwraps it.
    """
    if isinstance(value, str):
        text = clean_text(value)
    elif value is None:
        text = ""
    elif isinstance(value, dict | list) and _too_deep(value, MAX_DEPTH):
        return TOO_DEEP
    else:
        text = clean_text(json.dumps(_strings(value), ensure_ascii=False))
    return "\u200b" + text if not streamed and _json_not_object(text) else text


def _json_not_object(text: str) -> bool:
    if depth_over(text, MAX_DEPTH):
        return True  # never handed to langchain-openai's parser as JSON: the repair refuses it
    try:
        return not isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _too_deep(value: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _strings(value: Any) -> Any:
    """A (shallow enough) JSON value with every string cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(v) for v in value]
    return value


def _calls(value: object, streamed: bool) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    for position, raw in enumerate(value if isinstance(value, list) else []):
        if not isinstance(raw, dict):
            continue
        function = raw.get("function")
        function = function if isinstance(function, dict) else {}
        call: dict[str, Any] = {
            "type": "function",
            "function": {
                "name": _text_or_none(function.get("name")) or "",
                "arguments": _arguments(function.get("arguments"), streamed),
            },
        }
        call_id = _text_or_none(raw.get("id"))
        if call_id or not streamed:
            call["id"] = call_id
        if streamed:
            index = raw.get("index")
            call["index"] = index if type(index) is int and 0 <= index < 1024 else position
        calls.append(call)
    return calls


def _message(value: object, streamed: bool) -> dict[str, Any]:
    raw = value if isinstance(value, dict) else {}
    message: dict[str, Any] = {"role": "assistant", "content": _text_or_none(raw.get("content"))}
    for key in ("reasoning_content", "reasoning"):
        if (text := _text_or_none(raw.get(key))) is not None:
            message[key] = text
    if (calls := _calls(raw.get("tool_calls"), streamed)) or not streamed:
        message["tool_calls"] = calls or None
    return message


def _choices(value: object, streamed: bool) -> list[dict[str, Any]]:
    choices: list[dict[str, Any]] = []
    for position, raw in enumerate(value if isinstance(value, list) else []):
        if not isinstance(raw, dict):
            continue
        index = raw.get("index")
        finish = raw.get("finish_reason")
        choice: dict[str, Any] = {
            "index": index if type(index) is int and index >= 0 else position,
            "finish_reason": clean_text(finish) if isinstance(finish, str) and finish else None,
        }
        field = "delta" if streamed else "message"
        choice[field] = _message(raw.get(field, raw.get("message")), streamed)
        choices.append(choice)
    return choices


def _usage(value: object) -> dict[str, Any] | None:
    """Token counts that are counts (and their `*_details` of counts); None when none is."""
    if not isinstance(value, dict):
        return None
    usage: dict[str, Any] = {k: v for k, v in value.items() if _count(v) and _tokens_key(k)}
    for key in ("prompt_tokens_details", "completion_tokens_details"):
        details = value.get(key)
        if isinstance(details, dict):
            usage[key] = {k: v for k, v in details.items() if _count(v) and _tokens_key(k)}
    return usage if any(k.endswith("tokens") for k in usage) else None


def _tokens_key(key: object) -> bool:
    return isinstance(key, str) and key.isascii() and key.isidentifier() and "tokens" in key


def _count(value: object) -> bool:
    return type(value) is int and 0 <= value < 2**53


def _envelope(body: dict[str, Any], kind: str) -> dict[str, Any]:
    created = body.get("created")
    return {
        "id": _text_or_none(body.get("id")) or "",
        "object": kind,
        "created": created if type(created) is int and 0 <= created < 2**40 else 0,
        "model": _text_or_none(body.get("model")) or "",
    }


def clean_completion(body: object) -> dict[str, Any]:
    """A `chat.completion` body in the documented shape.

    Raises:
        UnreadableReply: The body is JSON but not a completion (an error, no usable choice).
    """
    if isinstance(body, dict) and "error" in body and "choices" not in body:
        error = _strings_safe(body["error"])
        message = error.get("message") if isinstance(error, dict) else None
        shown = " ".join(str(message or "no message").split())[:160]
        raise UnreadableReply(f"the server answered with an error: {shown}")
    if not isinstance(body, dict):
        raise UnreadableReply(f"the reply is a JSON {type(body).__name__}, not an object")
    choices = _choices(body.get("choices"), streamed=False)
    if not choices:
        raise UnreadableReply("the reply has no choices")
    completion = {**_envelope(body, "chat.completion"), "choices": choices}
    if usage := _usage(body.get("usage")):
        completion["usage"] = usage
    return completion


def clean_chunk(chunk: object) -> dict[str, Any] | None:
    """A `chat.completion.chunk` in the documented shape; None for a chunk to skip.

    An in-stream error frame (`{"error": ...}`) is kept as such for the client to raise.
    """
    if not isinstance(chunk, dict):
        return None
    if "error" in chunk and "choices" not in chunk:
        return {"error": _strings_safe(chunk["error"])}
    out = {**_envelope(chunk, "chat.completion.chunk")}
    out["choices"] = _choices(chunk.get("choices"), streamed=True)
    if usage := _usage(chunk.get("usage")):
        out["usage"] = usage
    return out


def _strings_safe(value: object) -> Any:
    if _too_deep(value, MAX_DEPTH):
        return {"message": "an error nested too deeply to show"}
    if isinstance(value, str):
        return {"message": clean_text(value)}
    return _strings(value)
