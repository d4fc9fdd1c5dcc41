"""Distinct passages: neighbouring chunks of one document in a result become one hit.

Chunks of a document tile it in order (chunk i+1 starts where chunk i ends, sometimes on
the same line), so chunks with consecutive indexes are one stretch of text: joining their
texts in order gives the exact lines from the first's start_line to the last's end_line,
and citations into the merged hit resolve as they would into its parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return str(row["doc_id"]), str(row.get("doc_hash", ""))


def merge_neighbours(ranked: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ranked rows with each run of consecutive chunks of a document merged into one.

    A merged hit takes the rank and score of its best part, the span from its first line to
    its last, the text of its parts in order, and the id and chunk_index of its first chunk
    (page numbers are counted from it). When the best part is not the first, `focus_line` is
    the best part's first line and `heading` its heading: what a search shows of the passage
    starts there, so a match deep in a merged passage is not hidden behind its neighbours.
    """
    groups: list[list[dict[str, Any]]] = []
    for row in ranked:
        index = int(row["chunk_index"])
        touching = [
            g
            for g in groups
            if _key(g[0]) == _key(row)
            and min(int(r["chunk_index"]) for r in g) - 1
            <= index
            <= max(int(r["chunk_index"]) for r in g) + 1
        ]
        if not touching:
            groups.append([row])
            continue
        first = touching[0]  # the best-ranked group it touches: the others join it
        first.append(row)
        for other in touching[1:]:
            first.extend(other)
            groups.remove(other)
    return [_merged(g) for g in groups]


def _merged(group: list[dict[str, Any]]) -> dict[str, Any]:
    if len(group) == 1:
        return group[0]
    parts = sorted({int(r["chunk_index"]): r for r in group}.values(), key=_index)
    best = group[0]
    focus = {}
    if _index(best) != _index(parts[0]):
        focus = {"focus_line": int(best["start_line"]), "heading": best.get("heading", "")}
    return {
        **parts[0],
        "score": best["score"],
        "end_line": max(int(r["end_line"]) for r in parts),
        "text": "".join(str(r["text"]) for r in parts),
        "merged": len(parts),
        **focus,
    }


def _index(row: dict[str, Any]) -> int:
    return int(row["chunk_index"])
