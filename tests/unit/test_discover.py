"""Which files an ingest reads, and the reason given for every file it does not index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.discover import Walker, why_not


def tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body, encoding="utf-8")


def rel(root: Path, paths: list[Path]) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def reasons(root: Path, walker: Walker | None = None) -> dict[str, str]:
    found = (walker or Walker()).walk([root])
    return {Path(s.path).relative_to(root).as_posix(): s.reason for s in found.skipped}


def test_a_folder_of_unsupported_files_lists_each_with_its_reason(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            "a.py": "print(1)\n",
            "b.csv": "a,b\n",
            "c.json": "{}\n",
            "d.doc": b"\xd0\xcf\x11\xe0",
            "e.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "Makefile": "all:\n",
        },
    )
    os.mkfifo(tmp_path / "pipe.md")
    found = Walker().walk([tmp_path])
    assert found.files == [tmp_path / "Makefile", tmp_path / "a.py"]  # code and plain text
    indexed = "(indexed: Markdown, text, HTML, PDF, office, code, notebooks, .rst, .adoc)"
    assert reasons(tmp_path) == {
        "b.csv": f"unsupported type .csv {indexed}",
        "c.json": f"unsupported type .json {indexed}",
        "d.doc": "unsupported type .doc; export it as PDF, Markdown or text to index it",
        "e.png": "binary file (.png), not a text document",
        "pipe.md": "not a regular file (FIFO)",
    }


def test_a_png_named_on_the_command_line_is_binary_not_a_utf8_problem(tmp_path: Path) -> None:
    png = tmp_path / "shot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    found = Walker().walk([png])
    assert [str(s) for s in found.skipped] == [f"{png}: binary file (.png), not a text document"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("# s\n", encoding="utf-8")
    secret.chmod(0)
    try:
        assert why_not(secret) == "unreadable (permission denied)"
    finally:
        secret.chmod(0o644)


def test_default_excludes_leave_out_noise_and_find_venvs_by_pyvenv_cfg(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            "README.md": "# r\n",
            "docs/guide.md": "# g\n",
            ".git/HEAD.md": "x\n",
            "node_modules/pkg/README.md": "# n\n",
            "pkg/__pycache__/x.md": "# c\n",
            "env1/pyvenv.cfg": "home = /usr\n",
            "env1/lib/site.md": "# v\n",
            "conda/conda-meta/history.md": "# c\n",
            "venv-looking-name/notes.md": "# kept: no pyvenv.cfg\n",
            ".cache/x.md": "# c\n",
            "pkg.egg-info/PKG-INFO.md": "# e\n",
        },
    )
    found = Walker().walk([tmp_path])
    assert rel(tmp_path, found.files) == [
        "README.md",
        "docs/guide.md",
        "venv-looking-name/notes.md",
    ]
    left = {Path(e.split(": ")[0]).name: e.split(": ")[1] for e in found.excluded}
    assert left["env1"] == "virtual environment"
    assert left["conda"] == "virtual environment"
    assert left["node_modules"] == "dependency or cache folder"
    assert left["__pycache__"] == "dependency or cache folder"
    assert left[".git"] == left[".cache"] == "hidden"


def test_gitignore_files_are_respected_with_nesting_and_negation(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            ".gitignore": "build/\n*.log.md\n",
            "a.md": "# a\n",
            "debug.log.md": "x\n",
            "build/out.md": "# b\n",
            "sub/.gitignore": "!keep.log.md\ndraft.md\n",
            "sub/keep.log.md": "# k\n",
            "sub/other.log.md": "# o\n",
            "sub/draft.md": "# d\n",
            "sub/final.md": "# f\n",
        },
    )
    found = Walker().walk([tmp_path])
    assert rel(tmp_path, found.files) == ["a.md", "sub/final.md", "sub/keep.log.md"]
    assert f"{tmp_path / 'build'}/: .gitignore" in found.excluded


def test_include_and_exclude_patterns(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            "a.md": "# a\n",
            "b.txt": "b\n",
            "drafts/c.md": "# c\n",
            "notes/d.md": "# d\n",
            "notes/e.pdf.md": "# e\n",
        },
    )
    only_md = Walker(include=["*.md"], exclude=["drafts/", "e.*"]).walk([tmp_path])
    assert rel(tmp_path, only_md.files) == ["a.md", "notes/d.md"]
    assert f"{tmp_path / 'drafts'}/: --exclude" in only_md.excluded
    assert f"{tmp_path / 'b.txt'}: not matched by --include" in only_md.excluded
    named = Walker(exclude=["*.txt"]).walk([tmp_path / "b.txt", tmp_path / "a.md"])
    assert rel(tmp_path, named.files) == ["a.md"]


def test_a_folder_named_on_the_command_line_is_read_even_if_it_is_a_venv(tmp_path: Path) -> None:
    tree(tmp_path, {"env/pyvenv.cfg": "home = /usr\n", "env/notes.md": "# n\n"})
    found = Walker().walk([tmp_path / "env"])
    assert rel(tmp_path, found.files) == ["env/notes.md", "env/pyvenv.cfg"]  # .cfg: config text


def test_the_lite_database_inside_the_folder_is_left_out(tmp_path: Path) -> None:
    tree(tmp_path, {"m.db/collections/schema.json": "{}", "a.md": "# a\n"})
    found = Walker(own=[tmp_path / "m.db"]).walk([tmp_path])
    assert rel(tmp_path, found.files) == ["a.md"]
    assert found.skipped == []
    assert f"{tmp_path / 'm.db'}/: the Milvus Lite database" in found.excluded


def test_gitignore_above_the_folder_applies_inside_the_same_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree(
        tmp_path,
        {
            "repo/.git/HEAD": "ref\n",
            "repo/.gitignore": "docs/_build/\nscratch.md\n",
            "repo/docs/index.md": "# i\n",
            "repo/docs/scratch.md": "# s\n",
            "repo/docs/_build/out.md": "# o\n",
            "plain/.gitignore": "*.md\n",  # not a repository: a stray file, not git's
            "plain/docs/a.md": "# a\n",
        },
    )
    monkeypatch.chdir(tmp_path / "repo")
    found = Walker().walk([Path("docs")])
    assert [p.as_posix() for p in found.files] == ["docs/index.md"]
    assert "docs/_build/: .gitignore" in found.excluded
    assert rel(tmp_path, Walker().walk([tmp_path / "plain" / "docs"]).files) == ["plain/docs/a.md"]
