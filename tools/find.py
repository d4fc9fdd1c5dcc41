"""The find_in_doc tool: the browser's `find`, over one document of the collection.

A phrase is found case-insensitively and whitespace-tolerantly (any run of spaces and
line breaks between its words matches any other), so a phrase broken across lines is
found too. Each match comes back as a window of numbered lines around it, the shape
fetch_doc shows, ready to cite as 【cursor†Lstart-Lend】.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from typing import Annotated, Any

from langchain_core.tools import tool
from langgraph.prebuilt import InjectedState
from pydantic import BaseModel, Field

from agent.settings import Settings
from tools.context import settings_from_runtime
from tools.cursors import CursorRegistry
from tools.errors import ToolInputError
from tools.fetch import resolve_doc
from tools.pages import is_paged, line_pages
from tools.pieces import cut_lines, match_pieces
from tools.render import LINE_CHARS, render_find
from tools.schemas import DocWindow, FindResult
from tools.store import open_store

MAX_PATTERN_CHARS = 200
MAX_WINDOWS = 8
MAX_LINES = 60
"""Lines shown in all windows together (a phrase on every line must not flood the context)."""
MAX_CHARS = 12_000
"""Characters shown in all windows together (about 3k tokens; a long line counts as the
piece of it shown, at most LINE_CHARS)."""
CONTEXT_LINES = 2


class FindArgs(BaseModel):
    """Arguments of find_in_doc, as the model sees them."""

    cursor: int | None = Field(
        None, description="The cursor number of a milvus_search result (the n in 【n†...】)."
    )
    doc_id: str | None = Field(
        None, description="Alternatively, a doc_id or source path from a result."
    )
    pattern: str = Field(
        description="The words or phrase to find in that document (case and line breaks "
        "do not matter), e.g. 'consistency level'."
    )
    state: Annotated[dict[str, Any] | None, InjectedState] = None


def phrase_regex(pattern: str) -> re.Pattern[str]:
    """The pattern's words in order, any whitespace between them, ignoring case."""
    words = pattern.split()
    if not words:
        raise ToolInputError(
            'pattern is empty. Give words to find, e.g. {"cursor": 0, "pattern": "index"}.'
        )
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ToolInputError(
            f"pattern is {len(pattern)} characters; give a phrase of at most {MAX_PATTERN_CHARS}."
        )
    return re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)


def match_spans(text: str, pattern: str) -> list[tuple[int, int, int]]:
    """(first line, last line, its first character in the first line) of every match.

    Lines are numbered from 1, characters from 0.
    """
    starts = [0, *accumulate(len(line) for line in text.splitlines(keepends=True))]
    spans = []
    for m in phrase_regex(pattern).finditer(text):
        first = bisect_right(starts, m.start())
        last = bisect_right(starts, max(m.start(), m.end() - 1))
        spans.append((first, last, m.start() - starts[first - 1]))
    return spans


def windows_of(spans: list[tuple[int, int, int]], total: int) -> list[tuple[int, int]]:
    """Windows of CONTEXT_LINES around each span, overlapping or touching ones joined."""
    out: list[tuple[int, int]] = []
    for first, last, _ in spans:
        start, end = max(1, first - CONTEXT_LINES), min(total, last + CONTEXT_LINES)
        if out and start <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def bounded(
    windows: list[tuple[int, int]], widths: list[int]
) -> tuple[list[tuple[int, int]], bool]:
    """The windows within MAX_WINDOWS, MAX_LINES and MAX_CHARS (the last one cut).

    Args:
        windows: (first line, last line) of each window, in order.
        widths: How many characters each line of the document shows (index 0 is line 1).

    Returns:
        The windows kept, and whether any was cut or left out.
    """
    out: list[tuple[int, int]] = []
    lines_left, chars_left = MAX_LINES, MAX_CHARS
    for start, end in windows[:MAX_WINDOWS]:
        last = start - 1
        while last < end and lines_left > 0 and widths[last] <= chars_left:
            lines_left -= 1
            chars_left -= widths[last]  # widths[last] is line last + 1
            last += 1
        if last >= start:
            out.append((start, last))
        if last < end:
            break
    return out, out != windows


def run_find(
    settings: Settings,
    registry: CursorRegistry,
    pattern: str,
    cursor: int | None = None,
    doc_id: str | None = None,
) -> FindResult:
    """Find a phrase in one document; the first MAX_WINDOWS windows around its matches."""
    phrase_regex(pattern)  # a bad pattern is reported before the store is asked
    resolved = resolve_doc(settings, registry, cursor, doc_id)
    chunks = open_store(settings).get_chunks(resolved)
    if not chunks:
        raise ToolInputError(f"Document {resolved} has no stored text. Search again.")
    text = "".join(c.text for c in chunks)
    lines = text.splitlines()
    spans = match_spans(text, pattern)
    pages = line_pages(text, 1, 1) if is_paged(chunks[0].source) else {}
    widths = [min(len(line), LINE_CHARS) for line in lines]
    shown, cut = bounded(windows_of(spans, len(lines)), widths)
    pieces = match_pieces(lines, spans, shown, LINE_CHARS)
    number = registry.assign(resolved)
    first = chunks[0]
    windows = []
    for start, end in shown:
        texts, cuts = cut_lines(lines, start, end, pieces)
        windows.append(
            DocWindow(
                cursor=number,
                doc_id=resolved,
                source=first.source,
                title=first.title,
                start_line=start,
                end_line=end,
                total_lines=len(lines),
                lines=texts,
                page=pages.get(start),
                page_starts=[
                    n for n in range(start + 1, end + 1) if pages and pages[n] != pages[n - 1]
                ],
                cuts=cuts,
                clip_at=LINE_CHARS,
            )
        )
    return FindResult(
        cursor=number,
        doc_id=resolved,
        source=first.source,
        title=first.title,
        pattern=" ".join(pattern.split()),
        total_lines=len(lines),
        matches=len(spans),
        windows=windows,
        more=cut,
    )


@tool("find_in_doc", args_schema=FindArgs, response_format="content_and_artifact")
def find_in_doc(
    pattern: str,
    cursor: int | None = None,
    doc_id: str | None = None,
    state: dict[str, Any] | None = None,
) -> tuple[str, FindResult]:
    """Find a phrase inside one document (like a browser's find) and show the numbered lines around each match.

    Use it to locate a name, number or term in a long document instead of paging through it
    with fetch_doc. Cite what you use as 【cursor†Lstart-Lend】.
    """  # noqa: E501
    registry = CursorRegistry.from_messages((state or {}).get("messages", []))
    result = run_find(settings_from_runtime(), registry, pattern, cursor, doc_id)
    return render_find(result), result
