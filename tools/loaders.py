"""Read files into text: Markdown, plain text, HTML, PDF, and the types of two neighbours.

Code, notebooks, .rst, .adoc and extension-less text: tools.loaders_code; .docx, .pptx and
.xlsx: tools.loaders_office.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from agent.settings import Settings
from tools.loaders_code import (
    CODE_SUFFIXES,
    NOTEBOOK_SUFFIXES,
    OUTLINED_TEXT_SUFFIXES,
    notebook_markdown,
    outline_for,
)
from tools.loaders_office import OFFICE_MODULES, OfficeError, office_markdown
from tools.pdftext import ExtractError, PdfWorker, extract
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


@dataclass(frozen=True)
class ReadLimits:
    """Per-file limits of what a loader extracts (settings of the ingest group)."""

    max_pdf_pages: int = 0
    max_chars: int = 0
    """0: no limit."""
    pdf: PdfWorker | None = None
    """Extracts PDFs in a child process under a time limit; None: in this process, no limit."""


def read_limits(settings: Settings, pdf: PdfWorker | None = None) -> ReadLimits:
    """The limits the settings give, extracting PDFs with `pdf`."""
    return ReadLimits(settings.max_pdf_pages, settings.max_extracted_chars, pdf)


def is_streamed(path: Path) -> bool:
    """Whether a file is read as plain UTF-8 text, streamed from disk (not loaded whole)."""
    return path.suffix.lower() in TEXT_SUFFIXES


def _read_pdf(path: Path, limits: ReadLimits) -> str:
    try:
        if limits.pdf is not None:
            return limits.pdf.extract(path, limits.max_pdf_pages, limits.max_chars)
        return extract(str(path), limits.max_pdf_pages, limits.max_chars)
    except ExtractError as exc:
        raise UnreadableFile(str(exc)) from exc


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


def load_file(path: Path, source: str, limits: ReadLimits | None = None) -> SourceDoc:
    """Load one file as a SourceDoc; raises UnreadableFile with the reason."""
    suffix = path.suffix.lower()
    limits = limits or ReadLimits()
    title: str | None = None
    structured: SourceDoc | None = None  # code, .rst, .adoc, notebooks, office files
    try:
        if suffix in HTML_SUFFIXES:
            text, title = _read_html(path)
        elif suffix in PDF_SUFFIXES or suffix in TEXT_SUFFIXES:
            text = _read_pdf(path, limits) if suffix in PDF_SUFFIXES else _read_text(path)
        else:
            structured = _read_structured(path, source, suffix)
            text = structured.text
    except OSError as exc:
        raise UnreadableFile(f"cannot read ({exc.strerror or exc})") from exc
    if limits.max_chars and len(text) > limits.max_chars:
        raise UnreadableFile(
            f"more than {limits.max_chars:,} characters of text "
            "(RESEARCH_AGENT_MAX_EXTRACTED_CHARS)"
        )
    if structured is not None:
        return structured
    return SourceDoc(source, title or title_of(text, path.stem), text)


__all__ = [
    "ReadLimits",
    "SourceDoc",
    "UnreadableFile",
    "is_streamed",
    "load_file",
    "read_limits",
    "source_name",
]
