"""Ingestion throughput: the ingest pipeline vs the raw embedder on the same chunk texts.

Runs in one process: the MiniLM embedder alone (length-sorted batches, then unsorted),
the full ingest (load, split, embed, upsert, flush) into a fresh Milvus Lite file, then the
sorted embedder again; the ceiling is the mean of the two sorted passes, which bracket the
ingest so that load on the shared machine hits both sides.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "milvus_docs"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pick_files(root: Path, limit: int | None) -> list[Path]:
    """Every n-th file, so a subset still spans all folders and lengths."""
    from tools.discover import Walker

    files = Walker().walk([root]).files
    if limit is None or limit >= len(files):
        return files
    step = len(files) / limit
    return [files[int(i * step)] for i in range(limit)]


def embed_rate(embedder: object, texts: list[str], sort: bool) -> float:
    embedder.sort_by_length = sort  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    embedder.embed(texts)  # type: ignore[attr-defined]
    return len(texts) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="4 files (CI)")
    parser.add_argument("--files", type=int, default=None, help="use n files (default: all)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"corpus {args.corpus} not found (../shared beside the project?)")
    from agent.settings import Settings
    from tools.embeddings import MiniLMEmbedder
    from tools.ingest import chunk_document, embed_input, ingest_paths
    from tools.loaders import load_file, source_name
    from tools.store import close_stores, open_store

    files = pick_files(args.corpus, 4 if args.smoke else args.files)
    embedder = MiniLMEmbedder()
    settings = Settings()
    docs = [load_file(f, source_name(f)) for f in files]
    chunks = [c for d in docs for c in chunk_document(d, embedder, settings.chunk_tokens)]
    texts = [embed_input(c) for c in chunks]
    tokens = embedder.count_tokens(texts)
    p10, p50, p90 = np.percentile(tokens, [10, 50, 90])
    print(
        f"# {len(files)} files, {len(chunks)} chunks, tokens p10/p50/p90 = "
        f"{p10:.0f}/{p50:.0f}/{p90:.0f}, batch size {embedder.batch_size}",
        flush=True,
    )
    embedder.embed(texts[:16])  # warm-up: ONNX allocates its arenas on the first runs
    sorted_1 = embed_rate(embedder, texts, sort=True)
    unsorted = embed_rate(embedder, texts, sort=False)
    mem_embed = peak_mib()
    embedder.sort_by_length = True
    with tempfile.TemporaryDirectory(prefix="ra-ingest-") as tmp:
        store_settings = Settings(milvus_uri=str(Path(tmp) / "ingest.db"), collection="bench")
        store = open_store(store_settings)
        report = ingest_paths(store, embedder, files, store_settings)
        close_stores()
    ingest = report.chunks_written / report.seconds
    mem_ingest = peak_mib()
    sorted_2 = embed_rate(embedder, texts, sort=True)
    ceiling = (sorted_1 + sorted_2) / 2
    rows = [
        (
            "raw embedder, length-sorted (ceiling)",
            ceiling,
            f"passes {sorted_1:.1f} / {sorted_2:.1f}",
        ),
        ("raw embedder, unsorted", unsorted, ""),
        (
            "research-agent ingest (pipeline)",
            ingest,
            f"{report.chunks_written} chunks in {report.seconds:.1f} s",
        ),
    ]
    print("\n| method | chunks/s | vs ceiling | note |\n|---|---:|---:|---|")
    for name, rate, note in rows:
        print(f"| {name} | {rate:.1f} | {rate / ceiling:.2f}x | {note} |")
    print("\n| ratio | value | goal |\n|---|---:|---|")
    print(f"| ingest / raw embedder | {ingest / ceiling:.2f}x | >= 0.85x |")
    print(f"| sorted / unsorted batching | {sorted_1 / unsorted:.2f}x | >= 1.5x |")
    print("\n| peak RSS of this process | MiB |\n|---|---:|")
    print(f"| after the embedder passes | {mem_embed:.0f} |")
    print(f"| after ingest (Milvus Lite runs in its own process) | {mem_ingest:.0f} |")


if __name__ == "__main__":
    main()
