"""Hybrid fusion (min-max weighted and RRF) and the merging of neighbouring chunks."""

from __future__ import annotations

from typing import Any

import pytest

from tools.render import snippet
from tools.schemas import SearchHit
from tools.store.fusion import Fusion, fuse, scaled
from tools.store.passages import merge_neighbours
from tools.store.retrieve import bm25_score, passages


def row(cid: str, doc: str = "d", index: int = 0, start: int = 1, end: int = 1) -> dict[str, Any]:
    return {
        "id": cid,
        "doc_id": doc,
        "doc_hash": "h",
        "chunk_index": index,
        "start_line": start,
        "end_line": end,
        "text": f"<{cid}>",
        "title": "T",
    }


def test_scaled_maps_each_list_onto_zero_to_one() -> None:
    assert scaled([0.9, 0.5, 0.1]) == pytest.approx([1.0, 0.5, 0.0])
    assert scaled([3.0, 3.0]) == [1.0, 1.0]
    assert scaled([]) == []


def test_minmax_keeps_a_clear_dense_winner_that_rrf_demotes() -> None:
    # dense: a far ahead, b and c close; BM25: c first, b second, a absent
    dense = [(row("a"), 0.90), (row("b"), 0.50), (row("c"), 0.49)]
    sparse = [(row("c"), 9.0), (row("b"), 8.9), (row("x"), 1.0)]
    minmax = [r["id"] for r in fuse(dense, sparse, Fusion("minmax", 0.7))]
    rrf = [r["id"] for r in fuse(dense, sparse, Fusion("rrf"))]
    assert minmax[0] == "a"  # 0.7 * 1.0 beats c's 0.7 * 0 + 0.3 * 1.0 and b's
    assert rrf[0] in ("b", "c")  # ranks only: two middling ranks outvote one first place
    scores = {r["id"]: r["score"] for r in fuse(dense, sparse, Fusion("minmax", 0.7))}
    assert scores["a"] == pytest.approx(0.7)
    assert scores["c"] == pytest.approx(0.3)  # dense minimum (0) + BM25 maximum
    assert scores["x"] == pytest.approx(0.0)


def test_rrf_is_milvus_rrf_with_k_60() -> None:
    dense = [(row("a"), 0.9), (row("b"), 0.8)]
    sparse = [(row("b"), 5.0)]
    scores = {r["id"]: r["score"] for r in fuse(dense, sparse, Fusion("rrf"))}
    assert scores == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 1 / 61})


def test_weights_are_a_setting_and_ties_keep_dense_order() -> None:
    dense = [(row("a"), 0.9), (row("b"), 0.1)]
    sparse = [(row("b"), 5.0), (row("a"), 1.0)]
    assert [r["id"] for r in fuse(dense, sparse, Fusion("minmax", 0.0))] == ["b", "a"]
    assert [r["id"] for r in fuse(dense, sparse, Fusion("minmax", 0.5))] == ["a", "b"]


def test_neighbouring_chunks_become_one_passage_with_the_union_span() -> None:
    ranked = [
        {**row("c5", index=5, start=36, end=39), "score": 0.9},
        {**row("other", doc="e", index=0, start=1, end=4), "score": 0.8},
        {**row("c4", index=4, start=30, end=36), "score": 0.7},
        {**row("c9", index=9, start=60, end=62), "score": 0.6},
    ]
    merged = merge_neighbours(ranked)
    assert [(m["id"], m["start_line"], m["end_line"], m["score"]) for m in merged] == [
        ("c4", 30, 39, 0.9),  # first chunk's id and start, best part's rank and score
        ("other", 1, 4, 0.8),
        ("c9", 60, 62, 0.6),
    ]
    assert merged[0]["text"] == "<c4><c5>"  # the parts' texts in document order


def test_a_merged_passage_is_shown_from_its_best_part() -> None:
    lines = [f"line {n}" for n in range(1, 21)]
    first = {**row("c0", index=0, start=1, end=12), "text": "\n".join(lines[:12]) + "\n"}
    best = {**row("c1", index=1, start=13, end=20), "text": "\n".join(lines[12:]) + "\n"}
    ranked = [{**best, "score": 0.9, "heading": "Slide 4"}, {**first, "score": 0.5}]
    (merged,) = merge_neighbours(ranked)
    assert (merged["start_line"], merged["focus_line"], merged["heading"]) == (1, 13, "Slide 4")
    hit = SearchHit(cursor=0, source="s", chunk_id="c0", **merged)
    assert [n for n, _ in snippet(hit)] == list(range(13, 21))  # not lines 1-8
    assert snippet(hit)[0] == (13, "line 13")
    (unfocused,) = merge_neighbours([{**first, "score": 0.9}, {**best, "score": 0.5}])
    assert "focus_line" not in unfocused
    hit = SearchHit(cursor=0, source="s", chunk_id="c0", **unfocused)
    assert [n for n, _ in snippet(hit)] == list(range(1, 9))


def test_a_chunk_that_bridges_two_passages_joins_them() -> None:
    ranked = [
        {**row("c1", index=1, start=5, end=9), "score": 0.9},
        {**row("c3", index=3, start=15, end=20), "score": 0.8},
        {**row("c2", index=2, start=10, end=14), "score": 0.7},
    ]
    merged = merge_neighbours(ranked)
    assert [(m["start_line"], m["end_line"], m["text"]) for m in merged] == [
        (5, 20, "<c1><c2><c3>")
    ]


def test_other_versions_and_other_documents_are_not_merged() -> None:
    ranked = [
        {**row("a", index=1), "score": 1.0},
        {**row("b", index=2), "doc_hash": "old", "score": 0.9},
        {**row("c", doc="other", index=2), "score": 0.8},
    ]
    assert [m["id"] for m in merge_neighbours(ranked)] == ["a", "b", "c"]


def test_passages_fuses_two_sides_or_ranks_one_then_merges_and_cuts() -> None:
    dense = [(row("a", "d", 0, 1, 2), 0.9), (row("b", "d", 1, 2, 4), 0.8), (row("z", "e"), 0.1)]
    sparse = [(row("z", "e"), 5.0), (row("a", "d", 0, 1, 2), 4.0), (row("y", "f"), 1.0)]
    both = passages(dense, sparse, 2, Fusion("minmax", 0.7))
    assert [(r["id"], r.get("merged")) for r in both] == [("a", 2), ("z", None)]
    assert both[0]["text"] == "<a><b>" and both[0]["end_line"] == 4
    one = passages(dense, None, 5)
    assert [(r["id"], r["score"]) for r in one] == [("a", 0.9), ("z", 0.1)]
    bm25 = passages(None, sparse, 1, keep=3)  # keep: a reranker's candidates
    assert [r["id"] for r in bm25] == ["z", "a", "y"]
    no_e = passages(dense, sparse, 5, Fusion("rrf"), accept=lambda r: r["doc_id"] != "e")
    assert [r["id"] for r in no_e] == ["a", "y"]  # the check drops z from both sides


def test_bm25_score_is_the_distance_magnitude() -> None:
    assert bm25_score(-3.5) == bm25_score(3.5) == 3.5  # Milvus Lite / a server
