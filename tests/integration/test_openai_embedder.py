"""The alternative embedder: an OpenAI-compatible /v1/embeddings endpoint over real sockets."""

from __future__ import annotations

import hashlib
import json
import math
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent import documents
from agent.settings import Settings
from tests.support.foundation import RESEARCH_AGENT, clean_env
from tools.embeddings import OpenAIEmbedder, get_embedder
from tools.errors import EmbedderError, StoreError
from tools.ingest import ingest_documents
from tools.loaders import SourceDoc
from tools.store import close_stores, open_store

DIM = 64


def bag_of_words(text: str) -> list[float]:
    """A deterministic stand-in for an embedding model: hashed word counts."""
    vec = [0.0] * DIM
    for word in text.lower().split():
        vec[int(hashlib.md5(word.strip(".,?!").encode()).hexdigest(), 16) % DIM] += 1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


class EmbeddingServer:
    """Serves POST /v1/embeddings like Ollama or vLLM, and records the requests."""

    def __init__(
        self,
        fail: bool = False,
        status_for: Callable[[list[str], int], tuple[int, dict[str, str]] | None] | None = None,
        barrier: threading.Barrier | None = None,
        delay: float = 0.0,
    ) -> None:
        """`status_for(texts, attempt)` may answer a request with an error status and headers;
        `barrier` holds each request until that many are in flight at once; `delay` is the
        seconds each request (not the dimension probe) takes."""
        self.requests: list[dict[str, Any]] = []
        self.fail = fail
        self.status_for = status_for
        self.barrier = barrier
        self.delay = delay
        self._attempts: dict[tuple[str, ...], int] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer._lock:
                    outer.requests.append(body)
                    key = tuple(body["input"])
                    attempt = outer._attempts[key] = outer._attempts.get(key, 0) + 1
                error = outer.status_for(body["input"], attempt) if outer.status_for else None
                if outer.fail or error:
                    status, headers = error or (500, {})
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if outer.barrier is not None and len(body["input"]) > 1:  # not the probe
                    outer.barrier.wait(timeout=10)  # BrokenBarrierError: too few in flight
                if len(body["input"]) > 1:
                    time.sleep(outer.delay)
                data = [
                    {"object": "embedding", "index": i, "embedding": bag_of_words(t)}
                    for i, t in enumerate(body["input"])
                ]
                payload = json.dumps({"object": "list", "data": data[::-1]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[EmbeddingServer]:
    srv = EmbeddingServer()
    yield srv
    srv.stop()


def test_vectors_come_back_in_input_order_and_normalised(server: EmbeddingServer) -> None:
    emb = OpenAIEmbedder(server.url, "nomic-embed-text", api_key=None, batch_size=2)
    assert (emb.name, emb.dim) == ("openai:nomic-embed-text", DIM)
    texts = ["milvus stores data", "etcd keeps metadata", "a third text", "and a fourth"]
    vecs = emb.embed(texts)
    for row, text in zip(vecs, texts, strict=True):
        assert row.tolist() == pytest.approx(bag_of_words(text), abs=1e-6)
    # one dimension probe, then batches of two
    assert [len(r["input"]) for r in server.requests] == [1, 2, 2]
    assert {r["model"] for r in server.requests} == {"nomic-embed-text"}


def test_ingest_and_search_through_the_endpoint(server: EmbeddingServer, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "storage.md").write_text("# Storage\n\nMilvus keeps inserted data in MinIO.\n")
    (docs / "meta.md").write_text("# Metadata\n\nEach module keeps its metadata in etcd.\n")
    settings = Settings(
        milvus_uri=str(tmp_path / "m.db"),
        embedder="openai",
        embedding_base_url=server.url,
        embedding_model="bow-64",
    )
    try:
        report = documents.ingest([docs], settings)
        assert (report.new, report.chunks_written) == (2, 2)
        hits = documents.search("where is metadata kept etcd", k=1, settings=settings).hits
        assert hits[0].title == "Metadata"
        # the collection remembers its embedder: MiniLM vectors must not be mixed in
        with pytest.raises(StoreError, match=r"openai:bow-64 \(dim 64\)"):
            documents.search("etcd", settings=settings.model_copy(update={"embedder": "minilm"}))
    finally:
        close_stores()


def test_a_failing_endpoint_is_a_one_line_error(tmp_path: Path) -> None:
    srv = EmbeddingServer(fail=True)
    try:
        settings = Settings(
            embedder="openai", embedding_base_url=srv.url, embedding_model="x1", max_retries=0
        )
        with pytest.raises(EmbedderError) as err:
            get_embedder(settings)
        message = str(err.value)
        assert "\n" not in message and srv.url in message and "RESEARCH_AGENT_EMBEDDER" in message
    finally:
        srv.stop()


# -- concurrency, order, retries and resume (issue 11 item 7) --------------------------------


def test_requests_are_in_flight_together_and_rows_keep_the_input_order() -> None:
    # the server holds every request until four are open at once: a client that sent
    # them one by one would break the barrier and get no answer
    srv = EmbeddingServer(barrier=threading.Barrier(4))
    try:
        emb = OpenAIEmbedder(srv.url, "bow-64", batch_size=2, concurrency=4)
        texts = [f"text number {i} about topic{i}" for i in range(8)]
        vecs = emb.embed(texts)
        assert [row.tolist() for row in vecs] == [
            pytest.approx(bag_of_words(t), abs=1e-6) for t in texts
        ]
        assert sorted(len(r["input"]) for r in srv.requests[1:]) == [2, 2, 2, 2]
    finally:
        srv.stop()


def test_settings_choose_the_concurrency_and_retries(server: EmbeddingServer) -> None:
    settings = Settings(
        embedder="openai",
        embedding_base_url=server.url,
        embedding_model="bow-64",
        embedding_concurrency=3,
        max_retries=5,
    )
    emb = get_embedder(settings)
    assert isinstance(emb, OpenAIEmbedder)
    assert (emb.concurrency, emb.max_retries, emb.chunks_in_flight) == (3, 5, 3 * 64)


def test_a_failed_batch_is_retried_alone() -> None:
    def flaky(texts: list[str], attempt: int) -> tuple[int, dict[str, str]] | None:
        if "c" in texts and attempt == 1:
            return 503, {}
        if "e" in texts and attempt == 1:
            return 429, {"Retry-After": "0"}
        return None

    srv = EmbeddingServer(status_for=flaky)
    try:
        emb = OpenAIEmbedder(srv.url, "bow-64", batch_size=2, concurrency=3, max_retries=2)
        texts = ["a", "b", "c", "d", "e", "f"]
        vecs = emb.embed(texts)
        assert [row.tolist() for row in vecs] == [
            pytest.approx(bag_of_words(t), abs=1e-6) for t in texts
        ]
        sent = sorted(tuple(r["input"]) for r in srv.requests[1:])
        # the two failing batches twice, the good one once: nothing re-embedded
        assert sent == [("a", "b"), ("c", "d"), ("c", "d"), ("e", "f"), ("e", "f")]
    finally:
        srv.stop()


@pytest.mark.parametrize(
    ("status", "attempts"), [(400, 1), (401, 1), (500, 3)], ids=["400", "401", "500"]
)
def test_a_batch_that_keeps_failing_is_one_line_after_its_retries(
    status: int, attempts: int
) -> None:
    wait = {"Retry-After": "0"}  # honoured: the retries do not sleep
    srv = EmbeddingServer(status_for=lambda texts, _: (status, wait) if "bad" in texts else None)
    try:
        emb = OpenAIEmbedder(srv.url, "bow-64", batch_size=1, concurrency=2, max_retries=2)
        with pytest.raises(EmbedderError) as err:
            emb.embed(["good", "bad"])
        assert f"HTTP {status}" in str(err.value) and "\n" not in str(err.value)
        # a 4xx is never retried (the same request fails the same way); a 500 is, twice
        assert [r["input"] for r in srv.requests].count(["bad"]) == attempts
    finally:
        srv.stop()


def test_an_ingest_stopped_by_a_failing_batch_resumes_without_re_embedding(
    tmp_path: Path,
) -> None:
    docs = [
        SourceDoc(f"doc{i:02d}.md", f"Doc {i}", f"# Doc {i}\n\nword{i} appears here.\n")
        for i in range(12)
    ]
    down = {"word6"}  # the second write batch (docs 4-7) cannot be embedded

    def broken(texts: list[str], _: int) -> tuple[int, dict[str, str]] | None:
        return (500, {}) if any(w in t for t in texts for w in down) else None

    srv = EmbeddingServer(status_for=broken)
    settings = Settings(milvus_uri=str(tmp_path / "m.db"))
    try:
        store = open_store(settings)
        emb = OpenAIEmbedder(srv.url, "bow-64", batch_size=2, concurrency=2, max_retries=0)
        with pytest.raises(EmbedderError):
            ingest_documents(store, emb, docs, settings, batch_chunks=4)
        written = {s.source for s in store.doc_states().values() if s.complete}
        assert written == {f"doc{i:02d}.md" for i in range(4)}  # the first batch was kept

        down.clear()  # the server is back
        srv.requests.clear()
        report = ingest_documents(store, emb, docs, settings, batch_chunks=4)
        assert (report.unchanged, report.new, report.chunks_written) == (4, 8, 8)
        resent = " ".join(t for r in srv.requests for t in r["input"])
        assert not any(f"word{i} " in resent for i in range(4)), "written docs re-embedded"
        assert {s.source for s in store.doc_states().values() if s.complete} == {
            d.source for d in docs
        }
        assert store.count() == 12
    finally:
        close_stores()
        srv.stop()


@pytest.mark.slow  # the CLI in subprocesses
def test_an_ingest_killed_mid_run_resumes_and_ends_like_a_clean_one(
    server: EmbeddingServer, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for d in range(150):  # 8-16 chunks each: seven write batches of 256
        paras = [
            f"topic{d} paragraph{p} " + " ".join(f"w{d}x{p}x{i}" for i in range(90)) + "."
            for p in range(8)
        ]
        (corpus / f"doc{d:03d}.md").write_text(f"# Doc {d}\n\n" + "\n\n".join(paras) + "\n")
    env = clean_env(
        RESEARCH_AGENT_EMBEDDER="openai",
        RESEARCH_AGENT_EMBEDDING_BASE_URL=server.url,
        RESEARCH_AGENT_EMBEDDING_MODEL="bow-64",
        RESEARCH_AGENT_EMBEDDING_CONCURRENCY="2",
    )

    def ingest(db: str) -> dict[str, Any]:
        done = subprocess.run(
            [str(RESEARCH_AGENT), "ingest", "corpus", "--json", "--milvus-uri", db],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    clean = ingest(str(tmp_path / "clean.db"))
    server.delay = 0.4  # slow enough to kill between the first flush and the end
    server.requests.clear()
    killed_db = tmp_path / "killed.db"
    proc = subprocess.Popen(
        [str(RESEARCH_AGENT), "ingest", "corpus", "--json", "--milvus-uri", str(killed_db)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # batch n+1 is sent only after batch n-1 was written and flushed: once a request of the
    # third batch arrives (probe + 4 + 4 requests of 64 before it), the first one is stored
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and len(server.requests) < 10:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL, "the run ended before it could be killed"

    server.delay = 0.0
    server.requests.clear()
    resumed = ingest(str(killed_db))
    assert resumed["unchanged"] > 0, resumed  # what the killed run flushed was kept...
    resent = sum(len(r["input"]) for r in server.requests[1:])
    assert resent == resumed["chunks_written"] < clean["chunks_written"]  # ...not re-embedded
    try:
        ids = {}
        for name in ("clean.db", "killed.db"):
            store = open_store(Settings(milvus_uri=str(tmp_path / name)))
            ids[name] = [i for doc in store.doc_states() for i in store.chunk_ids(doc)]
            assert store.count() == len(ids[name]) == len(set(ids[name])), name
    finally:
        close_stores()
    assert set(ids["killed.db"]) == set(ids["clean.db"])
    assert len(ids["clean.db"]) == clean["chunks_written"]
