"""A big file is written in batches: an interrupted ingest leaves it marked incomplete (not
searched, not fetched, flagged by `docs list`), and the next run embeds only what is missing.
One file is one document, whatever the working folder or path form."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from agent import documents
from agent.settings import Settings
from tests.support.foundation import lite_settings, word_count
from tools.catalog import list_docs
from tools.docplan import doc_id_for, file_doc_id
from tools.errors import ResearchAgentError
from tools.ingest import ingest_documents, ingest_paths
from tools.loaders import SourceDoc
from tools.progress import IngestProgress
from tools.store import close_stores, open_store

BATCH = 256


class CountingEmbedder:
    """A fast deterministic embedder that counts what it embeds and can be interrupted."""

    name = "counting-test-embedder"
    dim = 8

    def __init__(self, interrupt_after_texts: int = 0) -> None:
        self.calls = 0
        self.texts = 0
        self.interrupt_after_texts = interrupt_after_texts

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return word_count(texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1  # one call per slice of a batch (tools.writer.HEARTBEAT_TEXTS)
        if self.interrupt_after_texts and self.texts >= self.interrupt_after_texts:
            raise KeyboardInterrupt
        self.texts += len(texts)
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:8], np.uint8) for t in texts]
        out = np.asarray(rows, dtype=np.float32) + 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def big_text(paragraphs: int) -> str:
    words = ["milvus", "vector", "index", "segment", "query", "collection", "shard", "flush"]
    out = []
    for i in range(paragraphs):
        if i % 40 == 0:
            out.append(f"# Part {i // 40}\n\n")
        body = " ".join(words[(i * 7 + j) % len(words)] for j in range(60))
        out.append(f"Paragraph {i}: {body}.\n\n")
    return "".join(out)


@pytest.fixture
def big(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Settings]]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "big.md").write_text(big_text(3000), encoding="utf-8")  # ~1.5 MB
    (tmp_path / "docs" / "small.md").write_text("# Small\n\nA small file.\n", encoding="utf-8")
    yield tmp_path / "docs", lite_settings(tmp_path, chunk_tokens=64)
    close_stores()


def test_interrupted_ingest_is_incomplete_then_resumes_without_re_embedding(
    big: tuple[Path, Settings],
) -> None:
    docs, settings = big
    store = open_store(settings)
    seen: list[IngestProgress] = []
    first = CountingEmbedder(interrupt_after_texts=3 * BATCH)  # Ctrl-C in the 4th batch
    with pytest.raises(KeyboardInterrupt):
        ingest_paths(store, first, [docs], settings, progress=seen.append)
    written = 3 * BATCH  # three batches were embedded and written before Ctrl-C
    assert store.count() == written
    total = seen[-1].chunks_total
    assert total > 4 * BATCH

    big_id = file_doc_id(docs / "big.md")
    assert store.incomplete() == {big_id}
    listed = {d.source: d for d in list_docs(settings)}
    assert listed["docs/big.md"].complete is False
    assert listed["docs/big.md"].chunks == written
    # a half-written document answers nothing: search leaves it out, fetch refuses it
    assert store.search("milvus vector index", None, 5, mode="bm25") == []
    with pytest.raises(ResearchAgentError, match="only partly indexed"):
        documents.fetch("docs/big.md", settings=settings)

    second = CountingEmbedder()
    report = ingest_paths(store, second, [docs], settings)
    assert second.texts == total - written  # only the chunks the first run did not write
    assert (report.resumed, report.new, report.chunks_written) == (1, 1, total - written)
    assert store.incomplete() == set()
    assert all(d.complete for d in list_docs(settings))
    chunks = store.get_chunks(big_id)
    assert "".join(c.text for c in chunks) == (docs / "big.md").read_text(encoding="utf-8")
    assert store.search("milvus vector index", None, 5, mode="bm25") != []
    assert documents.fetch("docs/big.md", settings=settings).total_lines > 1000

    third = CountingEmbedder()
    again = ingest_paths(store, third, [docs], settings)
    assert (third.texts, again.unchanged, again.chunks_written) == (0, 2, 0)


def test_progress_is_reported_while_one_big_file_is_read(big: tuple[Path, Settings]) -> None:
    docs, settings = big
    seen: list[IngestProgress] = []
    ingest_paths(
        open_store(settings), CountingEmbedder(), [docs / "big.md"], settings, progress=seen.append
    )
    reads = [p.current_done for p in seen if p.stage == "reading" and p.current_size]
    assert len(reads) >= 2  # the hash pass and the count pass each report every 1 MB
    assert {p.current for p in seen if p.current_size} == {"docs/big.md"}
    writes = [p.chunks_done for p in seen if p.stage == "writing"]
    assert writes == sorted(writes) and len(set(writes)) > 3


def test_one_file_is_one_document_from_any_folder_and_path_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    note = project / "docs" / "note.md"
    note.write_text("# Note\n\nOne file, one document.\n", encoding="utf-8")
    settings = lite_settings(tmp_path / "data")  # absolute data folder, shared by all runs
    embedder = CountingEmbedder()
    store = open_store(settings)
    try:
        runs = []
        for cwd, path in [
            (project, Path("docs/note.md")),
            (project / "docs", Path("note.md")),
            (tmp_path, Path("project/docs/../docs/./note.md")),
            (tmp_path, note),
        ]:
            monkeypatch.chdir(cwd)
            runs.append(ingest_paths(store, embedder, [path], settings))
        assert [(r.new, r.unchanged) for r in runs] == [(1, 0), (0, 1), (0, 1), (0, 1)]
        assert list(store.doc_states()) == [file_doc_id(note)]
        assert embedder.calls == 1
        # stored as docs/note.md (relative to project/); found from elsewhere by any path form
        monkeypatch.chdir(tmp_path)
        for form in ("project/docs/note.md", "./project/docs/../docs/note.md", str(note)):
            assert documents.fetch(form, settings=settings).doc_id == file_doc_id(note), form
        with pytest.raises(ResearchAgentError, match="No document"):
            documents.fetch("project/docs/other.md", settings=settings)
    finally:
        close_stores()


def test_an_index_built_before_moves_to_the_new_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Older indexes named a file's document by its path relative to the working folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    text = "# Old\n\nIndexed before ids came from real paths.\n"
    (tmp_path / "docs" / "old.md").write_text(text, encoding="utf-8")
    settings = lite_settings(tmp_path)
    store = open_store(settings)
    embedder = CountingEmbedder()
    try:
        ingest_documents(store, embedder, [SourceDoc("docs/old.md", "Old", text)], settings)
        legacy = doc_id_for("docs/old.md")
        assert list(store.doc_states()) == [legacy]
        calls = embedder.calls
        report = ingest_paths(store, embedder, [Path("docs")], settings)
        # moved with its vectors: nothing embedded again
        assert (report.unchanged, report.chunks_written, embedder.calls) == (1, 0, calls)
        new_id = file_doc_id(Path("docs/old.md"))
        assert list(store.doc_states()) == [new_id]
        assert store.find_doc("docs/old.md") == new_id
        assert "".join(c.text for c in store.get_chunks(new_id)) == text
        assert store.search("Indexed before ids", None, 5, mode="bm25")[0]["doc_id"] == new_id

        (tmp_path / "docs" / "old.md").write_text(text + "Changed.\n", encoding="utf-8")
        changed = ingest_paths(store, embedder, [Path("docs")], settings)
        assert (changed.changed, changed.chunks_written) == (1, 1)
        assert list(store.doc_states()) == [new_id]
    finally:
        close_stores()
