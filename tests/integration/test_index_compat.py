"""Indexes a Milvus server accepts: what the store sends, held against what Milvus documents.

Milvus Lite accepts any index name and ignores unknown parameters, so a wrong index setting
would pass every other test and fail on a real server. These tests record the requests
pymilvus puts on the wire (CreateIndex, Search, HybridSearch) while the store creates,
searches and reindexes a real Lite collection, and check each value against the table
below, copied from the Milvus documentation.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pymilvus.client.grpc_handler import GrpcHandler
from pymilvus.client.prepare import Prepare

from tests.support.foundation import RESEARCH_AGENT, clean_env, lite_settings
from tools.errors import StoreError
from tools.schemas import Chunk
from tools.store import ChunkStore, admin, close_stores, indexes, open_store

INT_MAX = 2**31 - 1
DOCUMENTED: dict[str, Any] = {
    # milvus-io/milvus-docs site/en/reference/index.md ("In-memory Index", 2.5) and
    # site/en/userGuide/indexes/.../hnsw.md (2.6): HNSW on float vectors, M in [2, 2048],
    # efConstruction in [1, int_max]; search param ef in [top_k, int_max]. FLAT: no
    # build params, no search params but metric_type.
    # site/en/reference/metric.md: float vectors take L2, IP, COSINE; sparse ones IP, BM25.
    # site/en/reference/index.md, "Indexes for sparse embeddings": SPARSE_INVERTED_INDEX with
    # IP or BM25; search param drop_ratio_search in [0, 1).
    "index": {
        "HNSW": {
            "metrics": {"L2", "IP", "COSINE"},
            "params": {"M": (2, 2048), "efConstruction": (1, INT_MAX)},
        },
        "FLAT": {"metrics": {"L2", "IP", "COSINE"}, "params": {}},
        "SPARSE_INVERTED_INDEX": {
            "metrics": {"IP", "BM25"},
            "params": {"inverted_index_algo": {"DAAT_MAXSCORE", "DAAT_WAND", "TAAT_NAIVE"}},
        },
    },
    "search": {
        "HNSW": {"ef": ("top_k", INT_MAX)},
        "FLAT": {},
        "SPARSE_INVERTED_INDEX": {"drop_ratio_search": (0.0, 1.0)},
    },
    # Hybrid search, both versions: pymilvus v2.5.x MilvusClient.hybrid_search documents
    # `ranker: BaseRanker` = WeightedRanker or RRFRanker; the 2.6 guide
    # site/en/userGuide/search-query-get/multi-vector-search.md still uses RRFRanker(100),
    # RESTful form {"strategy": "rrf", "params": {"k": 100}}; rrf-ranker.md: k in (0, 16384).
    # The Function(reranker="rrf") form is "Milvus 2.6.x and later" (rrf-ranker.md), so it
    # must not be sent: it travels as a function_score a 2.5 server does not know.
    "rank": {"rrf": {"k": (0, 16384)}},
}
SEARCH_KEYS = {"topk", "round_decimal", "ignore_growing", "metric_type", "anns_field", "params"}
"""search_params keys pymilvus puts on every request."""


@dataclass
class Wire:
    """Requests pymilvus sent, decoded from their protobuf KeyValuePair lists."""

    indexes: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)
    hybrids: list[tuple[dict[str, Any], list[dict[str, Any]], bool]] = field(default_factory=list)

    def clear(self) -> None:
        self.indexes.clear()
        self.searches.clear()
        self.hybrids.clear()


def _kv(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in pairs:
        try:
            out[kv.key] = json.loads(kv.value)
        except ValueError:
            out[kv.key] = kv.value
    return out


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    rec = Wire()
    search, hybrid = GrpcHandler._execute_search, GrpcHandler._execute_hybrid_search
    create = Prepare.create_index_request

    def on_search(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        rec.searches.append(_kv(request.search_params))
        return search(self, request, *args, **kwargs)

    def on_hybrid(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        reqs = [_kv(r.search_params) for r in request.requests]
        rec.hybrids.append((_kv(request.rank_params), reqs, request.HasField("function_score")))
        return hybrid(self, request, *args, **kwargs)

    def on_create(cls: Any, *args: Any, **kwargs: Any) -> Any:
        request = create(*args, **kwargs)
        rec.indexes.append((request.field_name, _kv(request.extra_params)))
        return request

    monkeypatch.setattr(GrpcHandler, "_execute_search", on_search)
    monkeypatch.setattr(GrpcHandler, "_execute_hybrid_search", on_hybrid)
    monkeypatch.setattr(Prepare, "create_index_request", classmethod(on_create))
    return rec


def _within(value: Any, bounds: Any, top_k: int) -> bool:
    if isinstance(bounds, set):
        return value in bounds
    low, high = (top_k if b == "top_k" else b for b in bounds)
    return bool(low <= value <= high) if isinstance(low, int) else bool(low <= value < high)


def check_index(params: dict[str, Any]) -> str:
    """Raise AssertionError unless the CreateIndex parameters are documented; the type."""
    kind = params["index_type"]
    assert kind in DOCUMENTED["index"], f"undocumented index type {kind}"
    doc = DOCUMENTED["index"][kind]
    assert params["metric_type"] in doc["metrics"], f"{kind} does not take {params}"
    for key, value in params.items():
        if key in ("index_type", "metric_type"):
            continue
        assert key in doc["params"], f"{kind} does not document {key}"
        assert _within(value, doc["params"][key], 0), f"{kind} {key}={value} out of range"
    return str(kind)


def check_search(request: dict[str, Any], index_of: dict[str, str]) -> None:
    """Raise AssertionError unless one search request's parameters are documented."""
    assert set(request) <= SEARCH_KEYS, request
    kind = index_of[request["anns_field"]]
    assert request["metric_type"] in DOCUMENTED["index"][kind]["metrics"]
    doc = DOCUMENTED["search"][kind]
    for key, value in request["params"].items():
        if key == "metric_type":  # pymilvus repeats it inside params
            assert value == request["metric_type"]
            continue
        assert key in doc, f"{kind} search does not document {key}"
        assert _within(value, doc[key], request["topk"]), f"{key}={value} vs {request}"


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, 16)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def chunks(n: int) -> list[Chunk]:
    words = ["milvus", "index", "graph", "segment", "query", "vector", "sparse", "dense"]
    return [
        Chunk(
            id=f"c{i}",
            doc_id=f"d{i}",
            source=f"notes/{i}.md",
            title=f"Note {i}",
            chunk_index=0,
            start_line=1,
            end_line=1,
            text=f"{words[i % 8]} {words[(i * 3) % 8]} term{i}",
            n_chunks=1,
            doc_hash="h",
        )
        for i in range(n)
    ]


