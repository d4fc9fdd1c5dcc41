"""The milvus_search tool: hybrid search over the chunk collection, with typed filters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any

from langchain_core.tools import BaseTool, StructuredTool, tool
from langgraph.prebuilt import InjectedState
from pydantic import Field

from agent.settings import MAX_K, Settings
from tools.context import settings_from_runtime
from tools.cursors import CursorRegistry
from tools.embeddings import get_embedder
from tools.errors import ToolInputError
from tools.pages import PAGE_BREAK, is_paged
from tools.render import render_search
from tools.rerank import CANDIDATES, rerank
from tools.schemas import SearchFilters, SearchHit, SearchInput, SearchResult
from tools.sources import prefix_forms
from tools.store import ChunkStore, SearchMode, open_store
from tools.store.fusion import Fusion
from tools.store.retrieve import MAX_QUERY_CHARS


class SearchArgs(SearchInput):
    """Arguments of milvus_search, with the graph state injected (the model never sees it)."""

    file_type: str | None = Field(
        None, description="Optional: only files of this type, e.g. 'pdf', 'md', 'html', 'txt'."
    )
    modified_after: date | None = Field(
        None, description="Optional: only files modified on or after this day, YYYY-MM-DD."
    )
    modified_before: date | None = Field(
        None, description="Optional: only files modified before this day, YYYY-MM-DD."
    )
    title_contains: str | None = Field(
        None, description="Optional: only documents whose title contains this text."
    )
    tags: list[str] | None = Field(
        None, description="Optional: only documents tagged with all of these (front matter)."
    )
    state: Annotated[dict[str, Any] | None, InjectedState] = None


def make_filters(
    file_type: str | None = None,
    modified_after: date | None = None,
    modified_before: date | None = None,
    title_contains: str | None = None,
    tags: list[str] | None = None,
) -> SearchFilters:
    """The filters of a call (all but source), checked: a bad value is a ToolInputError."""
    for name, value in (("file_type", file_type), ("title_contains", title_contains)):
        if value is not None and any(ord(c) < 32 for c in value):
            raise ToolInputError(f"{name} must be plain text without control characters.")
    if any(any(ord(c) < 32 for c in t) for t in tags or []):
        raise ToolInputError("tags must be plain text without control characters.")
    if modified_after and modified_before and modified_after >= modified_before:
        raise ToolInputError(
            f"modified_after ({modified_after}) must be before modified_before "
            f"({modified_before}); nothing can match both."
        )
    return SearchFilters(
        file_type=(file_type or "").strip() or None,
        modified_after=modified_after,
        modified_before=modified_before,
        title_contains=title_contains or None,
        tags=[t.strip() for t in tags or [] if t.strip()],
    )


def run_search(
    settings: Settings,
    query: str,
    k: int,
    source: str | None,
    registry: CursorRegistry,
    mode: SearchMode = "hybrid",
    filters: SearchFilters | None = None,
) -> SearchResult:
    """Search the collection and number the hits with cursors from the registry.

    With a reranker configured (settings.rerank_url), up to CANDIDATES fused passages go
    to it and the top k of its order are kept.
    """
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
    prefixes = prefix_forms(source or "")
    fusion = Fusion(settings.fusion, settings.fusion_dense_weight)
    if settings.rerank_url:
        keep = max(k, CANDIDATES)
        rows = store.search(query, vector, k, prefixes, mode, filters, keep, fusion)
        rows = rerank(settings, query, rows)[:k]
    else:
        rows = store.search(query, vector, k, prefixes, mode, filters, fusion=fusion)
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
            focus_line=r.get("focus_line"),
        )
        for r in rows
    ]
    given = (filters or SearchFilters()).model_dump(mode="json", exclude_defaults=True)
    return SearchResult(
        query=query, k=k, source_prefix=source or None, mode=mode, filters=given, hits=hits
    )


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


HitCount = Callable[[Sequence[Any], int], int]
"""Given the conversation's messages and the k of a call, the number of hits to return."""


def search(
    query: str,
    k: int | None = None,
    source: str | None = None,
    file_type: str | None = None,
    modified_after: date | None = None,
    modified_before: date | None = None,
    title_contains: str | None = None,
    tags: list[str] | None = None,
    state: dict[str, Any] | None = None,
    hit_count: HitCount | None = None,
    mode: SearchMode = "hybrid",
) -> tuple[str, SearchResult]:
    """Search the user's documents. Returns numbered results: 【cursor†title†source】, the line span and the first lines.

    Use fetch_doc with a result's cursor to read more of that document. Cite what you use as
    【cursor†Lstart-Lend】 with line numbers you have seen.
    """  # noqa: E501
    # The docstring is the tool's description, read by the model: `hit_count` (the eval's k
    # schedule; default the call's k, else the run's) and `mode` are set by search_tool.
    settings = settings_from_runtime()
    messages = (state or {}).get("messages", [])
    registry = CursorRegistry.from_messages(messages)
    filters = make_filters(file_type, modified_after, modified_before, title_contains, tags)
    k = settings.k if k is None else k
    if hit_count is not None:
        k = hit_count(messages, k)
    result = run_search(settings, query, k, source, registry, mode, filters)
    return render_search(result), result


milvus_search = tool(
    "milvus_search", args_schema=SearchArgs, response_format="content_and_artifact"
)(search)


def search_tool(hit_count: HitCount | None, mode: SearchMode) -> BaseTool:
    """milvus_search as the model knows it, with the hits per call and the mode chosen here.

    Args:
        hit_count: Chooses how many hits a call returns (the eval's k schedule).
        mode: The search mode (the eval compares hybrid, dense and BM25).

    Returns:
        The tool, named, described and argued exactly as milvus_search.
    """

    def run(**args: Any) -> tuple[str, SearchResult]:
        return search(**args, hit_count=hit_count, mode=mode)

    return StructuredTool.from_function(
        run,
        name=milvus_search.name,
        description=milvus_search.description,
        args_schema=SearchArgs,
        response_format="content_and_artifact",
    )
