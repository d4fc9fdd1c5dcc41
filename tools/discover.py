"""Which files an ingest reads: walk folders, leave out the usual noise, say why a file is not read.

Inside a given folder: hidden entries, version-control and dependency folders, caches and
virtual environments (found by their `pyvenv.cfg` or `conda-meta`, whatever their name) are
left out, and so is whatever a `.gitignore` in that folder or below (or above it, up to the
root of its git repository) names. `--exclude` patterns leave out more, `--include` patterns
keep only what matches; both are gitignore-style patterns ("*.md", "drafts/", "/top.md")
matched against the path below the given folder.
A file named on the command line is always looked at (only --include/--exclude apply to it).
Every file that is looked at and not indexed gets a reason: unsupported type, binary,
unreadable, not a regular file, over the size limit, a symbolic link not followed (to a
file outside the folder, or any with `symlinks="never"`). A file reached by two paths (a
symlink inside the folder, or given twice) is read once.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tools.gitignore import folder_spec, ignored, patterns, specs_above
from tools.loaders import SUPPORTED
from tools.loaders_code import BUILD_DIRS, generated_reason
from tools.loaders_office import OFFICE_EXTRA, office_extra_missing

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

NOISE_DIRS = frozenset(
    {
        "node_modules",
        "bower_components",
        "__pycache__",
        "__pypackages__",
        "site-packages",
        "CVS",
    }
)
"""Folders never read inside a given folder (hidden ones such as .git, .venv, .cache go too)."""

ENV_MARKERS = ("pyvenv.cfg", "conda-meta")
"""A folder holding one of these is a Python or conda environment, whatever its name."""

OFFICE_SUFFIXES = frozenset(
    {".docx", ".doc", ".odt", ".rtf", ".pptx", ".ppt", ".odp", ".xlsx", ".xls", ".ods", ".epub"}
)
_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"PK\x03\x04",  # zip and everything built on it
    b"\x1f\x8b",  # gzip
    b"\x7fELF",
    b"BZh",
    b"7z\xbc\xaf",
    b"RIFF",
    b"OggS",
    b"ID3",
    b"\x00\x00\x01\x00",  # ico
)
SNIFF_BYTES = 8192
MB = 1 << 20


@dataclass(frozen=True)
class Skipped:
    """A file that was looked at and not indexed, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class Found:
    """The outcome of a walk: files to read, files skipped with a reason, entries left out."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    """Entries left out by the default rules, .gitignore or --exclude ('path/: why')."""


def _noise(path: Path) -> str | None:
    """Why a folder inside a given folder is left out by default, or None."""
    name = path.name
    if name.startswith("."):
        return "hidden"
    if name in NOISE_DIRS or name.endswith(".egg-info"):
        return "dependency or cache folder"
    if any((path / marker).exists() for marker in ENV_MARKERS):
        return "virtual environment"
    return None


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head or head.startswith(_BINARY_MAGIC)


def why_not(path: Path) -> str | None:
    """The reason a file cannot be indexed, judged before reading it as a document; None if it can.

    Args:
        path: A file (or anything else) on disk.

    Returns:
        "not a regular file (FIFO)", "unreadable (...)", "unsupported type .py (...)",
        "binary file (...)" or None.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if not stat.S_ISREG(mode):
        kind = (
            "FIFO"
            if stat.S_ISFIFO(mode)
            else "socket"
            if stat.S_ISSOCK(mode)
            else "device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "special file"
        )
        return f"not a regular file ({kind})"
    if not os.access(path, os.R_OK):
        return "unreadable (permission denied)"
    suffix = path.suffix.lower()
    if suffix in SUPPORTED:
        if office_extra_missing(suffix):
            return f"unsupported type {suffix} without the office extra; {OFFICE_EXTRA} to index it"
        return None
    if suffix in OFFICE_SUFFIXES:
        return f"unsupported type {suffix}; export it as PDF, Markdown or text to index it"
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if _is_binary(head):
        return f"binary file ({suffix or 'no extension'}), not a text document"
    if not suffix:
        return None  # LICENSE, Makefile: read as text (one that is not UTF-8 is skipped then)
    return (
        f"unsupported type {suffix} (indexed: Markdown, text, HTML, PDF, office, code, "
        "notebooks, .rst, .adoc)"
    )


