"""Word, PowerPoint and Excel files (.docx, .pptx, .xlsx) as Markdown, with their structure.

A .docx keeps its headings (Heading 1-6, Title) as Markdown headings, its lists and tables.
A .pptx becomes one page per slide (`## Slide 4: Title`, its text, tables and speaker notes)
and an .xlsx one page per sheet (`## Sheet 3: Q3` and its rows as a Markdown table), pages
separated as a PDF's are (tools.pages), so a hit or citation says `slide 4` or `sheet 3` the
way a PDF's says `p. 4`. The converters (python-docx, python-pptx, openpyxl: about 30 MB with
lxml and Pillow) are the optional extra `research-agent[office]`.
"""

from __future__ import annotations

import importlib.util
import logging
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tools.pages import PAGE_BREAK, plain_lines

OFFICE_EXTRA = "pip install 'research-agent[office]'"
OFFICE_MODULES = {".docx": "docx", ".pptx": "pptx", ".xlsx": "openpyxl"}
"""The readable office types and the module of the extra that reads each."""
MAX_ROWS = 20_000
"""Rows read per sheet: a bigger sheet is data, not a document (the rest is left out)."""


class OfficeError(Exception):
    """An office file that cannot be read; the message says why."""


def office_extra_missing(suffix: str) -> bool:
    """Whether the converter for this office type is not installed."""
    module = OFFICE_MODULES.get(suffix)
    return module is not None and importlib.util.find_spec(module) is None


def _cells(values: Iterable[Any]) -> list[str]:
    return ["" if v is None else " ".join(str(v).split()).replace("|", "\\|") for v in values]


def _table(rows: list[list[str]]) -> list[str]:
    """Rows as a Markdown table, the first row as its header."""
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    return lines + ["| " + " | ".join(r) + " |" for r in rows[1:]]


def _docx(path: Path) -> list[str]:
    # lazy: the office extra is optional and heavy (+0.3 s); only .docx files need it
    import docx
    from docx.table import Table

    out: list[str] = []
    for block in docx.Document(str(path)).iter_inner_content():
        if isinstance(block, Table):
            out += ["", *_table([_cells(c.text for c in row.cells) for row in block.rows]), ""]
            continue
        text = block.text.strip()
        if not text:
            continue
        style = ((block.style.name if block.style is not None else "") or "").lower()
        if style == "title":
            out += [f"# {text}", ""]
        elif style.startswith("heading ") and style[8:].isdigit():
            out += [f"{'#' * min(6, int(style[8:]))} {text}", ""]
        elif style.startswith("list"):
            out.append(f"- {text}")
        else:
            out += [text, ""]
    return out


def _shape_lines(shape: Any, title_id: int | None) -> Iterator[str]:
    if shape.has_text_frame and shape.shape_id != title_id:
        for paragraph in shape.text_frame.paragraphs:
            text = "".join(run.text for run in paragraph.runs).strip()
            if text:
                yield "  " * paragraph.level + f"- {text}"
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = [_cells(cell.text for cell in row.cells) for row in shape.table.rows]
        yield from _table(rows)
    for child in getattr(shape, "shapes", []):  # group shapes
        yield from _shape_lines(child, title_id)


def _pptx(path: Path) -> list[str]:
    # lazy: the office extra is optional and heavy (+0.3 s); only .pptx files need it
    import pptx

    pages: list[str] = []
    for n, slide in enumerate(pptx.Presentation(str(path)).slides, start=1):
        title = slide.shapes.title
        heading = f"## Slide {n}: {title.text.strip()}" if title is not None else f"## Slide {n}"
        lines = [" ".join(heading.split()), ""]
        title_id = title.shape_id if title is not None else None
        for shape in slide.shapes:
            lines += list(_shape_lines(shape, title_id))
        if slide.has_notes_slide and (notes := slide.notes_slide.notes_text_frame.text.strip()):
            lines += ["", "Notes: " + " ".join(notes.split())]
        pages.append(plain_lines("\n".join(lines)).strip("\n"))
    return [("\n" + PAGE_BREAK).join(pages)] if pages else []


def _xlsx(path: Path) -> list[str]:
    # lazy: the office extra is optional and heavy (+0.3 s); only .xlsx files need it
    import openpyxl

    book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    pages: list[str] = []
    try:
        for n, sheet in enumerate(book.worksheets, start=1):
            rows = []
            for i, row in enumerate(sheet.iter_rows(values_only=True)):
                if i >= MAX_ROWS:
                    break
                rows.append(_cells(row))
            pages.append("\n".join([f"## Sheet {n}: {sheet.title}", "", *_table(rows)]))
    finally:
        book.close()
    return [("\n" + PAGE_BREAK).join(pages)] if pages else []


READERS = {".docx": _docx, ".pptx": _pptx, ".xlsx": _xlsx}


def office_markdown(path: Path) -> str:
    """The Markdown of a .docx, .pptx or .xlsx file (see the module docstring).

    Raises:
        OfficeError: The extra is not installed, or the file is corrupt or protected.
    """
    suffix = path.suffix.lower()
    if office_extra_missing(suffix):
        raise OfficeError(f"{suffix} files need the office extra: {OFFICE_EXTRA}")
    logging.getLogger("openpyxl").setLevel(logging.ERROR)
    try:
        lines = READERS[suffix](path)
    except OSError:
        raise
    except Exception as exc:  # a hostile file breaks the converters in too many ways to list
        # python-docx and python-pptx say "Package not found" for a file that is not a zip
        if isinstance(exc, zipfile.BadZipFile) or type(exc).__name__ == "PackageNotFoundError":
            raise OfficeError(f"corrupt or unreadable {suffix} (not a zip package)") from exc
        raise OfficeError(f"corrupt or unreadable {suffix} ({type(exc).__name__}: {exc})") from exc
    text = "\n".join(lines) if suffix != ".docx" else plain_lines("\n".join(lines))
    text = text.strip("\n")
    return text + "\n" if text else ""
