"""A streamed reply rewritten event by event into clean `chat.completion.chunk` frames.

`EventCleaner` reads raw SSE bytes as they arrive (any split, invalid UTF-8 included) and
returns the same events with each `data:` payload passed through
agent.llm.repair.reply_shape.clean_chunk. Comments (keep-alives) and `event:` lines pass; a body
with no event at all (a proxy's HTML page sent with status 200) is an UnreadableReply.
Linear in the reply's size: every byte is looked at a bounded number of times.
"""

from __future__ import annotations

import json

from agent.llm.repair.reply_shape import UnreadableReply, clean_chunk, clean_text, decode

_FIELDS = (b"data:", b"event:", b"id:", b"retry:", b":")


class EventCleaner:
    """Incremental SSE rewriter; `feed` each piece, then `finish` once."""

    def __init__(self) -> None:
        self._line: list[bytes] = []
        self._event: list[bytes] = []
        self._events = 0
        self._stray = b""
        """The start of the first line that is no SSE field (shown if no event came)."""

    def feed(self, data: bytes) -> bytes:
        """Cleaned bytes for the events completed by this piece."""
        out: list[bytes] = []
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            self._line.append(data[start:end])
            line = b"".join(self._line).rstrip(b"\r")
            self._line = []
            start = end + 1
            if line:
                self._event.append(line)
                if not self._stray and not line.startswith(_FIELDS):
                    self._stray = line[:120]
            elif self._event:
                out.append(self._emit())
        if start < len(data):
            self._line.append(data[start:])
        return b"".join(out)

    def finish(self) -> bytes:
        """Cleaned bytes of a last event not closed by a blank line.

        Raises:
            UnreadableReply: The body held no event at all but other text.
        """
        tail = b"".join(self._line).rstrip(b"\r")
        if tail:
            self._event.append(tail)
            if not self._stray and not tail.startswith(_FIELDS):
                self._stray = tail[:120]
        out = self._emit() if self._event else b""
        if not self._events and self._stray:
            shown = clean_text(self._stray.decode("utf-8", "replace"))
            raise UnreadableReply(f"not an event stream: {' '.join(shown.split())!r}", retry=False)
        return out

    def _emit(self) -> bytes:
        lines, self._event = self._event, []
        data = [line[5:].removeprefix(b" ") for line in lines if line.startswith(b"data:")]
        rest = [line for line in lines if not line.startswith(b"data:")]
        head = b"".join(_clean_line(line) + b"\n" for line in rest)
        if not data:
            return head + b"\n"
        self._events += 1
        payload = b"\n".join(data)
        if payload.strip() == b"[DONE]":
            return head + b"data: [DONE]\n\n"
        try:
            chunk = clean_chunk(decode(payload))
        except UnreadableReply:
            raise
        except ValueError:
            shown = " ".join(clean_text(payload[:80].decode("utf-8", "replace")).split())
            raise UnreadableReply(f"a stream event is not JSON: {shown!r}") from None
        if chunk is None:
            return b""
        return head + b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _clean_line(line: bytes) -> bytes:
    return clean_text(line.decode("utf-8", "replace")).encode()
