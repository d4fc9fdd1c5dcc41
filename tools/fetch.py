"""The fetch_doc tool: a document from the collection as numbered lines, a window at a time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from langchain_core.tools import tool
from langgraph.prebuilt import InjectedState

from agent.settings import Settings
from tools.context import settings_from_runtime
from tools.cursors import CursorRegistry
from tools.docplan import file_doc_id
from tools.errors import ToolInputError
from tools.pages import is_paged, line_pages
from tools.pieces import check_offset, window_of
from tools.render import render_window
from tools.schemas import MAX_LINES, DocWindow, FetchInput
from tools.sources import stored_forms
from tools.store import ChunkStore, open_store

WINDOW_CHARS = 8000  # about 2k tokens: one window never floods the context


class FetchArgs(FetchInput):
    """Arguments of fetch_doc, with the graph state injected (the model never sees it)."""

    state: Annotated[dict[str, Any] | None, InjectedState] = None


def resolve_doc(
    settings: Settings, registry: CursorRegistry, cursor: int | None, doc_id: str | None
) -> str:
    """The doc_id a tool call names by cursor or by doc_id/path (a ToolInputError if none)."""
    if cursor is not None:
        if cursor not in registry.by_cursor:
            raise ToolInputError(
                f"Cursor {cursor} is unknown. Known cursors: {registry.known()}. "
                "Use a cursor from a milvus_search result."
            )
        return registry.by_cursor[cursor]
    if not doc_id or not doc_id.strip():
        raise ToolInputError(
            'Give a cursor from a milvus_search result, e.g. {"cursor": 0}, or a doc_id.'
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in doc_id):
        raise ToolInputError(
            "doc_id must be plain text without control characters. "
            "Use a cursor or doc_id from milvus_search results."
        )
    if "://" in doc_id:
        raise ToolInputError(
            f"fetch_doc reads only documents in the collection; '{doc_id[:80]}' is not one. "
            "Use a cursor or doc_id from milvus_search results (no URLs)."
        )
    found = find_document(open_store(settings), doc_id)
    if found is None:
        raise ToolInputError(
            f"No document '{doc_id[:80]}' in the collection. "
            "Use a cursor from milvus_search results."
        )
    return found


def find_document(store: ChunkStore, name: str) -> str | None:
    """The doc_id of a document named by doc_id or by its path in any form the user types.

    Only the store is asked: a path is never opened, so the model cannot read files with it.
    """
    forms = stored_forms(name)
    for form in forms:
        if any(ord(c) < 32 for c in form):
            continue  # no Milvus filter holds control characters: such a file is named by doc_id
        if (found := store.find_doc(form)) is not None:
            return found
    if len(forms) < 2:
        return None  # blank, a URL or control characters: not a path
    # a path typed from another working folder: its document's id comes from its real path
    # (resolved, not read), whatever form its source was stored in
    return store.find_doc(file_doc_id(Path(os.path.expanduser(name.strip()))))


def run_fetch(
    settings: Settings,
    registry: CursorRegistry,
    cursor: int | None = None,
    doc_id: str | None = None,
    start_line: int = 1,
    num_lines: int = 60,
    char_offset: int = 0,
) -> DocWindow:
    """Read a window of a document rebuilt from its chunks (see tools/pieces.window_of)."""
    if not 1 <= num_lines <= MAX_LINES:
        raise ToolInputError(f"num_lines must be between 1 and {MAX_LINES}; got {num_lines}.")
    if char_offset < 0:  # before the store is asked; the line's length is checked below
        check_offset("", start_line, char_offset)
    resolved = resolve_doc(settings, registry, cursor, doc_id)
    store = open_store(settings)
    if resolved in store.incomplete():
        raise ToolInputError(
            f"Document {resolved} is only partly indexed (its ingest was interrupted or is "
            "running); it cannot be read until `research-agent ingest` finishes it."
        )
    chunks = store.get_chunks(resolved)
    if not chunks:
        raise ToolInputError(f"Document {resolved} has no stored text. Search again.")
    text = "".join(c.text for c in chunks)
    lines = text.splitlines()
    total = len(lines)
    if total == 0:
        raise ToolInputError(f"Document {resolved} ({chunks[0].source}) is empty. Search again.")
    if not 1 <= start_line <= total:
        raise ToolInputError(
            f"start_line {start_line} is outside the document: it has lines 1-{total}. "
            f"Use a start_line between 1 and {total}."
        )
    shown = window_of(lines, start_line, num_lines, WINDOW_CHARS, char_offset)
    first = chunks[0]
    end_line = start_line + len(shown.lines) - 1
    page, page_starts = None, []
    if is_paged(first.source):
        pages = line_pages(text, 1, 1)
        page = pages[start_line]
        page_starts = [n for n in range(start_line + 1, end_line + 1) if pages[n] != pages[n - 1]]
    return DocWindow(
        cursor=registry.assign(resolved),
        doc_id=resolved,
        source=first.source,
        title=first.title,
        start_line=start_line,
        end_line=end_line,
        total_lines=total,
        lines=shown.lines,
        page=page,
        page_starts=page_starts,
        cuts=shown.cuts,
        clip_at=WINDOW_CHARS,
    )


@tool("fetch_doc", args_schema=FetchArgs, response_format="content_and_artifact")
def fetch_doc(
    cursor: int | None = None,
    doc_id: str | None = None,
    start_line: int = 1,
    num_lines: int = 60,
    char_offset: int = 0,
    state: dict[str, Any] | None = None,
) -> tuple[str, DocWindow]:
    """Open a document from the search results and read it as numbered lines (L12: ...).

    Shows "viewing lines [a - b] of N"; call again with a later start_line to read on.
    A line too long for one window ends with "[N more characters on this line: ...
    char_offset=K]": call again with that start_line and char_offset to read the rest.
    Cite what you use as 【cursor†Lstart-Lend】.
    """
    registry = CursorRegistry.from_messages((state or {}).get("messages", []))
    window = run_fetch(
        settings_from_runtime(), registry, cursor, doc_id, start_line, num_lines, char_offset
    )
    return render_window(window), window
