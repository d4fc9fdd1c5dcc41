"""Harmony text split into answer, reasoning and tool calls, finished or still arriving.

One parser serves both paths, so a streamed turn and the same turn read in one piece reach
the same answer: `split_harmony(text)` reads a finished turn; `ContentStream` feeds the
text as it arrives and emits only what can no longer change: a partial `<|` token, an open
harmony header, a possible `to=` recipient and anything that may be a tool call written as
JSON are held back until they are resolved. The caller then applies the full repair
(agent/llm/repair/message.py) and `ContentStream.tail()` emits whatever of the final answer was
held back. Whole harmony tokens (`<|name|>`) are markup and the `<|` of a token that never
closed (`<|co`) is debris, shown as `<`; any other `<|` is text (`The operator <||> joins
lists`) and reaches the user unchanged.

Each character is parsed once (`_Fold` keeps its state between pieces), so a streamed
reply costs time linear in its size, not in the square of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.llm.repair.args import HARMONY_TOKEN, RawCall, clean_tool_name
from agent.llm.repair.safe_prefix import SafePrefix

_TOKEN_SPLIT = re.compile(r"(<\|[a-z_]{1,16}\|>)")
_PARTIAL_TOKEN = re.compile(r"<(?:\|[a-z_]{0,16}\|?)?$")
_PARTIAL_RECIPIENT = re.compile(r"(?:^|(?<=[\s>]))to?$")
_RECIPIENT_AT = re.compile(r"(?:^|(?<=[\s>]))to=")
_RECIPIENT = re.compile(r"(?:^|[\s>])to=\s*(?P<to>[^<\n]*)")
_CHANNEL = re.compile(r"<\|channel\|>\s*(?P<channel>\w+)")
_ROLE = re.compile(r"^\s*(?:assistant)?")
_NAMES = ("start", "end", "message", "channel", "constrain", "return", "call", "endoftext")
_PREFIXES = sorted({n[:i] for n in _NAMES for i in range(1, len(n) + 1)}, key=len, reverse=True)
_DEBRIS = re.compile(r"<\|(?=(?:" + "|".join(_PREFIXES) + r")\|?(?![a-z_>]))")
"""The `<|` of a harmony token that never closed (`Search <|co"`): markup debris, not text."""
_DEBRIS_AT_END = re.compile(_DEBRIS.pattern + r"|<\|$")
"""The same in the last piece of a finished text, where a bare `<|` ends it."""
_HOLD = 19
"""Longest text a partial token or recipient can be (`<|` + 16 letters + `|`), plus one."""


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
    fold = _Fold()
    fold.consume(text, final=True)
    return fold.finish()


class _Fold:
    """The parser's state after the text consumed so far (complete tokens only).

    Answer and reasoning text only ever grow: a body's text goes to its channel as it
    arrives (the channel is known once `<|message|>` closes the header), so what was shown
    from a turn still arriving is always a prefix of what the finished turn says.
    """

    def __init__(self) -> None:
        self.content: list[str] = []
        """Answer text so far, in pieces."""
        self.reasoning: list[str] = []
        self.calls: list[RawCall] = []
        self.in_lead = True
        """Before the first token and before any `to=`: text is answer text."""
        self.header: list[str] = []
        self.body: list[str] | None = None
        self.body_kind = ""
        """Where the open body's text goes: "content", "reasoning" or "call"."""
        self.last = ""
        """The last character consumed (what a `to=` at the next piece's start follows)."""
        self.marked = False
        """A harmony token was seen: the turn is harmony text, so a `<|` of a token that
        never closed is debris; in text with no token every `<|` is the text's own."""

    def consume(self, text: str, *, final: bool = False) -> None:
        """Parse text that ends with no partial token or recipient (`final`: or the text's end)."""
        if not text:
            return
        self.marked = self.marked or ("<|" in text and _TOKEN_SPLIT.search(text) is not None)
        parts = _TOKEN_SPLIT.split(text) if "<|" in text else [text]
        for index, part in enumerate(parts):
            if not part:
                continue
            if _TOKEN_SPLIT.fullmatch(part):
                self.in_lead = False
                self._token(part)
                continue
            if self.marked and "<|" in part:
                debris = _DEBRIS_AT_END if final and index == len(parts) - 1 else _DEBRIS
                part = debris.sub("<", part)
            if self.in_lead:
                self._lead(part)
            else:
                self._text(part)
        self.last = text[-1]

    def _lead(self, part: str) -> None:
        at = _RECIPIENT_AT.search(self.last + part, len(self.last))
        if at is None:
            self.content.append(part)
            return
        cut = at.start() - len(self.last)
        self.content.append(part[:cut])
        self.in_lead = False
        self.header.append(part[cut:])

    def _text(self, part: str) -> None:
        if self.body is None:
            self.header.append(part)
            return
        if self.body_kind == "content":
            self.content.append(part)
        elif self.body_kind == "reasoning":
            self.reasoning.append(part)
        self.body.append(part)

    def _token(self, token: str) -> None:
        if token == "<|start|>":
            self.flush()
            self.header.append(token)
        elif token in ("<|end|>", "<|call|>", "<|return|>"):
            self.flush()
        elif token == "<|message|>" and self.body is None:  # a second one continues the body
            self.body = []
            head = "".join(self.header)
            channel = _CHANNEL.search(head)
            if _RECIPIENT.search(head):
                self.body_kind = "call"
            elif channel is not None and channel.group("channel") == "analysis":
                self.body_kind = "reasoning"
            else:
                self.body_kind = "content"
        elif token in ("<|channel|>", "<|constrain|>"):
            if self.body is not None:
                self.flush()
            self.header.append(token)
        # any other token is dropped

    def flush(self) -> None:
        """Close the open header or body."""
        head = "".join(self.header)
        recipient = _RECIPIENT.search(head)
        if recipient is not None:
            name = recipient.group("to").rsplit(" json", 1)[0]
            arguments = "".join(self.body or []).strip()
            self.calls.append(RawCall(clean_tool_name(name), arguments))
        elif self.body is None:
            self.content.append(_ROLE.sub("", HARMONY_TOKEN.sub("", head), count=1))
        self.header.clear()
        self.body = None
        self.body_kind = ""

    def finish(self) -> Harmony:
        """The parse of the whole text, once no more text will come."""
        self.flush()
        reasoning = "".join(self.reasoning).strip()
        return Harmony("".join(self.content), reasoning, tuple(self.calls))


