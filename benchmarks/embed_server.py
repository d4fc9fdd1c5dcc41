"""Ingestion against an OpenAI-compatible embedding server: chunks/s vs the server's capacity.

A local stand-in for a GPU embedding server (TEI, vLLM, Ollama, Infinity) runs in its own
process: it serves POST /v1/embeddings, works on at most `--slots` requests at once (the
rest queue) and spends a fixed `--latency` on each, so its capacity is exactly
slots x batch / latency chunks/s. The same synthetic documents are ingested
(split, embed, upsert, flush) into a new Milvus Lite collection (created beforehand with
one small document, so the figure is the steady rate, not collection creation) at several
embedder concurrencies; the figures are ingest chunks/s and their ratio to that capacity.
The default capacity (4 x 64 texts / 1 s = 256 chunks/s) sits below what Milvus Lite
writes on the 2-core machine, so the ratio measures the embedder, not the store. Two
baselines in the same run: the embedder alone on the same texts (no store) at the default
concurrency, and the store alone (upsert + flush of precomputed vectors in the same
batches), which bounds what any embedder could reach.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from the project root
    sys.path.insert(0, str(ROOT))

BATCH = 64  # texts per request: OpenAIEmbedder's batch size


def serve(port: int, latency: float, slots: int, dim: int) -> None:
    """The stand-in server: fixed latency per request, at most `slots` at once."""
    gate = threading.Semaphore(slots)
    table = np.random.default_rng(0).standard_normal((4096, dim)).round(4).tolist()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real server

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with gate:  # a busy server queues the request
                time.sleep(latency)
            data = [
                {"object": "embedding", "index": i, "embedding": table[hash(t) % len(table)]}
                for i, t in enumerate(body["input"])
            ]
            payload = json.dumps({"object": "list", "data": data}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    print("ready", flush=True)
    httpd.serve_forever()


def make_docs(n: int, seed: int = 7, folder: str = "bench") -> list[Any]:
    """n markdown documents of ten ~60-word paragraphs (about five chunks each)."""
    from tools.loaders import SourceDoc

    rng = random.Random(seed)
    words = [f"w{i}" for i in range(2000)] + ["milvus", "index", "segment", "query", "node"]
    docs = []
    for d in range(n):
        paras = [" ".join(rng.choices(words, k=60)) + "." for _ in range(10)]
        text = f"# Document {d}\n\n" + "\n\n".join(paras) + "\n"
        docs.append(SourceDoc(f"{folder}/doc{d:04d}.md", f"Document {d}", text))
    return docs


def start_server(latency: float, slots: int, dim: int) -> tuple[subprocess.Popen[str], str]:
    from tests.support.foundation import free_port

    port = free_port()
    args = [sys.executable, __file__, "--serve", str(port), "--latency", str(latency)]
    args += ["--slots", str(slots), "--dim", str(dim)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc, f"http://127.0.0.1:{port}/v1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="40 documents, concurrency 1 and 8")
    parser.add_argument("--docs", type=int, default=500, help="synthetic documents to ingest")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per request")
    parser.add_argument("--slots", type=int, default=4, help="requests the server runs at once")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--concurrency", default="1,2,4,8,16", help="embedder concurrencies")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.latency, args.slots, args.dim)
        return
    if args.smoke:
        args.docs, args.latency, args.concurrency = 40, 0.1, "1,8"

    from agent.settings import Settings
    from tools.embeddings import OpenAIEmbedder
    from tools.ingest import chunk_document, embed_input, ingest_documents
    from tools.store import close_stores, open_store

    default = Settings.model_fields["embedding_concurrency"].default
    levels = sorted({int(c) for c in args.concurrency.split(",")} | {default})
    capacity = args.slots * BATCH / args.latency
    docs = make_docs(args.docs)
    proc, url = start_server(args.latency, args.slots, args.dim)
    try:
        probe = OpenAIEmbedder(url, "bench", concurrency=default)
        chunks = [c for d in docs for c in chunk_document(d, probe, Settings().chunk_tokens)]
        texts = [embed_input(c) for c in chunks]
        print(
            f"# {len(docs)} documents, {len(chunks)} chunks; server: {args.slots} slots x "
            f"{BATCH} texts / {args.latency} s = capacity {capacity:.0f} chunks/s; "
            f"default concurrency {default}",
            flush=True,
        )
        t0 = time.perf_counter()
        vectors = probe.embed(texts)
        embed_only = len(texts) / (time.perf_counter() - t0)

        rows: list[tuple[str, float, str]] = []
        written: list[tuple[int, int]] = []  # (distinct chunk ids, rows) per concurrency
        warm = make_docs(
            1, seed=99, folder="warm-up"
        )  # creates each collection before the timed ingest
        with tempfile.TemporaryDirectory(prefix="ra-embed-") as tmp:
            settings = Settings(milvus_uri=str(Path(tmp) / "s.db"), collection="raw")
            store = open_store(settings)
            ingest_documents(store, probe, warm, settings)
            step = max(256, probe.chunks_in_flight)
            t0 = time.perf_counter()
            for start in range(0, len(chunks), step):
                store.upsert(chunks[start : start + step], vectors[start : start + step], "x")
                store.flush()
            store_only = len(chunks) / (time.perf_counter() - t0)
            for level in levels:
                emb = OpenAIEmbedder(url, "bench", concurrency=level)
                settings = Settings(milvus_uri=str(Path(tmp) / f"c{level}.db"), collection="b")
                store = open_store(settings)
                ingest_documents(store, emb, warm, settings)
                report = ingest_documents(store, emb, docs, settings)
                assert report.chunks_written == len(chunks), report
                rate = report.chunks_written / report.seconds
                ids = {i for doc_id in store.doc_states() for i in store.chunk_ids(doc_id)}
                written.append((len(ids), store.count()))
                note = "default" if level == default else ""
                rows.append((f"ingest, concurrency {level}", rate, note))
            close_stores()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    print("\n| method | chunks/s | vs server capacity | note |\n|---|---:|---:|---|")
    print(
        f"| server capacity | {capacity:.1f} | 1.00x | {args.slots} x {BATCH} / {args.latency} s |"
    )
    print(
        f"| embedder alone, concurrency {default} | {embed_only:.1f} | "
        f"{embed_only / capacity:.2f}x | no store |"
    )
    print(
        f"| store alone (upsert + flush) | {store_only:.1f} | {store_only / capacity:.2f}x | "
        "precomputed vectors |"
    )
    for name, rate, note in rows:
        print(f"| {name} | {rate:.1f} | {rate / capacity:.2f}x | {note} |")
    tokens = Settings().chunk_tokens
    warm_chunks = len({c.id for d in warm for c in chunk_document(d, probe, tokens)})
    expected = len(chunks) + warm_chunks
    if any(w != (expected, expected) for w in written):
        raise SystemExit(f"chunks written differ between concurrencies: {written}, {expected}")
    print(
        f"\n{expected} distinct chunks ({len(chunks)} + {warm_chunks} of the warm-up document) "
        "stored at every concurrency, no duplicates"
    )
    at_default = next(rate for name, rate, note in rows if note == "default")
    print("\n| ratio | value | goal |\n|---|---:|---|")
    print(
        f"| ingest at the default concurrency / server capacity | "
        f"{at_default / capacity:.2f}x | >= 0.8x |"
    )


if __name__ == "__main__":
    main()
