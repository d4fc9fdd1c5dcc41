"""One large text file (100 MB by default): peak memory and chunks/s of a streamed ingest.

A synthetic Markdown file is written to a temporary folder (a block at a time, never held
in memory) and ingested through `ingest_paths`, the path `research-agent ingest` takes,
into a fresh collection of a `milvus-lite server` started in its own process (Milvus Lite
opened as a file runs inside the ingesting process and keeps its segments in memory there,
which would hide the ingest's own memory; `--in-process` measures that way), with the
OpenAI-compatible embedder against the local stand-in server of embed_server.py (MiniLM on
2 shared cores embeds ~60 chunks/s: 100 MB would take hours). Printed: peak RSS of this
process (the ingest) and of the child processes (the Milvus server, the stand-in), and
ingest chunks/s against the embedder's ceiling, measured in the same run: the same
embedder embedding the first chunks of the same file, with no store.

`--interrupt S` then runs `research-agent ingest` on the same file in a child process,
sends it SIGINT after S seconds, times how long it takes to exit, and runs it again to
finish: the second run must write exactly the chunks the first did not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:  # run as a script from the project root
        sys.path.insert(0, str(path))

from embed_server import start_server  # noqa: E402

MB = 1 << 20
CEILING_CHUNKS = 20_000


def write_corpus(path: Path, mb: float, seed: int = 11) -> None:
    """Markdown of ~60-word paragraphs under headings, written a block at a time."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(3000)] + ["milvus", "index", "segment", "query", "node"]
    with path.open("w", encoding="utf-8") as fh:
        n = 0
        while fh.tell() < mb * MB:
            block = []
            for _ in range(200):
                if n % 30 == 0:
                    block.append(f"## Section {n // 30}\n\n")
                block.append(" ".join(rng.choices(words, k=60)) + ".\n\n")
                n += 1
            fh.write("".join(block))


def peak_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def child_peaks() -> dict[str, float]:
    """Peak RSS (VmHWM, MiB) of this process's running children, by command name."""
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            name = fields.get("Name", "?").strip()
            out[name] = max(out.get(name, 0.0), int(fields["VmHWM"].split()[0]) / 1024)
    return out


