"""Retrieval quality on the Milvus FAQ: labelled paraphrases, scored by the FAQ entry hit.

The labels (tests/fixtures/faq_labelled.jsonl) name, per question, the FAQ entries that
answer it (`file#heading`). An entry's lines are read from the corpus files themselves; a
hit answers a question when it holds part of one of those entries' bodies. Used by
benchmarks/quality.py (--faq) and tests/integration/test_seed_and_quality.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.schemas import SearchHit
from tools.splitter import FENCE, fence_after, heading_of


@dataclass(frozen=True)
class Entry:
    """One FAQ entry: its file, heading and lines."""

    file: str
    heading: str
    first: int
    """The heading line."""
    last: int
    """The last non-blank line before the next heading."""


def faq_entries(corpus: Path) -> dict[tuple[str, str], Entry]:
    """Every heading of every FAQ file with the lines its entry covers (from the files)."""
    out: dict[tuple[str, str], Entry] = {}
    for path in sorted(corpus.glob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        heads: list[tuple[int, str]] = []
        fence: str | None = None
        for n, line in enumerate(lines, start=1):
            if fence is not None or FENCE.match(line):
                fence = fence_after(fence, line)
            elif h := heading_of(line):
                heads.append((n, h[1]))
        for i, (n, title) in enumerate(heads):
            end = heads[i + 1][0] - 1 if i + 1 < len(heads) else len(lines)
            while end > n and not lines[end - 1].strip():
                end -= 1
            out[(path.name, title)] = Entry(path.name, title, n, end)
    return out


def content_span(hit: SearchHit) -> tuple[int, int]:
    """The hit's line span without its trailing blank lines (the gap before the next entry)."""
    lines = hit.text.splitlines()
    end = hit.end_line
    while lines and not lines[-1].strip() and end > hit.start_line:
        lines.pop()
        end -= 1
    return hit.start_line, end


def answers(hit: SearchHit, entry: Entry) -> bool:
    """The hit holds part of the entry's body.

    Chunks never cross a heading, except that a heading-only prefix (a file's H1 title)
    joins the first entry, so a hit on a file's first entry may start at the title.
    """
    start, end = content_span(hit)
    body_first = entry.first + 1
    return Path(hit.source).name == entry.file and max(start, body_first) <= min(end, entry.last)


def load_labels(
    labels: Path, entries: dict[tuple[str, str], Entry]
) -> list[tuple[str, list[Entry]]]:
    """(question, the entries that answer it) per labelled line; KeyError on a stale label."""
    out = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        wanted = []
        for heading in row["headings"]:
            file, _, title = heading.rpartition("#") if ".md#" in heading else ("", "", heading)
            wanted.append(entries[(file or row["file"], title)])
        out.append((row["question"], wanted))
    return out


def first_rank(hits: Sequence[SearchHit], wanted: Sequence[Entry]) -> int | None:
    """The rank (from 1) of the first hit that answers, None when none does."""
    for rank, hit in enumerate(hits, start=1):
        if any(answers(hit, e) for e in wanted):
            return rank
    return None


def figures(ranks: Sequence[int | None]) -> dict[str, float]:
    """hit@1, hit@3 and MRR over the questions' first ranks."""
    n = len(ranks) or 1
    return {
        "hit@1": sum(r == 1 for r in ranks) / n,
        "hit@3": sum(r is not None and r <= 3 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
    }
