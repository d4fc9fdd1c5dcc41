"""The offline policy through the public API over the shared Milvus FAQ corpus (real Lite db)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from agent import ask
from agent.settings import Settings
from tests.support.agent_e2e import file_lines
from tests.support.foundation import shared_corpus
from tools.store import close_stores

pytestmark = [pytest.mark.shared, pytest.mark.slow, pytest.mark.timeout(90)]
HEADING = re.compile(r"^#{1,6}\s")


def entry_span(path: Path, title: str) -> tuple[int, int]:
    """Lines of a FAQ entry: its heading line to the line before the next heading."""
    lines = path.read_text(encoding="utf-8").split("\n")
    start = next(
        n for n, line in enumerate(lines, 1) if HEADING.match(line) and line.strip("# ") == title
    )
    after = (n for n, line in enumerate(lines, 1) if n > start and HEADING.match(line))
    end = next(after, len(lines) + 1) - 1
    return start, end


def test_offline_answer_cites_the_faq_entry_on_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, faq_lite: Settings
) -> None:
    faq = shared_corpus("milvus_faq")
    for key in [k for k in os.environ if k.startswith("RESEARCH_AGENT_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env
    try:  # the FAQ was ingested once for the session (tests/support/ingested.py)
        answer = ask(
            "How is data stored in milvus?",
            provider="offline",
            milvus_uri=faq_lite.milvus_uri,
            collection=faq_lite.collection,
            data_dir=str(tmp_path / ".ra"),
        )
    finally:
        close_stores()

    product = faq / "product_faq.md"
    first, last = entry_span(product, "Where does Milvus store data?")
    assert last - first >= 3  # the entry has a body, the span is not just the heading
    assert answer.status == "answered"
    assert (answer.model, answer.provider) == ("offline-extractive", "offline")
    inside = [
        c
        for c in answer.citations
        if c.source.endswith("product_faq.md") and first <= c.start_line <= c.end_line <= last
    ]
    assert inside, [(c.source, c.start_line, c.end_line) for c in answer.citations]
    for c in answer.citations:  # every quote is the file's own text at the cited lines
        assert c.quote == file_lines(tmp_path / c.source, c.start_line, c.end_line)
    assert answer.dropped_citations == 0
    assert any("[1]" in line for line in answer.answer.splitlines())
