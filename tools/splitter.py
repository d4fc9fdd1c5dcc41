"""Heading-aware splitting that keeps line spans and never overlaps.

Joining a document's pieces in order gives back the document exactly, so fetch_doc can
rebuild any document from the store alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

HEADING = re.compile(r"^[ ]{0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
FENCE = re.compile(r"^[ ]{0,3}(```|~~~)")

CHUNKER_VERSION = "2"  # bump when the split changes: stored documents are then re-chunked
HEADING_ROOM = 32
TokenCounter = Callable[[Sequence[str]], list[int]]
Outline = Mapping[int, tuple[int, str]]
"""Section starts of a document that is not Markdown: line number -> (level, title)."""


@dataclass(frozen=True)
class Piece:
    """A contiguous slice of a document."""

    text: str
    start_line: int
    end_line: int
    heading: str


@dataclass
class _Unit:
    text: str
    line: int
    tokens: int
    heading: str
    starts_section: bool
    is_blank: bool


def heading_of(line: str) -> tuple[int, str] | None:
    """(level, title) when the line is a Markdown ATX heading (indented up to 3 spaces)."""
    m = HEADING.match(line.rstrip("\r\n"))
    return (len(m.group(1)), m.group(2).strip()) if m else None


def _split_long_line(line: str, max_tokens: int, count: TokenCounter) -> list[str]:
    """Cut a line longer than the budget into parts that each fit, preferring spaces."""
    tokens = count([line])[0]
    if tokens <= max_tokens or len(line) < 2:
        return [line]
    parts = max(2, -(-tokens // max_tokens))
    width = max(1, len(line) // parts)
    out: list[str] = []
    rest = line
    while len(rest) > width:
        cut = rest.rfind(" ", width // 2, width)
        cut = width if cut <= 0 else cut + 1
        out.append(rest[:cut])
        rest = rest[cut:]
    out.append(rest)
    # A share by characters can still be over budget (dense tokens): split those again.
    return [q for p in out for q in _split_long_line(p, max_tokens, count)]


def _units(
    text: str, max_tokens: int, count: TokenCounter, outline: Outline | None = None
) -> list[_Unit]:
    lines = text.splitlines(keepends=True)
    counts = count([ln for ln in lines]) if lines else []
    units: list[_Unit] = []
    stack: list[tuple[int, str]] = []
    in_fence = False
    for i, (line, tokens) in enumerate(zip(lines, counts, strict=True), start=1):
        starts = False
        if outline is not None:  # code, reStructuredText, AsciiDoc: the loader found the sections
            h = outline.get(i)
        elif FENCE.match(line):
            in_fence = not in_fence
            h = None
        else:
            h = None if in_fence else heading_of(line)
        if h:
            stack = [s for s in stack if s[0] < h[0]] + [h]
            starts = True
        heading = " > ".join(t for _, t in stack)
        # Fragments leave room for a heading, so a title is not left alone in a chunk of its own.
        budget = max_tokens - min(HEADING_ROOM, max_tokens // 4)
        pieces = [line] if tokens <= budget else _split_long_line(line, budget, count)
        sub_counts = [tokens] if len(pieces) == 1 else count(pieces)
        for j, (p, c) in enumerate(zip(pieces, sub_counts, strict=True)):
            units.append(_Unit(p, i, c, heading, starts and j == 0, not line.strip()))
    return units


def split_document(
    text: str, max_tokens: int, count: TokenCounter, outline: Outline | None = None
) -> list[Piece]:
    """Split text into non-overlapping pieces of at most about max_tokens tokens.

    A new piece starts at every heading (unless the piece so far holds only headings and
    blank lines), and a section that is too long breaks at the last blank line before the
    budget runs out, else at a line, else inside a line that alone is too long. With an
    `outline` (from the loader of code, .rst or .adoc), its section starts are the headings.
    """
    pieces: list[Piece] = []
    cur: list[_Unit] = []
    total = 0

    def flush(upto: int) -> None:
        nonlocal cur, total
        head, cur = cur[:upto], cur[upto:]
        total = sum(u.tokens for u in cur)
        if head:
            # Label with the section the body sits under, not a heading-only prefix's.
            body = next((u for u in head if not (u.starts_section or u.is_blank)), head[-1])
            pieces.append(
                Piece("".join(u.text for u in head), head[0].line, head[-1].line, body.heading)
            )

    for unit in _units(text, max_tokens, count, outline):
        # In an outlined text (code) sections are small and many: one starts a new piece only
        # once the piece so far holds a quarter of the budget, else they share a piece.
        small = outline is not None and total < max_tokens // 4
        if (
            unit.starts_section
            and cur
            and not small
            and not all(u.starts_section or u.is_blank for u in cur)
        ):
            flush(len(cur))
        if cur and total + unit.tokens > max_tokens:
            blank = max((i for i, u in enumerate(cur) if u.is_blank and i > 0), default=0)
            cut = blank + 1 if blank >= len(cur) // 2 else len(cur)
            if all(u.starts_section or u.is_blank for u in cur[:cut]):
                cut = len(cur)  # never leave a heading alone in a piece of its own
            flush(cut)
            if cur and total + unit.tokens > max_tokens:
                flush(len(cur))
        cur.append(unit)
        total += unit.tokens
    flush(len(cur))
    return pieces
