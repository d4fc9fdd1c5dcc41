"""Paths in the forms users type, ingest progress lines, and PDF pages of lines and citations."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.evidence.citations import apply_citations
from agent.evidence.seen import seen_documents
from agent.schemas import Citation
from tools.pages import line_pages, page_label
from tools.progress import IngestProgress, PlainLines, Tracker, describe
from tools.render import render_search, render_window
from tools.schemas import DocWindow, SearchHit, SearchResult
from tools.sources import prefix_forms, stored_forms


def test_stored_forms_of_relative_dot_and_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "tools.md").write_text("# t\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    root = tmp_path.resolve().as_posix()
    for typed in ("docs/tools.md", "./docs/tools.md", f"{root}/docs/tools.md", "docs//tools.md"):
        assert "docs/tools.md" in stored_forms(typed), typed
        assert f"{root}/docs/tools.md" in stored_forms(typed), typed
    assert stored_forms("  ") == []
    assert stored_forms("3f2a9c")[0] == "3f2a9c"  # a doc_id is tried as typed first
    assert stored_forms("http://x/y") == ["http://x/y"]


def test_prefix_forms_mean_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docs").mkdir()
    monkeypatch.chdir(tmp_path)
    root = tmp_path.resolve().as_posix()
    assert prefix_forms("./docs") == ["./docs/", "docs/", f"{root}/docs/"]
    assert set(prefix_forms(f"{root}/docs")) >= {"docs/", f"{root}/docs/"}
    assert prefix_forms("docs/fa") == ["docs/fa", f"{root}/docs/fa"]  # a plain text prefix
    assert prefix_forms(".") == prefix_forms("") == []


def test_tracker_counts_files_and_chunks_from_the_start_and_estimates_time_left() -> None:
    now = [0.0]
    seen: list[IngestProgress] = []
    t = Tracker(seen.append, clock=lambda: now[0])
    t.files(3)
    assert seen[-1] == IngestProgress("reading", 0, 3, 0, 0)
    t.file_read("a.md", 100)
    t.file_read("b.md", 0)
    t.file_read("c.md", 100)
    assert (seen[-1].files_done, seen[-1].chunks_total) == (3, 200)
    t.stage("embedding")
    assert describe(t.state) == ("embedding chunks, files 3/3, chunks 0/200, estimating time left")
    now[0] = 50.0
    t.stage("writing")
    t.chunks_written(50)
    assert t.state.seconds_left == pytest.approx(150.0)
    assert describe(t.state).endswith("chunks 50/200, about 2m30s left")


def test_plain_lines_print_at_each_stage_and_every_interval() -> None:
    out = io.StringIO()
    now = [0.0]
    lines = PlainLines(out, every=10.0, clock=lambda: now[0])
    t = Tracker(lines, clock=lambda: now[0])
    t.files(2)
    t.file_read("a.md", 600)
    t.file_read("b.md", 0)
    t.stage("embedding")
    now[0] = 5.0
    t.stage("writing")
    t.chunks_written(256)  # within 10 s of the last line: quiet
    now[0] = 11.0
    t.stage("embedding")  # 10 s passed: a line
    t.chunks_written(256)
    t.finish()
    assert out.getvalue().splitlines() == [
        "ingest: finding files",
        "ingest: reading and splitting files, files 0/2, chunks 0/0",
        "ingest: embedding chunks, files 2/2, chunks 0/600, estimating time left",
        "ingest: embedding chunks, files 2/2, chunks 256/600, about 7s left",
    ]


PDF_TEXT = "one\ntwo\n\f\n\fthree\nfour\n"  # as the PDF loader writes pages 1, 2 (empty), 3


def test_line_pages_count_form_feeds() -> None:
    assert line_pages(PDF_TEXT, 1, 1) == {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3, 7: 3}
    assert line_pages("three\nfour\n", 5, 3) == {5: 3, 6: 3}
    assert (page_label(3, 3), page_label(3, 4), page_label(None, None)) == ("p. 3", "pp. 3-4", "")


def hit(page: int | None, source: str = "report.pdf") -> SearchHit:
    return SearchHit(
        cursor=0,
        doc_id="d1",
        source=source,
        title="Report",
        chunk_id="c",
        chunk_index=2,
        start_line=5,
        end_line=6,
        score=1.0,
        text="three\nfour\n",
        page=page,
    )


def test_search_and_window_show_the_page() -> None:
    out = render_search(SearchResult(query="q", k=1, hits=[hit(3)]))
    assert "【0†Report†report.pdf】 L5-L6 (p. 3)" in out
    plain = render_search(SearchResult(query="q", k=1, hits=[hit(None, "a.md")]))
    assert "【0†Report†a.md】 L5-L6\n" in plain
    win = DocWindow(
        cursor=0,
        doc_id="d1",
        source="report.pdf",
        title="Report",
        start_line=2,
        end_line=5,
        total_lines=6,
        lines=["two", "", "", "three"],
        page=1,
        page_starts=[4, 5],
    )
    assert [win.page_of(n) for n in range(2, 6)] == [1, 1, 2, 3]
    assert render_window(win).splitlines()[0].endswith("of 6 (pp. 1-3)")


def test_citations_of_a_pdf_carry_the_page() -> None:
    messages = [
        HumanMessage("q"),
        AIMessage("", tool_calls=[{"name": "milvus_search", "args": {}, "id": "s"}]),
        ToolMessage("hits", tool_call_id="s", artifact=SearchResult(query="q", k=1, hits=[hit(3)])),
    ]
    text, citations, dropped = apply_citations("Three is so 【0†L5-L6】.", seen_documents(messages))
    assert (text, dropped) == ("Three is so [1].", 0)
    assert (citations[0].page, citations[0].last_page) == (3, 3)
    assert citations[0].location() == "report.pdf p. 3, L5-L6"
    # after a checkpoint round trip the artifact is a dict: the page survives
    messages[2] = ToolMessage(
        "hits",
        tool_call_id="s",
        artifact=SearchResult(query="q", k=1, hits=[hit(3)]).model_dump(),
    )
    assert apply_citations("x 【0†L6】", seen_documents(messages))[1][0].page == 3


def test_non_pdf_citation_has_no_page() -> None:
    c = Citation(
        n=1, cursor=0, doc_id="d", source="docs/a.md", title="A", start_line=1, end_line=2, quote=""
    )
    assert (c.page, c.location()) == (None, "docs/a.md L1-L2")
    two = c.model_copy(update={"source": "r.pdf", "page": 3, "last_page": 4})
    assert two.location() == "r.pdf pp. 3-4, L1-L2"
