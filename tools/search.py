"""The milvus_search tool: hybrid search over the chunk collection."""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.tools import tool
from langgraph.prebuilt import InjectedState

from agent.settings import MAX_K, Settings
from tools.context import settings_from_runtime
from tools.cursors import CursorRegistry
from tools.embeddings import get_embedder
from tools.errors import ToolInputError
from tools.pages import PAGE_BREAK, is_paged
from tools.render import render_search
from tools.schemas import SearchHit, SearchInput, SearchResult
from tools.sources import prefix_forms
from tools.store import ChunkStore, SearchMode, open_store

MAX_QUERY_CHARS = 1000


class SearchArgs(SearchInput):
    """Arguments of milvus_search, with the graph state injected (the model never sees it)."""

    state: Annotated[dict[str, Any] | None, InjectedState] = None


def run_search(
    settings: Settings,
    query: str,
    k: int,
    source: str | None,
    registry: CursorRegistry,
    mode: SearchMode = "hybrid",
) -> SearchResult:
    """Search the collection and number the hits with cursors from the registry."""
    query = query.strip()
    if not query:
        raise ToolInputError(
            'query is empty. Send words to search for, e.g. {"query": "index types"}.'
        )
    if not 1 <= k <= MAX_K:
        raise ToolInputError(f"k must be between 1 and {MAX_K}; got {k}. Try k=5.")
    if source is not None and any(ord(c) < 32 for c in source):
        raise ToolInputError(
            "source must be plain text (a path prefix) without control characters."
        )
    query = query[:MAX_QUERY_CHARS]
    store = open_store(settings)
    embedder = get_embedder(settings)
    store.check_embedder(embedder.name)
    vector = None if mode == "bm25" else embedder.embed([query])[0]
    rows = store.search(query, vector, k, prefix_forms(source or ""), mode)
    first_pages = _first_pages(store, rows)
    hits = [
        SearchHit(
            cursor=registry.assign(r["doc_id"]),
            doc_id=r["doc_id"],
            source=r["source"],
            title=r["title"],
            chunk_id=r["id"],
            chunk_index=r["chunk_index"],
            start_line=r["start_line"],
            end_line=r["end_line"],
            score=r["score"],
            text=r["text"],
            heading=r.get("heading", ""),
            page=first_pages.get(r["id"]),
        )
        for r in rows
    ]
    return SearchResult(query=query, k=k, source_prefix=source or None, mode=mode, hits=hits)


PAGE_CACHE_DOCS = 64
_page_starts: dict[tuple[str, str, str, str], dict[int, int]] = {}
"""First page of each chunk, per (uri, collection, doc_id, doc_hash): exact for a version."""


def _first_pages(store: ChunkStore, rows: list[dict[str, Any]]) -> dict[str, int]:
    """PDF page of each PDF hit's first line: 1 + the page breaks in the chunks before it.

    A document's chunks are read once per version (doc_hash) and process, not per search.
    """
    out: dict[str, int] = {}
    for r in rows:
        if not is_paged(r["source"]):
            continue
        key = (store.uri, store.collection, r["doc_id"], r.get("doc_hash", ""))
        starts = _page_starts.get(key)
        if starts is None or r["chunk_index"] not in starts:
            starts, page = {}, 1
            for chunk in store.get_chunks(r["doc_id"]):
                starts[chunk.chunk_index] = page
                page += chunk.text.count(PAGE_BREAK)
            if len(_page_starts) >= PAGE_CACHE_DOCS:
                _page_starts.pop(next(iter(_page_starts)))
            _page_starts[key] = starts
        if r["chunk_index"] in starts:
            out[r["id"]] = starts[r["chunk_index"]]
    return out


@tool("milvus_search", args_schema=SearchArgs, response_format="content_and_artifact")
def milvus_search(
    query: str, k: int | None = None, source: str | None = None, state: dict[str, Any] | None = None
) -> tuple[str, SearchResult]:
    """Search the user's documents. Returns numbered results: 【cursor†title†source】, the line span and the first lines.

    Use fetch_doc with a result's cursor to read more of that document. Cite what you use as
    【cursor†Lstart-Lend】 with line numbers you have seen.
    """  # noqa: E501
    settings = settings_from_runtime()
    registry = CursorRegistry.from_messages((state or {}).get("messages", []))
    result = run_search(settings, query, settings.k if k is None else k, source, registry)
    return render_search(result), result
