"""Milvus filter expressions built from values, never from text the model writes."""

from __future__ import annotations

from collections.abc import Sequence


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


def search_filter(prefixes: str | Sequence[str] | None, exclude_docs: Sequence[str] = ()) -> str:
    """Chunks a search may return: not an empty file's marker (lines 1-0), under any prefix.

    `exclude_docs`: doc_ids left out (documents being written).
    """
    wanted = [prefixes] if isinstance(prefixes, str) else list(prefixes or [])
    expr = "end_line > 0"
    if exclude_docs:
        expr += " and doc_id not in [" + ", ".join(map(milvus_literal, exclude_docs)) + "]"
    if wanted:
        expr += " and (" + " or ".join(f"({prefix_filter(p)})" for p in wanted) + ")"
    return expr


def ids_filters(ids: list[str], per_filter: int = 500) -> list[str]:
    """`id in [...]` filters for these ids, at most per_filter ids each (bounded requests)."""
    return [
        "id in [" + ", ".join(milvus_literal(i) for i in ids[start : start + per_filter]) + "]"
        for start in range(0, len(ids), per_filter)
    ]
