"""What a walk follows: symlinked files, files reached twice, files over the size limit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.discover import Walker


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """docs/ with a file, symlinks out, in and in a loop; a secret outside docs/."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.txt").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.md").write_text("# A\n\ntext\n", encoding="utf-8")
    (docs / "passwd.txt").symlink_to(outside / "passwd.txt")
    (docs / "sub" / "again.md").symlink_to(docs / "a.md")
    (docs / "loop1.md").symlink_to(docs / "loop2.md")
    (docs / "loop2.md").symlink_to(docs / "loop1.md")
    return docs


def reasons(found_skipped: list[object]) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in found_skipped}  # type: ignore[attr-defined]


def test_symlinks_are_not_followed_out_of_the_folder(tree: Path) -> None:
    found = Walker().walk([tree])
    assert [f.name for f in found.files] == ["a.md"]
    why = reasons(found.skipped)
    assert why["passwd.txt"].startswith("symbolic link to a file outside")
    assert "Too many levels of symbolic links" in why["loop1.md"]
    assert "Too many levels of symbolic links" in why["loop2.md"]
    # a symlink to a file inside is that file: read once, under one name
    assert found.excluded == [f"{tree / 'sub' / 'again.md'}: the same file as another path given"]


def test_never_skips_every_symlinked_file(tree: Path) -> None:
    found = Walker(symlinks="never").walk([tree])
    assert [f.name for f in found.files] == ["a.md"]
    why = reasons(found.skipped)
    assert set(why) == {"passwd.txt", "again.md", "loop1.md", "loop2.md"}
    assert all("not followed (RESEARCH_AGENT_INGEST_SYMLINKS=never)" in r for r in why.values())


def test_a_symlinked_file_named_itself_is_followed_unless_never(tree: Path) -> None:
    link = tree / "passwd.txt"
    assert [f.name for f in Walker().walk([link]).files] == ["passwd.txt"]
    assert Walker(symlinks="never").walk([link]).files == []


def test_the_same_file_given_by_two_paths_is_read_once(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    found = Walker().walk([Path("a.md"), tree / "a.md", Path("./sub/../a.md")])
    assert found.files == [Path("a.md")]
    assert len(found.excluded) == 2


def test_files_over_the_size_limit_are_skipped_with_the_way_to_lift_it(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_bytes(b"x" * 300_000)
    (tmp_path / "small.txt").write_bytes(b"y" * 1000)
    found = Walker(max_mb=0.25).walk([tmp_path])
    assert [f.name for f in found.files] == ["small.txt"]
    assert reasons(found.skipped) == {
        "big.txt": "0.3 MB, over the 0.25 MB limit (`ingest --max-file-mb 0` or "
        "RESEARCH_AGENT_MAX_FILE_MB=0 lifts it)"
    }
    assert [f.name for f in Walker(max_mb=0).walk([tmp_path]).files] == ["big.txt", "small.txt"]
    assert os.path.getsize(tmp_path / "big.txt") > 0.25 * (1 << 20)
