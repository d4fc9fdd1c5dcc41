"""Document metadata stored with every chunk for search filters: modified time and tags.

Tags come from Markdown front matter (a `---` block at the top of the file), in the forms
people write: `tags: [a, b]`, `tags: a, b`, `tags: a`, or a block list of `- a` lines
(`tag:` and `keywords:` are read the same way). They are lowercased, deduplicated and
kept within the collection's limits. The modified time is the file's, when the ingest
reads it from the working folder (Unix seconds; 0 when unknown).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tools.loaders import SourceDoc
from tools.store.collection import TAG_LIMITS

TAG_KEYS = ("tags", "tag", "keywords")
_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")
_ITEM = re.compile(r"^\s*-\s+(.*)$")
FRONT_MATTER_CHARS = 8000


def front_matter(text: str) -> list[str]:
    """The lines of the front matter block at the top of the text ([] when there is none)."""
    if not text.startswith("---"):
        return []
    lines = text[:FRONT_MATTER_CHARS].splitlines()
    if lines[0].strip() != "---":
        return []
    for end, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            return lines[1:end]
    return []


def _values(inline: str) -> list[str]:
    inline = inline.strip()
    if inline.startswith("[") and inline.endswith("]"):
        inline = inline[1:-1]
    return [v.strip().strip("'\"").strip() for v in inline.split(",")]


def tags_of(text: str) -> list[str]:
    """Tags named in the document's front matter, lowercased, in order, within limits."""
    found: list[str] = []
    lines = front_matter(text)
    for i, line in enumerate(lines):
        m = _KEY.match(line)
        if not m or m.group(1).lower() not in TAG_KEYS:
            continue
        if m.group(2).strip():
            found += _values(m.group(2))
            continue
        for item in lines[i + 1 :]:
            if not (entry := _ITEM.match(item)):
                break
            found += _values(entry.group(1))
    return _clean(found)


def _clean(tags: list[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        value = " ".join(tag.lower().split())
        value = value.encode("utf-8")[: TAG_LIMITS["max_length"]].decode("utf-8", "ignore")
        if value and value not in out:
            out.append(value)
    return out[: TAG_LIMITS["max_capacity"]]


def modified_of(source: str) -> int:
    """The file's modification time in Unix seconds (0 when it cannot be read)."""
    try:
        return int(Path(source).stat().st_mtime)
    except (OSError, ValueError):
        return 0


def document_metadata(doc: SourceDoc) -> dict[str, Any]:
    """The metadata fields every chunk of the document carries (see tools.schemas.Chunk)."""
    return {"modified": modified_of(doc.source), "tags": tags_of(doc.text)}


def metadata_of(source: str, fragments: Callable[[], Iterator[str]]) -> dict[str, Any]:
    """document_metadata for a document read as fragments: only its start is read for tags."""
    head: list[str] = []
    size = 0
    for part in fragments():
        head.append(part)
        size += len(part)
        if size >= FRONT_MATTER_CHARS:
            break
    return {"modified": modified_of(source), "tags": tags_of("".join(head))}
