"""Repairs of tool-call arguments and of tool calls sent as JSON text (pure functions)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Zero-width and non-breaking characters that llama.cpp leaked around a recipient
# (ggml-org/llama.cpp#15181); str.strip() does not remove the zero-width ones.
JUNK_CHARS = "\u00a0\u200b\u200c\u200d\u2060\ufeff"
HARMONY_TOKEN = re.compile(r"<\|[a-z_]{1,16}\|>")
_FENCE = re.compile(r"^```[\w-]*[ \t]*\n?(.*?)\n?```$", re.S)
_PYTHON_WORDS = {"True": "true", "False": "false", "None": "null"}
_EXAMPLES = {
    "milvus_search": '{"query": "...", "k": 5}',
    "fetch_doc": '{"cursor": 1, "start_line": 1, "num_lines": 40}',
}


class ArgumentsError(ValueError):
    """Tool-call arguments that cannot be repaired; the message tells the model how to fix them."""


@dataclass(frozen=True)
class RawCall:
    """A tool call recovered from text: a cleaned name and its unparsed arguments."""

    name: str
    arguments: str


def parse_arguments(raw: str | Mapping[str, Any] | None, tool: str = "") -> dict[str, Any]:
    """Parse tool-call arguments, repairing them when the fix is unambiguous.

    Repairs: code fences, trailing garbage after the object, single quotes, Python
    True/False/None, trailing commas, JSON encoded twice.

    Args:
        raw: The arguments as the server sent them.
        tool: The tool's name, used for the example in the error message.

    Returns:
        The arguments as a dict.

    Raises:
        ArgumentsError: The arguments cannot be read; the message says how to fix them.
    """
    if isinstance(raw, Mapping):
        return dict(raw)
    text = HARMONY_TOKEN.sub("", (raw or "").strip(JUNK_CHARS + " \t\r\n")).strip()
    if fence := _FENCE.match(text):
        text = fence.group(1).strip()
    if not text:
        raise ArgumentsError(
            f"No arguments were sent. Send a JSON object like {example_for(tool)}."
        )
    for candidate in (text, _normalise_jsonish(text)):
        value = _decode_prefix(candidate)
        if isinstance(value, str):
            value = _decode_prefix(value.strip())
        if isinstance(value, dict):
            return value
        if value is not None:
            kind = type(value).__name__
            raise ArgumentsError(
                f"Arguments must be a JSON object, not a {kind}. "
                f"Send a JSON object like {example_for(tool)}."
            )
    preview = " ".join(text.split())[:80]
    raise ArgumentsError(
        f"Arguments were not valid JSON: {preview!r}. Send a JSON object like {example_for(tool)}."
    )


def example_for(tool: str) -> str:
    """A JSON example of valid arguments for one of our tools."""
    return _EXAMPLES.get(tool, '{"name": "value"}')


def _decode_prefix(text: str) -> Any:
    """Decode the JSON value at the start of text, ignoring anything after it."""
    try:
        return json.JSONDecoder().raw_decode(text)[0]
    except ValueError:
        return None


def _normalise_jsonish(text: str) -> str:
    """Rewrite Python-ish JSON (single quotes, True/None, trailing commas) as JSON."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "\"'":
            end = i + 1
            chunk: list[str] = []
            while end < len(text) and text[end] != char:
                if text[end] == "\\" and end + 1 < len(text):
                    pair = text[end : end + 2]
                    chunk.append("'" if pair == "\\'" else pair)
                    end += 2
                    continue
                chunk.append('\\"' if text[end] == '"' else text[end])
                end += 1
            out.append('"' + "".join(chunk) + '"')
            i = end + 1
            continue
        word = re.match(r"True|False|None", text[i:])
        if word and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            out.append(_PYTHON_WORDS[word.group()])
            i += len(word.group())
            continue
        if char == "," and re.match(r",\s*[}\]]", text[i:]):
            i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def calls_in_json_content(content: str) -> tuple[RawCall, ...]:
    """Tool calls sent as JSON text: `{"name": ..., "arguments": ...}` or a list of them."""
    text = content.strip(JUNK_CHARS + " \t\r\n")
    if fence := _FENCE.match(text):
        text = fence.group(1).strip()
    if not text.startswith(("{", "[")):
        return ()
    value = _decode_prefix(text)
    if value is None:
        value = _decode_prefix(_normalise_jsonish(text))
    items = value if isinstance(value, list) else [value]
    calls: list[RawCall] = []
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str)):
            return ()
        args = item.get("arguments", item.get("parameters", item.get("args")))
        if args is None:
            return ()
        calls.append(RawCall(item["name"], args if isinstance(args, str) else json.dumps(args)))
    return tuple(calls)
