"""The text the model reads from each tool, shaped like gpt-oss's trained browser tool."""

from __future__ import annotations

from tools.pages import line_pages, page_label
from tools.schemas import DocWindow, FindResult, SearchHit, SearchResult

SNIPPET_LINES = 8
SNIPPET_CHARS = 700
LINE_CHARS = 400


# C0 controls (but tab), DEL and C1 controls become spaces; str.translate does it in C.
_CONTROLS = {c: " " for c in [*range(32), *range(0x7F, 0xA0)] if c != 9}
_CONTROLS_AND_TAB = {**_CONTROLS, 9: " "}


def counted(n: int, noun: str) -> str:
    """A count with its noun in the right number: "1 chunk", "2 chunks" (English -s plural)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def one_line(text: str) -> str:
    """Text for a header field: control characters (newlines and tabs too) become spaces."""
    return text.translate(_CONTROLS_AND_TAB)


def clip_line(line: str, limit: int = LINE_CHARS) -> str:
    """One line, bounded, with control characters (C0, DEL, C1) replaced by spaces."""
    clean = line.translate(_CONTROLS)
    if len(clean) <= limit:
        return clean
    return f"{clean[:limit]}… [{len(clean) - limit} more characters on this line]"


def window_line(win: DocWindow, number: int, text: str) -> str:
    """One numbered line of a window: whole, clipped (old artifacts), or a piece with its cut.

    A piece says how many characters of the line come before it, and after it how many are
    left and the fetch_doc call that reads on from there.
    """
    before, after = win.cuts.get(number, (0, 0))
    if not (before or after):
        return f"L{number}: {clip_line(text, win.clip_at)}"
    head = f"[… {before} characters before] " if before else ""
    tail = (
        f"… [{after} more characters on this line: fetch_doc cursor={win.cursor}, "
        f"start_line={number}, char_offset={before + len(text)}]"
        if after
        else ""
    )
    return f"L{number}: {head}{text.translate(_CONTROLS)}{tail}"


def window_lines(win: DocWindow) -> list[str]:
    """The numbered lines a window shows (`L12: ...`)."""
    return [window_line(win, n, text) for n, text in enumerate(win.lines, start=win.start_line)]


def snippet(hit: SearchHit) -> list[tuple[int, str]]:
    """The numbered lines of a hit that the model is shown (first lines, bounded).

    A merged passage is shown from its best-ranked part (`focus_line`). Citation checks count
    only these lines of a hit as seen, not the whole chunk.
    """
    shown: list[tuple[int, str]] = []
    used = 0
    skip = max(0, (hit.focus_line or hit.start_line) - hit.start_line)
    lines = hit.text.splitlines()[skip : skip + SNIPPET_LINES]
    for n, line in enumerate(lines, start=hit.start_line + skip):
        if used >= SNIPPET_CHARS or n > hit.end_line:
            break
        text = clip_line(line, SNIPPET_CHARS - used)
        used += len(text)
        shown.append((n, text))
    return shown


def hit_pages(hit: SearchHit) -> str:
    """'p. 3' or 'pp. 3-4' for a PDF hit's lines ('slide 4', 'sheet 2' ...), '' otherwise."""
    if hit.page is None:
        return ""
    pages = line_pages(hit.text, hit.start_line, hit.page)
    return page_label(hit.page, pages.get(hit.end_line, hit.page), hit.source)


def render_search(result: SearchResult) -> str:
    """Numbered results: cursor, title, source, line span, and the first lines of the chunk."""
    where = f" under '{result.source_prefix}'" if result.source_prefix else ""
    if result.filters:
        where += " with " + ", ".join(
            f"{name}={one_line(str(value))}" for name, value in result.filters.items()
        )
    if not result.hits:
        return (
            f'No results for "{result.query}"{where}. Try other words, a broader query, '
            f"or drop the {'filters' if result.filters else 'source filter'}."
        )
    hits = counted(len(result.hits), "hit")
    out = [f'Search results for "{result.query}"{where} ({hits}, {result.mode}):']
    for hit in result.hits:
        out.append("")
        out.append(
            f"【{hit.cursor}†{one_line(hit.title)}†{one_line(hit.source)}】 "
            f"L{hit.start_line}-L{hit.end_line}" + (f" ({hit_pages(hit)})" if hit.page else "")
        )
        if hit.heading:
            out.append(f"section: {one_line(hit.heading)}")
        shown = snippet(hit)
        out.extend(f"L{n}: {text}" for n, text in shown)
        if len(shown) < hit.end_line - hit.start_line + 1 or any(
            t.endswith("line]") for _, t in shown
        ):
            out.append(f"… (open with fetch_doc cursor={hit.cursor}, start_line={hit.start_line})")
    return "\n".join(out)


def render_window(win: DocWindow) -> str:
    """A window of numbered lines: `L12: ...` with 'viewing lines [a - b] of N'."""
    head = (
        f"【{win.cursor}†{one_line(win.title)}†{one_line(win.source)}】 viewing lines "
        f"[{win.start_line} - {win.end_line}] of {win.total_lines}"
    )
    if win.page is not None:
        head += f" ({page_label(win.page, win.page_of(win.end_line), win.source)})"
    body = window_lines(win)
    tail = []
    if win.end_line < win.total_lines:
        tail.append(f"(more: fetch_doc cursor={win.cursor}, start_line={win.end_line + 1})")
    return "\n".join([head, *body, *tail])


def render_find(result: FindResult) -> str:
    """The windows around a phrase's matches in one document, as numbered lines."""
    head = f"【{result.cursor}†{one_line(result.title)}†{one_line(result.source)}】"
    if not result.windows:
        return (
            f'{head} no match for "{one_line(result.pattern)}" in its {result.total_lines} '
            "lines. Try other words, or read it with fetch_doc."
        )
    out = [
        f'{head} find "{one_line(result.pattern)}": {result.matches} '
        f"match{'es' if result.matches != 1 else ''} in {result.total_lines} lines"
    ]
    for win in result.windows:
        out.append(f"[lines {win.start_line} - {win.end_line}]")
        out.extend(window_lines(win))
    if result.more:
        last = result.windows[-1]
        out.append(
            f"(more matches after line {last.end_line}: fetch_doc cursor={result.cursor}, "
            f"start_line={last.end_line + 1})"
        )
    return "\n".join(out)
