"""Cold start on large corpora: a one-shot `research-agent search` until its first hybrid result.

Synthetic chunks (as benchmarks/search_overhead.py builds them, random 384-d unit vectors
recorded as MiniLM's, Zipf-distributed words) are written once into a Milvus Lite folder per
size and reused by later runs (`--data-dir`, default .bench-cache/ in the project). Each
measured command is a fresh process that embeds the query with MiniLM and runs a hybrid
search; the time runs from starting the process to its first line of output. Two ways to
reach the same data:
- the Lite file opened directly: every process starts Milvus Lite and loads the collection
  (rebuilding its BM25 index in memory) before it can answer;
- through a warm `milvus-lite server` on the folder: the collection stays loaded between
  commands, each process only connects.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
QUERIES = ["kalo mine ruta", "sope dagu zota", "vikane loru", "tami sope kane"]


def build(folder: Path, n: int) -> None:
    """Write n synthetic chunks into a Lite folder, unless a previous run already did."""
    import search_overhead
    from search_overhead import fill, vocabulary

    from agent.settings import Settings
    from tools.embeddings import MINILM_NAME
    from tools.store import close_stores, open_store

    done = folder / "BUILT"
    if done.exists() and done.read_text() == str(n):
        return
    t0 = time.perf_counter()
    settings = Settings(milvus_uri=str(folder / "lite.db"), collection="bench")
    store = open_store(settings)
    rng = np.random.default_rng(7)
    # fill() records StubEmbedder's name; here the vectors stand in for MiniLM's (384-d), so
    # the CLI's own query embedder may search them.
    search_overhead.StubEmbedder.name = MINILM_NAME
    fill(store, n, rng, vocabulary(rng))
    close_stores()
    done.write_text(str(n))
    print(f"# built {n} chunks in {time.perf_counter() - t0:.0f} s", flush=True)


def first_result(uri: str, query: str) -> float:
    """Seconds from starting `research-agent search` to its first line of output."""
    exe = str(Path(sys.executable).with_name("research-agent"))
    env = {**os.environ, "RESEARCH_AGENT_MILVUS_URI": uri, "RESEARCH_AGENT_COLLECTION": "bench"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [exe, "search", query, "-k", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    seconds = time.perf_counter() - t0
    _, err = proc.communicate(timeout=300)
    if proc.returncode != 0 or not line:
        raise SystemExit(f"search failed ({proc.returncode}): {err[-2000:]}")
    return seconds


def served(folder: Path, runs: int) -> list[float]:
    """First-result times through a warm milvus-lite server on the folder."""
    sys.path.insert(0, str(ROOT))
    from tests.support.foundation import MILVUS_LITE, free_port, wait_for_port

    port = free_port()
    cmd = [str(MILVUS_LITE), "server", "--data-dir", str(folder / "lite.db")]
    proc = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, timeout=120)
        uri = f"http://127.0.0.1:{port}"
        warm = first_result(uri, QUERIES[0])  # the server loads the collection once
        print(f"# server warm-up (loads the collection once): {warm:.2f} s", flush=True)
        return [first_result(uri, QUERIES[i % len(QUERIES)]) for i in range(runs)]
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="2k chunks, 2 runs each (CI)")
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per way and size")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".bench-cache" / "cold_start")
    args = parser.parse_args()
    sizes = [2000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    runs = 2 if args.smoke else args.runs
    rows = []
    for n in sizes:
        folder = args.data_dir / f"n{n}"
        folder.mkdir(parents=True, exist_ok=True)
        build(folder, n)
        direct = [first_result(str(folder / "lite.db"), QUERIES[i % 4]) for i in range(runs)]
        rows.append((n, statistics.median(direct), statistics.median(served(folder, runs))))
        print(f"# {n} chunks: direct {rows[-1][1]:.2f} s, served {rows[-1][2]:.2f} s", flush=True)
    print(f"\n# median of {runs} fresh `research-agent search` processes, to the first result")
    print("\n| chunks | Lite file opened directly | through a warm milvus-lite server | ratio |")
    print("|---:|---:|---:|---:|")
    for n, direct_s, served_s in rows:
        print(f"| {n:,} | {direct_s:.2f} s | {served_s:.2f} s | {direct_s / served_s:.1f}x |")


if __name__ == "__main__":
    main()