def start_milvus(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A `milvus-lite server` in its own process; its URI."""
    from tests.support.foundation import free_port, wait_for_port

    port = free_port()
    cmd = [str(ROOT / ".venv" / "bin" / "milvus-lite"), "server", "--data-dir", str(tmp / "lite")]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


def ingest_in_process(corpus: Path, url: str, tmp: Path, milvus_uri: str) -> None:
    from agent.settings import Settings
    from tools.docplan import DocPlan, from_file, version_of
    from tools.embeddings import OpenAIEmbedder
    from tools.ingest import chunks_of, ingest_paths
    from tools.store import close_stores, open_store
    from tools.writer import embed_input

    settings = Settings(milvus_uri=milvus_uri, collection="large", max_file_mb=0)
    embedder = OpenAIEmbedder(url, "bench")
    store = open_store(settings)
    before = peak_mib()
    report = ingest_paths(store, embedder, [corpus], settings)
    ingest_rss, servers = peak_mib(), child_peaks()
    rate = report.chunks_written / report.seconds

    # The ceiling: the same embedder on the file's first chunks, with no store.
    version = version_of(from_file(corpus)(), corpus.stem, settings.chunk_tokens)
    texts: list[str] = []
    plan = DocPlan("ceiling", "ceiling", version, 0, from_file(corpus))
    for chunk in chunks_of(plan, settings.chunk_tokens, embedder):
        texts.append(embed_input(chunk))
        if len(texts) >= CEILING_CHUNKS:
            break
    t0 = time.perf_counter()
    vectors = embedder.embed(texts)
    ceiling = len(texts) / (time.perf_counter() - t0)
    # The store alone: the same chunks and vectors, upserted and flushed in the same batches.
    chunks = list(chunks_of(plan, settings.chunk_tokens, embedder))[: len(texts)]
    raw = open_store(settings.model_copy(update={"collection": "store_alone"}))
    step = max(256, embedder.chunks_in_flight)
    t0 = time.perf_counter()
    for start in range(0, len(chunks), step):
        raw.upsert(chunks[start : start + step], vectors[start : start + step], embedder.name)
        raw.flush()
    store_only = len(chunks) / (time.perf_counter() - t0)
    close_stores()

    size = corpus.stat().st_size / MB
    print(f"# {size:.0f} MB file, {report.chunks_written} chunks in {report.seconds:.1f} s")
    print("\n| figure | value |\n|---|---:|")
    print(f"| peak RSS of the ingest process before the ingest | {before:.0f} MiB |")
    print(f"| peak RSS of the ingest process after the ingest | {ingest_rss:.0f} MiB |")
    for name, mib in sorted(servers.items()):
        print(f"| peak RSS of child process `{name}` | {mib:.0f} MiB |")
    print(f"| ingest chunks/s (read, split, embed, upsert, flush) | {rate:.0f} |")
    print(f"| embedder alone, {len(texts)} chunks of the same file | {ceiling:.0f} |")
    print(f"| store alone (upsert + flush), the same {len(chunks)} chunks | {store_only:.0f} |")
    print(f"| ingest / embedder ceiling | {rate / ceiling:.2f}x |")
    print(f"| ingest / min(embedder, store) | {rate / min(ceiling, store_only):.2f}x |")


def interrupted_run(corpus: Path, url: str, tmp: Path, after: float, milvus_uri: str) -> None:
    env = dict(os.environ)
    env.update(
        RESEARCH_AGENT_EMBEDDER="openai",
        RESEARCH_AGENT_EMBEDDING_BASE_URL=url,
        RESEARCH_AGENT_EMBEDDING_MODEL="bench",
        RESEARCH_AGENT_DATA_DIR=str(tmp / "cli-data"),
        RESEARCH_AGENT_MILVUS_URI=milvus_uri,
        RESEARCH_AGENT_COLLECTION="interrupted",
        RESEARCH_AGENT_ENV_FILE="",
    )
    cmd = [str(ROOT / ".venv" / "bin" / "research-agent"), "ingest", str(corpus)]
    cmd += ["--max-file-mb", "0", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(after)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        tail = [ln for ln in err.decode(errors="replace").splitlines() if "chttp2" not in ln]
        print("\n".join(tail[-20:]))
        raise SystemExit(f"SIGINT after {after:g} s: the ingest did not exit within 60 s") from None
    exit_s = time.monotonic() - sent
    last = err.decode(errors="replace").strip().splitlines()[-1:]
    print(f"\nSIGINT after {after:g} s: exit code {proc.returncode} in {exit_s:.2f} s; {last}")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    report = json.loads(done.stdout)
    kept = re.search(r"\((\d+) of (\d+) chunks written", last[0] if last else "")
    first, total = (int(kept.group(1)), int(kept.group(2))) if kept else (0, 0)
    print(
        f"next run: exit {done.returncode}, resumed {report['resumed']}, "
        f"chunks written {report['chunks_written']} in {report['seconds']:.1f} s; "
        f"the interrupted run wrote {first} of {total}: "
        f"{first} + {report['chunks_written']} = {first + report['chunks_written']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=100.0, help="size of the file")
    parser.add_argument("--smoke", action="store_true", help="a 5 MB file")
    parser.add_argument("--interrupt", type=float, metavar="S", help="SIGINT a CLI run after S s")
    parser.add_argument("--latency", type=float, default=0.02, help="server seconds per request")
    parser.add_argument("--slots", type=int, default=8, help="requests the server runs at once")
    parser.add_argument(
        "--in-process", action="store_true", help="Milvus Lite as a file in this process"
    )
    args = parser.parse_args()
    mb = 5.0 if args.smoke else args.mb
    proc, url = start_server(args.latency, args.slots, 384)
    try:
        with tempfile.TemporaryDirectory(prefix="ra-large-") as name:
            tmp = Path(name)
            corpus = tmp / "large.md"
            write_corpus(corpus, mb)
            milvus, uri = (None, str(tmp / "large.db")) if args.in_process else start_milvus(tmp)
            try:
                ingest_in_process(corpus, url, tmp, uri)
            finally:
                if milvus is not None:
                    milvus.terminate()
                    milvus.wait(timeout=60)
            if args.interrupt is not None:  # a fresh database, not one busy with the above
                milvus, uri = (
                    (None, str(tmp / "cli.db")) if args.in_process else start_milvus(tmp / "cli")
                )
                try:
                    interrupted_run(corpus, url, tmp, args.interrupt, uri)
                finally:
                    if milvus is not None:
                        milvus.terminate()
                        milvus.wait(timeout=60)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
