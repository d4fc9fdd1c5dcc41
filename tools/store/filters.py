"""Milvus filter expressions built from values, never from text the model writes.

Every value reaches Milvus inside a string literal (`milvus_literal`) or as an integer;
LIKE patterns carry no wildcard from the value: `%`, `_` and backslashes in it become `_` (any
one character), and `title_matches` then checks the exact text on each hit, so a value
can narrow a search but never widen it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from tools.schemas import SearchFilters

TYPE_ALIASES = (
    ("md", "markdown", "mdx"),
    ("txt", "text"),
    ("html", "htm"),
    ("pdf",),
    ("rst",),
)
"""File types that name the same kind of file: any of them matches all of them."""
FILE_TYPE = re.compile(r"^[a-z0-9]{1,16}$")
METADATA_FIELDS = ("modified", "tags")
"""Fields of collections created since filters by date and tag exist."""


def milvus_literal(value: str) -> str:
    """A Milvus string literal: the value can never leave its quotes."""
    if any(ord(c) < 32 for c in value):
        raise ValueError("control characters are not allowed in a filter value")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def prefix_filter(prefix: str) -> str:
    """Exact prefix match on source as a range (no LIKE wildcards to escape)."""
    return (
        f"source >= {milvus_literal(prefix)} and source < {milvus_literal(prefix + chr(0x10FFFF))}"
    )


def like_pattern(value: str) -> str:
    """The LIKE pattern text for a substring: wildcards of the value become `_` (one char)."""
    return re.sub(r"[%_\\]", "_", value)


def suffixes(file_type: str) -> list[str]:
    """The file-name endings a file type stands for ("markdown" -> .md, .markdown, .mdx)."""
    wanted = file_type.strip().lower().removeprefix(".")
    if not FILE_TYPE.match(wanted):
        raise ValueError(f"file type {file_type[:40]!r} is not a file extension like pdf or md")
    group = next((g for g in TYPE_ALIASES if wanted in g), (wanted,))
    return [f".{s}" for s in group]


def _day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def search_filter(
    prefixes: str | Sequence[str] | None,
    filters: SearchFilters | None = None,
    exclude_docs: Sequence[str] = (),
) -> str:
    """Chunks a search may return: not an empty file's marker (lines 1-0), within the filters.

    Raises:
        ValueError: A value no filter can hold (control characters, a bad file type).
    """
    wanted = [prefixes] if isinstance(prefixes, str) else list(prefixes or [])
    f = filters or SearchFilters()
    wanted += f.source
    parts = ["end_line > 0"]
    if exclude_docs:  # documents being written, or left half-written by an interrupted ingest
        parts.append("doc_id not in [" + ", ".join(map(milvus_literal, exclude_docs)) + "]")
    if wanted:
        parts.append("(" + " or ".join(f"({prefix_filter(p)})" for p in wanted) + ")")
    if f.file_type:
        ends = [e for s in suffixes(f.file_type) for e in (s, s.upper())]
        parts.append(
            "(" + " or ".join(f"source like {milvus_literal('%' + e)}" for e in ends) + ")"
        )
    if f.modified_after:
        parts.append(f"modified >= {_day_start(f.modified_after)}")
    if f.modified_before:
        parts.append(f"modified < {_day_start(f.modified_before)}")
    if f.title_contains:
        parts.append(f"title like {milvus_literal('%' + like_pattern(f.title_contains) + '%')}")
    for tag in f.tags:
        parts.append(f"array_contains(tags, {milvus_literal(tag.strip().lower())})")
    return " and ".join(parts)


def needs_metadata(filters: SearchFilters | None) -> bool:
    """Whether the filters read the fields only newer collections have."""
    return bool(filters and (filters.modified_after or filters.modified_before or filters.tags))


def title_matches(filters: SearchFilters | None, row: dict[str, Any]) -> bool:
    """The exact check behind the title's LIKE pattern (which may match a little more)."""
    return not (filters and filters.title_contains) or filters.title_contains in str(row["title"])


def ids_filters(ids: list[str], per_filter: int = 500) -> list[str]:
    """`id in [...]` filters for these ids, at most per_filter ids each (bounded requests)."""
    return [
        "id in [" + ", ".join(milvus_literal(i) for i in ids[start : start + per_filter]) + "]"
        for start in range(0, len(ids), per_filter)
    ]
