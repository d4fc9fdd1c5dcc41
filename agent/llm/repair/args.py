"""Repairs of tool-call arguments and of tool calls sent as JSON text (pure functions)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.utils.json import parse_partial_json

from agent.llm.repair.reply_shape import depth_over

# Zero-width and non-breaking characters that llama.cpp leaked around a recipient
# (ggml-org/llama.cpp#15181); str.strip() does not remove the zero-width ones.
JUNK_CHARS = "\u00a0\u200b\u200c\u200d\u2060\ufeff"
HARMONY_TOKEN = re.compile(r"<\|[a-z_]{1,16}\|>")
_FENCE = re.compile(r"^```[\w-]*[ \t]*\n?(.*?)\n?```$", re.S)
_PYTHON_WORDS = {"True": "true", "False": "false", "None": "null"}
_PYTHON_WORD = re.compile(r"True|False|None")
_TRAILING_COMMA = re.compile(r",\s*[}\]]")
MAX_ARGUMENTS = 100_000
"""Longest arguments text repaired; ours are a few hundred characters at most."""
MAX_NESTING = 64
"""Deepest nesting of arguments read; ours are flat."""
_EXAMPLES = {
    "milvus_search": '{"query": "...", "k": 5}',
    "fetch_doc": '{"cursor": 1, "start_line": 1, "num_lines": 40}',
    "find_in_doc": '{"cursor": 1, "pattern": "..."}',
}


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


class ArgumentsError(ValueError):
    """Tool-call arguments that cannot be repaired; the message tells the model how to fix them."""


@dataclass(frozen=True)
class RawCall:
    """A tool call recovered from text: a cleaned name and its unparsed arguments."""

    name: str
    arguments: str


def parse_arguments(
    raw: str | Mapping[str, Any] | None,
    tool: str = "",
    schema: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Parse tool-call arguments, repairing them when the fix is unambiguous.

    Repairs: code fences, trailing garbage after the object, single quotes, Python
    True/False/None, trailing commas, JSON encoded twice, and a cut-off object (missing
    closing quotes, brackets or braces) when the completed object fits the tool's schema.

    Args:
        raw: The arguments as the server sent them.
        tool: The tool's name, used for the example in the error message.
        schema: The tool's JSON schema; a completed cut-off object must fit it.

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
    if len(text) > MAX_ARGUMENTS or depth_over(text, MAX_NESTING):
        raise ArgumentsError(
            f"Arguments were {len(text)} characters long or nested more than {MAX_NESTING} "
            f"levels deep. Send a short, flat JSON object like {example_for(tool)}."
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
    # a cut inside a string keeps the spaces it ended with (stripped from `text` above)
    kept = HARMONY_TOKEN.sub("", (raw or "").lstrip(JUNK_CHARS + " \t\r\n").rstrip(JUNK_CHARS))
    cut = kept if kept.rstrip() == text else text
    for candidate in (cut, _normalise_jsonish(cut)):
        value = complete_json(candidate)
        if isinstance(value, dict) and value and (schema is None or fits(value, schema)):
            return value
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
    except (ValueError, RecursionError):
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
        word = _PYTHON_WORD.match(text, i)
        if word and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            out.append(_PYTHON_WORDS[word.group()])
            i += len(word.group())
            continue
        if char == "," and _TRAILING_COMMA.match(text, i):
            i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def json_call_start(content: str) -> int | None:
    """Where text that may be a tool call written as JSON starts, or None.

    That is the content's start or a line opening with `{`, `[` or a code fence.
    """
    lead = len(content) - len(content.lstrip(JUNK_CHARS + " \t\r\n"))
    if content[lead : lead + 1] in ("{", "[") or content.startswith("`", lead):
        return 0
    match = _CALL_LINE.search(content)
    return match.start() if match else None


_CALL_LINE = re.compile(r"(?m)^[ \t]*(?:```|[{\[]|`{1,2}$)")


def calls_in_json_content(
    content: str, schemas: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[tuple[RawCall, ...], str]:
    """Tool calls written as JSON text, and the prose left before them.

    Recognised: `{"name": ..., "arguments": ...}` (or a list of them), at the start of the
    content or of a line after some prose, bare or in a code fence; and bare arguments that
    fit exactly one tool's schema (`schemas`: tool name -> JSON schema of its parameters).

    Returns:
        The calls (empty when the JSON is not a call: the content is then an answer) and the
        prose before them.
    """
    start = json_call_start(content)
    if start is None:
        return (), content
    text = content[start:].strip(JUNK_CHARS + " \t\r\n")
    if text.startswith("```"):
        opening, _, rest = text.partition("\n")
        if not re.fullmatch(r"```[ \t]*(?:json[\w-]*)?[ \t]*", opening):
            return (), content
        text = rest.split("```", 1)[0].strip()
    if not text.startswith(("{", "[")) or len(text) > MAX_ARGUMENTS:
        return (), content
    if depth_over(text, MAX_NESTING):
        return (), content
    value = _decode_prefix(text)
    if value is None:
        value = _decode_prefix(_normalise_jsonish(text))
    if value is None:
        value = complete_json(text)
    items = value if isinstance(value, list) else [value]
    calls: list[RawCall] = []
    for item in items:
        if not isinstance(item, dict):
            return (), content
        args = item.get("arguments", item.get("parameters", item.get("args")))
        if isinstance(item.get("name"), str) and args is not None:
            calls.append(RawCall(item["name"], args if isinstance(args, str) else json.dumps(args)))
        elif (only := only_fit(item, schemas or {})) is not None:
            calls.append(RawCall(only, json.dumps(item)))
        else:
            return (), content
    return tuple(calls), content[:start].rstrip(JUNK_CHARS + " \t\r\n") if calls else content


# What may follow the point where a cut JSON text stops parsing (json's error position):
# a literal or a sign cut short, a number cut at "." or its exponent; nothing else.
_CUT_VALUE = re.compile(r"(?:-|t|tr|tru|f|fa|fal|fals|n|nu|nul)?\s*\Z")
_CUT_NUMBER = re.compile(r"(?:\.|[eE][+-]?)?\s*\Z")


def is_cut_json(text: str) -> bool:
    """Whether `text` is a JSON value cut short: a prefix of some valid JSON, not garbage.

    parse_partial_json backs off from the end until something parses, so it turns
    `{"cursor": 0, oops` into `{"cursor": 0}`; a model's malformed call must be refused
    with its reason instead. json's own error says where parsing stopped: a cut text stops
    in an unterminated string, or at its very end but for a cut literal or number.
    """
    try:
        json.loads(text, strict=True)
    except json.JSONDecodeError as exc:
        rest = text[exc.pos :]
        if exc.msg.startswith("Unterminated string"):
            return True
        if exc.msg == "Expecting value":
            return bool(_CUT_VALUE.match(rest))
        if exc.msg.startswith(("Expecting ',' delimiter", "Expecting ':' delimiter")):
            return bool(_CUT_NUMBER.match(rest))
        if exc.msg.startswith("Expecting property name"):
            return not rest.strip()
        return False
    return False  # complete: nothing was cut


def complete_json(text: str) -> Any:
    """The value a cut-off JSON text was on its way to, or None when it cannot tell.

    langchain-core's `parse_partial_json` closes an open string, arrays and objects and
    drops a dangling `"key":`, `,` or cut literal. On every prefix of the recorded
    arguments and of 400 generated objects it returns what this module's own completion
    returned wherever that one returned anything (tests/unit/test_repair_stream.py); it
    also completes a cut literal (`nu`) or a number cut at `0.`, which ours refused.
    Strict: control characters inside strings stay invalid, as in `parse_arguments`.
    Returns None for an empty object or array (see the end).
    """
    if not is_cut_json(text):
        return None
    try:
        value = parse_partial_json(text, strict=True)
    except (ValueError, RecursionError):  # a closing bracket that does not match
        return None
    # Ours, not the library's: when nothing before the cut parses, parse_partial_json backs
    # off to an empty `{}`/`[]`, which completes nothing (a raw tab in a string, say).
    return value if value or not isinstance(value, dict | list) else None


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def fits(args: Mapping[str, Any], schema: Mapping[str, Any]) -> bool:
    """True when arguments fit a tool's JSON schema.

    Required keys present, no unknown keys, top-level types right (what our tools' schemas
    say; not a full validator).
    """
    properties = schema.get("properties") or {}
    if any(key not in args for key in schema.get("required") or []):
        return False
    for key, value in args.items():
        spec = properties.get(key)
        if spec is None:
            return False
        kinds = spec.get("type")
        options = [kinds] if isinstance(kinds, str) else list(kinds or [])
        options += [o.get("type") for o in spec.get("anyOf") or [] if isinstance(o, dict)]
        allowed = [t for name in options if name for t in _TYPES.get(name, ())]
        if "null" in options and value is None:
            continue
        if allowed and (
            not isinstance(value, tuple(allowed))
            or (isinstance(value, bool) and bool not in allowed)
        ):
            return False
    return True


def only_fit(args: Any, schemas: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The one tool whose schema the arguments fit, or None (none, or more than one)."""
    if not isinstance(args, Mapping) or not args:
        return None
    fitting = [name for name, schema in schemas.items() if fits(args, schema)]
    return fitting[0] if len(fitting) == 1 else None
