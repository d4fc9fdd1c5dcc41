"""Ingestion into a real Milvus Lite database: counts, skips, idempotence, changes, prune."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent import documents
from agent.settings import Settings
from tests.support.foundation import clean_env, lite_settings, minimal_pdf
from tools.docplan import file_doc_id
from tools.embeddings import get_embedder
from tools.errors import StoreError
from tools.loaders import load_file
from tools.schemas import IngestReport
from tools.store import ChunkStore, close_stores, open_store

MD = """---
title: Front Matter Title
---
# Vector indexes

Milvus builds an index per vector field. FLAT compares every vector.

## IVF

IVF_FLAT clusters vectors into nlist buckets and probes nprobe of them.

## HNSW

HNSW is a graph index with parameters M and efConstruction.
"""
TXT = "Plain notes about BM25.\nSparse vectors score term matches.\n\nA second paragraph.\n"
HTML = """<html><head><title>Release Notes</title><style>p{}</style></head>
<body><h1>Release 2.5</h1><p>Adds full text search.</p><script>var x=1;</script>
<p>Fixes compaction.</p></body></html>"""
PDF_LINES = ["Milvus Lite keeps data in a local folder.", "It allows one process at a time."]


def doc_id_for(source: str) -> str:
    """The id of the document of a file named relative to the working folder."""
    return file_doc_id(Path(source))


def ids_by_doc(store: ChunkStore) -> dict[str, set[str]]:
    return {doc_id: set(store.chunk_ids(doc_id)) for doc_id in store.doc_states()}


def all_ids(store: ChunkStore) -> list[str]:
    return [i for doc_id in store.doc_states() for i in store.chunk_ids(doc_id)]


@dataclass
class Ingested:
    root: Path
    settings: Settings
    first: IngestReport
    second: IngestReport
    ids_first: dict[str, set[str]]
    ids_second: dict[str, set[str]]
    count_first: int
    count_second: int

    @property
    def store(self) -> ChunkStore:
        return open_store(self.settings)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingested]:
    root = tmp_path_factory.mktemp("ingest")
    docs = root / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "guide.md").write_text(MD, encoding="utf-8")
    (docs / "sub" / "notes.txt").write_text(TXT, encoding="utf-8")
    (docs / "page.html").write_text(HTML, encoding="utf-8")
    (docs / "lite.pdf").write_bytes(minimal_pdf(PDF_LINES))
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog\n")
    (docs / "latin1.txt").write_bytes("caf\xe9 cr\xe8me\n".encode("latin-1"))
    (docs / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (docs / ".hidden").mkdir()
    (docs / ".hidden" / "secret.md").write_text("# hidden\n", encoding="utf-8")
    (docs / "ignored.dat").write_text("not a document\n", encoding="utf-8")
    settings = lite_settings(root, chunk_tokens=32)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # sources are stored relative to the working folder
        first = documents.ingest([docs], settings)
        store = open_store(settings)
        ids_first, count_first = ids_by_doc(store), store.count()
        second = documents.ingest([docs], settings)
        yield Ingested(
            root, settings, first, second, ids_first, ids_by_doc(store), count_first, store.count()
        )
    close_stores()


def test_first_ingest_counts_new_files_and_names_skipped_ones(ingested: Ingested) -> None:
    r = ingested.first
    assert (r.new, r.changed, r.unchanged, r.removed) == (4, 0, 0, 0)
    reasons = {Path(s.split(": ", 1)[0]).name: s.split(": ", 1)[1] for s in r.skipped}
    assert set(reasons) == {"broken.pdf", "latin1.txt", "image.md", "ignored.dat"}
    assert reasons["ignored.dat"] == (
        "unsupported type .dat (indexed: Markdown, text, HTML, PDF, office, code, notebooks, "
        ".rst, .adoc)"
    )
    assert reasons["broken.pdf"].startswith("corrupt or unreadable PDF")
    assert reasons["latin1.txt"] == "not UTF-8 text (byte 3); convert it to UTF-8"
    assert reasons["image.md"] == "binary content (NUL bytes)"
    assert (
        r.chunks_written == ingested.count_first == sum(len(v) for v in ingested.ids_first.values())
    )
    sources = {s.source for s in ingested.store.doc_states().values()}
    assert sources == {"docs/guide.md", "docs/sub/notes.txt", "docs/page.html", "docs/lite.pdf"}


def test_second_ingest_writes_nothing_and_keeps_every_id(ingested: Ingested) -> None:
    r = ingested.second
    assert (r.new, r.changed, r.unchanged, r.chunks_written, r.chunks_deleted) == (0, 0, 4, 0, 0)
    assert ingested.ids_second == ingested.ids_first
    assert ingested.count_second == ingested.count_first
    ids = all_ids(ingested.store)
    assert len(ids) == len(set(ids)) == ingested.count_second


def test_documents_rebuilt_from_the_store_equal_the_files(ingested: Ingested) -> None:
    store = ingested.store
    docs = ingested.root / "docs"
    for rel in ["guide.md", "sub/notes.txt", "page.html", "lite.pdf"]:
        source = f"docs/{rel}"
        chunks = store.get_chunks(doc_id_for(source))
        expected = load_file(docs / rel, source).text
        assert "".join(c.text for c in chunks) == expected, rel
        assert [c.chunk_index for c in chunks] == list(range(len(chunks)))
    md = store.get_chunks(doc_id_for("docs/guide.md"))
    assert "".join(c.text for c in md) == MD
    assert len(md) >= 3  # chunk_tokens=32 splits the guide by section
    assert md[0].title == "Front Matter Title"
    assert [c.start_line for c in md] == sorted(c.start_line for c in md)
    pdf = "".join(c.text for c in store.get_chunks(doc_id_for("docs/lite.pdf")))
    assert pdf == "\n".join(PDF_LINES) + "\n"
    html = "".join(c.text for c in store.get_chunks(doc_id_for("docs/page.html")))
    assert "Adds full text search." in html and "var x" not in html and "p{}" not in html


def test_embedder_mismatch_is_refused_with_one_line(ingested: Ingested) -> None:
    store = ingested.store
    assert store.recorded_embedder() == (get_embedder(ingested.settings).name, 384)
    with pytest.raises(StoreError) as err:
        store.check_embedder("openai:nomic-embed-text")
    msg = str(err.value)
    assert "\n" not in msg
    assert "all-MiniLM-L6-v2-onnx-int8" in msg and "openai:nomic-embed-text" in msg
    assert "--collection" in msg
    store.check_embedder(get_embedder(ingested.settings).name)  # the right one passes


def test_missing_collection_says_to_ingest(tmp_path: Path) -> None:
    settings = lite_settings(tmp_path)
    store = open_store(settings)
    assert not store.exists() and store.count() == 0 and store.doc_states() == {}
    with pytest.raises(StoreError, match=r"Run `research-agent ingest PATH` first\.") as err:
        store.require()
    assert "\n" not in str(err.value) and "'research_agent'" in str(err.value)
    with pytest.raises(StoreError, match="research-agent ingest"):
        documents.search("anything", settings=settings)
    with pytest.raises(StoreError, match="research-agent ingest"):
        documents.fetch("docs/guide.md", settings=settings)


def test_second_collection_in_the_same_lite_database(ingested: Ingested) -> None:
    settings = ingested.settings.model_copy(update={"collection": "second"})
    store = open_store(settings)  # same process, same database file, other collection
    assert not store.exists()
    with pytest.raises(StoreError, match="research-agent ingest"):
        documents.search("anything", settings=settings)


@pytest.mark.slow  # a child process
def test_reopen_after_close_stores(tmp_path: Path) -> None:
    # In a child process: close_stores() would otherwise close this module's shared store.
    script = (
        "import sys\n"
        "from agent.settings import Settings\n"
        "from tools.store import close_stores, open_store\n"
        "s = Settings(milvus_uri=sys.argv[1])\n"
        "assert open_store(s).count() == 0\n"
        "close_stores()\n"
        "assert open_store(s).count() == 0\n"  # a fresh client on the same file
    )
    res = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "m.db")],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr.strip().splitlines()[-1]


def test_missing_path_is_a_user_error(ingested: Ingested) -> None:
    from tools.errors import ResearchAgentError

    with pytest.raises(ResearchAgentError, match=r"No such file or folder: .*nope"):
        documents.ingest([ingested.root / "nope"], ingested.settings)


# -- changes, prune and repair each get their own database ------------------------------
SECTION = "## Part {n}\n\n" + "Sentence number {n} about topic {n} with some filler words.\n" * 3


def write_corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("a", "b", "c"):
        body = "".join(SECTION.format(n=f"{name}{i}") + "\n" for i in range(4))
        (folder / f"{name}.md").write_text(f"# Doc {name}\n\n{body}", encoding="utf-8")


@pytest.fixture
def small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Settings]]:
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "docs")
    settings = lite_settings(tmp_path, chunk_tokens=40)
    yield tmp_path / "docs", settings
    close_stores()


def test_changing_one_file_rewrites_only_its_chunks(small: tuple[Path, Settings]) -> None:
    docs, settings = small
    documents.ingest([docs], settings)
    store = open_store(settings)
    before = ids_by_doc(store)
    b_id = doc_id_for("docs/b.md")
    new_text = (docs / "b.md").read_text().replace("Part b1", "Part b1 (revised)") + "Appendix.\n"
    (docs / "b.md").write_text(new_text, encoding="utf-8")
    report = documents.ingest([docs], settings)
    assert (report.new, report.changed, report.unchanged) == (0, 1, 2)
    after = ids_by_doc(store)
    for other in (doc_id_for("docs/a.md"), doc_id_for("docs/c.md")):
        assert after[other] == before[other]
    assert after[b_id] != before[b_id]
    chunks = store.get_chunks(b_id)
    assert report.chunks_written == len(chunks)
    assert report.chunks_deleted == len(before[b_id] - after[b_id])
    assert "".join(c.text for c in chunks) == new_text
    assert store.count() == sum(len(v) for v in after.values())


def test_prune_removes_the_chunks_of_deleted_files(small: tuple[Path, Settings]) -> None:
    docs, settings = small
    documents.ingest([docs], settings)
    store = open_store(settings)
    before = ids_by_doc(store)
    (docs / "c.md").unlink()
    kept = documents.ingest([docs], settings)  # without --prune nothing is removed
    assert (kept.removed, kept.unchanged) == (0, 2)
    assert store.find_doc("docs/c.md") == doc_id_for("docs/c.md")
    pruned = documents.ingest([docs], settings, prune=True)
    assert (pruned.removed, pruned.unchanged, pruned.chunks_written) == (1, 2, 0)
    assert pruned.chunks_deleted == len(before[doc_id_for("docs/c.md")])
    assert store.find_doc("docs/c.md") is None
    assert store.chunk_ids(doc_id_for("docs/c.md")) == []
    after = ids_by_doc(store)
    assert after == {k: v for k, v in before.items() if k != doc_id_for("docs/c.md")}
    assert store.count() == sum(len(v) for v in after.values())


def test_a_document_missing_chunks_is_repaired(small: tuple[Path, Settings]) -> None:
    docs, settings = small
    documents.ingest([docs], settings)
    store = open_store(settings)
    before = ids_by_doc(store)
    a_id = doc_id_for("docs/a.md")
    store.delete_ids(sorted(before[a_id])[:2])  # as if a crash lost the tail of a write
    store.flush()
    report = documents.ingest([docs], settings)
    # resumed: only the two missing chunks are embedded and written again
    assert (report.resumed, report.changed, report.unchanged) == (1, 0, 2)
    assert (report.chunks_written, report.chunks_deleted) == (2, 0)
    assert ids_by_doc(store) == before
    assert "".join(c.text for c in store.get_chunks(a_id)) == (docs / "a.md").read_text()


def test_an_empty_file_is_unchanged_on_the_second_run(small: tuple[Path, Settings]) -> None:
    docs, settings = small
    (docs / "empty.md").write_text("", encoding="utf-8")
    first = documents.ingest([docs], settings)
    assert first.new == 4
    second = documents.ingest([docs], settings)
    assert (second.new, second.unchanged) == (0, 4)
