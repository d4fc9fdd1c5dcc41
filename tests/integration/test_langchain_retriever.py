"""agent.as_retriever (langchain-milvus) returns milvus_search's passages in milvus_search's order.

On a Milvus Lite file and through a `milvus-lite server`; hybrid (min-max and RRF fusion)
and dense; at depths below and above the per-side minimum; over documents of one chunk and
documents of many, so neighbouring chunks are merged into passages on both paths.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator

import pytest
from langchain_core.documents import Document

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
from tools.schemas import SearchHit
from tools.search import make_filters, run_search
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
    """Short documents, topics mixed, so dense and BM25 rank them differently; and long ones.

    Each long document has a section per topic, each its own chunk, so a query often hits
    neighbouring chunks of one document, which milvus_search merges into one passage.
    """
    docs = []
    for i, topic in enumerate(TOPICS):
        folder = "guides" if i % 2 else "notes"
        for j in range(30):
            other = TOPICS[(i + j) % len(TOPICS)]
            text = f"# {topic} {j}\n\nParagraph {j} about {topic} and {other}.\n"
            docs.append(SourceDoc(f"{folder}/d{i}-{j}.md", f"{topic.title()} {j}", text))
    for n in range(3):
        sections = []
        for i, topic in enumerate(TOPICS[n:] + TOPICS[:n]):
            words = " ".join(f"{topic} detail {w} of part {i}." for w in range(12))
            sections.append(f"## {topic} part {i}\n\n{words}\n")
        docs.append(SourceDoc(f"books/long{n}.md", f"Long {n}", "\n".join(sections)))
    return docs


def ingest(settings: Settings) -> None:
    settings = settings.model_copy(update={"chunk_tokens": 48})  # a chunk per long section
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


def where(settings: Settings) -> dict[str, object]:
    return {"milvus_uri": settings.milvus_uri, "data_dir": settings.data_dir}


def both(
    settings: Settings, mode: str, k: int, fusion: str = "minmax"
) -> list[tuple[list[SearchHit], list[Document]]]:
    """Per query: milvus_search's hits and the retriever's Documents, on the same settings."""
    retriever = agent.as_retriever(k=k, mode=mode, fusion=fusion, **where(settings))
    assert isinstance(retriever.vectorstore, ResearchAgentMilvus)
    same = settings.model_copy(update={"fusion": fusion})
    out = []
    for query in QUERIES:
        hits = run_search(same, query, k, None, CursorRegistry(), mode).hits  # type: ignore[arg-type]
        out.append((hits, retriever.invoke(query)))
    return out


@pytest.mark.parametrize(
    ("mode", "fusion"), [("hybrid", "minmax"), ("hybrid", "rrf"), ("dense", "minmax")]
)
@pytest.mark.parametrize("k", [3, 12])
def test_retriever_returns_milvus_search_passages_in_order(
    settings: Settings, mode: str, fusion: str, k: int
) -> None:
    for hits, documents in both(settings, mode, k, fusion):
        assert [d.metadata["id"] for d in documents] == [h.chunk_id for h in hits]
        assert [d.page_content for d in documents] == [h.text for h in hits]
        spans = [(d.metadata["start_line"], d.metadata["end_line"]) for d in documents]
        assert spans == [(h.start_line, h.end_line) for h in hits]
        assert [round(d.metadata["score"], 6) for d in documents] == [
            round(h.score, 6) for h in hits
        ]
        assert 0 < len(hits) <= k  # merged neighbours can leave fewer than k passages
        assert "search_text" not in documents[0].metadata


def test_the_parity_cases_differ_from_each_other(settings: Settings) -> None:
    """The cases above are not one case: passages merge, and the modes and fusions differ."""
    runs = {
        (mode, fusion): [
            [d.metadata["id"] for d in docs] for _, docs in both(settings, mode, 12, fusion)
        ]
        for mode, fusion in (("hybrid", "minmax"), ("hybrid", "rrf"), ("dense", "minmax"))
    }
    assert runs[("hybrid", "minmax")] != runs[("dense", "minmax")]
    assert runs[("hybrid", "minmax")] != runs[("hybrid", "rrf")]
    merged = [
        d for _, docs in both(settings, "hybrid", 12) for d in docs if d.metadata.get("merged")
    ]
    assert merged and all(d.metadata["source"].startswith("books/") for d in merged)


def test_async_retrieval_returns_the_same_passages(settings: Settings) -> None:
    retriever = agent.as_retriever(k=5, **where(settings))
    for query in QUERIES[:2]:
        hits = run_search(settings, query, 5, None, CursorRegistry()).hits
        found = asyncio.run(retriever.ainvoke(query))
        assert [d.metadata["id"] for d in found] == [h.chunk_id for h in hits]


def test_scores_and_filters_match_milvus_search(settings: Settings) -> None:
    store = agent.as_retriever(k=5, **where(settings)).vectorstore
    hits = run_search(settings, "rank fusion", 5, None, CursorRegistry()).hits
    scored = store.similarity_search_with_score("rank fusion", k=5)
    assert [round(s, 6) for _, s in scored] == [round(h.score, 6) for h in hits]
    for mode in ("hybrid", "dense"):
        only = agent.as_retriever(
            k=4, mode=mode, source="./guides/", title="rank", file_type="md", **where(settings)
        )
        filters = make_filters(file_type="md", title_contains="rank")
        query = "rank fusion and graphs"
        found = run_search(settings, query, 4, "guides/", CursorRegistry(), mode, filters).hits  # type: ignore[arg-type]
        documents = only.invoke(query)
        assert [d.metadata["id"] for d in documents] == [h.chunk_id for h in found]
        assert documents and all(d.metadata["source"].startswith("guides/") for d in documents)
        assert all("rank" in d.metadata["title"] for d in documents)  # the filter took hold


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
    with pytest.raises(ResearchAgentError, match="query is empty"):
        agent.as_retriever(**where(settings)).invoke(" \n ")
    with pytest.raises(ResearchAgentError, match="Bad search filter"):
        agent.as_retriever(source="notes/\x01", **where(settings)).invoke("zebra")
