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
from tools.render import LINE_CHARS, clip_line, snippet
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


def chunk_lines(text: str, start_line: int, end_line: int) -> dict[int, str]:
    """Map a chunk's text onto its line numbers (chunks keep the document's lines exactly).

    Lines break where str.splitlines() breaks them, as in the splitter and fetch_doc (a PDF's
    page break, a form feed, ends a line too).
    """
    parts = text.splitlines()
    return {start_line + i: line for i, line in enumerate(parts) if start_line + i <= end_line}


def shown_part(line: str, shown: str) -> str:
    """The part of a document line the model was shown: all of it, or the prefix it read.

    Tool output clips long lines (tools/render.py); a citation quotes only what the model
    saw, so a 1 MB single-line file does not become a 1 MB quote.

    Args:
        line: The line as stored.
        shown: The line as the tool rendered it for the model.

    Returns:
        The line, or its shown prefix followed by "…".
    """
    clipped = CLIPPED.search(shown)
    if clipped is None:
        return line
    visible = len(shown) - len(clipped.group(0))
    return line[:visible] + "…" if visible + int(clipped[1]) == len(line) else line


def _keep(lines: dict[int, str], number: int, text: str) -> None:
    """Record a seen line, keeping the longest part of it seen so far."""
    if len(text) > len(lines.get(number, "")):
        lines[number] = text


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
                    _keep(doc.lines, n, shown_part(lines[n], text))
                if hit.page is not None:
                    pages = line_pages(hit.text, hit.start_line, hit.page)
                    doc.pages.update({n: pages[n] for n, _ in shown if n in pages})
        else:
            doc = seen.setdefault(
                item.cursor, SeenDoc(item.cursor, item.doc_id, item.source, item.title)
            )
            for i, line in enumerate(item.lines):
                part = line if len(line) <= LINE_CHARS else shown_part(line, clip_line(line))
                _keep(doc.lines, item.start_line + i, part)
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
