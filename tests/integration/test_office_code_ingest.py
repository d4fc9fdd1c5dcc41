"""A folder of the files people have (.docx, .pptx, .xlsx, LICENSE, .py, .ipynb, .rst) is
indexed, and a search finds each; without the office extra the office files are skipped with
the install hint. Slides and sheets are cited the way PDF pages are."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pptx
import pytest

from agent import documents
from agent.api import ask
from agent.settings import Settings
from tests.support.foundation import lite_settings
from tools.loaders import UnreadableFile, load_file
from tools.render import render_search
from tools.store import close_stores

WORDS = {
    "plan.docx": "zebra budget grows",
    "deck.pptx": "okapi fact number 4",
    "book.xlsx": "Narwhal bay",
    "LICENSE": "quokka license grant",
    "store.py": "def pangolin_cache",
    "analysis.ipynb": "axolotl plot",
    "guide.rst": "capybara install steps",
}
HINT = "without the office extra; pip install 'research-agent[office]' to index it"


def make_folder(folder: Path) -> Path:
    folder.mkdir()
    d = docx.Document()
    d.add_heading("Quarterly plan", 1)
    d.add_paragraph("The zebra budget grows by 12 percent.")
    d.save(str(folder / "plan.docx"))
    deck = pptx.Presentation()
    for n in range(1, 6):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Topic {n}"
        slide.placeholders[1].text_frame.text = f"The okapi fact number {n} is here."
    deck.save(str(folder / "deck.pptx"))
    book = openpyxl.Workbook()
    book.active.title = "Q2"
    book.active.append(["Region", "Sales"])
    q3 = book.create_sheet("Q3")
    q3.append(["Region", "Sales"])
    q3.append(["Narwhal bay", 42])
    book.save(str(folder / "book.xlsx"))
    (folder / "LICENSE").write_text("Quokka License\n\nThe quokka license grant.\n")
    (folder / "store.py").write_text("def pangolin_cache(key):\n    return key\n")
    cells = [
        {"cell_type": "markdown", "source": "# Axolotl analysis"},
        {"cell_type": "code", "source": "axolotl plot()", "outputs": [{"text": "SECRET"}]},
    ]
    (folder / "analysis.ipynb").write_text(json.dumps({"cells": cells}))
    (folder / "guide.rst").write_text("Guide\n=====\n\nThe capybara install steps.\n")
    return folder


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Settings]]:
    monkeypatch.chdir(tmp_path)
    yield make_folder(tmp_path / "files"), lite_settings(tmp_path)
    close_stores()


def test_every_file_is_indexed_and_found(folder: tuple[Path, Settings]) -> None:
    path, settings = folder
    report = documents.ingest([path], settings)
    assert report.skipped == [] and report.new == len(WORDS)
    for name, words in WORDS.items():
        hit = documents.search(words, 1, None, settings).hits[0]
        assert hit.source == f"files/{name}", (words, hit.source)
        assert words.split()[-1] in hit.text
    notebook = documents.fetch("files/analysis.ipynb", settings=settings)
    assert "SECRET" not in "\n".join(notebook.lines)  # outputs are left out


def test_slides_and_sheets_are_cited_like_pdf_pages(folder: tuple[Path, Settings]) -> None:
    path, settings = folder
    documents.ingest([path], settings)
    result = documents.search("okapi fact number 4", 1, None, settings)
    hit = result.hits[0]
    # Neighbouring chunks of one document are one passage (issue 18): the small slides before
    # slide 4 may share its hit, which then starts at an earlier slide and holds slide 4.
    assert "Topic 4" in hit.text and hit.page is not None and 1 <= hit.page <= 4
    assert "L" in render_search(result) and "(slide" in render_search(result)
    sheet = documents.search("Narwhal bay", 1, None, settings).hits[0]
    assert "Narwhal" in sheet.text and sheet.page in (1, 2)
    window = documents.fetch("files/book.xlsx", settings=settings)
    assert window.page == 1 and window.page_of(window.end_line) == 2
    answer = ask(
        "What is okapi fact number 4?",
        provider="offline",
        milvus_uri=settings.milvus_uri,
        collection=settings.collection,
    )
    where = {c.location() for c in answer.citations if "number 4" in c.quote}
    assert where and all(w.startswith("files/deck.pptx slide 4, L") for w in where), [
        (c.location(), c.quote) for c in answer.citations
    ]


def test_without_the_office_extra_office_files_are_skipped_with_the_hint(
    folder: tuple[Path, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name in ("docx", "pptx", "openpyxl") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    path, settings = folder
    report = documents.ingest([path], settings)
    assert sorted(report.skipped) == [
        f"{path / 'book.xlsx'}: unsupported type .xlsx {HINT}",
        f"{path / 'deck.pptx'}: unsupported type .pptx {HINT}",
        f"{path / 'plan.docx'}: unsupported type .docx {HINT}",
    ]
    assert report.new == len(WORDS) - 3


@pytest.mark.parametrize("name", ["a.docx", "a.pptx", "a.xlsx"])
def test_a_file_that_is_not_an_office_package_says_so(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"PK\x03\x04 not really a zip")
    suffix = name[1:]
    with pytest.raises(
        UnreadableFile, match=rf"^corrupt or unreadable \{suffix} \(not a zip package\)$"
    ):
        load_file(tmp_path / name, name)
