"""Ingestion against an embedding server: chunks/s vs the server's capacity and concurrency 1.

A local OpenAI-compatible /v1/embeddings server stands in for a GPU server (TEI, vLLM,
Ollama, Infinity): every request takes a fixed latency, and it works on at most `--slots`
requests at once, so its capacity is slots x batch / latency chunks/s. The full ingest
(load, split, embed, upsert, flush into a fresh Milvus Lite file) runs over the same
synthetic corpus at embedder concurrency 1 (the old behaviour, the baseline), 2 and the
default; then once against an instant server, which shows what the Milvus Lite write path
alone sustains on this machine (the ceiling no embedder can pass).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

DIM = 768
ROOT = Path(__file__).resolve().parents[1]
WORDS = "milvus index segment query vector sparse dense flush graph shard replica node".split()


def serve(port: int, latency: float, slots: int) -> None:
    """The server process: its own interpreter, so its work never holds the client's GIL."""
    gate = threading.Semaphore(slots)
    rng = np.random.default_rng(5)
    # Pre-encoded vectors keep the server's own CPU cost negligible next to the latency.
    pool = [json.dumps([round(float(x), 4) for x in rng.standard_normal(DIM)]) for _ in range(512)]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with gate:
                time.sleep(latency)
            rows = (pool[zlib.crc32(t.encode()) % len(pool)] for t in body["input"])
            data = ",".join(f'{{"index":{i},"embedding":{r}}}' for i, r in enumerate(rows))
            payload = f'{{"data":[{data}]}}'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


class Server:
    """Fixed latency per request, at most `slots` requests served at once, in a child process."""

    def __init__(self, latency: float, slots: int) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.support.foundation import free_port, wait_for_port

        port = free_port()
        self.proc = multiprocessing.Process(target=serve, args=(port, latency, slots), daemon=True)
        self.proc.start()
        wait_for_port(port)
        self.url = f"http://127.0.0.1:{port}/v1"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join()


def corpus(root: Path, docs: int) -> None:
    rng = np.random.default_rng(11)
    root.mkdir(parents=True)
    for d in range(docs):
        sections = [
            f"## Part {s}\n\n" + " ".join(rng.choice(WORDS, 110)) + f" doc{d} part{s}.\n"
            for s in range(4)
        ]
        (root / f"doc{d:04}.md").write_text(f"# Doc {d}\n\n" + "\n".join(sections))


class FourChars:
    """Counts tokens as the OpenAI-compatible embedder does (4 characters each)."""

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [-(-len(t) // 4) for t in texts]


def texts_of(root: Path) -> list[str]:
    """What ingest sends the embedder for this corpus, in order."""
    from agent.settings import Settings
    from tools.ingest import chunk_document, embed_input
    from tools.loaders import find_files, load_file, source_name

    tokens = Settings().chunk_tokens
    docs = [load_file(f, source_name(f)) for f in find_files([root])]
    chunks = [c for d in docs for c in chunk_document(d, FourChars(), tokens)]  # type: ignore[arg-type]
    return [embed_input(c) for c in chunks]


def embed_rate(url: str, concurrency: int, texts: list[str]) -> float:
    """Chunks/s of the embedder alone: every text, in write batches of 256 as ingest sends."""
    from tools.embeddings import OpenAIEmbedder

    embedder = OpenAIEmbedder(url, "bench", concurrency=concurrency)
    t0 = time.perf_counter()
    for i in range(0, len(texts), 256):
        embedder.embed(texts[i : i + 256])
    return len(texts) / (time.perf_counter() - t0)


def ingest_rate(root: Path, url: str, concurrency: int, tag: str) -> tuple[float, int]:
    from agent.settings import Settings
    from tools.embeddings import OpenAIEmbedder
    from tools.ingest import ingest_paths
    from tools.store import close_stores, open_store

    settings = Settings(milvus_uri=str(root / f"{tag}.db"), collection="bench")
    embedder = OpenAIEmbedder(url, "bench", concurrency=concurrency)
    store = open_store(settings)
    try:
        report = ingest_paths(store, embedder, [root / "corpus"], settings)
    finally:
        close_stores()
    return report.chunks_written / report.seconds, report.chunks_written


def main() -> None:
    from agent.settings import Settings

    default = Settings.model_fields["embedding_concurrency"].default
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="60 documents, short latency (CI)")
    parser.add_argument("--docs", type=int, default=500, help="documents of about 4 chunks")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per request")
    parser.add_argument("--slots", type=int, default=4, help="requests the server runs at once")
    args = parser.parse_args()
    docs, latency = (60, 0.1) if args.smoke else (args.docs, args.latency)
    batch = 64
    capacity = args.slots * batch / latency
    with tempfile.TemporaryDirectory(prefix="ra-embed-") as tmp:
        root = Path(tmp)
        corpus(root / "corpus", docs)
        server, instant = Server(latency, args.slots), Server(0.0, 64)
        try:
            texts = texts_of(root / "corpus")
            alone = {c: embed_rate(server.url, c, texts) for c in (1, 2, default)}
            rates = {c: ingest_rate(root, server.url, c, f"c{c}") for c in (1, 2, default)}
            ceiling, chunks = ingest_rate(root, instant.url, default, "instant")
        finally:
            server.stop()
            instant.stop()
    print(
        f"# {docs} documents, {chunks} chunks, batches of {batch}; server: {latency:.2f} s per "
        f"request, {args.slots} at once = capacity {capacity:.0f} chunks/s"
    )
    print(
        "\n| embedder concurrency | embedder alone chunks/s | vs capacity | ingest chunks/s "
        "| vs capacity | vs concurrency 1 | vs write ceiling |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for c, (rate, _) in rates.items():
        mark = " (default)" if c == default else ""
        print(
            f"| {c}{mark} | {alone[c]:.1f} | {alone[c] / capacity:.2f}x | {rate:.1f} "
            f"| {rate / capacity:.2f}x | {rate / rates[1][0]:.2f}x | {rate / ceiling:.2f}x |"
        )
    print(f"| {default}, instant server: the Milvus Lite write ceiling | - | - | {ceiling:.1f} |")
    bound = min(capacity, ceiling)
    print("\n| goal | value |\n|---|---:|")
    print(
        f"| embedder alone at the default concurrency vs capacity >= 0.8x "
        f"| {alone[default] / capacity:.2f}x |"
    )
    ingest = rates[default][0] / bound
    print(f"| ingest at the default vs min(capacity, write ceiling) | {ingest:.2f}x |")


if __name__ == "__main__":
    main()
