"""A LangChain vector store and retriever over a research-agent collection (langchain-milvus).

For LangChain and LangGraph users who plug the index into their own chains. It returns what
`milvus_search` returns, in the same order, in hybrid and dense mode: each side is fetched
through langchain-milvus's own per-field search (the dense field with the collection's
embedder, the BM25 field with Milvus's built-in BM25 function) with the store's filter,
per-side depth and `ef`; then the store's one ranking (`retrieve.passages`: fusion by the
settings, neighbouring chunks merged into passages) orders them. langchain-milvus's hybrid
search cannot do that: it fuses inside Milvus (RRF or weighted, not min-max) and asks each
side for the same depth as the result. It is read-only: langchain-milvus's write path (a
collection created inside the first insert, `upsert` re-embedding through its own
embedder) is not ours.

Index parameters are given explicitly: langchain-milvus's defaults for a sparse field
(`drop_ratio_build`, an IP metric) are refused by a BM25 field on Milvus Lite.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal, cast

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.runnables.config import run_in_executor
from langchain_core.vectorstores import VectorStoreRetriever
from langchain_milvus import BM25BuiltInFunction, Milvus

from agent.settings import Settings
from tools.embeddings import Embedder
from tools.errors import ResearchAgentError, StoreError, ToolInputError
from tools.schemas import SearchFilters
from tools.store import indexes
from tools.store.chunks import ChunkStore
from tools.store.connect import CHANNEL_OPTIONS, answering, quiet
from tools.store.filters import title_matches
from tools.store.fusion import Fusion
from tools.store.registry import open_store
from tools.store.retrieve import MAX_QUERY_CHARS, Scored, bm25_score, depth_for, passages

RetrieverMode = Literal["hybrid", "dense"]
HIDDEN = ("search_text", indexes.DENSE_FIELD, indexes.SPARSE_FIELD)
"""Fields never put in a Document's metadata: BM25's input (the text again) and vectors."""


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


def _scored(found: list[tuple[Document, float]], bm25: bool = False) -> Scored:
    """langchain-milvus's (Document, distance) pairs as the store's (row, score) pairs."""
    rows = []
    for document, distance in found:
        row = {k: v for k, v in document.metadata.items() if k not in HIDDEN}
        rows.append(({**row, "text": document.page_content}, float(distance)))
    return [(row, bm25_score(score)) for row, score in rows] if bm25 else rows


def _document(row: dict[str, Any]) -> Document:
    metadata = {k: v for k, v in row.items() if k != "text"}
    return Document(page_content=str(row["text"]), metadata=metadata)


class ResearchAgentMilvus(Milvus):
    """langchain-milvus's Milvus over the dense field, searching as milvus_search does.

    In hybrid mode a second langchain-milvus store over the BM25 field (`bm25_side`)
    fetches the other side; `chunk_store` gives the filter and index type, `fusion` (from
    the settings) how the sides combine.
    """

    chunk_store: ChunkStore
    fusion: Fusion = Fusion()
    bm25_side: Milvus | None = None

    def passages(
        self,
        query: str,
        k: int = 4,
        source: str | Sequence[str] | None = None,
        expr: str | None = None,
        timeout: float | None = None,
        filters: SearchFilters | None = None,
    ) -> list[dict[str, Any]]:
        """The top-k passages as rows with a "score", exactly milvus_search's ranking.

        Args:
            query: The query text.
            k: How many passages.
            source: Only chunks whose source starts with this prefix (or any of these).
            expr: A further Milvus filter expression every hit meets.
            timeout: Seconds each request may take.
            filters: milvus_search's other filters (file type, dates, title, tags).
        """
        query = query.strip()[:MAX_QUERY_CHARS]  # as milvus_search reads it
        if not query:
            raise ResearchAgentError("The query is empty: give words to search for.")
        try:
            where = self.chunk_store.search_expr(source, filters)
        except ToolInputError as exc:  # worded for the model; the same words suit a caller
            raise ResearchAgentError(str(exc)) from exc
        if expr:
            where = f"({where}) and ({expr})"
        depth = depth_for(k)
        vector = cast(Embeddings, self.embeddings).embed_query(query)
        with answering(self.chunk_store.uri):  # a Milvus failure: one StoreError line
            dense = self.similarity_search_with_score_by_vector(
                vector,
                k=depth,
                param=indexes.dense_search(self.chunk_store.dense_index, depth),
                expr=where,
                timeout=timeout,
            )
            sparse = None
            if self.bm25_side is not None:
                found = self.bm25_side.similarity_search_with_score(
                    query, k=depth, param=indexes.sparse_search(), expr=where, timeout=timeout
                )
                sparse = _scored(found, bm25=True)
        accept = functools.partial(title_matches, filters)
        return passages(_scored(dense), sparse, k, self.fusion, accept=accept)

    def similarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        param: dict[str, Any] | list[dict[str, Any]] | None = None,
        expr: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """Top-k passages as Documents with their scores (see `passages`).

        `param` is ignored: the store's own search parameters are sent. `source` (a prefix
        or several) and `filters` (SearchFilters) may be given as keywords.
        """
        source, filters = kwargs.get("source"), kwargs.get("filters")
        rows = self.passages(query, k, source, expr, timeout, filters)
        return [(_document(row), float(row["score"])) for row in rows]

    async def asimilarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        param: dict[str, Any] | list[dict[str, Any]] | None = None,
        expr: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """`similarity_search_with_score` in a worker thread (the same ranking, async)."""
        return await run_in_executor(
            None, self.similarity_search_with_score, query, k, param, expr, timeout, **kwargs
        )


def _built_here(settings: Settings, embedder: Embedder) -> ChunkStore:
    """The store of the settings' collection, after checking research-agent built it."""
    store = open_store(settings)
    where = f"'{settings.collection}' at {store.uri}"
    ingest = f"`research-agent ingest PATH --collection {settings.collection}`"
    if not store.exists():
        raise StoreError(f"No collection {where}. Build it with {ingest}.")
    store.check_embedder(embedder.name)
    store.require()
    return store


