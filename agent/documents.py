"""Python API for the document side: ingest, search and fetch (the CLI is a thin client).

What is indexed (list, remove, reindex) is agent.catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from agent.settings import Settings
from tools.catalog import after_ingest, before_ingest
from tools.cursors import CursorRegistry
from tools.discover import Walker
from tools.embeddings import get_embedder
from tools.errors import ResearchAgentError, ToolInputError
from tools.fetch import find_document, run_fetch
from tools.ingest import Progress, ingest_paths
from tools.schemas import DocWindow, IngestReport, SearchResult
from tools.search import make_filters, run_search
from tools.store import SearchMode, open_store


def ingest(
    paths: Sequence[str | Path],
    settings: Settings | None = None,
    prune: bool = False,
    progress: Progress | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    notice: Callable[[str], None] | None = None,
) -> IngestReport:
    """Index files or folders (Markdown, text, HTML, PDF) into the collection.

    `notice` hears warnings meant for the user (a large ingest into a Milvus Lite file).

    Inside a folder, hidden entries, dependency and cache folders, virtual environments and
    what .gitignore files name are left out; `include`/`exclude` are gitignore-style patterns
    ("*.md", "drafts/") matched below each folder (and against a named file's name). Every
    file looked at and not indexed is in the report's `skipped` with its reason.
    """
    settings = settings or Settings()
    if not paths:
        raise ResearchAgentError("Give at least one file or folder to ingest.")

    store = open_store(settings)
    embedder = get_embedder(settings)
    own = [Path(store.uri)] if settings.is_lite() else []
    walker = Walker(include, exclude, own, settings.max_file_mb, settings.ingest_symlinks)
    before_ingest(settings)
    report = ingest_paths(
        store, embedder, [Path(p) for p in paths], settings, prune, progress, walker, notice
    )
    after_ingest(settings, wrote=bool(report.new or report.changed))
    return report


def search(
    query: str,
    k: int = 5,
    source: str | None = None,
    settings: Settings | None = None,
    mode: SearchMode = "hybrid",
    *,
    file_type: str | None = None,
    after: date | None = None,
    before: date | None = None,
    title: str | None = None,
    tags: Sequence[str] = (),
) -> SearchResult:
    """Search the collection exactly as the model's milvus_search does (fresh cursors).

    file_type, after, before (modified on or after / before that day, UTC), title (text the
    title contains) and tags (all of them, from front matter) narrow the search as the
    model's filters do.
    """
    try:
        filters = make_filters(file_type, after, before, title, list(tags))
        settings = settings or Settings()
        return run_search(settings, query, k, source, CursorRegistry(), mode, filters)
    except ToolInputError as exc:
        raise ResearchAgentError(str(exc)) from exc


def fetch(
    doc: str,
    start_line: int = 1,
    num_lines: int = 60,
    settings: Settings | None = None,
    char_offset: int = 0,
) -> DocWindow:
    """A window of a document, as the model's fetch_doc shows it.

    `doc` is a doc_id or the document's path as stored, as typed relative to the working
    folder (`./docs/x.md`) or absolute.
    """
    settings = settings or Settings()
    doc_id = find_document(open_store(settings), doc)
    if doc_id is None:
        raise ResearchAgentError(
            f"No document '{doc}' in collection '{settings.collection}'. "
            "Use a doc_id or source from `research-agent search --json`."
        )
    try:
        return run_fetch(
            settings, CursorRegistry(), None, doc_id, start_line, num_lines, char_offset
        )
    except ToolInputError as exc:
        raise ResearchAgentError(str(exc)) from exc
