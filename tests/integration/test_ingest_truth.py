"""Issue 9 through the real CLI entry point in-process, on Milvus Lite: ingestion tells the
truth (skips, empty files, progress, Ctrl-C), paths in any form, PDF pages in citations."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent import documents
from agent.cli.app import main
from agent.evidence.citations import apply_citations
from agent.evidence.seen import seen_documents
from agent.settings import Settings
from tests.support.foundation import lite_settings, paged_pdf
from tools.cursors import CursorRegistry
from tools.fetch import run_fetch
from tools.pages import line_pages
from tools.search import run_search
from tools.store import close_stores, open_store

TOOLS = "# Tools\n\nfetch_doc reads documents as numbered lines.\n"
PAGES = [
    ["Annual report introduction.", "Nothing about indexes here."],
    ["Second page mentions budgets."],
    ["Page three explains the zebracorn index.", "It is fast."],
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "tools.md").write_text(TOOLS, encoding="utf-8")
    (tmp_path / "docs" / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "docs" / "report.pdf").write_bytes(paged_pdf(PAGES))
    monkeypatch.chdir(tmp_path)
    settings = lite_settings(tmp_path)
    monkeypatch.setenv("RESEARCH_AGENT_MILVUS_URI", settings.milvus_uri or "")
    yield settings
    close_stores()


def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str):
    monkeypatch.setattr("sys.argv", ["research-agent", *args])
    code = 0
    try:
        main()
    except SystemExit as stop:
        code = int(stop.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_unsupported_files_and_a_fifo_are_listed_as_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = tmp_path / "odd"
    odd.mkdir()
    for name in ("a.dat", "b.csv", "c.json"):
        (odd / name).write_text("x\n", encoding="utf-8")
    (odd / "d.doc").write_bytes(b"PK\x03\x04\x00")
    (odd / "e.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    os.mkfifo(odd / "f.md")
    for n in range(20):
        (odd / f"z{n:02d}.dat").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RESEARCH_AGENT_MILVUS_URI", str(tmp_path / "m.db"))
    try:
        code, out, err = cli(monkeypatch, capsys, "ingest", "odd")
        assert code == 0, err
        assert out.startswith("files: 0 new, 0 changed, 0 unchanged, 0 removed, 26 skipped;")
        assert "skipped odd/e.png: binary file (.png), not a text document" in err
        assert "skipped odd/f.md: not a regular file (FIFO)" in err
        assert "skipped odd/a.dat: unsupported type .dat" in err
        assert "not UTF-8" not in err
        assert err.count("\nskipped ") + err.startswith("skipped ") == 20
        assert (
            "… and 6 more skipped (6 unsupported type .dat); --verbose or --json lists all" in err
        )
        code, out, err = cli(monkeypatch, capsys, "ingest", "odd", "--verbose")
        assert err.count("skipped odd/") == 26
        code, out, err = cli(monkeypatch, capsys, "ingest", "odd", "--json")
        skipped = json.loads(out)["skipped"]
        names = ["a.dat", "b.csv", "c.json", "d.doc", "e.png", "f.md"]
        names += [f"z{n:02d}.dat" for n in range(20)]
        assert sorted(s.split(":")[0] for s in skipped) == [f"odd/{n}" for n in names]
    finally:
        close_stores()


def test_empty_file_is_recorded_but_never_a_hit(
    project: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(monkeypatch, capsys, "ingest", "docs", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert (first["new"], first["empty"]) == (3, ["docs/empty.md"])
    code, out, _ = cli(monkeypatch, capsys, "ingest", "docs", "--json")
    again = json.loads(out)
    assert (again["unchanged"], again["chunks_written"]) == (3, 0)  # not re-written
    for mode in ("bm25", "hybrid", "dense"):
        # the empty file's only words are its name: before, it was a hit with lines L1-L0
        code, out, _ = cli(monkeypatch, capsys, "search", "empty", "--mode", mode, "--json")
        assert code == 0
        assert all(h["source"] != "docs/empty.md" for h in json.loads(out)), mode
        assert all(h["end_line"] >= h["start_line"] for h in json.loads(out))


def test_progress_lines_on_a_pipe_name_stages_and_counts(
    project: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(monkeypatch, capsys, "ingest", "docs")
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.startswith("ingest: ")]
    assert lines[1] == "ingest: reading and splitting files, files 0/3, chunks 0/0"
    assert lines[2].startswith("ingest: embedding chunks, files 3/3, chunks 0/")


def test_ctrl_c_during_ingest_says_what_is_kept(
    project: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tools.writer

    real = tools.writer.Writer._write
    calls = []

    def interrupt_while_embedding(*args: object) -> None:
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(tools.writer.Writer, "_write", interrupt_while_embedding)
    code, _, err = cli(monkeypatch, capsys, "ingest", "docs")
    assert (code, len(calls)) == (130, 1)
    assert err.strip().splitlines()[-1] == (
        "interrupted: everything already written is kept (0 of 3 chunks written, "
        "3 of 3 files read); run the same command again to finish."
    )
    monkeypatch.setattr(tools.writer.Writer, "_write", real)
    code, out, err = cli(monkeypatch, capsys, "ingest", "docs", "--json")
    assert code == 0, err
    assert json.loads(out)["new"] == 3  # the re-run finishes the job


def test_fetch_and_source_accept_relative_dot_and_absolute_paths(
    project: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(monkeypatch, capsys, "ingest", "docs")[0] == 0
    absolute = str(Path("docs/tools.md").resolve())
    for typed in ("docs/tools.md", "./docs/tools.md", absolute):
        code, out, err = cli(monkeypatch, capsys, "fetch", typed)
        assert code == 0, (typed, err)
        assert out.startswith("【0†Tools†docs/tools.md】 viewing lines [1 - 3] of 3")
    for prefix in ("./docs", "docs", "docs/", str(Path("docs").resolve())):
        code, out, err = cli(monkeypatch, capsys, "search", "numbered lines", "--source", prefix)
        assert code == 0, err
        assert "docs/tools.md】" in out, prefix
    # the model's tools take the same forms
    window = run_fetch(project, CursorRegistry(), doc_id="./docs/tools.md")
    assert window.source == "docs/tools.md"
    hits = run_search(project, "numbered lines", 3, "./docs/", CursorRegistry()).hits
    assert hits and hits[0].source == "docs/tools.md"


def test_pdf_hits_windows_and_citations_carry_the_page(
    project: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(monkeypatch, capsys, "ingest", "docs", "--json")[0] == 0
    result = run_search(project, "zebracorn index", 1, "docs/report.pdf", CursorRegistry(), "bm25")
    top = result.hits[0]
    assert top.source == "docs/report.pdf" and top.page is not None
    registry = CursorRegistry()
    window = run_fetch(project, registry, doc_id="docs/report.pdf", num_lines=20)
    line = next(window.start_line + i for i, t in enumerate(window.lines) if "zebracorn" in t)
    assert window.page_of(line) == 3
    assert window.page_of(1) == 1
    code, out, _ = cli(monkeypatch, capsys, "fetch", "./docs/report.pdf")
    assert code == 0 and "(pp. 1-3)" in out.splitlines()[0]
    messages = [
        HumanMessage("q"),
        AIMessage("", tool_calls=[{"name": "fetch_doc", "args": {}, "id": "f"}]),
        ToolMessage("w", tool_call_id="f", artifact=window.model_dump()),
    ]
    _, citations, _ = apply_citations(
        f"It is the zebracorn 【{window.cursor}†L{line}】.", seen_documents(messages)
    )
    assert citations[0].page == 3
    assert citations[0].location() == f"docs/report.pdf p. 3, L{line}-L{line}"


def test_an_answer_cites_pdf_pages_in_the_cli_and_the_json(
    project: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(monkeypatch, capsys, "ingest", "docs/report.pdf")[0] == 0
    question = "What does page three explain about the zebracorn index?"
    code, out, err = cli(monkeypatch, capsys, "ask", question, "--provider", "offline", "--json")
    assert code == 0, err
    citations = json.loads(out)["citations"]
    assert citations and {c["source"] for c in citations} == {"docs/report.pdf"}
    zebra = next(c for c in citations if "zebracorn" in c["quote"])
    assert (zebra["page"], zebra["last_page"]) == (3, 3)
    code, out, err = cli(monkeypatch, capsys, "ask", question, "--provider", "offline")
    assert code == 0, err
    line = f"docs/report.pdf p. 3, L{zebra['start_line']}-L{zebra['end_line']}"
    assert line in out.split("Sources:")[1]


def test_the_ingest_graph_takes_include_and_exclude(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.settings import Context
    from graphs.ingest import graph

    monkeypatch.setenv("RESEARCH_AGENT_INGEST_ROOTS", str(Path("docs").resolve()))
    (Path("docs") / "notes.txt").write_text("Plain notes.\n", encoding="utf-8")
    state = graph.invoke(
        {"paths": ["docs"], "include": ["*.md", "*.txt"], "exclude": ["empty.md"]},
        context=Context(milvus_uri=project.milvus_uri or ""),
    )
    report = state["report"]
    assert (report.new, report.skipped, report.empty) == (2, [], [])
    assert sorted(e.split(": ")[1] for e in report.excluded) == [
        "--exclude",
        "not matched by --include",
    ]


def test_a_hit_in_a_later_chunk_of_a_pdf_gets_its_page(tmp_path: Path) -> None:
    pages = [[f"Filler line {p}.{n} about budgets and plans." for n in range(12)] for p in (1, 2)]
    pages.append(["The zebracorn index lives on page three."])
    (tmp_path / "long.pdf").write_bytes(paged_pdf(pages))
    settings = lite_settings(tmp_path, chunk_tokens=32)
    try:
        documents.ingest([tmp_path / "long.pdf"], settings)
        hit = run_search(settings, "zebracorn", 1, None, CursorRegistry(), "bm25").hits[0]
        assert hit.chunk_index > 0 and "zebracorn" in hit.text
        first = hit.page or 0
        zebra = next(n for n, t in enumerate(hit.text.splitlines(), hit.start_line) if "zebra" in t)
        assert line_pages(hit.text, hit.start_line, first)[zebra] == 3
        # the page starts are read once per document version, not on every search
        store = open_store(settings)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(store, "get_chunks", lambda doc_id: pytest.fail("read again"))
            again = run_search(settings, "zebracorn", 1, None, CursorRegistry(), "bm25")
            assert again.hits[0].page == hit.page
    finally:
        close_stores()
