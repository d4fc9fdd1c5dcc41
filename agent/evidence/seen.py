"""What the agent has seen: documents and line numbers, read from ToolMessage artifacts.

Artifacts are parsed by tools/artifacts.py (models in a live run, dicts after a checkpoint
round trip). The cursor each artifact carries is the one the model saw.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage

from tools.artifacts import parse_artifact
from tools.pages import line_pages
from tools.render import clip_line, snippet
from tools.schemas import DocWindow, FindResult, SearchResult

CLIPPED = re.compile(r"… \[(\d+) more characters on this line\]$")
"""The mark tools/render.py's clip_line puts after the shown part of a long line."""


@dataclass
class SeenDoc:
    """One document the agent saw, with the lines it saw (number -> text)."""

    cursor: int
    doc_id: str
    source: str
    title: str
    lines: dict[int, str] = field(default_factory=dict)
    fetched: bool = False
    pages: dict[int, int] = field(default_factory=dict)
    """PDF page of each line seen (empty for other types)."""
    pieces: dict[int, list[tuple[int, str, int]]] = field(default_factory=dict)
    """The pieces of each line seen: (first character, text, the line's length)."""


def chunk_lines(text: str, start_line: int, end_line: int) -> dict[int, str]:
    """Map a chunk's text onto its line numbers (chunks keep the document's lines exactly).

    Lines break where str.splitlines() breaks them, as in the splitter and fetch_doc (a PDF's
    page break, a form feed, ends a line too).
    """
    parts = text.splitlines()
    return {start_line + i: line for i, line in enumerate(parts) if start_line + i <= end_line}


def shown_chars(line: str, shown: str) -> int:
    """How many characters of a document line the model was shown (a prefix, or all of it).

    Tool output clips long lines (tools/render.py); a citation quotes only what the model
    saw, so a 1 MB single-line file does not become a 1 MB quote.

    Args:
        line: The line as stored.
        shown: The line as the tool rendered it for the model.

    Returns:
        The length of the prefix shown; len(line) when the rendering was not clipped (or
        its clip mark does not add up to this line).
    """
    clipped = CLIPPED.search(shown)
    if clipped is None:
        return len(line)
    visible = len(shown) - len(clipped.group(0))
    return visible if visible + int(clipped[1]) == len(line) else len(line)


def shown_part(line: str, shown: str) -> str:
    """The part of a document line the model was shown: all of it, or its prefix and "…"."""
    visible = shown_chars(line, shown)
    return line if visible == len(line) else line[:visible] + "…"


def joined(pieces: list[tuple[int, str, int]]) -> str:
    """The parts of one line seen, in order, with "…" wherever text was left out.

    Args:
        pieces: (first character, text, the line's length) of each part seen.

    Returns:
        The line, or what of it was seen: "…" before, between and after the pieces.
    """
    out: list[str] = []
    reached = 0
    for start, text, _ in sorted(pieces):
        end = start + len(text)
        if end <= reached and out:
            continue
        if start > reached:
            out.append("…")
        out.append(text[max(0, reached - start) :])
        reached = max(reached, end)
    if reached < max(length for _, _, length in pieces):
        out.append("…")
    return "".join(out)


def _keep(doc: SeenDoc, number: int, start: int, text: str, length: int) -> None:
    """Record a piece of a seen line; the line's seen text joins every piece of it seen."""
    pieces = doc.pieces.get(number)
    if pieces is not None and len(pieces) == 1 and pieces[0][0] == 0:
        if len(pieces[0][1]) == pieces[0][2] == length:
            return  # the line was seen whole already (the common case: lines re-read)
    if start == 0 and len(text) == length:
        doc.pieces[number] = [(0, text, length)]
        doc.lines[number] = text
        return
    doc.pieces.setdefault(number, []).append((start, text, length))
    doc.lines[number] = joined(doc.pieces[number])


def _keep_prefix(doc: SeenDoc, number: int, line: str, shown: str) -> None:
    """Record the part of a whole stored line that a clipped rendering showed."""
    _keep(doc, number, 0, line[: shown_chars(line, shown)], len(line))


def _keep_window(doc: SeenDoc, window: DocWindow) -> None:
    """Record the lines a window showed: pieces as cut, whole lines, or old clipped ones."""
    for number, text in enumerate(window.lines, start=window.start_line):
        before, after = window.cuts.get(number, (0, 0))
        if before or after:
            _keep(doc, number, before, text, before + len(text) + after)
        elif len(text) > window.clip_at:
            _keep_prefix(doc, number, text, clip_line(text, window.clip_at))
        else:
            _keep(doc, number, 0, text, len(text))


def run_start(messages: Sequence[BaseMessage]) -> int:
    """Index of the last human message: the current run is from there on."""
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return index
    return 0


def artifacts(messages: Sequence[BaseMessage]) -> Iterator[SearchResult | DocWindow]:
    """The parsed artifacts of the successful tool results among `messages`, in order.

    A find_in_doc result counts as the windows it showed (each a DocWindow).
    """
    for message in messages:
        if isinstance(message, ToolMessage) and message.status != "error":
            parsed = parse_artifact(message.artifact)
            if isinstance(parsed, FindResult):
                yield from parsed.windows
            elif parsed is not None:
                yield parsed


def seen_documents(messages: Sequence[BaseMessage]) -> dict[int, SeenDoc]:
    """Every document seen in the conversation, by cursor, with the lines seen of it."""
    seen: dict[int, SeenDoc] = {}
    for item in artifacts(messages):
        if isinstance(item, SearchResult):
            for hit in item.hits:
                doc = seen.setdefault(
                    hit.cursor, SeenDoc(hit.cursor, hit.doc_id, hit.source, hit.title)
                )
                lines = chunk_lines(hit.text, hit.start_line, hit.end_line)
                shown = [(n, text) for n, text in snippet(hit) if n in lines]
                for n, text in shown:
                    _keep_prefix(doc, n, lines[n], text)
                if hit.page is not None:
                    pages = line_pages(hit.text, hit.start_line, hit.page)
                    doc.pages.update({n: pages[n] for n, _ in shown if n in pages})
        else:
            doc = seen.setdefault(
                item.cursor, SeenDoc(item.cursor, item.doc_id, item.source, item.title)
            )
            _keep_window(doc, item)
            if item.page is not None:
                first_page = item.page
                doc.pages.update(
                    {
                        n: first_page + sum(1 for s in item.page_starts if s <= n)
                        for n in range(item.start_line, item.end_line + 1)
                    }
                )
            doc.fetched = True
    return seen
