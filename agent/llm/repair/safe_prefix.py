"""How much of a streamed answer no later text can turn into a tool call written as JSON.

gpt-oss sometimes writes a tool call as JSON in its answer text; while the text streams,
what may become such a call is held back (agent/llm/repair/harmony.py emits the rest).
"""

from __future__ import annotations

import re

from agent.llm.repair.args import JUNK_CHARS

_BLANK = " \t\r\n" + JUNK_CHARS
_CALL_LINE = re.compile(r"[ \t]*(?:```|[{\[]|`{1,2}(?:\n|$))")
"""A line that may open a JSON call: `{`, `[`, a code fence, or one or two backticks."""


class SafePrefix:
    """How much of the growing answer text no later text can turn into a tool call.

    That is the text before a JSON call's possible start (the content's first character
    being `{`, `[` or a backtick, or a line opening with `{`, `[` or a code fence), without
    trailing blanks. `add` takes each new piece once: the work is linear in the text.
    """

    def __init__(self) -> None:
        self.length = 0
        self.solid = 0
        """End of the last character that is not blank."""
        self.started = False
        """A character that is not blank was seen."""
        self.start_solid: int | None = None
        """Answer end when a call may begin at a complete line (or the first character)."""
        self.line_solid = 0
        """`solid` where the current line began."""
        self.indented = True
        """The current line has shown only spaces and tabs so far."""
        self.head = ""
        """Up to 4 characters of the current line after its indentation."""

    def add(self, piece: str) -> None:
        """Take the next piece of answer text."""
        if self.start_solid is not None or not piece:
            self.length += len(piece)
            return
        if not self.started and (lead := piece.lstrip(_BLANK)):
            self.started = True
            if lead[0] in "{[`":
                self.start_solid = 0
                self.length += len(piece)
                return
        at = 0
        while (newline := piece.find("\n", at)) >= 0:
            self._line_text(piece[at:newline])
            if _CALL_LINE.match(self.head + "\n"):
                self.start_solid = self.line_solid
                self.length += len(piece)
                return
            self._solid_to(piece, at, newline + 1)
            self.line_solid, self.indented, self.head = self.solid, True, ""
            at = newline + 1
        self._line_text(piece[at:])
        self._solid_to(piece, at, len(piece))
        self.length += len(piece)

    def _line_text(self, text: str) -> None:
        if self.indented:
            text = text.lstrip(" \t")
            self.indented = not text
        if len(self.head) < 4:
            self.head += text[: 4 - len(self.head)]

    def _solid_to(self, piece: str, start: int, end: int) -> None:
        kept = piece[start:end].rstrip(_BLANK)
        if kept:
            self.solid = self.length + start + len(kept)

    def safe_end(self) -> int:
        """The length of the prefix of the answer text that is safe to show."""
        if self.start_solid is not None:
            return self.start_solid
        if not self.indented and _CALL_LINE.match(self.head):
            return self.line_solid  # the open line may be a call's first line
        return self.solid
