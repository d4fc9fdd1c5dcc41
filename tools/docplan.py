"""What an ingest writes: one plan per document, found by streaming its text once or twice.

A plan holds no text: it names where the text is read from again (the file itself, or a
spool file holding what a loader extracted), the document's identity and version, and how
many chunks it splits into. The chunks are produced again, lazily, when they are written.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tools.loaders import title_of
from tools.splitter import CHUNKER_VERSION, Outline, Piece, TokenCounter, split_stream
from tools.textstream import file_fragments, text_fragments

TITLE_CHARS = 4000
"""A title is looked for in this much of the text's start (front matter, first heading)."""
EMPTY_PIECE = Piece("", 1, 0, "")
"""An empty document's one chunk: lines 1-0, recorded so a re-run skips it, never a hit."""

Fragments = Callable[[], Iterator[str]]
"""Opens the document's text again as fragments (tools.textstream)."""


def _sha(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def doc_id_for(name: str) -> str:
    """Stable document id from its name: a file's real absolute path, or a given source."""
    return _sha("doc", name)[:16]


def file_doc_id(path: Path) -> str:
    """The id of the document of a file: the same whatever the working folder or path form."""
    return doc_id_for(Path(os.path.realpath(path)).as_posix())


def chunk_id(doc_id: str, index: int, text: str) -> str:
    """A chunk's deterministic id: an interrupted ingest finds the chunks it already wrote."""
    return _sha(doc_id, str(index), text)[:32]


@dataclass(frozen=True)
class Version:
    """A document's title, content hash (as chunked) and whether it holds any text."""

    title: str
    doc_hash: str
    blank: bool


def version_of(
    parts: Iterable[str], fallback_title: str, max_tokens: int, outline_tag: str = ""
) -> Version:
    """Hash a text streamed as fragments, with its title, without holding it.

    The hash equals the one of the whole text held in memory (sha256 of text, title and
    chunker tag), so documents indexed before streaming stay unchanged.
    """
    h = hashlib.sha256()
    head: list[str] = []
    head_len = 0
    blank = True
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        if head_len < TITLE_CHARS:
            head.append(part)
            head_len += len(part)
        blank = blank and not part.strip()
    title = title_of("".join(head)[:TITLE_CHARS], fallback_title)
    h.update(b"\x00")
    # outline_tag (code, .rst, .adoc): their split follows the loader's outline, so a new
    # outline version re-chunks them.
    for tail in (title, f"chunker={CHUNKER_VERSION}:{max_tokens}{outline_tag}"):
        h.update(tail.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return Version(title, h.hexdigest()[:32], blank)


def pieces_of(
    fragments: Fragments,
    blank: bool,
    max_tokens: int,
    count: TokenCounter,
    outline: Outline | None = None,
) -> Iterator[Piece]:
    """The document's pieces, streamed; an empty document has one empty piece."""
    if blank:
        yield EMPTY_PIECE
        return
    found = False
    for piece in split_stream(fragments(), max_tokens, count, outline):
        found = True
        yield piece
    if not found:
        yield EMPTY_PIECE


@dataclass
class DocPlan:
    """One document to write: identity, version, chunk count and how to read it again."""

    doc_id: str
    source: str
    version: Version
    n_chunks: int
    fragments: Fragments
    replaces: list[str] = field(default_factory=list)
    """Other doc_ids of the same document (an index built before) deleted once it is written."""
    stored: bool = False
    """Some version of it is stored: older chunks are looked for and deleted once written."""
    present: set[str] = field(default_factory=set)
    """Ids of its chunks already stored in this version (an interrupted ingest wrote them)."""
    outline: Outline | None = None
    """Section starts found by the loader (code, .rst, .adoc); None: Markdown headings."""


def from_text(text: str) -> Fragments:
    """Fragments of text held in memory."""
    return lambda: text_fragments(text)


def from_file(path: Path) -> Fragments:
    """Fragments of a UTF-8 text file, read again each time."""
    return lambda: file_fragments(path)
