"""Top-k passages from the collection: dense, BM25, or both fused here (tools/store/fusion).

pymilvus directly: langchain-milvus's hybrid search embeds the query itself, asks each side
for exactly k candidates and returns Documents without the distance per field we rank by.
Hybrid runs the two plain searches and fuses them in this process, so Milvus Lite and a
Milvus server give the same ranking. Neighbouring chunks of a document are then merged
(tools/store/passages), so k hits are k distinct passages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from tools.store import indexes
from tools.store.collection import OUTPUT_FIELDS
from tools.store.fusion import Fusion, fuse
from tools.store.passages import merge_neighbours

if TYPE_CHECKING:
    from pymilvus import MilvusClient

SearchMode = Literal["hybrid", "dense", "bm25"]
HYBRID_MIN_DEPTH = 8
MAX_QUERY_CHARS = 1000
"""A longer query is cut to this (milvus_search and the LangChain retriever alike)."""
Scored = list[tuple[dict[str, Any], float]]


def search(
    client: MilvusClient,
    collection: str,
    query: str,
    vector: Sequence[float] | None,
    k: int,
    expr: str,
    mode: SearchMode,
    dense_index: str | None = "HNSW",
    fusion: Fusion | None = None,
    keep: int | None = None,
    accept: Callable[[dict[str, Any]], bool] | None = None,
) -> list[dict[str, Any]]:
    """Hits as rows of OUTPUT_FIELDS plus a score (higher is better); BM25 without a vector.

    Args:
        client: The Milvus client.
        collection: The chunk collection.
        query: The query text (BM25's input).
        vector: The query's embedding; None searches BM25 only.
        k: How many passages to return.
        expr: The filter expression both sides apply (tools/store/filters).
        mode: hybrid, dense or bm25.
        dense_index: The collection's dense index type (FLAT collections get no `ef`).
        fusion: How hybrid combines the sides (default: min-max, 0.7 dense).
        keep: Return this many passages instead of k (candidates for a reranker).
        accept: A last check on each candidate row of either side (exact title match).
    """
    depth = depth_for(k, keep)
    dense = sparse = None
    if mode != "bm25" and vector is not None:
        dense = _dense(client, collection, vector, depth, expr, dense_index)
    if mode != "dense" or vector is None:
        sparse = _sparse(client, collection, query, depth, expr)
    return passages(dense, sparse, k, fusion, keep, accept)


def depth_for(k: int, keep: int | None = None) -> int:
    """Candidates each side fetches for k passages (or `keep` for a reranker): at least 8.

    Deeper lists (2k was tried) let chunks that both sides rank low outvote one that dense
    ranks first; measured on tests/fixtures/faq_labelled.jsonl (see README, Performance).
    Single modes fetch as deep, so that merging neighbouring chunks still leaves k passages.
    """
    return max(k, keep or 0, HYBRID_MIN_DEPTH)


def bm25_score(distance: float) -> float:
    """A BM25 hit's score from its distance (its magnitude).

    A server returns BM25 scores as positive distances, Milvus Lite as their negatives
    (best first either way).
    """
    return abs(distance)


def passages(
    dense: Scored | None,
    sparse: Scored | None,
    k: int,
    fusion: Fusion | None = None,
    keep: int | None = None,
    accept: Callable[[dict[str, Any]], bool] | None = None,
) -> list[dict[str, Any]]:
    """The top passages from each side's candidates: both fused, or the one side given.

    The one ranking after the Milvus requests, shared by `search` and the LangChain
    retriever (tools/store/langchain_milvus.py), so both return the same hits in the same
    order. Each side is (row, score) best first, scores higher-is-better.

    Args:
        dense: The dense side's candidates (None: not searched).
        sparse: The BM25 side's candidates (None: not searched).
        k: How many passages to return.
        fusion: How two sides are combined (default: min-max, 0.7 dense).
        keep: Return this many passages instead of k (candidates for a reranker).
        accept: A last check on each candidate row (exact title match).
    """
    if dense is not None and sparse is not None:
        ranked = fuse(_kept(dense, accept), _kept(sparse, accept), fusion or Fusion())
    else:
        ranked = _rows(_kept(dense if dense is not None else sparse or [], accept))
    return merge_neighbours(ranked)[: keep or k]


def _dense(
    client: MilvusClient,
    collection: str,
    vector: Sequence[float],
    depth: int,
    expr: str,
    dense_index: str | None,
) -> Scored:
    res = client.search(
        collection,
        data=[list(vector)],
        anns_field=indexes.DENSE_FIELD,
        limit=depth,
        filter=expr,
        search_params=indexes.dense_search(dense_index, depth),
        output_fields=OUTPUT_FIELDS,
    )
    return [(dict(hit["entity"]), float(hit["distance"])) for hit in res[0]]


def _sparse(client: MilvusClient, collection: str, query: str, depth: int, expr: str) -> Scored:
    res = client.search(
        collection,
        data=[query],
        anns_field=indexes.SPARSE_FIELD,
        limit=depth,
        filter=expr,
        search_params=indexes.sparse_search(),
        output_fields=OUTPUT_FIELDS,
    )
    return [(dict(hit["entity"]), bm25_score(float(hit["distance"]))) for hit in res[0]]


def _kept(scored: Scored, accept: Callable[[dict[str, Any]], bool] | None) -> Scored:
    return [(row, s) for row, s in scored if accept is None or accept(row)]


def _rows(scored: Scored) -> list[dict[str, Any]]:
    return [{**row, "score": score} for row, score in scored]
