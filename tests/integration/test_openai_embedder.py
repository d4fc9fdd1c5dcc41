"""The alternative embedder: an OpenAI-compatible /v1/embeddings endpoint over real sockets."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent import documents
from agent.settings import Settings
from tools.embeddings import OpenAIEmbedder, get_embedder
from tools.errors import EmbedderError, StoreError
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
    """Serves POST /v1/embeddings like Ollama or vLLM, and records the requests.

    `delay(texts)` sleeps before answering (to make requests finish out of order);
    `faults[text]` is a list of statuses to answer, one per request whose first text is
    `text`, before it is served normally.
    """

    def __init__(
        self,
        fail: bool = False,
        delay: Callable[[list[str]], float] | None = None,
        faults: dict[str, list[int]] | None = None,
    ) -> None:
        self.requests: list[dict[str, Any]] = []
        self.finished: list[str] = []  # first text of each answered request, in order
        self.fail = fail
        self.delay = delay
        self.faults = faults or {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer._lock:
                    outer.requests.append(body)
                    planned = outer.faults.get(body["input"][0], [])
                    status = 500 if outer.fail else planned.pop(0) if planned else 200
                if status != 200:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if outer.delay:
                    time.sleep(outer.delay(body["input"]))
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
                with outer._lock:
                    outer.finished.append(body["input"][0])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

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
        settings = Settings(embedder="openai", embedding_base_url=srv.url, embedding_model="x1")
        with pytest.raises(EmbedderError) as err:
            get_embedder(settings)
        message = str(err.value)
        assert "\n" not in message and srv.url in message and "RESEARCH_AGENT_EMBEDDER" in message
    finally:
        srv.stop()


def texts_for(n: int) -> list[str]:
    return [f"text number {i} about topic{i % 7}" for i in range(n)]


def test_concurrent_batches_keep_the_input_order_when_they_finish_out_of_order() -> None:
    texts = texts_for(40)
    # the earlier a batch, the slower its answer: with 4 in flight they finish reversed
    rank = {t: i for i, t in enumerate(texts)}
    srv = EmbeddingServer(delay=lambda batch: 0.4 - 0.1 * (rank.get(batch[0], 40) // 10))
    try:
        emb = OpenAIEmbedder(srv.url, "bow", batch_size=10, concurrency=4)
        vecs = emb.embed(texts)
        firsts = [texts[i] for i in (0, 10, 20, 30)]
        assert srv.finished[1:] == firsts[::-1]  # after the probe: last batch first
        for row, text in zip(vecs, texts, strict=True):
            assert row.tolist() == pytest.approx(bag_of_words(text), abs=1e-6)
        assert sorted(len(r["input"]) for r in srv.requests[1:]) == [10, 10, 10, 10]
    finally:
        srv.stop()


def test_a_failing_batch_is_retried_alone() -> None:
    texts = texts_for(40)
    srv = EmbeddingServer(faults={texts[20]: [503, 502]})
    try:
        emb = OpenAIEmbedder(srv.url, "bow", batch_size=10, concurrency=4, backoff=0.01)
        vecs = emb.embed(texts)
        per_batch = {t: [r["input"][0] for r in srv.requests].count(t) for t in texts[::10]}
        assert per_batch == {texts[0]: 1, texts[10]: 1, texts[20]: 3, texts[30]: 1}
        assert vecs[25].tolist() == pytest.approx(bag_of_words(texts[25]), abs=1e-6)
    finally:
        srv.stop()


def test_a_batch_that_keeps_failing_stops_after_the_retries_with_one_line() -> None:
    texts = texts_for(20)
    srv = EmbeddingServer(faults={texts[0]: [400]})
    try:
        emb = OpenAIEmbedder(srv.url, "bow", batch_size=10, concurrency=2, retries=2, backoff=0)
        srv.requests.clear()
        with pytest.raises(EmbedderError, match=r"failed \(HTTP 400\)"):
            emb.embed(texts)  # a 400 is not retried: the request itself is wrong
        assert [r["input"][0] for r in srv.requests].count(texts[0]) == 1
        srv.faults[texts[10]] = [503] * 5
        srv.requests.clear()
        with pytest.raises(EmbedderError, match=r"failed \(HTTP 503\)") as err:
            emb.embed(texts)
        assert "\n" not in str(err.value)
        firsts = [r["input"][0] for r in srv.requests]
        assert (firsts.count(texts[0]), firsts.count(texts[10])) == (1, 1 + 2)  # 2 retries
    finally:
        srv.stop()


def test_settings_choose_the_concurrency(server: EmbeddingServer) -> None:
    settings = Settings(
        embedder="openai",
        embedding_base_url=server.url,
        embedding_model="bow-conc",
        embedding_concurrency=7,
        max_retries=1,
    )
    emb = get_embedder(settings)
    assert isinstance(emb, OpenAIEmbedder)
    assert (emb.concurrency, emb.retries) == (7, 1)


def test_an_ingest_that_failed_midway_resumes_without_re_embedding(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(300):  # one chunk each: two write batches, 256 then 44
        (docs / f"d{i:03}.md").write_text(f"# Note {i}\n\nNote {i} talks about subject{i}.\n")
    first_of_second_batch = "Note 256\n# Note 256\n\nNote 256 talks about subject256.\n"
    srv = EmbeddingServer(faults={first_of_second_batch: [400]})
    settings = Settings(
        milvus_uri=str(tmp_path / "m.db"),
        embedder="openai",
        embedding_base_url=srv.url,
        embedding_model="bow-resume",
    )
    try:
        with pytest.raises(EmbedderError):
            documents.ingest([docs], settings)
        first_run = sum(len(r["input"]) for r in srv.requests)
        assert first_run == 1 + 256 + 44  # probe, first batch, the failing one
        srv.requests.clear()
        report = documents.ingest([docs], settings)
        assert (report.unchanged, report.new, report.chunks_written) == (256, 44, 44)
        assert sum(len(r["input"]) for r in srv.requests) == 44  # only what was not written
        assert open_store(settings).count() == 300  # every document, each chunk once
    finally:
        close_stores()
        srv.stop()