def _held(pending: str, before: str) -> int:
    """Where the held-back end of `pending` starts: a partial token or a possible `to=`.

    `before` is the character before `pending` ("" at the start of the text).
    """
    partial = _PARTIAL_TOKEN.search(pending, max(len(pending) - _HOLD, 0))
    if partial is not None:
        return partial.start()
    for tail in ("to", "t"):
        if pending.endswith(tail):
            at = len(pending) - len(tail)
            previous = pending[at - 1] if at else before
            if not previous or previous.isspace() or previous == ">":
                return at
    return len(pending)


class ContentStream:
    """Incremental repair of one streamed turn's content.

    `feed(delta)` returns the answer and reasoning text that became certain; the caller
    emits those. After the last delta, the caller repairs the whole turn and passes the
    repaired answer to `tail()`, which returns what is still to be emitted.
    """

    def __init__(self) -> None:
        self._raw: list[str] = []
        self._fold = _Fold()
        self._pending = ""
        self._safe = SafePrefix()
        self._parts = 0
        self._thought = 0
        self._unshown: list[str] = []
        """Answer text parsed but not emitted yet."""
        self._shown: list[str] = []
        self._shown_length = 0
        self._stalled: list[str] = []
        """Text from a `<|` that may be debris on: held until a token shows it is (or the end)."""
        self._stall_tail = ""

    @property
    def answer(self) -> str:
        """The answer text emitted so far."""
        return "".join(self._shown)

    @property
    def raw(self) -> str:
        """Everything fed so far."""
        return "".join(self._raw)

    def feed(self, delta: str) -> tuple[str, str]:
        """Take the next piece of raw content; return (answer, reasoning) newly certain."""
        self._raw.append(delta)
        if self._stalled and not self._unstall(delta):
            return "", ""
        pending = self._pending + delta
        cut = _held(pending, self._fold.last)
        debris = None if self._fold.marked else _DEBRIS.search(pending, 0, cut)
        if debris is not None and _TOKEN_SPLIT.search(pending, 0, cut) is None:
            self._stalled, self._stall_tail = [pending[debris.start() :]], pending[-_HOLD:]
            cut = debris.start()
            self._pending = ""
        else:
            self._pending = pending[cut:]
        self._fold.consume(pending[:cut])
        content = self._fold.content
        for piece in content[self._parts :]:
            self._safe.add(piece)
            self._unshown.append(piece)
        self._parts = len(content)
        reasoning = "".join(self._fold.reasoning[self._thought :])
        self._thought = len(self._fold.reasoning)
        end = self._safe.safe_end()
        if end <= self._shown_length:
            return "", reasoning
        unshown = "".join(self._unshown)
        new_answer = unshown[: end - self._shown_length]
        self._unshown = [unshown[len(new_answer) :]]
        self._shown.append(new_answer)
        self._shown_length += len(new_answer)
        return new_answer, reasoning

    def _unstall(self, delta: str) -> bool:
        """Hold `delta` while stalled; True (and the held text made pending) once a token came."""
        probe = self._stall_tail + delta
        self._stalled.append(delta)
        self._stall_tail = probe[-_HOLD:]
        if _TOKEN_SPLIT.search(probe) is None:
            return False
        held = "".join(self._stalled)
        self._stalled = []
        self._pending = held[: len(held) - len(delta)]
        return True

    def tail(self, repaired: str) -> str:
        """What of the repaired final answer was not emitted yet."""
        if repaired.startswith(self.answer):
            rest = repaired[self._shown_length :]
            self._shown, self._shown_length = [repaired], len(repaired)
            return rest
        return ""  # cannot happen when the parser is consistent (tests replay every recording)
