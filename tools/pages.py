"""Page numbers of PDF lines, computed from the stored text alone.

The PDF loader ends each page with a blank line whose line break is a form feed, so the page
of a line is 1 + the form feeds before it. fetch_doc rebuilds a document from its chunks and
milvus_search counts the form feeds of the chunks before a hit: no page field in Milvus.
"""

from __future__ import annotations

import re

from tools.schemas import page_span, page_words

PAGE_BREAK = "\f"
# Everything str.splitlines() breaks at: inside a page they all become plain newlines.
_LINE_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def plain_lines(text: str) -> str:
    """Text with every kind of line break turned into a newline."""
    return _LINE_BREAKS.sub("\n", text)


def is_paged(source: str) -> bool:
    """Whether a document's lines have pages (a PDF; a .pptx's slides, an .xlsx's sheets)."""
    return page_words(source) is not None


def line_pages(text: str, start_line: int, first_page: int) -> dict[int, int]:
    """Page of each line of `text`, whose first line is `start_line` on page `first_page`."""
    pages: dict[int, int] = {}
    page = first_page
    for n, line in enumerate(text.splitlines(keepends=True), start=start_line):
        pages[n] = page
        if line.endswith(PAGE_BREAK):
            page += 1
    return pages


def page_label(first: int | None, last: int | None, source: str = ".pdf") -> str:
    """'p. 3', 'pp. 3-4' ('slide 4', 'sheets 2-3' for office files), or '' without pages."""
    return page_span(source, first, last)
