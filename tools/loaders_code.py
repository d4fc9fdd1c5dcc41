"""Source code, notebooks, reStructuredText, AsciiDoc and extension-less text files as documents.

Code is stored as it is on disk, so a citation's lines are the file's lines; the loader only
finds where its functions and classes start (an outline the splitter cuts at, the way it cuts
Markdown at headings). .rst and .adoc keep their text too, with their headings as the outline.
A notebook becomes Markdown: its Markdown cells as they are, its code cells fenced, outputs left
out (they are results, often huge, not what the author wrote).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from tools.splitter import Outline

OUTLINE_VERSION = "1"
"""Bump when an outline rule changes: documents split by an outline are then re-chunked."""
CODE_SUFFIXES = frozenset(
    ".py .pyi .ts .tsx .js .jsx .mjs .cjs .go .rs .java .kt .kts .scala .c .h .cc .cpp .cxx .hpp "
    ".cs .rb .php .swift .lua .r .jl .sh .bash .zsh .ps1 .sql .proto .graphql .css .scss .vue "
    ".svelte .toml .yaml .yml .ini .cfg .conf .tex".split()
)
OUTLINED_TEXT_SUFFIXES = frozenset({".rst", ".adoc", ".asciidoc"})
NOTEBOOK_SUFFIXES = frozenset({".ipynb"})

LOCK_FILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "pdm.lock",
        "Cargo.lock",
        "Gemfile.lock",
        "composer.lock",
        "go.sum",
        "packages.lock.json",
        "flake.lock",
    }
)
BUILD_DIRS = frozenset({"build", "dist", "target", "_build", "out", "coverage", "htmlcov"})
"""Folders of generated files (Python, JS, Rust/Java, Sphinx builds, coverage reports)."""
_MINIFIED = re.compile(r"[.-]min\.(js|css|mjs)$|\.(js|css)\.map$|\.bundle\.js$")

_PYTHON = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?(?P<kind>def|class)[ \t]+(?P<name>\w+)")
_C_LIKE = re.compile(
    r"^(?P<indent>[ \t]*)(?:export[ \t]+)?(?:default[ \t]+)?(?:pub(?:\([^)]*\))?[ \t]+)?"
    r"(?:public[ \t]+|private[ \t]+|protected[ \t]+|internal[ \t]+|static[ \t]+|abstract[ \t]+"
    r"|final[ \t]+|async[ \t]+|unsafe[ \t]+|data[ \t]+|sealed[ \t]+|open[ \t]+)*"
    r"(?P<kind>function\*?|class|interface|struct|enum|trait|impl|fn|func|type|object|module"
    r"|namespace|def)[ \t]+(?:\([^)]*\)[ \t]*)?(?P<name>[A-Za-z_$][\w$]*)"
)
_ARROW = re.compile(
    r"^(?P<indent>)(?:export[ \t]+)?(?:const|let|var)[ \t]+(?P<name>[A-Za-z_$][\w$]*)[ \t]*"
    r"(?::[^=]+)?=[ \t]*(?:async[ \t]*)?(?:function\b|\([^)]*\)[ \t]*(?::[^=]+)?=>|\w+[ \t]*=>)"
)
_RST_ADORNMENT = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}[ \t]*$")
_ADOC_HEADING = re.compile(r"^(={1,6})[ \t]+(\S.*?)[ \t]*$")


def generated_reason(name: str) -> str | None:
    """Why a file in a folder is left out as generated (lock file, minified), or None."""
    if name in LOCK_FILES:
        return "lock file"
    if _MINIFIED.search(name):
        return "minified or bundled file"
    return None


def _level(indent: str) -> int:
    return 1 + len(indent.expandtabs(4)) // 4


def code_outline(lines: list[str], suffix: str) -> dict[int, tuple[int, str]]:
    """Where functions and classes start: line -> (nesting level, name).

    Python's decorators and the comment lines right above a definition belong to it, so the
    section starts there. Languages without a pattern here get no outline (blank-line splits).
    """
    pattern = _PYTHON if suffix in (".py", ".pyi") else _C_LIKE
    if suffix in (".toml", ".yaml", ".yml", ".ini", ".cfg", ".conf", ".css", ".scss", ".sql"):
        return {}
    outline: dict[int, tuple[int, str]] = {}
    for i, line in enumerate(lines):
        m = pattern.match(line) or (_ARROW.match(line) if pattern is _C_LIKE else None)
        if not m:
            continue
        start = i
        while start > 0 and lines[start - 1].strip().startswith(("@", "#", "//", "///", "/*", "*")):
            if lines[start - 1].strip().startswith("#!"):
                break
            start -= 1
        outline[start + 1] = (_level(m.group("indent")), m.group("name"))
    return outline


def rst_outline(lines: list[str]) -> dict[int, tuple[int, str]]:
    """Section titles of reStructuredText: a line underlined (and maybe overlined) by = - ~ ...

    Levels follow the order in which adornment styles first appear, as docutils does.
    """
    styles: list[tuple[str, bool]] = []
    outline: dict[int, tuple[int, str]] = {}
    for i in range(1, len(lines)):
        under, title = lines[i].rstrip(), lines[i - 1].rstrip()
        if not _RST_ADORNMENT.match(under) or not title.strip() or _RST_ADORNMENT.match(title):
            continue
        if len(under) < len(title.strip()):
            continue
        over = i >= 2 and lines[i - 2].rstrip() == under
        style = (under[0], over)
        if style not in styles:
            styles.append(style)
        start = i - 1 if over else i  # 1-based line of the overline, else of the title
        outline[start] = (styles.index(style) + 1, title.strip())
    return outline


def adoc_outline(lines: list[str]) -> dict[int, tuple[int, str]]:
    """AsciiDoc section titles (`= Title`, `== Section` ...), outside listing blocks."""
    outline: dict[int, tuple[int, str]] = {}
    in_block = False
    for i, line in enumerate(lines, start=1):
        if line.rstrip() in ("----", "...."):
            in_block = not in_block
        elif not in_block and (m := _ADOC_HEADING.match(line)):
            outline[i] = (len(m.group(1)), m.group(2))
    return outline


def outline_for(text: str, suffix: str) -> Outline | None:
    """The outline of a text of this type; None for Markdown and plain text (their own rules)."""
    lines = text.splitlines()
    if suffix in CODE_SUFFIXES:
        return code_outline(lines, suffix)
    if suffix == ".rst":
        return rst_outline(lines)
    if suffix in (".adoc", ".asciidoc"):
        return adoc_outline(lines)
    return None


def _cell_text(source: str | Iterable[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


def notebook_markdown(raw: str, path: Path) -> str:
    """A Jupyter notebook as Markdown: Markdown cells, code cells fenced, no outputs.

    Raises:
        ValueError: The file is not a notebook (not JSON, or no list of cells).
    """
    data = json.loads(raw)
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise ValueError(f"{path.name} has no notebook cells")
    language = (
        data.get("metadata", {}).get("kernelspec", {}).get("language")
        or data.get("metadata", {}).get("language_info", {}).get("name")
        or ""
    )
    parts: list[str] = []
    for n, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        text = _cell_text(cell.get("source", "")).strip("\n")
        if not text.strip():
            continue
        if cell.get("cell_type") == "code":
            parts.append(f"```{language} cell {n}\n{text}\n```")
        else:
            parts.append(text)
    return "\n\n".join(parts) + "\n" if parts else ""