VECTORS = unit(np.random.default_rng(3), 60)


def fill(store: ChunkStore) -> None:
    store.upsert(chunks(60), VECTORS, "synthetic-16")
    store.flush()


def ids(store: ChunkStore, mode: Any, k: int = 5) -> list[str]:
    return [h["id"] for h in store.search("segment term7", VECTORS[7], k, None, mode)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChunkStore]:
    s = open_store(lite_settings(tmp_path, "compat"))
    yield s
    close_stores()


def test_everything_the_store_sends_is_documented(store: ChunkStore, wire: Wire) -> None:
    fill(store)
    index_of = {name: check_index(params) for name, params in wire.indexes}
    # a new collection: HNSW with the chosen build parameters, BM25 on the sparse field
    assert wire.indexes == [
        ("dense", {"M": 16, "efConstruction": 200, "metric_type": "COSINE", "index_type": "HNSW"}),
        ("sparse", {"metric_type": "BM25", "index_type": "SPARSE_INVERTED_INDEX"}),
    ]
    for k in (1, 5, 20):
        for mode in ("hybrid", "dense", "bm25"):
            assert ids(store, mode, k)
    # hybrid is two plain searches fused in this process (tools/store/fusion.py): no
    # hybrid_search request, so no ranker a 2.5 or 2.6 server could read differently
    assert len(wire.searches) == 12 and wire.hybrids == []
    for request in wire.searches:
        check_search(request, index_of)
    # ef goes with every dense request, at least as deep as the candidates it asks for;
    # every request asks for max(k, 8) candidates (merging neighbours needs the spare)
    dense = [(r["topk"], r["params"]["ef"]) for r in wire.searches if r["anns_field"] == "dense"]
    assert dense == [(8, 64), (8, 64), (8, 64), (8, 64), (20, 64), (20, 64)]
    sparse = [r["topk"] for r in wire.searches if r["anns_field"] == "sparse"]
    assert sparse == [8, 8, 8, 8, 20, 20]


