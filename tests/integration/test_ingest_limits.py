"""Hostile files cost seconds and become skipped files with a reason: a PDF bomb, too many
pages, too much text, a symlink to a file outside the folder."""

from __future__ import annotations

import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import documents
from agent.settings import Settings
from tests.support.foundation import lite_settings, paged_pdf
from tools.pdftext import ExtractError, PdfWorker
from tools.store import close_stores, open_store

SECRET = "root:x:0:0:secret-marker-7f3a:/root:/bin/bash"


# pypdf needs ~2 s per 100,000 operators here: ten times that keeps the bomb far past the
# 2 s limit on any machine (at 100,000 it was borderline once start-up stopped counting).
BOMB_OPERATORS = 1_000_000


def pdf_bomb(operators: int) -> bytes:
    """A small PDF: one page whose compressed content stream holds `operators` text operators."""
    ops = b"BT /F1 12 Tf 14 TL 72 720 Td " + b"T* (x) Tj " * operators + b"ET"
    stream = zlib.compress(ops, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Settings]]:
    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Good\n\nAn ordinary note about vectors.\n", encoding="utf-8")
    (tmp_path / "passwd").write_text(SECRET + "\n", encoding="utf-8")
    (docs / "passwd.txt").symlink_to(tmp_path / "passwd")
    (docs / "bomb.pdf").write_bytes(pdf_bomb(BOMB_OPERATORS))
    (docs / "long.pdf").write_bytes(paged_pdf([["page one"], ["page two"], ["page three"]]))
    (docs / "wordy.html").write_text("<p>" + "word " * 5000 + "</p>", encoding="utf-8")
    settings = lite_settings(
        tmp_path, extract_seconds=2.0, max_pdf_pages=2, max_extracted_chars=10_000
    )
    yield docs, settings
    close_stores()


@pytest.mark.serial
def test_the_bomb_is_small_and_really_slow_to_extract(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pdf"
    path.write_bytes(pdf_bomb(BOMB_OPERATORS))
    assert path.stat().st_size < 40_000
    t0 = time.monotonic()
    with PdfWorker(2.0) as worker, pytest.raises(ExtractError, match="longer than 2 s"):
        worker.extract(path, 0, 0)
    assert time.monotonic() - t0 < 5


def test_hostile_files_are_skipped_with_their_reasons_in_seconds(
    folder: tuple[Path, Settings],
) -> None:
    docs, settings = folder
    t0 = time.monotonic()
    report = documents.ingest([docs], settings)
    seconds = time.monotonic() - t0
    why = {Path(line.split(": ", 1)[0]).name: line.split(": ", 1)[1] for line in report.skipped}
    assert why == {
        "bomb.pdf": "text extraction took longer than 2 s (RESEARCH_AGENT_EXTRACT_SECONDS)",
        "long.pdf": "3 pages, over the limit of 2 (RESEARCH_AGENT_MAX_PDF_PAGES)",
        "wordy.html": "more than 10,000 characters of text (RESEARCH_AGENT_MAX_EXTRACTED_CHARS)",
        "passwd.txt": f"symbolic link to a file outside {docs}, not followed",
    }
    assert report.new == 1
    assert seconds < 30  # the bomb alone ran for minutes before (112 s of CPU)
    store = open_store(settings)
    assert [s.source for s in store.doc_states().values()] == ["docs/good.md"]
    assert store.search("secret-marker-7f3a root", None, 5, mode="bm25") == []


def test_a_worker_killed_by_a_timeout_is_replaced_for_the_next_file(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(pdf_bomb(BOMB_OPERATORS))
    fine = tmp_path / "fine.pdf"
    fine.write_bytes(paged_pdf([["hello there"]]))
    with PdfWorker(2.0) as worker:
        with pytest.raises(ExtractError):
            worker.extract(bomb, 0, 0)
        assert worker.extract(fine, 0, 0) == "hello there\n"


def test_the_time_limit_counts_extraction_not_the_worker_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loaded machine may take seconds to start the worker; a good PDF is still read."""
    slow_python = tmp_path / "slow-python"
    slow_python.write_text(f'#!/bin/sh\nsleep 3\nexec "{sys.executable}" "$@"\n')
    slow_python.chmod(0o755)
    monkeypatch.setattr("tools.pdftext.sys.executable", str(slow_python))
    fine = tmp_path / "fine.pdf"
    fine.write_bytes(paged_pdf([["hello there"]]))
    with PdfWorker(1.0) as worker:
        assert worker.extract(fine, 0, 0) == "hello there\n"
