"""Hybrid fusion of a dense and a BM25 candidate list, computed here rather than in Milvus.

Both lists come from plain searches, so Milvus Lite and a Milvus server rank alike.
- `minmax` (the default): each side's scores scaled to [0, 1] over its own candidates, a
  chunk missing from a side scoring 0 there, then `w * dense + (1 - w) * bm25`. It keeps
  the score margins that RRF discards: on the dev FAQ set (k=5) hit@1 went from 0.76 with
  RRF to 0.88, hit@3 stayed 0.92 (benchmarks/quality.py --faq; README, Performance).
- `rrf`: reciprocal rank fusion, `sum 1 / (60 + rank)` with ranks from 1, as Milvus's
  RRFRanker(60) computes it.
Ties keep the dense order, then the BM25 order, so results are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

FusionMethod = Literal["minmax", "rrf"]
RRF_K = 60


@dataclass(frozen=True)
class Fusion:
    """How the two sides of a hybrid search are combined."""

    method: FusionMethod = "minmax"
    dense_weight: float = 0.7
    """minmax only: the dense side's weight; BM25 gets the rest."""


def scaled(scores: Sequence[float]) -> list[float]:
    """Scores mapped to [0, 1] over the list (all 1.0 when they are equal)."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    if high == low:
        return [1.0] * len(scores)
    return [(s - low) / (high - low) for s in scores]


def fuse(
    dense: Sequence[tuple[dict[str, Any], float]],
    sparse: Sequence[tuple[dict[str, Any], float]],
    fusion: Fusion,
) -> list[dict[str, Any]]:
    """One ranked list of rows (with a fused "score") from the two sides' (row, score) lists.

    Each side comes best first with higher-is-better scores; rows are matched by "id".
    """
    fused: dict[str, float] = {}
    rows: dict[str, dict[str, Any]] = {}
    order: dict[str, int] = {}
    for side, weight in ((dense, fusion.dense_weight), (sparse, 1.0 - fusion.dense_weight)):
        if fusion.method == "rrf":
            parts = [1.0 / (RRF_K + rank) for rank in range(1, len(side) + 1)]
        else:
            parts = [weight * s for s in scaled([score for _, score in side])]
        for (row, _), part in zip(side, parts, strict=True):
            key = str(row["id"])
            rows.setdefault(key, row)
            order.setdefault(key, len(order))
            fused[key] = fused.get(key, 0.0) + part
    ranked = sorted(fused, key=lambda key: (-fused[key], order[key]))
    return [{**rows[key], "score": fused[key]} for key in ranked]
