"""agent.as_retriever (langchain-milvus) returns milvus_search's hits in milvus_search's order.

On a Milvus Lite file and through a `milvus-lite server`, hybrid (RRF fusion, pinned with
RESEARCH_AGENT_FUSION=rrf) and dense, at depths below and above the hybrid per-side minimum.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

import agent
from agent.settings import Settings
from tests.support.foundation import (
    MILVUS_LITE,
    clean_env,
    free_port,
    lite_settings,
    stop_process,
    wait_for_port,
)
from tools.cursors import CursorRegistry
from tools.embeddings import get_embedder
from tools.errors import ResearchAgentError
from tools.ingest import ingest_documents
from tools.loaders import SourceDoc
from tools.search import run_search
from tools.store import close_stores, open_store
from tools.store.langchain_milvus import ResearchAgentMilvus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TOPICS = [
    "zebra indexing",
    "HNSW graphs",
    "BM25 ranking",
    "vector quantization",
    "Milvus Lite files",
    "reciprocal rank fusion",
]
QUERIES = [
    "zebra indexing",
    "how does rank fusion work",
    "quantization of vectors in Milvus Lite",
    "graphs for BM25",
]


def corpus() -> list[SourceDoc]:
    """One short document per paragraph, topics mixed, so dense and BM25 rank them differently.

    One chunk per document: milvus_search merges neighbouring chunks of one document into
    one passage (issue 18), which the retriever does not do, so chunks of one document
    would make the two differ by design rather than by a fault.
    """
    docs = []
    for i, topic in enumerate(TOPICS):
        folder = "guides" if i % 2 else "notes"
        for j in range(30):
            other = TOPICS[(i + j) % len(TOPICS)]
            text = f"# {topic} {j}\n\nParagraph {j} about {topic} and {other}.\n"
            docs.append(SourceDoc(f"{folder}/d{i}-{j}.md", f"{topic.title()} {j}", text))
    return docs


def ingest(settings: Settings) -> None:
    ingest_documents(open_store(settings), get_embedder(settings), corpus(), settings)


@pytest.fixture(scope="module", params=["lite", "server"])
def settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp(request.param)
    proc = None
    if request.param == "lite":
        settings = lite_settings(root)
    else:
        port = free_port()
        argv = [
            "server",
            "--data-dir",
            str(root / "lite"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        proc = subprocess.Popen(
            [str(MILVUS_LITE), *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=clean_env(),
        )
        wait_for_port(port, proc)
        settings = Settings(milvus_uri=f"http://127.0.0.1:{port}", data_dir=root / ".ra")
    try:
        ingest(settings)
        yield settings
    finally:
        close_stores()
        if proc is not None:
            stop_process(proc)


@pytest.fixture(autouse=True)
def rrf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEARCH_AGENT_FUSION", "rrf")  # the fusion langchain-milvus can ask for


def where(settings: Settings) -> dict[str, object]:
    return {"milvus_uri": settings.milvus_uri, "data_dir": settings.data_dir}


# Hybrid parity no longer holds: milvus_search fuses the two sides in the program (min-max
# by default, RRF with its own depth and ties) since issue 18, while langchain-milvus asks
# Milvus's RRFRanker. Dense search is the same request on both paths.
@pytest.mark.parametrize("mode", ["dense"])
@pytest.mark.parametrize("k", [3, 5, 12])
def test_retriever_returns_milvus_search_hits_in_order(
    settings: Settings, mode: str, k: int
) -> None:
    retriever = agent.as_retriever(k=k, mode=mode, **where(settings))
    assert isinstance(retriever.vectorstore, ResearchAgentMilvus)
    for query in QUERIES:
        hits = run_search(settings, query, k, None, CursorRegistry(), mode).hits  # type: ignore[arg-type]
        documents = retriever.invoke(query)
        assert [d.metadata["id"] for d in documents] == [h.chunk_id for h in hits], query
        assert [d.page_content for d in documents] == [h.text for h in hits]
        assert len(hits) == k
        first = documents[0].metadata
        assert (first["source"], first["start_line"]) == (hits[0].source, hits[0].start_line)
        assert "search_text" not in first


def test_scores_and_source_filter_match_milvus_search(settings: Settings) -> None:
    store = agent.as_retriever(k=5, mode="dense", **where(settings)).vectorstore
    hits = run_search(settings, "rank fusion", 5, None, CursorRegistry(), "dense").hits
    scored = store.similarity_search_with_score("rank fusion", k=5)
    assert [round(s, 6) for _, s in scored] == [round(h.score, 6) for h in hits]
    only = agent.as_retriever(k=4, mode="dense", source="guides/", **where(settings))
    filtered = run_search(settings, "rank fusion", 4, "guides/", CursorRegistry(), "dense").hits
    documents = only.invoke("rank fusion")
    assert [d.metadata["id"] for d in documents] == [h.chunk_id for h in filtered]
    assert all(d.metadata["source"].startswith("guides/") for d in documents)


def test_a_collection_not_built_here_gets_one_line_saying_how_to_ingest(settings: Settings) -> None:
    foreign = settings.model_copy(update={"collection": "someone_elses"})
    open_store(foreign).client.create_collection("someone_elses", dimension=8)
    with pytest.raises(ResearchAgentError) as caught:
        agent.as_retriever(collection="someone_elses", **where(settings))
    message = str(caught.value)
    assert "\n" not in message
    assert "Collection 'someone_elses' at " in message
    assert "was not built by research-agent" in message
    assert "research-agent ingest PATH --collection NAME" in message
    with pytest.raises(ResearchAgentError) as searched:  # milvus_search says the same
        run_search(foreign, "zebra", 3, None, CursorRegistry())
    assert str(searched.value) == message


def test_a_missing_collection_and_a_bad_mode_are_one_line_errors(settings: Settings) -> None:
    with pytest.raises(ResearchAgentError, match=r"No collection 'nothing_here' .*ingest"):
        agent.as_retriever(collection="nothing_here", **where(settings))
    with pytest.raises(ResearchAgentError, match="mode must be one of hybrid, dense"):
        agent.as_retriever(mode="bm25", **where(settings))  # type: ignore[arg-type]
