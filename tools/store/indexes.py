"""Index and search parameters of the chunk collection, and reading a collection's indexes.

Every index type, metric and search parameter the store sends comes from here, so one test
(tests/integration/test_index_compat.py) can hold them against what Milvus documents:
Milvus Lite accepts any index name, so a wrong value would only fail on a real server.

- dense: HNSW (M=16, efConstruction=200) with `ef` sent on every dense request; FLAT only
  in a Milvus Lite file whose process lacks faiss (Lite builds HNSW through faiss-cpu).
- sparse: SPARSE_INVERTED_INDEX with the BM25 metric (Milvus's built-in BM25 function).
- fusion: the store fuses the two sides itself (tools/store/fusion.py), so it sends no
  ranker. `rrf_ranker` is for callers of Milvus's own `hybrid_search` (benchmarks): the
  `RRFRanker(60)` form that Milvus 2.5 documents and 2.6 still documents in its hybrid
  search guide; the `Function(reranker="rrf")` form exists only from 2.6 on.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any, Literal

from pymilvus import RRFRanker

if TYPE_CHECKING:
    from pymilvus import MilvusClient, RRFRanker

    from agent.settings import Settings

DenseIndex = Literal["HNSW", "FLAT"]
DENSE_FIELD = "dense"
SPARSE_FIELD = "sparse"
DENSE_METRIC = "COSINE"
SPARSE_METRIC = "BM25"
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200
HNSW_EF = 64
"""Search-time breadth; raised to the request's depth when deeper (Milvus needs ef >= limit)."""
RRF_K = 60
SPARSE_INDEX: dict[str, Any] = {
    "index_type": "SPARSE_INVERTED_INDEX",
    "metric_type": SPARSE_METRIC,
    "params": {},
}


def faiss_available() -> bool:
    """Whether this process can import faiss (Milvus Lite's HNSW backend)."""
    return importlib.util.find_spec("faiss") is not None


def dense_index_for(settings: Settings) -> DenseIndex:
    """The dense index a new collection gets: HNSW, or FLAT in a Lite file without faiss."""
    if settings.is_lite() and not faiss_available():
        return "FLAT"
    return "HNSW"


def dense_index(index_type: DenseIndex) -> dict[str, Any]:
    """Index parameters of the dense field (the shape pymilvus's add_index takes)."""
    params = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION} if index_type == "HNSW" else {}
    return {"index_type": index_type, "metric_type": DENSE_METRIC, "params": params}


def dense_search(index_type: str | None, depth: int) -> dict[str, Any]:
    """Search parameters of one dense request returning `depth` candidates."""
    if index_type == "HNSW":
        return {"metric_type": DENSE_METRIC, "params": {"ef": max(HNSW_EF, depth)}}
    return {"metric_type": DENSE_METRIC}


def sparse_search() -> dict[str, Any]:
    """Search parameters of one BM25 request."""
    return {"metric_type": SPARSE_METRIC}


def rrf_ranker() -> RRFRanker:
    """Reciprocal rank fusion in the form both Milvus 2.5 and 2.6 servers accept."""
    return RRFRanker(RRF_K)


def dense_index_of(client: MilvusClient, collection: str) -> str | None:
    """The dense field's index type in an existing collection (None when it has none)."""
    names = client.list_indexes(collection, field_name=DENSE_FIELD)
    if not names:
        return None
    return str(client.describe_index(collection, names[0]).get("index_type", "")) or None


def index_summary(client: MilvusClient, collection: str) -> str:
    """A collection's indexes as "field:TYPE, ..." sorted ("none" without any)."""
    kinds = []
    for name in client.list_indexes(collection):
        desc = client.describe_index(collection, name)
        kinds.append(f"{desc.get('field_name', name)}:{desc.get('index_type', '?')}")
    return ", ".join(sorted(kinds)) or "none"