class Walker:
    """Finds the files of an ingest under the given paths (see the module docstring)."""

    def __init__(
        self,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        own: Sequence[Path] = (),
        max_mb: float = 0.0,
        symlinks: Literal["inside", "never"] = "inside",
    ) -> None:
        """Patterns as given by --include/--exclude; `own`: the Milvus Lite database.

        `max_mb`: larger files are skipped (0: no limit). `symlinks`: "inside" follows a
        symlinked file only to a file inside the folder being walked (a file named itself
        is followed), "never" skips every symlinked file.
        """
        self.include = patterns(include)
        self.exclude = patterns(exclude)
        self.own = {p.resolve() for p in own}
        self.max_mb = max_mb
        self.symlinks = symlinks

    def walk(self, paths: Sequence[Path]) -> Found:
        """Files to read, files skipped with their reason, and what was left out."""
        found = Found()
        seen: set[Path] = set()
        for path in paths:
            folder = Path(os.path.realpath(path)) if path.is_dir() else None
            entries = self._folder(path, found) if folder else iter([(path, path.name)])
            for file, rel in entries:
                real = Path(os.path.realpath(file))
                if file.is_symlink() and (why := self._link(real, folder)):
                    found.skipped.append(Skipped(str(file), why))
                    continue
                if real in seen:
                    found.excluded.append(f"{file}: the same file as another path given")
                    continue
                seen.add(real)
                if self.exclude and self.exclude.match_file(rel):
                    found.excluded.append(f"{file}: --exclude")
                elif self.include and not self.include.match_file(rel):
                    found.excluded.append(f"{file}: not matched by --include")
                elif reason := why_not(file) or self._too_big(file):
                    found.skipped.append(Skipped(str(file), reason))
                else:
                    found.files.append(file)
        found.files.sort()
        return found

    def _link(self, real: Path, folder: Path | None) -> str | None:
        """Why a symlinked file is not followed, or None (see __init__)."""
        if self.symlinks == "never":
            return "symbolic link, not followed (RESEARCH_AGENT_INGEST_SYMLINKS=never)"
        if folder is not None and not real.is_relative_to(folder):
            return f"symbolic link to a file outside {folder}, not followed"
        return None

    def _too_big(self, file: Path) -> str | None:
        """Why a file is over the size limit, or None."""
        try:
            size = file.stat().st_size / MB
        except OSError:
            return None
        if not self.max_mb or size <= self.max_mb:
            return None
        return (
            f"{size:.1f} MB, over the {self.max_mb:g} MB limit (`ingest --max-file-mb 0` "
            "or RESEARCH_AGENT_MAX_FILE_MB=0 lifts it)"
        )

    def _folder(self, root: Path, found: Found) -> Iterator[tuple[Path, str]]:
        """(file, path below root) of every entry not left out, depth first, sorted."""
        stack: list[tuple[Path, list[tuple[Path, GitIgnoreSpec]]]] = [(root, specs_above(root))]
        while stack:
            folder, specs = stack.pop()
            if (spec := folder_spec(folder)) is not None:
                specs = [*specs, (folder, spec)]
            try:
                children = sorted(folder.iterdir())
            except OSError as exc:
                found.skipped.append(Skipped(f"{folder}/", f"unreadable ({exc.strerror or exc})"))
                continue
            subfolders = []
            for child in children:
                rel = child.relative_to(root).as_posix()
                if child.is_symlink() and child.is_dir():
                    found.excluded.append(f"{child}/: symlink to a folder (not followed)")
                    continue
                is_dir = child.is_dir()
                if is_dir:
                    why = "the Milvus Lite database" if child.resolve() in self.own else None
                    why = why or _noise(child)
                    if why is None and ignored(specs, child, True):
                        why = ".gitignore"
                    if why is None and child.name in BUILD_DIRS:
                        why = "build output"
                    if why is None and self.exclude and self.exclude.match_file(rel + "/"):
                        why = "--exclude"
                    if why:
                        found.excluded.append(f"{child}/: {why}")
                    else:
                        subfolders.append((child, specs))
                elif child.name.startswith("."):
                    found.excluded.append(f"{child}: hidden")
                elif ignored(specs, child, False):
                    found.excluded.append(f"{child}: .gitignore")
                elif why := generated_reason(child.name):
                    found.excluded.append(f"{child}: {why}")
                else:
                    yield child, rel
            stack.extend(reversed(subfolders))
