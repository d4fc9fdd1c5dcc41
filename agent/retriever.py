"""Python API: the document index as a LangChain retriever, for your own chains and graphs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from langchain_core.vectorstores import VectorStoreRetriever

from agent.settings import resolve
from tools.embeddings import get_embedder
from tools.errors import ConfigError, ToolInputError
from tools.search import make_filters
from tools.sources import prefix_forms
from tools.store.langchain_milvus import RetrieverMode, retriever

MODES = ("hybrid", "dense")


def as_retriever(
    *,
    collection: str | None = None,
    k: int | None = None,
    mode: RetrieverMode = "hybrid",
    source: str | Sequence[str] | None = None,
    file_type: str | None = None,
    after: date | None = None,
    before: date | None = None,
    title: str | None = None,
    tags: Sequence[str] = (),
    **options: Any,
) -> VectorStoreRetriever:
    """A LangChain retriever over a research-agent collection (built on langchain-milvus).

    It returns the passages `milvus_search` returns on the same settings, in the same
    order, in hybrid and dense mode: each side is fetched through langchain-milvus, then
    fused (the settings' fusion: min-max by default, or RRF) and neighbouring chunks are
    merged as milvus_search does. Documents' metadata holds id, doc_id, source, title,
    heading, chunk_index, start_line, end_line and score. A reranker (rerank_url) is not
    applied.

    Args:
        collection: The collection (default: the settings' collection).
        k: How many passages each query returns (default: the settings' k).
        mode: "hybrid" (dense + BM25) or "dense".
        source: Only chunks whose source starts with this prefix (or any of these), in
            the forms milvus_search accepts (`./docs`, an absolute path).
        file_type: Only files of this type ("md", "pdf"...), as milvus_search's filter.
        after: Only files modified on or after this day (UTC).
        before: Only files modified before this day (UTC).
        title: Only documents whose title contains this text.
        tags: Only documents tagged with all of these (front matter).
        **options: Other settings by name (milvus_uri, milvus_token, data_dir, embedder,
            fusion...).

    Returns:
        A `VectorStoreRetriever`; its `vectorstore` is the langchain-milvus store.

    Raises:
        ResearchAgentError: The settings are invalid, or the collection is missing, was not
            built by research-agent, or was built with another embedder.
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}; got {mode!r}.")
    try:
        filters = make_filters(file_type, after, before, title, list(tags))
    except ToolInputError as exc:
        raise ConfigError(str(exc)) from exc
    settings = resolve(collection=collection, k=k, **options)
    prefixes = [form for one in _listed(source) for form in prefix_forms(one)]
    embedder = get_embedder(settings)
    return retriever(settings, embedder, settings.k, mode, prefixes or None, filters)


def _listed(source: str | Sequence[str] | None) -> list[str]:
    if source is None:
        return []
    return [source] if isinstance(source, str) else list(source)
