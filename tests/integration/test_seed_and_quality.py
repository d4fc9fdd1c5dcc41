"""Retrieval over the shared Milvus FAQ: the seed question, and hybrid vs single-mode quality."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent import documents
from agent.settings import Settings
from tests.support.foundation import PROJECT_ROOT, lite_settings, shared_corpus
from tools.schemas import SearchHit
from tools.splitter import FENCE, heading_of
from tools.store import close_stores

pytestmark = [pytest.mark.shared, pytest.mark.slow]
LABELS = PROJECT_ROOT / "tests" / "fixtures" / "faq_labelled.jsonl"
MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Entry:
    file: str
    heading: str
    first: int  # the heading line
    last: int  # the last non-blank line before the next heading


def faq_entries(corpus: Path) -> dict[tuple[str, str], Entry]:
    """Every heading of every FAQ file with the lines its entry covers (from the files)."""
    out: dict[tuple[str, str], Entry] = {}
    for path in sorted(corpus.glob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        heads, in_fence = [], False
        for n, line in enumerate(lines, start=1):
            if FENCE.match(line):
                in_fence = not in_fence
            elif not in_fence and (h := heading_of(line)):
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


def within(hit: SearchHit, entry: Entry) -> bool:
    """The hit lies inside the entry (heading through its last non-blank line)."""
    start, end = content_span(hit)
    return Path(hit.source).name == entry.file and entry.first <= start and end <= entry.last


def answers(hit: SearchHit, entry: Entry) -> bool:
    """The hit holds part of the entry's body.

    Chunks never cross a heading, except that a heading-only prefix (a file's H1 title)
    joins the first entry, so a hit on a file's first entry may start at the title.
    """
    start, end = content_span(hit)
    body_first = entry.first + 1
    return Path(hit.source).name == entry.file and max(start, body_first) <= min(end, entry.last)


@dataclass
class Faq:
    settings: Settings
    entries: dict[tuple[str, str], Entry]


@pytest.fixture(scope="module")
def faq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faq]:
    corpus = shared_corpus("milvus_faq")
    settings = lite_settings(tmp_path_factory.mktemp("faq"))
    report = documents.ingest([corpus], settings)
    # the corpus's LICENSE has no extension: read as the UTF-8 text it is
    assert report.new == 6 and report.skipped == []
    yield Faq(settings, faq_entries(corpus))
    close_stores()


def test_seed_question_finds_where_milvus_stores_data(faq: Faq) -> None:
    entry = faq.entries[("product_faq.md", "Where does Milvus store data?")]
    assert entry.first == 32  # the file as shipped; the span itself comes from the file
    result = documents.search("How is data stored in milvus?", k=3, settings=faq.settings)
    assert len(result.hits) == 3
    assert any(within(h, entry) for h in result.hits), [
        (h.source, h.start_line, h.end_line) for h in result.hits
    ]


def load_labels(entries: dict[tuple[str, str], Entry]) -> list[tuple[str, list[Entry]]]:
    out = []
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        wanted = []
        for heading in row["headings"]:
            file, _, title = heading.rpartition("#") if ".md#" in heading else ("", "", heading)
            wanted.append(entries[(file or row["file"], title)])  # KeyError = a stale label
        out.append((row["question"], wanted))
    return out


def first_rank(hits: list[SearchHit], wanted: list[Entry]) -> int | None:
    for rank, hit in enumerate(hits, start=1):
        if any(answers(hit, e) for e in wanted):
            return rank
    return None


def test_hybrid_is_at_least_as_good_as_each_single_mode(faq: Faq) -> None:
    labels = load_labels(faq.entries)
    assert len(labels) >= 20
    figures: dict[str, dict[str, float]] = {}
    for mode in MODES:
        ranks = [
            first_rank(documents.search(q, k=10, settings=faq.settings, mode=mode).hits, wanted)  # type: ignore[arg-type]
            for q, wanted in labels
        ]
        figures[mode] = {
            "hit@1": sum(r == 1 for r in ranks) / len(ranks),
            "hit@3": sum(r is not None and r <= 3 for r in ranks) / len(ranks),
            "mrr@10": sum(1 / r for r in ranks if r) / len(ranks),
        }
    print(f"\nFAQ retrieval, {len(labels)} labelled questions:")
    for mode, f in figures.items():
        print(f"  {mode:6} " + "  ".join(f"{k}={v:.3f}" for k, v in f.items()))
    for single in ("dense", "bm25"):
        assert figures["hybrid"]["hit@3"] >= figures[single]["hit@3"], figures
