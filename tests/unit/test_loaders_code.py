"""Outlines of code, .rst and .adoc, notebooks as Markdown, generated files, and the split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.foundation import word_count
from tools.loaders import load_file
from tools.loaders_code import (
    adoc_outline,
    code_outline,
    generated_reason,
    notebook_markdown,
    rst_outline,
)
from tools.splitter import split_document

PYTHON = """\
import os


def top(a):
    return a


# the cache
@decorated
@twice
class Store:
    def get(self):
        return 1

    async def aget(self):
        return 2
"""


def test_python_sections_start_at_their_comments_and_decorators() -> None:
    assert code_outline(PYTHON.splitlines(), ".py") == {
        4: (1, "top"),
        8: (1, "Store"),
        12: (2, "get"),
        15: (2, "aget"),
    }


@pytest.mark.parametrize(
    ("suffix", "source", "expected"),
    [
        (
            ".go",
            "package x\n\nfunc (s *S) Run(n int) {\n}\n\ntype S struct{}\n",
            {3: "Run", 6: "S"},
        ),
        (
            ".ts",
            "export async function load() {}\nexport class Box {}\n"
            "export const add = (a: number) => a\n",
            {1: "load", 2: "Box", 3: "add"},
        ),
        (
            ".rs",
            "pub fn main() {}\nimpl Store {\n    pub(crate) fn get() {}\n}\n",
            {1: "main", 2: "Store", 3: "get"},
        ),
        (".toml", "[project]\nname = 'x'\n", {}),
    ],
)
def test_other_languages_name_their_functions_and_types(
    suffix: str, source: str, expected: dict[int, str]
) -> None:
    outline = code_outline(source.splitlines(), suffix)
    assert {line: name for line, (_, name) in outline.items()} == expected


def test_rst_levels_follow_the_order_of_adornments() -> None:
    lines = ["=====", "Guide", "=====", "", "Install", "-------", "text", "", "Deep", "~~~~"]
    assert rst_outline(lines) == {1: (1, "Guide"), 5: (2, "Install"), 9: (3, "Deep")}
    assert rst_outline(["Too long title", "===", "----", "----"]) == {}


def test_adoc_headings_outside_listing_blocks() -> None:
    lines = ["= Manual", "", "== Setup", "----", "== not a heading", "----", "=== Details"]
    assert adoc_outline(lines) == {1: (1, "Manual"), 3: (2, "Setup"), 7: (3, "Details")}


def test_a_notebook_keeps_cells_and_drops_outputs(tmp_path: Path) -> None:
    nb = {
        "metadata": {"kernelspec": {"language": "python"}},
        "cells": [
            {"cell_type": "markdown", "source": ["# Analysis\n", "Why we plot."]},
            {
                "cell_type": "code",
                "source": "plot(x)",
                "outputs": [{"output_type": "stream", "text": "HUGE OUTPUT"}],
            },
            {"cell_type": "code", "source": [], "outputs": []},
        ],
    }
    text = notebook_markdown(json.dumps(nb), tmp_path / "a.ipynb")
    assert text == "# Analysis\nWhy we plot.\n\n```python cell 2\nplot(x)\n```\n"
    with pytest.raises(ValueError, match="no notebook cells"):
        notebook_markdown("[1, 2]", tmp_path / "a.ipynb")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("package-lock.json", "lock file"),
        ("uv.lock", "lock file"),
        ("app.min.js", "minified or bundled file"),
        ("style.css.map", "minified or bundled file"),
        ("app.js", None),
        ("mint.js", None),
    ],
)
def test_generated_files(name: str, reason: str | None) -> None:
    assert generated_reason(name) == reason


def test_code_is_split_at_functions_and_keeps_the_files_lines(tmp_path: Path) -> None:
    path = tmp_path / "store.py"
    path.write_text(PYTHON, encoding="utf-8")
    doc = load_file(path, "store.py")
    assert doc.title == "store.py" and doc.text == PYTHON and doc.outline is not None
    pieces = split_document(doc.text, 8, word_count, doc.outline)
    assert "".join(p.text for p in pieces) == PYTHON
    assert [(p.start_line, p.heading) for p in pieces] == [
        (1, ""),
        (4, "top"),
        (8, "Store"),
        (12, "Store > get"),
        (15, "Store > aget"),
    ]
    # with room to spare, small sections share a piece until it holds a quarter of the budget
    pieces = split_document(doc.text, 40, word_count, doc.outline)
    assert [(p.start_line, p.heading) for p in pieces] == [(1, ""), (12, "Store > get")]


def test_a_file_without_extension_is_text_titled_by_its_name(tmp_path: Path) -> None:
    (tmp_path / "LICENSE").write_text("MIT License\n\nPermission is granted.\n", encoding="utf-8")
    doc = load_file(tmp_path / "LICENSE", "LICENSE")
    assert (doc.title, doc.outline) == ("LICENSE", None)


def test_rst_title_comes_from_its_first_section(tmp_path: Path) -> None:
    (tmp_path / "guide.rst").write_text("Guide\n=====\n\nBody ``code``.\n", encoding="utf-8")
    doc = load_file(tmp_path / "guide.rst", "guide.rst")
    assert (doc.title, doc.outline) == ("Guide", {1: (1, "Guide")})
