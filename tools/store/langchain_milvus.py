"""A LangChain vector store and retriever over a research-agent collection (langchain-milvus).

For LangChain and LangGraph users who plug the index into their own chains. It reads the
collection the way `milvus_search` does (tools/store/retrieve.py): the same filter (no
empty-file markers), the same per-side depth in hybrid mode (max(k, HYBRID_MIN_DEPTH)), the
same HNSW `ef` and RRF k, the same embedder for the query; Milvus's own BM25 function makes
the sparse side from the query text. Hybrid mode fuses by RRF inside Milvus, which is what
langchain-milvus can ask for. It is read-only: langchain-milvus's write path (a collection
created inside the first insert, `upsert` re-embedding through its own embedder) is not ours.

Index parameters are given explicitly: langchain-milvus's defaults for a sparse field
(`drop_ratio_build`, an IP metric) are refused by a BM25 field on Milvus Lite.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStoreRetriever
from langchain_milvus import BM25BuiltInFunction, Milvus

from agent.settings import Settings
from tools.embeddings import Embedder
from tools.errors import StoreError
from tools.store import indexes
from tools.store.connect import quiet
from tools.store.filters import search_filter
from tools.store.registry import open_store
from tools.store.retrieve import HYBRID_MIN_DEPTH

RetrieverMode = Literal["hybrid", "dense"]


class QueryEmbeddings(Embeddings):
    """The collection's embedder as LangChain Embeddings (queries as milvus_search embeds them)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors of texts, one list of floats each."""
        return [[float(x) for x in row] for row in self.embedder.embed(texts)]

    def embed_query(self, text: str) -> list[float]:
        """The vector of one query."""
        return self.embed_documents([text])[0]


class ResearchAgentMilvus(Milvus):
    """langchain-milvus's Milvus with the store's search settings as defaults."""

    def similarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        param: dict[str, Any] | list[dict[str, Any]] | None = None,
        expr: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """Top-k chunks with their scores, searched as milvus_search searches (see module)."""
        dense_index = self._dense_index
        hybrid = isinstance(self._vector_field, list)
        depth = max(k, HYBRID_MIN_DEPTH) if hybrid else k
        dense = indexes.dense_search(dense_index, depth)
        if param is None:
            param = [dense, indexes.sparse_search()] if hybrid else dense
        if hybrid:
            kwargs.setdefault("fetch_k", depth)
            kwargs.setdefault("ranker_type", "rrf")
            kwargs.setdefault("ranker_params", {"k": indexes.RRF_K})
        with warnings.catch_warnings(), quiet():
            # ranker_type is deprecated in favour of a Function reranker, which only Milvus
            # 2.6 servers accept; RRFRanker is the form retrieve.py sends to every server
            warnings.simplefilter("ignore", DeprecationWarning)
            found = super().similarity_search_with_score(
                query, k=k, param=param, expr=expr or search_filter(None), timeout=timeout, **kwargs
            )
        for document, _ in found:
            document.metadata.pop("search_text", None)  # BM25's input: the text again
        return found

    _dense_index: str | None = None


def _check_built_here(settings: Settings, embedder: Embedder) -> str | None:
    """The collection's dense index type, after checking research-agent built it."""
    store = open_store(settings)
    where = f"'{settings.collection}' at {store.uri}"
    ingest = f"`research-agent ingest PATH --collection {settings.collection}`"
    if not store.exists():
        raise StoreError(f"No collection {where}. Build it with {ingest}.")
    store.check_embedder(embedder.name)
    store.require()
    return indexes.dense_index_of(store.client, settings.collection)


def vector_store(
    settings: Settings, embedder: Embedder, mode: RetrieverMode = "hybrid"
) -> ResearchAgentMilvus:
    """A read-only LangChain vector store over the settings' collection.

    Args:
        settings: Which Milvus and collection (milvus_uri, milvus_token, collection).
        embedder: The embedder the collection was built with (tools.embeddings.get_embedder).
        mode: "hybrid" (dense + BM25, RRF) or "dense".

    Returns:
        The vector store; `similarity_search_with_score` and `as_retriever` use the store's
        own search parameters.

    Raises:
        StoreError: The collection is missing, was not built by research-agent, or was
            built with another embedder.
    """
    dense_index = _check_built_here(settings, embedder)
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    # the collection's own index parameters: langchain-milvus would otherwise create its
    # defaults on a field it finds without an index
    dense_params = indexes.dense_index("HNSW" if dense_index == "HNSW" else "FLAT")
    with quiet():
        store = ResearchAgentMilvus(
            embedding_function=QueryEmbeddings(embedder),
            collection_name=settings.collection,
            connection_args={"uri": settings.resolved_milvus_uri(), "token": token},
            consistency_level="Strong",
            primary_field="id",
            text_field="text",
            vector_field=[indexes.DENSE_FIELD, indexes.SPARSE_FIELD]
            if mode == "hybrid"
            else indexes.DENSE_FIELD,
            builtin_function=BM25BuiltInFunction(
                input_field_names="search_text",
                output_field_names=indexes.SPARSE_FIELD,
                enable_match=False,
            )
            if mode == "hybrid"
            else None,
            index_params=[dense_params, indexes.SPARSE_INDEX] if mode == "hybrid" else dense_params,
        )
    store._dense_index = dense_index
    return store


def retriever(
    settings: Settings,
    embedder: Embedder,
    k: int,
    mode: RetrieverMode = "hybrid",
    source: str | Sequence[str] | None = None,
) -> VectorStoreRetriever:
    """A LangChain retriever returning the top-k chunks as Documents.

    Their metadata: id, doc_id, source, title, heading, chunk_index, start_line, end_line.
    """
    store = vector_store(settings, embedder, mode)
    search: dict[str, Any] = {"k": k}
    if source:
        search["expr"] = search_filter(source)
    return store.as_retriever(search_kwargs=search)
