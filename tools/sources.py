"""How documents are named in the store, and the forms in which people (and the model) name them.

A file is stored under its path relative to the working folder when it lies inside it, else
under its absolute path. Users type `./docs/x.md`, `docs/x.md` or `/home/me/proj/docs/x.md`
for the same file, and the working folder may differ from the one of the ingest; every
reader (CLI, Python API, the model's tools) turns what it was given into the stored forms
here, and nowhere else.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path


def source_name(path: Path) -> str:
    """How a file is named in the store: relative to the working folder when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _forms(text: str) -> list[str]:
    """The text as typed, cleaned (`./a//b` -> `a/b`), stored form and absolute form."""
    raw = text.strip()
    if not raw:
        return []
    out = [raw]
    if "://" in raw or any(ord(c) < 32 for c in raw):
        return out  # a URL or junk: only ever compared as it is
    clean = posixpath.normpath(raw)  # a backslash is a file-name character on POSIX
    out.append(clean)
    path = Path(os.path.expanduser(clean))
    try:
        out.append(source_name(path))
        out.append(path.resolve().as_posix())
    except (OSError, RuntimeError):  # a symlink loop or an unreadable folder on the way
        pass
    return [f for f in dict.fromkeys(out) if f and f != "."]


def stored_forms(text: str) -> list[str]:
    """Every form under which the document named by `text` may be stored, as typed first.

    Args:
        text: A doc_id, or a file path in any form (relative, `./`, absolute, `~`).

    Returns:
        Candidates to look up, without duplicates; [] for blank text.
    """
    return _forms(text)


def prefix_forms(text: str) -> list[str]:
    """Source prefixes meaning the folder or path prefix `text`, in every stored form.

    A trailing slash is kept, and added when `text` names an existing folder, so
    `./docs` means the files in docs/ and not docs-old/.

    Args:
        text: What was given as a source filter.

    Returns:
        Prefixes to match; [] for blank text or the working folder itself (no filter).
    """
    forms = _forms(text)
    if not forms:
        return []
    try:
        folder = text.strip().endswith("/") or Path(os.path.expanduser(text.strip())).is_dir()
    except (OSError, ValueError):  # a name too long or otherwise impossible: not a folder
        folder = False
    if folder:
        if posixpath.normpath(text.strip()) in (".", "./"):
            return []
        forms = [f if f.endswith("/") else f + "/" for f in forms]
    return list(dict.fromkeys(forms))
