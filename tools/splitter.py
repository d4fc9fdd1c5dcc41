"""Heading-aware splitting that keeps line spans and never overlaps.

Joining a document's pieces in order gives back the document exactly, so fetch_doc can
rebuild any document from the store alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from tools.textstream import ends_line, text_fragments

HEADING = re.compile(r"^[ ]{0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
FENCE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})(.*)")

# Not bumped for fence_after (a ``` line inside a ~~~ fence no longer closes it): only pieces
# of such documents change, and a bump would re-embed every stored document.
CHUNKER_VERSION = "2"  # bump when the split changes: stored documents are then re-chunked
HEADING_ROOM = 32
BLOCK_CHARS = 1 << 16
"""Characters of text whose tokens are counted in one call (Ctrl-C acts between calls)."""
BLOCK_LINES = 1024
PIECE_BYTES = 65535
"""A piece never holds more UTF-8 bytes (a run of blank lines or of characters that are few
tokens): Milvus's text field holds no more."""
_CUT_CHARS = PIECE_BYTES // 4  # characters that fit, whatever they are
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
    size: int = 0
    """UTF-8 bytes of the text."""


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


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


def _blocks(parts: Iterable[str]) -> Iterator[list[str]]:
    """Fragments in blocks of about BLOCK_CHARS: one token-count call each, never the file."""
    block: list[str] = []
    size = 0
    for part in parts:
        block.append(part)
        size += len(part)
        if size >= BLOCK_CHARS or len(block) >= BLOCK_LINES:
            yield block
            block, size = [], 0
    if block:
        yield block


def fence_after(open_mark: str | None, line: str) -> str | None:
    """The marker of the code fence open after `line` (None outside fences), as CommonMark.

    A fence closes only with a line of the same character, at least as long, and nothing
    after it; a ``` line inside a ~~~ fence is code. A backtick line whose info string holds
    a backtick opens nothing.
    """
    m = FENCE.match(line)
    if m is None:
        return open_mark
    mark, rest = m.group(1), m.group(2)
    if open_mark is None:
        return None if mark[0] == "`" and "`" in rest else mark
    closes = mark[0] == open_mark[0] and len(mark) >= len(open_mark) and not rest.strip()
    return None if closes else open_mark


def _units(
    parts: Iterable[str], max_tokens: int, count: TokenCounter, outline: Outline | None = None
) -> Iterator[_Unit]:
    """Units to pack into pieces: lines, or parts of a line too long for the budget."""
    stack: list[tuple[int, str]] = []
    fence: str | None = None
    line, at_start = 1, True
    # Fragments leave room for a heading, so a title is not left alone in a chunk of its own.
    budget = max_tokens - min(HEADING_ROOM, max_tokens // 4)
    for block in _blocks(parts):
        for part, tokens in zip(block, count(block), strict=True):
            starts = False
            if outline is not None:  # code, reStructuredText, AsciiDoc: the loader's sections
                if at_start and (h := outline.get(line)):
                    stack = [s for s in stack if s[0] < h[0]] + [h]
                    starts = True
            elif at_start and (fence is not None or FENCE.match(part)):
                fence = fence_after(fence, part)
            elif at_start and (h := heading_of(part)):
                stack = [s for s in stack if s[0] < h[0]] + [h]
                starts = True
            heading = " > ".join(t for _, t in stack)
            pieces = [part] if tokens <= budget else _split_long_line(part, budget, count)
            if any(_size(p) > PIECE_BYTES for p in pieces):  # characters that are few tokens
                pieces = [
                    p[i : i + _CUT_CHARS] for p in pieces for i in range(0, len(p), _CUT_CHARS)
                ]
            sub_counts = [tokens] if len(pieces) == 1 else count(pieces)
            blank = not part.strip()
            for j, (p, c) in enumerate(zip(pieces, sub_counts, strict=True)):
                yield _Unit(p, line, c, heading, starts and j == 0, blank, _size(p))
            at_start = ends_line(part)
            line += at_start


def split_document(
    text: str, max_tokens: int, count: TokenCounter, outline: Outline | None = None
) -> list[Piece]:
    """Split text held in memory (see split_stream)."""
    return list(split_stream(text_fragments(text), max_tokens, count, outline))


def split_stream(
    parts: Iterable[str], max_tokens: int, count: TokenCounter, outline: Outline | None = None
) -> Iterator[Piece]:
    """Split a text, given as fragments (tools.textstream), into non-overlapping pieces.

    Pieces hold at most about max_tokens tokens (and PIECE_BYTES bytes). A new piece
    starts at every heading (unless the piece so far holds only headings and blank lines),
    and a section that is too long breaks at the last blank line before the budget runs
    out, else at a line, else inside a line that alone is too long. Memory holds one
    block of fragments and one piece, whatever the size of the text. With an `outline`
    (from the loader of code, .rst or .adoc), its section starts are the headings, and small
    sections share a piece until it holds a quarter of the budget.
    """
    cur: list[_Unit] = []
    total = chars = 0

    def flush(upto: int) -> Piece | None:
        nonlocal cur, total, chars
        head, cur = cur[:upto], cur[upto:]
        total = sum(u.tokens for u in cur)
        chars = sum(u.size for u in cur)
        if not head:
            return None
        # Label with the section the body sits under, not a heading-only prefix's.
        body = next((u for u in head if not (u.starts_section or u.is_blank)), head[-1])
        return Piece("".join(u.text for u in head), head[0].line, head[-1].line, body.heading)

    for unit in _units(parts, max_tokens, count, outline):
        out: list[Piece | None] = []
        small = outline is not None and total < max_tokens // 4  # code: many small sections
        if (
            unit.starts_section
            and cur
            and not small
            and not all(u.starts_section or u.is_blank for u in cur)
        ):
            out.append(flush(len(cur)))
        if cur and (total + unit.tokens > max_tokens or chars + unit.size > PIECE_BYTES):
            blank = max((i for i, u in enumerate(cur) if u.is_blank and i > 0), default=0)
            cut = blank + 1 if blank >= len(cur) // 2 else len(cur)
            if all(u.starts_section or u.is_blank for u in cur[:cut]):
                cut = len(cur)  # never leave a heading alone in a piece of its own
            out.append(flush(cut))
            if cur and (total + unit.tokens > max_tokens or chars + unit.size > PIECE_BYTES):
                out.append(flush(len(cur)))
        yield from (p for p in out if p is not None)
        cur.append(unit)
        total += unit.tokens
        chars += unit.size
    if (last := flush(len(cur))) is not None:
        yield last
