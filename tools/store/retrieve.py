"""Top-k chunks from the collection: dense, BM25, or both fused by RRF inside Milvus.

pymilvus directly: langchain-milvus's hybrid search embeds the query itself, asks each side
for exactly k candidates and returns Documents without the distance per field we rank by.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pymilvus import AnnSearchRequest

from tools import indexes
from tools.store.collection import OUTPUT_FIELDS
from tools.store.filters import search_filter

if TYPE_CHECKING:
    from pymilvus import MilvusClient

SearchMode = Literal["hybrid", "dense", "bm25"]
HYBRID_MIN_DEPTH = 8


def search(
    client: MilvusClient,
    collection: str,
    query: str,
    vector: Sequence[float] | None,
    k: int,
    source_prefix: str | Sequence[str] | None,
    mode: SearchMode,
    dense_index: str | None = "HNSW",
    exclude_docs: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Hits as rows of OUTPUT_FIELDS plus a score (higher is better); BM25 without a vector.

    dense_index: the collection's dense index type (FLAT collections get no `ef`).
    exclude_docs: doc_ids left out (documents being written).
    """
    expr = search_filter(source_prefix, exclude_docs)
    if mode == "bm25" or vector is None:
        res = client.search(
            collection,
            data=[query],
            anns_field="sparse",
            limit=k,
            filter=expr,
            search_params=indexes.sparse_search(),
            output_fields=OUTPUT_FIELDS,
        )
    elif mode == "dense":
        res = client.search(
            collection,
            data=[list(vector)],
            anns_field="dense",
            limit=k,
            filter=expr,
            search_params=indexes.dense_search(dense_index, k),
            output_fields=OUTPUT_FIELDS,
        )
    else:
        # Candidates per side: max(k, 8). Deeper lists (2k was tried) let chunks that both
        # sides rank low outvote one that dense ranks first, so the top hits changed with
        # k; measured on tests/fixtures/faq_labelled.jsonl (see README, Performance).
        fetch = max(k, HYBRID_MIN_DEPTH)
        dense = indexes.dense_search(dense_index, fetch)
        reqs = [
            AnnSearchRequest([list(vector)], "dense", dense, fetch, expr=expr),
            AnnSearchRequest([query], "sparse", indexes.sparse_search(), fetch, expr=expr),
        ]
        res = client.hybrid_search(
            collection,
            reqs=reqs,
            ranker=indexes.rrf_ranker(),
            limit=k,
            output_fields=OUTPUT_FIELDS,
        )
    hits = []
    for rank, hit in enumerate(res[0]):
        row = dict(hit["entity"])
        # BM25 distances come back negative in Lite; rank order is what counts.
        row["score"] = float(hit["distance"]) if mode != "bm25" else float(k - rank)
        hits.append(row)
    return hits
