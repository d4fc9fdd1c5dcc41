"""milvus_search's typed filters against a real Milvus Lite collection.

Every hit must satisfy the filter, and, with a query that every document matches and k
above the corpus size, every document that satisfies it must be a hit: so a value that
widened the filter (or broke out of its quotes) and one that wrongly narrowed it both fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent import documents
from agent.cli.app import main
from agent.settings import Settings
from tests.support.foundation import lite_settings
from tools.cursors import CursorRegistry
from tools.embeddings import get_embedder
from tools.errors import ResearchAgentError, ToolInputError
from tools.ingest import ingest_documents
from tools.loaders import SourceDoc
from tools.metadata import tags_of
from tools.schemas import SearchFilters
from tools.search import make_filters, run_search
from tools.store import close_stores, open_store
from tools.store import collection as layout

QUERY = "zebra probe notes"


@dataclass(frozen=True)
class Doc:
    source: str
    title: str
    tags: tuple[str, ...]
    day: date


DOCS = [
    Doc("notes/a.md", "Alpha ops notes", ("milvus", "ops"), date(2024, 6, 1)),
    Doc("notes/b.md", "Beta_100% notes", ("milvus",), date(2025, 3, 1)),
    Doc("notes/c.txt", "Gamma or 1==1", (), date(2025, 6, 1)),
    Doc("web/d.html", 'Delta "quoted" \\ page', ("web", "Ops Team"), date(2023, 1, 1)),
    Doc("docs/e.PDF", "Épsilon 東京 report", ("東京",), date(2025, 1, 1)),
    Doc("notes/f.markdown", "Phi % _ notes", ("milvus", 'q"uote'), date(2025, 12, 31)),
]
SUFFIXES = {"md": {".md", ".markdown", ".mdx"}, "txt": {".txt", ".text"}}
HOSTILE = ['" or 1==1 or "', "\\", '\\"', "%", "_", "or 1==1", "' OR ''='", "東京", "a\x00b"]


def text_of(doc: Doc) -> str:
    front = f"---\ntitle: {doc.title}\ntags: [{', '.join(doc.tags)}]\n---\n" if doc.tags else ""
    return f"{front}# {doc.title}\n\nzebra probe notes about {doc.title}.\n"


@pytest.fixture(scope="module")
def store_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp("filters")
    settings_ = lite_settings(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # sources are relative to the working folder, as ingest stores them
        for doc in DOCS:
            path = root / doc.source
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text_of(doc), encoding="utf-8")
            stamp = datetime(doc.day.year, doc.day.month, doc.day.day, 12, tzinfo=UTC)
            os.utime(path, (stamp.timestamp(), stamp.timestamp()))
        loaded = [SourceDoc(d.source, d.title, text_of(d)) for d in DOCS]
        ingest_documents(open_store(settings_), get_embedder(settings_), loaded, settings_)
    yield settings_
    close_stores()


def allowed(f: SearchFilters) -> set[str]:
    """The sources a filter admits, computed here from the documents (the oracle)."""
    out = set()
    for doc in DOCS:
        ext = Path(doc.source).suffix.lower()
        kind = (f.file_type or "").strip().lower().removeprefix(".")
        if kind and ext not in SUFFIXES.get(kind, {f".{kind}"}):
            continue
        if f.modified_after and doc.day < f.modified_after:
            continue
        if f.modified_before and doc.day >= f.modified_before:
            continue
        if f.title_contains and f.title_contains not in doc.title:
            continue
        if any(t.lower() not in [x.lower() for x in doc.tags] for t in f.tags):
            continue
        out.add(doc.source)
    return out


def found(settings_: Settings, f: SearchFilters, mode: str = "hybrid") -> set[str]:
    result = run_search(settings_, QUERY, 20, None, CursorRegistry(), mode, f)  # type: ignore[arg-type]
    return {h.source for h in result.hits}


def test_front_matter_tags_are_stored_lowercased() -> None:
    assert tags_of(text_of(DOCS[3])) == ["web", "ops team"]
    block = "---\ntags:\n  - One\n  - 'two'\nkeywords: three, One\n---\n# T\n"
    assert tags_of(block) == ["one", "two", "three"]
    assert tags_of("# no front matter\ntags: [x]\n") == []


@pytest.mark.parametrize(
    "f",
    [
        SearchFilters(file_type="md"),
        SearchFilters(file_type=".pdf"),
        SearchFilters(file_type="HTML"),
        SearchFilters(modified_after=date(2025, 1, 1)),
        SearchFilters(modified_before=date(2025, 1, 1)),
        SearchFilters(modified_after=date(2025, 1, 1), modified_before=date(2025, 6, 1)),
        SearchFilters(title_contains="notes"),
        SearchFilters(title_contains="_100%"),
        SearchFilters(title_contains='"quoted" \\'),
        SearchFilters(title_contains="or 1==1"),
        SearchFilters(tags=["milvus"]),
        SearchFilters(tags=["milvus", "ops"]),
        SearchFilters(tags=["OPS TEAM"]),
        SearchFilters(tags=["東京"]),
        SearchFilters(tags=['q"uote']),
        SearchFilters(file_type="md", tags=["milvus"], modified_after=date(2025, 1, 1)),
    ],
    ids=repr,
)
def test_every_hit_satisfies_the_filter_and_every_match_is_a_hit(
    store_settings: Settings, f: SearchFilters
) -> None:
    want = allowed(f)
    assert want, "each case admits at least one document"
    for mode in ("hybrid", "dense", "bm25"):
        assert found(store_settings, f, mode) == want, mode


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=st.one_of(st.none(), st.sampled_from(HOSTILE), st.text(max_size=12)),
    tag=st.one_of(st.none(), st.sampled_from(HOSTILE), st.text(max_size=12)),
    file_type=st.one_of(st.none(), st.sampled_from([*HOSTILE, "md", "pdf"]), st.text(max_size=6)),
)
def test_fuzzed_values_never_widen_the_filter_or_raise_anything_else(
    store_settings: Settings, title: str | None, tag: str | None, file_type: str | None
) -> None:
    try:
        f = make_filters(file_type, None, None, title, [tag] if tag is not None else None)
        hits = found(store_settings, f)
    except ToolInputError as exc:
        assert str(exc).strip() and "\n" not in str(exc)  # one line the model can act on
        return
    assert hits == allowed(f)


def test_the_api_turns_bad_values_into_one_line(store_settings: Settings) -> None:
    with pytest.raises(ResearchAgentError, match="file type"):
        documents.search(QUERY, 5, settings=store_settings, file_type="p df")
    with pytest.raises(ResearchAgentError, match="modified_after"):
        documents.search(
            QUERY, 5, settings=store_settings, after=date(2025, 2, 1), before=date(2025, 1, 1)
        )
    result = documents.search(QUERY, 5, settings=store_settings, tags=["ops"], file_type="md")
    assert [h.source for h in result.hits] == ["notes/a.md"]
    assert result.filters == {"file_type": "md", "tags": ["ops"]}


def test_a_collection_made_before_the_metadata_fields_keeps_working(tmp_path: Path) -> None:
    old = lite_settings(tmp_path, "old")
    store = open_store(old)
    embedder = get_embedder(old)
    layout.create_collection(store.client, "old", embedder.dim, embedder.name, metadata=False)
    store.forget()
    loaded = [SourceDoc(d.source, d.title, text_of(d)) for d in DOCS]
    ingest_documents(store, embedder, loaded, old)  # rows go in without modified and tags
    assert found(old, SearchFilters(file_type="md")) == allowed(SearchFilters(file_type="md"))
    for f in (SearchFilters(tags=["milvus"]), SearchFilters(modified_after=date(2025, 1, 1))):
        with pytest.raises(ToolInputError, match="built before date and tag filters"):
            found(old, f)
    close_stores()


def cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.argv", ["research-agent", *args])
    try:
        main()
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def test_cli_search_takes_the_filters_as_flags(
    store_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--milvus-uri", store_settings.milvus_uri, "-c", store_settings.collection]
    code = cli(
        monkeypatch,
        "search",
        QUERY,
        "-k",
        "10",
        "--type",
        "md",
        "--after",
        "2025-01-01",
        "--tag",
        "milvus",
        "--json",
        *where,
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    want = allowed(SearchFilters(file_type="md", modified_after=date(2025, 1, 1), tags=["milvus"]))
    assert {h["source"] for h in json.loads(out.out)} == want == {"notes/b.md", "notes/f.markdown"}
    code = cli(monkeypatch, "search", QUERY, "--before", "last week", *where)
    out = capsys.readouterr()
    assert code == 2
    assert out.err == (
        "error: --before must be a day as YYYY-MM-DD, e.g. 2025-01-01; got 'last week'.\n"
    )
    code = cli(monkeypatch, "search", QUERY, "--type", "p df", *where)
    out = capsys.readouterr()
    assert code == 1 and out.err.startswith("error: Bad search filter: file type 'p df'")
