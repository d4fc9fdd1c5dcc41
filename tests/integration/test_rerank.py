"""The optional reranker against a local /rerank server in TEI's and the Cohere/Jina shape."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from agent.settings import Settings
from tests.support.foundation import lite_settings
from tests.support.rerank_server import RerankServer
from tools import rerank as rerank_module
from tools.cursors import CursorRegistry
from tools.embeddings import get_embedder
from tools.ingest import ingest_documents
from tools.loaders import SourceDoc
from tools.rerank import rerank
from tools.search import run_search
from tools.store import close_stores, open_store

QUERY = "which engine compacts segments at night"


def rows(*texts: str) -> list[dict[str, Any]]:
    return [
        {"id": f"r{i}", "title": "T", "text": t, "score": 1.0 - i / 10} for i, t in enumerate(texts)
    ]


def with_url(url: str, **extra: Any) -> Settings:
    return Settings(_env_file=None, rerank_url=url, rerank_timeout=2.0, **extra)


@pytest.fixture(params=["tei", "cohere"])
def rerank_server(request: pytest.FixtureRequest) -> Iterator[RerankServer]:
    """A started RerankServer, once per shape."""
    with RerankServer(request.param) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without a remembered request shape."""
    monkeypatch.setattr(rerank_module, "_shapes", {})


def test_the_servers_order_is_kept_in_either_shape(rerank_server: RerankServer) -> None:
    given = rows("nothing here", "segments compacts night engine", "which engine")
    ranked = rerank(with_url(rerank_server.url, rerank_model="bge-reranker"), QUERY, given)
    assert [r["id"] for r in ranked] == ["r1", "r2", "r0"]
    assert ranked[0]["score"] == pytest.approx(4 / 6)  # the reranker's score replaces the fused
    first = rerank_server.bodies[0]
    assert first["query"] == QUERY
    if rerank_server.shape == "cohere":
        assert len(rerank_server.bodies) == 1
        assert first["documents"][1] == "T\nsegments compacts night engine"
        assert (first["model"], first["top_n"]) == ("bge-reranker", 3)
    else:  # the Cohere shape is refused with a 422; TEI's shape follows, and is remembered
        assert [sorted(b) for b in rerank_server.bodies] == [
            ["documents", "model", "query", "top_n"],
            ["query", "texts"],
        ]
        rerank(with_url(rerank_server.url), QUERY, given)
        assert sorted(rerank_server.bodies[-1]) == ["query", "texts"]
        assert len(rerank_server.bodies) == 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("fault", ["503", "garbage", "bad index", "refused"])
def test_a_failing_reranker_leaves_the_fused_order_with_one_warning(
    fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    given = rows("a", "segments compacts night engine", "b")
    with RerankServer("cohere") as server:
        url = server.url
        if fault == "503":
            server.status = 503
        elif fault == "garbage":
            server.raw = b"<html>proxy error</html>"
        elif fault == "bad index":
            server.raw = b'{"results": [{"index": 7, "relevance_score": 1.0}]}'
        else:
            url = f"http://127.0.0.1:{free_port()}/rerank"
        with caplog.at_level(logging.WARNING, logger="research_agent.rerank"):
            ranked = rerank(with_url(url), QUERY, given)
    assert ranked == given
    (record,) = caplog.records
    line = record.getMessage()
    assert line.startswith(f"warning: reranker at {url} failed (") and "\n" not in line
    assert line.endswith("using the fused order")


@pytest.fixture(scope="module")
def store_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings_ = lite_settings(tmp_path_factory.mktemp("rerank"))
    docs = [
        SourceDoc(f"notes/{i}.md", f"Note {i}", f"# Note {i}\n\nsegment storage note {i}.\n")
        for i in range(6)
    ]
    docs.append(
        SourceDoc("notes/heron.md", "Heron", "# Heron\n\nHeron compacts segments at night.\n")
    )
    ingest_documents(open_store(settings_), get_embedder(settings_), docs, settings_)
    yield settings_
    close_stores()


def test_search_sends_the_fused_candidates_and_keeps_the_top_k_of_the_new_order(
    store_settings: Settings, rerank_server: RerankServer
) -> None:
    reranked_settings = store_settings.model_copy(update={"rerank_url": rerank_server.url})
    result = run_search(reranked_settings, "segment storage heron night", 3, None, CursorRegistry())
    body = rerank_server.bodies[-1]
    sent = body["texts"] if rerank_server.shape == "tei" else body["documents"]
    assert len(sent) == 7  # every fused candidate (up to 20), not only the top k
    assert [h.title for h in result.hits][:1] == ["Heron"]  # the reranker's first
    assert len(result.hits) == 3
