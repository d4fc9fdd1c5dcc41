"""The alternative embedder: an OpenAI-compatible /v1/embeddings endpoint over real sockets."""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent import documents
from agent.settings import Settings
from tools.embeddings import OpenAIEmbedder, get_embedder
from tools.errors import EmbedderError, StoreError
from tools.store import close_stores

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

    def __init__(self, fail: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail = fail
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                if outer.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
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
        settings = Settings(embedder="openai", embedding_base_url=srv.url, embedding_model="x1")
        with pytest.raises(EmbedderError) as err:
            get_embedder(settings)
        message = str(err.value)
        assert "\n" not in message and srv.url in message and "RESEARCH_AGENT_EMBEDDER" in message
    finally:
        srv.stop()
