"""Opening files for ingest: how to read each one's text again, with one clear reason when not.

Text files are streamed from disk each pass; what a loader extracts (HTML, PDF, office
documents) is spooled to a temporary file for the second pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tools.docplan import Fragments, from_file
from tools.loaders import ReadLimits, UnreadableFile, is_streamed, load_file
from tools.splitter import Outline

BAD_BYTE_SCAN = 64 << 20


def file_size(path: Path) -> int:
    """A file's size in bytes (0 if it cannot be read: the read says why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def open_text(
    path: Path, source: str, spool: Path, limits: ReadLimits
) -> tuple[Fragments, str, int, Outline | None]:
    """How to read a file's text again, its fallback title, its size and its outline.

    Raises:
        UnreadableFile: The file cannot be read as text (the message says why).
    """
    if is_streamed(path):
        try:
            size = path.stat().st_size
            with path.open("rb") as fh:
                if b"\x00" in fh.read(8192):
                    raise UnreadableFile("binary content (NUL bytes)")
        except OSError as exc:
            raise UnreadableFile(f"cannot read ({exc.strerror or exc})") from exc
        return _checked(path), path.stem, size, None
    doc = load_file(path, source, limits)
    spool.write_text(doc.text, encoding="utf-8", newline="")
    return from_file(spool), doc.title, len(doc.text), doc.outline


def _checked(path: Path) -> Fragments:
    """Fragments of a text file whose decoding and read errors become UnreadableFile."""

    def read() -> Iterator[str]:
        try:
            yield from from_file(path)()
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                f"not UTF-8 text ({_bad_byte(path)}); convert it to UTF-8"
            ) from exc
        except OSError as exc:
            raise UnreadableFile(f"cannot read ({exc.strerror or exc})") from exc

    return read


def _bad_byte(path: Path) -> str:
    """'byte N' of the first byte that is not UTF-8 (files up to BAD_BYTE_SCAN only)."""
    if path.stat().st_size > BAD_BYTE_SCAN:
        return "a byte past the first block"
    try:
        path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return f"byte {exc.start}"
    return "changed while read"
