"""Read files into text: Markdown, plain text, HTML, PDF, and the types of two neighbours.

Code, notebooks, .rst, .adoc and extension-less text: tools.loaders_code; .docx, .pptx and
.xlsx: tools.loaders_office.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from tools.loaders_code import (
    CODE_SUFFIXES,
    NOTEBOOK_SUFFIXES,
    OUTLINED_TEXT_SUFFIXES,
    notebook_markdown,
    outline_for,
)
from tools.loaders_office import OFFICE_MODULES, OfficeError, office_markdown
from tools.pages import PAGE_BREAK, plain_lines
from tools.sources import source_name
from tools.splitter import Outline, heading_of

TEXT_SUFFIXES = {".md", ".markdown", ".mdx", ".txt", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED = (
    TEXT_SUFFIXES
    | HTML_SUFFIXES
    | PDF_SUFFIXES
    | CODE_SUFFIXES
    | OUTLINED_TEXT_SUFFIXES
    | NOTEBOOK_SUFFIXES
    | set(OFFICE_MODULES)
)
"""Suffixes read as documents; a file without a suffix is read as text when it is UTF-8."""
_FRONT_TITLE = re.compile(r"^title:\s*['\"]?(.+?)['\"]?\s*$", re.MULTILINE)


class UnreadableFile(Exception):
    """A file that cannot be turned into text; the message names the reason."""


@dataclass(frozen=True)
class SourceDoc:
    """A document ready to split: where it came from, its title and its full text."""

    source: str
    title: str
    text: str
    outline: Outline | None = None
    """Section starts for the splitter when the text is not Markdown (code, .rst, .adoc)."""


def title_of(text: str, fallback: str) -> str:
    """Front-matter title, else the first Markdown heading, else the fallback."""
    head = text[:4000]
    if head.startswith("---"):
        end = head.find("\n---", 3)
        if end > 0 and (m := _FRONT_TITLE.search(head[:end])):
            return m.group(1).strip()
    for line in head.splitlines():
        if h := heading_of(line):
            return h[1]
    return fallback


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise UnreadableFile("binary content (NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text (byte {exc.start}); convert it to UTF-8") from exc


def _read_html(path: Path) -> tuple[str, str | None]:
    # lazy: bs4 and pypdf cost +0.09 s, and `search` imports this module (cold_start.py)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in soup(["script", "style", "noscript"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else None
    lines = [ln.strip() for ln in soup.get_text("\n").splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
    return text, title or None


def _read_pdf(path: Path) -> str:
    """The text layer, pages separated by a blank line ending in a form feed (PAGE_BREAK).

    The page of any line is then 1 + the form feeds before it, computed from the stored text
    alone (tools.pages). Empty pages keep their place, so page numbers stay the real ones.
    """
    # lazy: bs4 and pypdf cost +0.09 s, and `search` imports this module (cold_start.py)
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    # pypdf logs its own repair warnings ("EOF marker not found"); the skip line says enough.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, OSError) as exc:
        raise UnreadableFile(f"corrupt or unreadable PDF ({exc})") from exc
    text = ("\n" + PAGE_BREAK).join(plain_lines(p).strip("\n") for p in pages)
    if not text.strip():
        raise UnreadableFile("PDF has no extractable text (scanned images need OCR first)")
    return text + "\n"


def _read_structured(path: Path, source: str, suffix: str) -> SourceDoc:
    """Code, .rst, .adoc, notebooks, office files and extension-less text."""
    if suffix in OFFICE_MODULES:
        try:
            text = office_markdown(path)
        except OfficeError as exc:
            raise UnreadableFile(str(exc)) from exc
        return SourceDoc(source, title_of(text, path.stem), text)
    raw = _read_text(path)
    if suffix in NOTEBOOK_SUFFIXES:
        try:
            text = notebook_markdown(raw, path)
        except ValueError as exc:
            raise UnreadableFile(f"not a Jupyter notebook ({exc})") from exc
        return SourceDoc(source, title_of(text, path.name), text)
    outline = outline_for(raw, suffix)
    if suffix in OUTLINED_TEXT_SUFFIXES and outline:
        return SourceDoc(source, outline[min(outline)][1], raw, outline)
    return SourceDoc(source, path.name, raw, outline)


def load_file(path: Path, source: str) -> SourceDoc:
    """Load one file as a SourceDoc; raises UnreadableFile with the reason."""
    suffix = path.suffix.lower()
    try:
        if suffix in HTML_SUFFIXES:
            text, html_title = _read_html(path)
            return SourceDoc(source, html_title or title_of(text, path.stem), text)
        if suffix in PDF_SUFFIXES or suffix in TEXT_SUFFIXES:
            text = _read_pdf(path) if suffix in PDF_SUFFIXES else _read_text(path)
            return SourceDoc(source, title_of(text, path.stem), text)
        return _read_structured(path, source, suffix)
    except OSError as exc:
        raise UnreadableFile(f"cannot read ({exc.strerror or exc})") from exc


__all__ = ["SourceDoc", "UnreadableFile", "load_file", "source_name"]
