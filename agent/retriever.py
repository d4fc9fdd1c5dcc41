"""Python API: the document index as a LangChain retriever, for your own chains and graphs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.vectorstores import VectorStoreRetriever

from agent.settings import resolve
from tools.embeddings import get_embedder
from tools.errors import ConfigError
from tools.store.langchain_milvus import RetrieverMode, retriever

MODES = ("hybrid", "dense")


def as_retriever(
    *,
    collection: str | None = None,
    k: int | None = None,
    mode: RetrieverMode = "hybrid",
    source: str | Sequence[str] | None = None,
    **options: Any,
) -> VectorStoreRetriever:
    """A LangChain retriever over a research-agent collection (built on langchain-milvus).

    It returns the chunks `milvus_search` returns, in the same order, as Documents whose
    metadata holds id, doc_id, source, title, heading, chunk_index, start_line and end_line.
    Hybrid mode fuses dense and BM25 results by RRF inside Milvus.

    Args:
        collection: The collection (default: the settings' collection).
        k: How many chunks each query returns (default: the settings' k).
        mode: "hybrid" (dense + BM25) or "dense".
        source: Only chunks whose source starts with this prefix (or any of these).
        **options: Other settings by name (milvus_uri, milvus_token, data_dir, embedder...).

    Returns:
        A `VectorStoreRetriever`; its `vectorstore` is the langchain-milvus store.

    Raises:
        ResearchAgentError: The settings are invalid, or the collection is missing, was not
            built by research-agent, or was built with another embedder.
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}; got {mode!r}.")
    settings = resolve(collection=collection, k=k, **options)
    return retriever(settings, get_embedder(settings), settings.k, mode, source)