def _side(settings: Settings, embedder: Embedder | None, index: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of a langchain-milvus store over one vector field."""
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    bm25 = embedder is None
    return {
        "embedding_function": None if bm25 else QueryEmbeddings(embedder),  # type: ignore[arg-type]
        "collection_name": settings.collection,
        "connection_args": {
            "uri": settings.resolved_milvus_uri(),
            "token": token,
            "grpc_options": dict(CHANNEL_OPTIONS),
        },
        "consistency_level": "Strong",
        "primary_field": "id",
        "text_field": "text",
        "vector_field": indexes.SPARSE_FIELD if bm25 else indexes.DENSE_FIELD,
        "builtin_function": BM25BuiltInFunction(
            input_field_names="search_text",
            output_field_names=indexes.SPARSE_FIELD,
            enable_match=False,
        )
        if bm25
        else None,
        "index_params": index,
    }


def vector_store(
    settings: Settings, embedder: Embedder, mode: RetrieverMode = "hybrid"
) -> ResearchAgentMilvus:
    """A read-only LangChain vector store over the settings' collection.

    Args:
        settings: Which Milvus and collection (milvus_uri, milvus_token, collection), and
            the fusion of hybrid search (fusion, fusion_dense_weight).
        embedder: The embedder the collection was built with (tools.embeddings.get_embedder).
        mode: "hybrid" (dense + BM25, fused as milvus_search fuses) or "dense".

    Returns:
        The vector store; `similarity_search_with_score` and `as_retriever` return
        milvus_search's passages in its order.

    Raises:
        StoreError: The collection is missing, was not built by research-agent, or was
            built with another embedder.
    """
    store = _built_here(settings, embedder)
    # the collection's own index parameters: langchain-milvus would otherwise create its
    # defaults on a field it finds without an index
    dense_params = indexes.dense_index("HNSW" if store.dense_index == "HNSW" else "FLAT")
    with quiet():
        vectors = ResearchAgentMilvus(**_side(settings, embedder, dense_params))
        if mode == "hybrid":
            vectors.bm25_side = Milvus(**_side(settings, None, indexes.SPARSE_INDEX))
    vectors.chunk_store = store
    vectors.fusion = Fusion(settings.fusion, settings.fusion_dense_weight)
    return vectors


def retriever(
    settings: Settings,
    embedder: Embedder,
    k: int,
    mode: RetrieverMode = "hybrid",
    source: str | Sequence[str] | None = None,
    filters: SearchFilters | None = None,
) -> VectorStoreRetriever:
    """A LangChain retriever returning the top-k passages as Documents.

    `source` and `filters` narrow every query as milvus_search's arguments do.

    Their metadata: id, doc_id, source, title, heading, chunk_index, start_line, end_line,
    doc_hash, score (and "merged", the number of neighbouring chunks, when a passage joins
    several), besides the collection's other scalar fields.
    """
    vectors = vector_store(settings, embedder, mode)
    search: dict[str, Any] = {"k": k}
    if source:
        search["source"] = source
    if filters is not None:
        search["filters"] = filters
    return vectors.as_retriever(search_kwargs=search)
