"""Data models of the tools: their arguments, chunks, search hits, windows (a leaf module).

The argument models are shared: the graph's tools (milvus_search, fetch_doc) add the
injected state to them, and the MCP server (agent/mcp_server.py) builds its input schemas
from the same fields, so both describe an argument with the same words and limits.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

MAX_K = 20
"""The most hits one search returns."""
MAX_LINES = 200
"""The most lines one fetch_doc window shows."""

OLD_CLIP_CHARS = 400
"""How many characters of a line a window showed before long lines could be read in pieces."""

PAGE_WORDS = {".pdf": ("p.", "pp."), ".pptx": ("slide", "slides"), ".xlsx": ("sheet", "sheets")}
"""Types whose lines have pages (a PDF's pages, a deck's slides, a workbook's sheets), and the
words for one and for a span of them."""


def page_words(source: str) -> tuple[str, str] | None:
    """('p.', 'pp.'), ('slide', 'slides') or ('sheet', 'sheets'); None when not paged."""
    dot = source.rfind(".")
    return PAGE_WORDS.get(source[dot:].lower()) if dot >= 0 else None


def page_span(source: str, first: int | None, last: int | None) -> str:
    """'p. 3', 'pp. 3-4', 'slide 4', 'sheets 2-3', or '' when there are no pages."""
    words = page_words(source)
    if first is None or words is None:
        return ""
    if last is None or last == first:
        return f"{words[0]} {first}"
    return f"{words[1]} {first}-{last}"


class SearchInput(BaseModel):
    """Arguments of milvus_search, as the model sees them."""

    query: str = Field(
        description="What to look for: a question or keywords. Search again with other words "
        "or with a name found in earlier results to follow a second hop."
    )
    k: int | None = Field(
        None, description=f"How many results to return, 1 to {MAX_K} (default: the user's k)."
    )
    source: str | None = Field(
        None,
        description="Optional: only documents whose source path starts with this, "
        "e.g. 'docs/faq/' (./docs/faq and absolute paths work too). "
        "Leave empty to search everything.",
    )


class FetchInput(BaseModel):
    """Arguments of fetch_doc, as the model sees them."""

    cursor: int | None = Field(
        None, description="The cursor number of a milvus_search result (the n in 【n†...】)."
    )
    doc_id: str | None = Field(
        None,
        description="Alternatively, a doc_id or source path from a result. "
        "Give a cursor or a doc_id.",
    )
    start_line: int = Field(1, description="First line to show (1-based).")
    num_lines: int = Field(60, description=f"How many lines to show, 1 to {MAX_LINES}.")
    char_offset: int = Field(
        0,
        description="Where in start_line to begin, in characters (default 0). A line too "
        "long for one window ends with the char_offset to read on from.",
    )


class Chunk(BaseModel):
    """One stored piece of a document. Chunks of a document never overlap and tile it exactly."""

    id: str = Field(description="Deterministic id: hash of doc_id, chunk_index and text.")
    doc_id: str = Field(description="Stable id of the document (hash of its source path).")
    source: str = Field(
        description="Where the document came from (a path relative to the ingest root)."
    )
    title: str = Field(description="Document title (first heading, or file name).")
    chunk_index: int = Field(description="Position of the chunk in its document, from 0.")
    start_line: int = Field(description="First line of the chunk in the document, 1-based.")
    end_line: int = Field(description="Last line of the chunk, inclusive.")
    text: str = Field(
        description="The chunk's exact text; joining a document's chunks rebuilds it."
    )
    n_chunks: int = Field(0, description="How many chunks the document has in this version.")
    doc_hash: str = Field("", description="Content hash of the whole document at ingest time.")
    heading: str = Field("", description="The heading path the chunk sits under.")
    modified: int = Field(0, description="The file's modification time (Unix seconds) at ingest.")
    tags: list[str] = Field(
        default_factory=list, description="Tags from the document's front matter, lowercased."
    )


class SearchFilters(BaseModel):
    """What a search may return, beyond matching the query (every field narrows it)."""

    source: list[str] = Field(
        default_factory=list, description="Source prefixes, in stored form; any of them."
    )
    file_type: str | None = Field(None, description="File type, e.g. pdf, md, html, txt.")
    modified_after: date | None = Field(None, description="Modified on or after this day (UTC).")
    modified_before: date | None = Field(None, description="Modified before this day (UTC).")
    title_contains: str | None = Field(None, description="Text the title contains (exact case).")
    tags: list[str] = Field(default_factory=list, description="Front-matter tags; all of them.")

    def is_empty(self) -> bool:
        """Whether nothing is filtered."""
        return self == SearchFilters()


class SearchHit(BaseModel):
    """One result of milvus_search."""

    cursor: int = Field(description="Number the model uses to open or cite this document.")
    doc_id: str
    source: str
    title: str
    chunk_id: str
    chunk_index: int
    start_line: int
    end_line: int
    score: float = Field(
        description="Fused score in hybrid mode (min-max weighted sum, or RRF), the dense or "
        "BM25 score otherwise, or the reranker's; higher is better."
    )
    text: str = Field(description="The chunk's full text.")
    heading: str = ""
    page: int | None = Field(
        None, description="PDF page (slide, sheet) of start_line; None for other types."
    )
    focus_line: int | None = Field(
        None,
        description="First line of the best-ranked chunk of a merged passage, where the lines "
        "shown start; None when the passage starts with it.",
    )


class SearchResult(BaseModel):
    """Artifact of one milvus_search call."""

    query: str
    k: int
    source_prefix: str | None = None
    mode: str = "hybrid"
    filters: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Filters the call gave besides source, as given."
    )
    hits: list[SearchHit] = Field(default_factory=list)


class DocWindow(BaseModel):
    """Artifact of one fetch_doc call: a window of numbered lines of one document."""

    cursor: int
    doc_id: str
    source: str
    title: str
    start_line: int = Field(description="First line shown, 1-based.")
    end_line: int = Field(description="Last line shown, inclusive.")
    total_lines: int
    lines: list[str] = Field(description="The lines shown, without numbers or newlines.")
    page: int | None = Field(
        None, description="PDF page (slide, sheet) of start_line; None for other types."
    )
    page_starts: list[int] = Field(
        default_factory=list, description="Lines shown that begin a new PDF page."
    )
    cuts: dict[int, tuple[int, int]] = Field(
        default_factory=dict,
        description="Lines shown only in part: line number -> (characters of the line before "
        "the piece in `lines`, characters after it). Empty when every line is whole.",
    )
    clip_at: int = Field(
        OLD_CLIP_CHARS,
        description="The most characters of an entry of `lines` that were shown; longer ones "
        f"were shown up to here with a mark. {OLD_CLIP_CHARS} in artifacts written before "
        "`cuts` existed (they held whole lines); newer windows hold only what was shown.",
    )

    def page_of(self, line: int) -> int | None:
        """The PDF page of a line shown (None for other types)."""
        if self.page is None:
            return None
        return self.page + sum(1 for s in self.page_starts if s <= line)


class FindResult(BaseModel):
    """Artifact of one find_in_doc call: the windows of one document around each match."""

    cursor: int
    doc_id: str
    source: str
    title: str
    pattern: str
    total_lines: int
    matches: int = Field(description="Matches found in the document (windows may show fewer).")
    windows: list[DocWindow] = Field(
        default_factory=list, description="Line windows around the matches, in document order."
    )
    more: bool = Field(False, description="Matches beyond the windows shown (they were bounded).")


class IngestReport(BaseModel):
    """What an ingest run did."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    resumed: int = 0
    """Documents an interrupted ingest left half-written, finished without re-embedding."""
    removed: int = 0
    chunks_written: int = 0
    chunks_deleted: int = 0
    seconds: float = 0.0
    skipped: list[str] = Field(
        default_factory=list,
        description="'path: reason' for every file looked at and not indexed "
        "(unsupported type, binary, unreadable, not a regular file, not UTF-8, bad PDF).",
    )
    empty: list[str] = Field(
        default_factory=list,
        description="Sources of empty files: recorded (not re-read) but never search hits.",
    )
    excluded: list[str] = Field(
        default_factory=list,
        description="'path: rule' for entries left out (hidden, dependency or cache folder, "
        "virtual environment, .gitignore, --exclude, --include); a folder counts once.",
    )
