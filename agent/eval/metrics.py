"""Scoring for the eval harness: SQuAD answer metrics and evidence metrics (pure functions).

Answers are compared the usual SQuAD way: lower-cased, punctuation and the articles
a/an/the removed, whitespace collapsed; each metric takes the best over the gold answer
and its aliases. Evidence is judged by document title.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = frozenset(string.punctuation)
_CITATION_MARK = re.compile(r"\[\d+\]|【[^】]*】")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def strip_citations(text: str) -> str:
    """The answer text without citation marks ([1], 【3†L2-L4】), which are not answer words."""
    return _CITATION_MARK.sub(" ", text)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer, else 0.0."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def _f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """Best token-overlap F1 of the prediction against any gold answer (0.0 with none)."""
    return max((_f1(prediction, g) for g in golds), default=0.0)


def answer_contained(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when a normalised gold answer appears inside the normalised prediction.

    Extractive answers quote whole sentences, so EM and F1 undersell them; this says
    whether the answer is there at all.
    """
    pred = f" {normalize_answer(prediction)} "
    return float(any(f" {n} " in pred for g in golds if (n := normalize_answer(g))))


def evidence_recall(seen_titles: Iterable[str], gold_titles: Iterable[str]) -> float:
    """Share of the gold titles among the titles seen (1.0 when there is no gold title)."""
    gold = set(gold_titles)
    if not gold:
        return 1.0
    return len(gold & set(seen_titles)) / len(gold)


def all_gold(seen_titles: Iterable[str], gold_titles: Iterable[str]) -> bool:
    """Whether every gold title was seen."""
    return set(gold_titles) <= set(seen_titles)


def citation_precision(cited_titles: Iterable[str], gold_titles: Iterable[str]) -> float | None:
    """Share of the cited documents that are gold; None when nothing was cited.

    Args:
        cited_titles: Titles of the cited documents (a document cited twice counts once).
        gold_titles: Titles of the gold supporting documents.

    Returns:
        The precision in [0, 1], or None for an answer without citations.
    """
    cited = set(cited_titles)
    if not cited:
        return None
    return len(cited & set(gold_titles)) / len(cited)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
