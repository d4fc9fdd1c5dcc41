"""Harmony text split into answer, reasoning and tool calls, finished or still arriving.

One parser serves both paths, so a streamed turn and the same turn read in one piece reach
the same answer: `split_harmony(text)` reads a finished turn; `ContentStream` feeds the
text as it arrives and emits only what can no longer change: a partial `<|` token, an open
harmony header, a possible `to=` recipient and anything that may be a tool call written as
JSON are held back until they are resolved. `ContentStream.finish()` then applies the full
repair (agent/llm/repair.py) and emits whatever of the final answer was held back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.llm.repair_args import (
    HARMONY_TOKEN,
    JUNK_CHARS,
    RawCall,
    clean_tool_name,
    json_call_start,
)

_TOKEN_SPLIT = re.compile(r"(<\|[a-z_]{1,16}\|>)")
_PARTIAL_TOKEN = re.compile(r"<(?:\|[a-z_]{0,16}\|?)?$")
_PARTIAL_RECIPIENT = re.compile(r"(?:^|(?<=[\s>]))to?$")
_RECIPIENT_AT = re.compile(r"(?:^|(?<=[\s>]))to=")
_RECIPIENT = re.compile(r"(?:^|[\s>])to=\s*(?P<to>[^<\n]*)")
_CHANNEL = re.compile(r"<\|channel\|>\s*(?P<channel>\w+)")
_ROLE = re.compile(r"^\s*(?:assistant)?")


@dataclass(frozen=True)
class Harmony:
    """Text split into the harmony channels it contained."""

    content: str
    reasoning: str
    calls: tuple[RawCall, ...]


def split_harmony(text: str) -> Harmony:
    """Split raw harmony text into final content, analysis reasoning and tool calls.

    Text before the first harmony token is answer text unless it names a `to=` recipient.
    Text without harmony tokens or a recipient is returned unchanged as content.
    """
    return _parse(text, finished=True)


def _parse(text: str, *, finished: bool) -> Harmony:
    """Parse text; when not finished, leave out what later text could still change."""
    if not finished:
        partial = _PARTIAL_TOKEN.search(text) or _PARTIAL_RECIPIENT.search(text)
        text = text[: partial.start()] if partial else text
    if "<|" not in text and not _RECIPIENT_AT.search(text):
        return Harmony(text, "", ())
    # a `<|` that opens no harmony token is not markup either; it never reaches the user
    pieces = [
        p if _TOKEN_SPLIT.fullmatch(p) else p.replace("<|", "<") for p in _TOKEN_SPLIT.split(text)
    ]
    content: list[str] = []
    reasoning: list[str] = []
    calls: list[RawCall] = []
    lead = pieces[0]
    at = _RECIPIENT_AT.search(lead)
    content.append(lead[: at.start()] if at else lead)
    header: list[str] = [lead[at.start() :]] if at else []
    body: list[str] | None = None

    def flush(last: bool = False) -> None:
        nonlocal body
        head = "".join(header)
        recipient = _RECIPIENT.search(head)
        channel = _CHANNEL.search(head)
        if recipient is not None:
            if last and not finished:
                pass  # the call's arguments may still be arriving
            else:
                name = recipient.group("to").rsplit(" json", 1)[0]
                calls.append(RawCall(clean_tool_name(name), "".join(body or []).strip()))
        elif body is None:
            if finished or not last:  # an open header may still get a body
                content.append(_ROLE.sub("", HARMONY_TOKEN.sub("", head), count=1))
        elif channel is not None and channel.group("channel") == "analysis":
            reasoning.append("".join(body))
        else:
            content.append("".join(body))
        header.clear()
        body = None

    for part in pieces[1:]:
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
    flush(last=True)
    reasoned = "".join(reasoning)
    return Harmony("".join(content), reasoned.strip() if finished else reasoned, tuple(calls))


def safe_answer(content: str) -> str:
    """The part of not-yet-finished answer text that no later text can turn into a tool call."""
    start = json_call_start(content)
    text = content if start is None else content[:start]
    text = text.rstrip(" \t\r\n" + JUNK_CHARS)
    return text if text.strip(JUNK_CHARS + " \t\r\n") else ""


class ContentStream:
    """Incremental repair of one streamed turn's content.

    `feed(delta)` returns the answer and reasoning text that became certain; the caller
    emits those. After the last delta, the caller repairs the whole turn and passes the
    repaired answer to `tail()`, which returns what is still to be emitted.
    """

    def __init__(self) -> None:
        self.raw = ""
        self.answer = ""
        self.reasoning = ""

    def feed(self, delta: str) -> tuple[str, str]:
        """Take the next piece of raw content; return (answer, reasoning) newly certain."""
        self.raw += delta
        parsed = _parse(self.raw, finished=False)
        answer = safe_answer(parsed.content)
        new_answer = ""
        if answer.startswith(self.answer) and len(answer) > len(self.answer):
            new_answer = answer[len(self.answer) :]
            self.answer = answer
        new_reasoning = ""
        if parsed.reasoning.startswith(self.reasoning):
            new_reasoning = parsed.reasoning[len(self.reasoning) :]
            self.reasoning = parsed.reasoning
        return new_answer, new_reasoning

    def tail(self, repaired: str) -> str:
        """What of the repaired final answer was not emitted yet."""
        if repaired.startswith(self.answer):
            rest = repaired[len(self.answer) :]
            self.answer = repaired
            return rest
        return ""  # cannot happen when the parser is consistent (tests replay every recording)
