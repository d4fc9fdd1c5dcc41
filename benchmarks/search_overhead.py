"""Search overhead: milvus_search (and run_search) vs the raw pymilvus calls they wrap.

Also the LangChain retriever (agent.as_retriever's vector store), which fetches the same two
sides through langchain-milvus and ranks them with the same code, against ChunkStore.search.

Synthetic chunks (random unit vectors, Zipf-distributed words) are upserted straight
through ChunkStore into a temporary Milvus Lite file; no embedding. The query embedder is a
stub returning precomputed vectors, so the figures are the wrapper's own cost. Each query
runs every method once, in rotating order, so machine noise hits all of them alike.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
K = 5
Row = tuple[str, float, float]


class StubEmbedder:
    """Looks query vectors up instead of computing them."""

    name = "synthetic"
    dim = DIM

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.table[t] for t in texts])

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


def vocabulary(rng: np.random.Generator, n: int = 5000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "da", "gu", "zo"]
    words = {"".join(rng.choice(syllables, rng.integers(2, 5))) for _ in range(n * 3)}
    return sorted(words)[:n]


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def fill(store: Any, n: int, rng: np.random.Generator, vocab: list[str]) -> np.ndarray:
    from tools.schemas import Chunk

    zipf = 1 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    vectors = unit(rng, n)
    for start in range(0, n, 5000):
        chunks = []
        for i in range(start, min(n, start + 5000)):
            text = " ".join(rng.choice(vocab, 40, p=zipf))
            chunks.append(
                Chunk(
                    id=f"c{i}",
                    doc_id=f"d{i // 4}",
                    source=f"synthetic/{i // 4}.md",
                    title=f"Document {i // 4}",
                    chunk_index=i % 4,
                    start_line=1 + i % 4,
                    end_line=1 + i % 4,
                    text=text,
                    n_chunks=4,
                    doc_hash="h",
                )
            )
        store.upsert(chunks, vectors[start : start + len(chunks)], StubEmbedder.name)
    store.flush()
    return vectors


def raw_calls(store: Any) -> dict[str, Callable[[str, np.ndarray], Any]]:
    from pymilvus import AnnSearchRequest

    from tools.store import HYBRID_MIN_DEPTH, OUTPUT_FIELDS, indexes

    c, name = store.client, store.collection
    kind = indexes.dense_index_of(c, name)  # the same request the store sends

    def hybrid(q: str, v: np.ndarray) -> Any:
        fetch = max(K, HYBRID_MIN_DEPTH)
        reqs = [
            AnnSearchRequest([list(v)], "dense", indexes.dense_search(kind, fetch), fetch),
            AnnSearchRequest([q], "sparse", indexes.sparse_search(), fetch),
        ]
        return c.hybrid_search(
            name, reqs=reqs, ranker=indexes.rrf_ranker(), limit=K, output_fields=OUTPUT_FIELDS
        )

    def dense(q: str, v: np.ndarray) -> Any:
        return c.search(
            name,
            data=[list(v)],
            anns_field="dense",
            limit=K,
            filter="",
            search_params=indexes.dense_search(kind, K),
            output_fields=OUTPUT_FIELDS,
        )

    def bm25(q: str, v: np.ndarray) -> Any:
        return c.search(
            name,
            data=[q],
            anns_field="sparse",
            limit=K,
            filter="",
            search_params=indexes.sparse_search(),
            output_fields=OUTPUT_FIELDS,
        )

    def both(q: str, v: np.ndarray) -> Any:
        # what ChunkStore.search sends for hybrid: the two plain searches at max(k, 8)
        fetch = max(K, HYBRID_MIN_DEPTH)
        dense_hits = c.search(
            name,
            data=[list(v)],
            anns_field="dense",
            limit=fetch,
            filter="end_line > 0",
            search_params=indexes.dense_search(kind, fetch),
            output_fields=OUTPUT_FIELDS,
        )
        sparse_hits = c.search(
            name,
            data=[q],
            anns_field="sparse",
            limit=fetch,
            filter="end_line > 0",
            search_params=indexes.sparse_search(),
            output_fields=OUTPUT_FIELDS,
        )
        return dense_hits, sparse_hits

    return {
        "raw hybrid_search": hybrid,
        "raw dense + bm25 searches": both,
        "raw dense search": dense,
        "raw bm25 search": bm25,
    }


def measure(n: int, queries: int, root: Path, seed: int = 7) -> list[Row]:
    import tools.embeddings
    import tools.search
    from tools.cursors import CursorRegistry
    from tools.search import milvus_search, run_search
    from tools.store import close_stores, open_store
    from tools.store.langchain_milvus import vector_store

    rng = np.random.default_rng(seed)
    vocab = vocabulary(rng)
    os.environ["RESEARCH_AGENT_MILVUS_URI"] = str(root / f"bench_{n}.db")
    os.environ["RESEARCH_AGENT_COLLECTION"] = "bench"
    from agent.settings import Settings

    settings = Settings()
    store = open_store(settings)
    t0 = time.perf_counter()
    matrix = fill(store, n, rng, vocab)
    print(f"# {n} chunks upserted in {time.perf_counter() - t0:.1f} s", flush=True)
    texts = [" ".join(rng.choice(vocab[:2000], 4)) for _ in range(queries)]
    vecs = unit(rng, queries)
    stub = StubEmbedder(dict(zip(texts, vecs, strict=True)))
    tools.embeddings.get_embedder = lambda s: stub  # type: ignore[assignment]
    tools.search.get_embedder = lambda s: stub  # type: ignore[assignment]  # its own name

    def tool(q: str, v: np.ndarray) -> Any:
        call = {"type": "tool_call", "name": "milvus_search", "id": "1", "args": {"query": q}}
        return milvus_search.invoke(call)

    def wrapped(mode: Any) -> Callable[[str, np.ndarray], Any]:
        return lambda q, v: run_search(settings, q, K, None, CursorRegistry(), mode)

    def floor(q: str, v: np.ndarray) -> Any:
        scores = matrix @ v
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])]

    def layer(q: str, v: np.ndarray) -> Any:
        return store.search(q, v, K, None, "hybrid")

    langchain = vector_store(settings, stub, "hybrid")  # type: ignore[arg-type]

    def retriever(q: str, v: np.ndarray) -> Any:
        return langchain.passages(q, K)

    methods = {
        "milvus_search tool (hybrid)": tool,
        "ChunkStore.search (hybrid)": layer,
        "LangChain retriever (hybrid)": retriever,
        **raw_calls(store),
        "run_search dense": wrapped("dense"),
        "run_search bm25": wrapped("bm25"),
        "numpy dot product (floor)": floor,
    }
    times: dict[str, list[float]] = {m: [] for m in methods}
    names = list(methods)
    for i, (q, v) in enumerate(zip(texts, vecs, strict=True)):
        for j in range(len(names)):
            name = names[(i + j) % len(names)]
            t = time.perf_counter()
            methods[name](q, v)
            if i >= 5:  # the first queries warm caches and load the collection
                times[name].append((time.perf_counter() - t) * 1000)
    close_stores()
    return [(m, float(np.percentile(t, 50)), float(np.percentile(t, 95))) for m, t in times.items()]


def report(n: int, rows: list[Row]) -> None:
    p50 = {m: a for m, a, _ in rows}
    print(f"\n## {n} chunks, k={K}\n\n| method | p50 ms | p95 ms |\n|---|---:|---:|")
    for m, a, b in rows:
        print(f"| {m} | {a:.3f} | {b:.3f} |")
    # Hybrid is fused in the program (tools/store/fusion.py) from two plain searches: the
    # tool's overhead is measured against those two calls; the second row is what fusing
    # here instead of inside Milvus (RRF) costs.
    pairs = [
        ("milvus_search tool (hybrid)", "raw dense + bm25 searches", 1.15),
        ("ChunkStore.search (hybrid)", "raw hybrid_search", None),
        ("LangChain retriever (hybrid)", "ChunkStore.search (hybrid)", None),
        ("run_search dense", "raw dense search", None),
        ("run_search bm25", "raw bm25 search", None),
        ("raw dense search", "numpy dot product (floor)", None),
    ]
    print("\n| ratio (p50) | value | goal |\n|---|---:|---|")
    for a, b, goal in pairs:
        print(f"| {a} / {b} | {p50[a] / p50[b]:.2f}x | {f'<= {goal}x' if goal else '-'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="1k chunks, 30 queries (CI)")
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    sizes = [1000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    queries = 30 if args.smoke else args.queries
    with tempfile.TemporaryDirectory(prefix="ra-bench-") as tmp:
        for n in sizes:
            report(n, measure(n, queries, Path(tmp)))


if __name__ == "__main__":
    main()