def test_ef_follows_the_depth_and_stays_off_flat() -> None:
    assert indexes.dense_search("HNSW", 100)["params"] == {"ef": 100}
    assert indexes.dense_search("FLAT", 100) == {"metric_type": "COSINE"}
    check_search(
        {"topk": 100, "metric_type": "COSINE", "anns_field": "dense", "params": {"ef": 100}},
        {"dense": "HNSW"},
    )
    with pytest.raises(AssertionError):  # the check itself refuses what Milvus refuses
        check_search(
            {"topk": 100, "metric_type": "COSINE", "anns_field": "dense", "params": {"ef": 64}},
            {"dense": "HNSW"},
        )
    with pytest.raises(AssertionError):
        check_index({"index_type": "HNSWX", "metric_type": "COSINE"})


def test_without_faiss_a_lite_collection_is_flat_and_gets_no_ef(
    store: ChunkStore, wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexes, "faiss_available", lambda: False)
    fill(store)
    assert [(f, p["index_type"]) for f, p in wire.indexes] == [
        ("dense", "FLAT"),
        ("sparse", "SPARSE_INVERTED_INDEX"),
    ]
    assert ids(store, "dense")[0] == "c7"
    assert wire.searches[-1]["params"] == {"metric_type": "COSINE"}
    # a server is never given FLAT for want of a local faiss
    server = lite_settings(Path("/x")).model_copy(update={"milvus_uri": "http://milvus:19530"})
    assert indexes.dense_index_for(server) == "HNSW"


def test_a_flat_collection_keeps_working_and_reindex_migrates_it(
    store: ChunkStore, wire: Wire
) -> None:
    fill(store)
    hnsw = {mode: ids(store, mode) for mode in ("hybrid", "dense", "bm25")}
    # a collection as older versions built it
    report = admin.reindex(store, "FLAT")
    assert (report.before, report.after, report.rows, report.changed) == ("HNSW", "FLAT", 60, True)
    store.forget()
    wire.clear()
    assert {mode: ids(store, mode) for mode in hnsw} == hnsw  # 60 rows: HNSW is exact here
    assert all("ef" not in r["params"] for r in wire.searches)
    report = admin.reindex(store, "HNSW")
    assert (report.before, report.after, report.rows) == ("FLAT", "HNSW", 60)
    assert wire.indexes == [
        ("dense", {"M": 16, "efConstruction": 200, "metric_type": "COSINE", "index_type": "HNSW"})
    ]
    store.forget()
    assert ids(store, "dense") == hnsw["dense"]
    again = admin.reindex(store, "HNSW")
    assert not again.changed and len(wire.indexes) == 1  # nothing rebuilt the second time


def test_an_interrupted_reindex_says_how_to_finish_and_finishes(store: ChunkStore) -> None:
    fill(store)
    store.client.release_collection("compat")
    store.client.drop_index("compat", "dense")  # killed between the drop and the create
    store.forget()
    with pytest.raises(StoreError, match="research-agent collections reindex compat"):
        store.search("segment", VECTORS[7], 3)
    report = admin.reindex(store, "HNSW")
    assert (report.before, report.after) == (None, "HNSW")
    store.forget()
    assert ids(store, "dense")[0] == "c7"


@pytest.mark.slow  # three CLI processes
def test_cli_reindex(tmp_path: Path) -> None:
    settings = lite_settings(tmp_path, "old")
    store = open_store(settings)
    fill(store)
    admin.reindex(store, "FLAT")
    close_stores()
    env = clean_env(RESEARCH_AGENT_MILVUS_URI=settings.milvus_uri, RESEARCH_AGENT_ENV_FILE="")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(RESEARCH_AGENT), "collections", "reindex", *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)

    done = cli("old")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("old: dense index FLAT -> HNSW over 60 chunks in ")
    again = cli("old", "--json")
    assert json.loads(again.stdout) | {"seconds": 0} == {
        "collection": "old",
        "before": "HNSW",
        "after": "HNSW",
        "rows": 60,
        "seconds": 0,
    }
    missing = cli("nope")
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "error: No collection 'nope'. `research-agent ingest` creates it."
    )
