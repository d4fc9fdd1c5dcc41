r"""A document's text as a stream of bounded fragments, read a block at a time.

A fragment is a whole line with its line break (every break `str.splitlines` knows, with
`\r\n` kept together), or, for a line longer than FRAGMENT_CHARS, one part of it. Joining
the fragments gives back the text exactly, so a file of any size is split and hashed in
bounded memory, and a line without breaks (minified HTML, a one-line dump) never becomes
one huge string.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

FRAGMENT_CHARS = 1 << 16
"""The longest fragment: one line up to this size is split by tokens exactly as before."""
READ_CHARS = 1 << 16
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def ends_line(fragment: str) -> bool:
    """Whether a fragment ends its line (else it is a part of a longer line)."""
    return bool(fragment) and fragment[-1] in LINE_BREAKS


def fragments(read: Callable[[int], str]) -> Iterator[str]:
    """The fragments of a text read by `read(n)` (which returns '' at the end).

    Args:
        read: A text reader that does not translate line breaks (`newline=""`).

    Yields:
        Fragments whose concatenation is exactly what `read` returned.
    """
    buf = ""
    while True:
        block = read(READ_CHARS)
        buf += block
        parts = buf.splitlines(keepends=True)
        # The last part may continue in the next block (no break yet, or a '\r' before '\n').
        tail = (
            parts.pop() if parts and block and (not ends_line(parts[-1]) or buf[-1] == "\r") else ""
        )
        for part in parts:
            yield from _cut(part)
        buf = tail
        while len(buf) > FRAGMENT_CHARS:
            yield buf[:FRAGMENT_CHARS]
            buf = buf[FRAGMENT_CHARS:]
        if not block:
            if buf:
                yield buf
            return


def _cut(part: str) -> Iterator[str]:
    while len(part) > FRAGMENT_CHARS:
        yield part[:FRAGMENT_CHARS]
        part = part[FRAGMENT_CHARS:]
    if part:
        yield part


def text_fragments(text: str) -> Iterator[str]:
    """The fragments of a string held in memory."""
    return fragments(io.StringIO(text, newline="").read)


def file_fragments(path: Path) -> Iterator[str]:
    """The fragments of a UTF-8 file (a BOM is dropped), read a block at a time.

    Raises:
        UnicodeDecodeError: The file is not UTF-8 (possibly after fragments were yielded).
        OSError: The file cannot be read.
    """
    with path.open(encoding="utf-8-sig", newline="") as fh:
        yield from fragments(fh.read)
