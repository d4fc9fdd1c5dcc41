"""The .gitignore rules an ingest honours: a folder's own, those above it in its repository.

Read with pathspec's GitIgnoreSpec (the last matching pattern decides, negations included).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec


def patterns(lines: Sequence[str]) -> GitIgnoreSpec | None:
    """gitignore-style patterns (--include, --exclude), or None when there are none."""
    return spec_of(lines) if lines else None


def spec_of(lines: Sequence[str]) -> GitIgnoreSpec:
    """The patterns of these lines."""
    # lazy: pathspec costs +0.02 s and `search` imports this module (benchmarks/cold_start.py)
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines(lines)


def folder_spec(folder: Path) -> GitIgnoreSpec | None:
    """The patterns of a folder's own .gitignore (None: it has none or cannot be read)."""
    try:
        text = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return spec_of(text.splitlines())


def ignored(specs: list[tuple[Path, GitIgnoreSpec]], path: Path, is_dir: bool) -> bool:
    """Whether the .gitignore files above `path` leave it out; the deepest that decides wins."""
    for base, spec in reversed(specs):
        # the specs of folders above a given one have absolute bases (see specs_above)
        target = Path(os.path.abspath(path)) if base.is_absolute() else path
        rel = target.relative_to(base).as_posix() + ("/" if is_dir else "")
        decided = spec.check_file(rel).include
        if decided is not None:
            return decided
    return False


def specs_above(folder: Path) -> list[tuple[Path, GitIgnoreSpec]]:
    """The .gitignore files of the folders above `folder` up to its git repository's root.

    Outside a git repository (no `.git` above) none apply: a parent folder's .gitignore
    only means something to git inside the same repository.
    """
    here = Path(os.path.abspath(folder))
    if (here / ".git").exists():
        return []  # the folder is the repository's root: its own .gitignore is read anyway
    chain: list[Path] = []
    for parent in here.parents:
        chain.append(parent)
        if (parent / ".git").exists():
            break
    else:
        return []
    return [(p, spec) for p in reversed(chain) if (spec := folder_spec(p)) is not None]
