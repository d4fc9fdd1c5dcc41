"""milvus_search and fetch_doc as the model calls them, against a real Milvus Lite collection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from agent.settings import Settings
from tests.support.foundation import lite_settings
from tools.cursors import CursorRegistry
from tools.embeddings import get_embedder
from tools.errors import ToolInputError
from tools.fetch import WINDOW_CHARS, fetch_doc
from tools.ingest import doc_id_for, ingest_documents
from tools.loaders import SourceDoc
from tools.search import run_search
from tools.store import close_stores, open_store

GUIDE = "".join(
    ["# Alpha guide\n", "\n"]
    + [f"Line {n}: the alpha guide explains zebra indexing step {n}.\n" for n in range(3, 121)]
)
WIDE = (
    "# Wide\n"
    + "the " * 112
    + "end\n"
    + "".join(f"line {n} " + "the " * 112 + "\n" for n in range(3, 31))
)  # 30 lines, all but the first over 400 characters wide (the old clip)

# Sources chosen so that a filter that leaked out of its quotes, or a LIKE pattern, would match
# more documents than the exact prefix does.
FILTER_SOURCES = [
    'q"uote/one.md',
    'q"uote/two.md',
    "q/three.md",
    'q"uotes/four.md',
    "a or b/x.md",
    "a/x.md",
    "b/x.md",
    "k==1/x.md",
    "k/x.md",
    "k==10/x.md",
    "back\\slash/x.md",
    "back/x.md",
    "backslash/x.md",
    "100%/x.md",
    "1000/x.md",
    "100x/x.md",
    "tick`/x.md",
    "tick/x.md",
]


def call(tool: Any, args: dict[str, Any], messages: list[Any] | None = None) -> ToolMessage:
    """Invoke a tool the way the graph's ToolNode does: a tool call with injected state."""
    msg = tool.invoke(
        {
            "type": "tool_call",
            "name": tool.name,
            "id": f"call_{len(messages or [])}",
            "args": {**args, "state": {"messages": list(messages or [])}},
        }
    )
    assert isinstance(msg, ToolMessage)
    return msg


def search(args: dict[str, Any], messages: list[Any] | None = None) -> ToolMessage:
    from tools.search import milvus_search

    return call(milvus_search, args, messages)


def fetch(args: dict[str, Any], messages: list[Any] | None = None) -> ToolMessage:
    return call(fetch_doc, args, messages)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp("tools")
    settings = lite_settings(root)
    docs = [
        SourceDoc("guide/alpha.md", "Alpha guide", GUIDE),
        SourceDoc("guide/wide.md", "Wide", WIDE),
        *[
            SourceDoc(src, f"Filter doc {i}", f"# Filter doc {i}\n\nzebra filter probe {i}\n")
            for i, src in enumerate(FILTER_SOURCES)
        ],
    ]
    ingest_documents(open_store(settings), get_embedder(settings), docs, settings)
    yield settings
    close_stores()


@pytest.fixture(autouse=True)
def tool_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tools read the environment outside a graph: point it at the module's store."""
    monkeypatch.setenv("RESEARCH_AGENT_MILVUS_URI", settings.milvus_uri)
    monkeypatch.setenv("RESEARCH_AGENT_COLLECTION", settings.collection)


# -- cursors ------------------------------------------------------------------------------
def test_cursors_are_stable_and_new_documents_get_the_next_number(settings: Settings) -> None:
    first = search({"query": "alpha guide zebra indexing", "k": 5, "source": "guide/"})
    hits1 = first.artifact.hits
    assert {h.source for h in hits1} <= {"guide/alpha.md", "guide/wide.md"}
    assert hits1[0].source == "guide/alpha.md" and hits1[0].cursor == 0
    seen1 = {h.doc_id: h.cursor for h in hits1}
    assert sorted(seen1.values()) == list(range(len(seen1)))

    second = search({"query": "zebra filter probe", "k": 20}, [first])
    hits2 = second.artifact.hits
    assert len(hits2) == 20
    expected = dict(seen1)
    for h in hits2:  # first sight in rank order gets the next free number
        expected.setdefault(h.doc_id, len(expected))
        assert h.cursor == expected[h.doc_id], h
    assert len(expected) > len(seen1)
    for h in hits2:
        header = f"【{h.cursor}†{h.title}†{h.source}】 L{h.start_line}-L{h.end_line}"
        assert header in second.content.splitlines()

    # the same search again, with both earlier results in the state, changes no number
    third = search({"query": "zebra filter probe", "k": 20}, [first, second])
    assert [(h.doc_id, h.cursor) for h in third.artifact.hits] == [
        (h.doc_id, h.cursor) for h in hits2
    ]
    # fetch_doc by cursor opens the document that cursor named
    target = hits2[-1]
    win = fetch({"cursor": target.cursor}, [first, second])
    assert win.artifact.doc_id == target.doc_id and win.artifact.cursor == target.cursor
    assert win.content.startswith(f"【{target.cursor}†{target.title}†{target.source}】 viewing")


def test_fetch_by_doc_id_gives_an_unseen_document_the_next_cursor(settings: Settings) -> None:
    first = search({"query": "alpha guide zebra indexing", "k": 1, "source": "guide/alpha"})
    assert [h.cursor for h in first.artifact.hits] == [0]
    win = fetch({"doc_id": doc_id_for("guide/wide.md")}, [first])
    assert win.artifact.cursor == 1
    again = fetch({"doc_id": "guide/wide.md"}, [first, win])  # a stored source works too
    assert again.artifact.cursor == 1
    assert CursorRegistry.from_messages([first, win]).known() == "0, 1"


# -- fetch windows ------------------------------------------------------------------------
def test_fetch_window_shows_numbered_lines_and_the_more_hint(settings: Settings) -> None:
    first = search({"query": "alpha guide", "k": 1, "source": "guide/alpha"})
    msg = fetch({"cursor": 0, "start_line": 10, "num_lines": 5}, [first])
    lines = GUIDE.splitlines()
    assert msg.content.splitlines() == [
        "【0†Alpha guide†guide/alpha.md】 viewing lines [10 - 14] of 120",
        *[f"L{n}: {lines[n - 1]}" for n in range(10, 15)],
        "(more: fetch_doc cursor=0, start_line=15)",
    ]
    assert msg.artifact.lines == lines[9:14]


def test_fetch_window_is_clamped_at_the_end(settings: Settings) -> None:
    first = search({"query": "alpha guide", "k": 1, "source": "guide/alpha"})
    msg = fetch({"cursor": 0, "start_line": 115, "num_lines": 60}, [first])
    w = msg.artifact
    assert (w.start_line, w.end_line, w.total_lines) == (115, 120, 120)
    assert msg.content.splitlines()[-1] == f"L120: {GUIDE.splitlines()[-1]}"
    assert "(more:" not in msg.content


def test_fetch_window_stays_within_the_character_budget(settings: Settings) -> None:
    msg = fetch({"doc_id": "guide/wide.md", "start_line": 2, "num_lines": 29})
    w = msg.artifact
    wide = WIDE.splitlines()
    fits = next(n for n in range(2, 31) if sum(len(ln) for ln in wide[1:n]) > WINDOW_CHARS)
    assert w.lines == wide[1 : fits - 1] and w.cuts == {}  # whole lines, while they fit
    assert sum(len(ln) for ln in w.lines) <= WINDOW_CHARS < sum(len(ln) for ln in wide[1:fits])
    more = f"(more: fetch_doc cursor=0, start_line={w.end_line + 1})"
    assert msg.content.splitlines()[-1] == more
    assert "more characters on this line" not in msg.content


def test_fetch_reads_a_line_from_a_char_offset(settings: Settings) -> None:
    line = WIDE.splitlines()[4]  # L5
    msg = fetch({"doc_id": "guide/wide.md", "start_line": 5, "num_lines": 1, "char_offset": 300})
    assert msg.artifact.lines == [line[300:]] and msg.artifact.cuts == {5: (300, 0)}
    assert f"L5: [… 300 characters before] {line[300:]}" in msg.content
    with pytest.raises(ToolInputError, match=f"it has {len(line)} characters"):
        fetch({"doc_id": "guide/wide.md", "start_line": 5, "char_offset": len(line)})


# -- errors the model can fix -------------------------------------------------------------
def test_unknown_cursor_lists_the_known_ones(settings: Settings) -> None:
    first = search({"query": "alpha guide zebra", "k": 1, "source": "guide/alpha"})
    second = search({"query": "the wide line", "k": 1, "source": "guide/wide"}, [first])
    with pytest.raises(ToolInputError) as err:
        fetch({"cursor": 7}, [first, second])
    assert str(err.value) == (
        "Cursor 7 is unknown. Known cursors: 0, 1. Use a cursor from a milvus_search result."
    )
    none_yet = r"Known cursors: none yet \(run milvus_search first\)"
    with pytest.raises(ToolInputError, match=none_yet):
        fetch({"cursor": 0})


def test_start_line_past_the_end_names_the_valid_range(settings: Settings) -> None:
    for start in (121, 0, -3):
        with pytest.raises(ToolInputError) as err:
            fetch({"doc_id": "guide/alpha.md", "start_line": start})
        assert str(err.value) == (
            f"start_line {start} is outside the document: it has lines 1-120. "
            "Use a start_line between 1 and 120."
        )


@pytest.mark.parametrize("num_lines", [0, 201])
def test_num_lines_out_of_range(settings: Settings, num_lines: int) -> None:
    expected = f"num_lines must be between 1 and 200; got {num_lines}"
    with pytest.raises(ToolInputError, match=expected):
        fetch({"doc_id": "guide/alpha.md", "num_lines": num_lines})


@pytest.mark.parametrize("k", [0, 21, -1])
def test_k_out_of_range(settings: Settings, k: int) -> None:
    with pytest.raises(ToolInputError) as err:
        search({"query": "zebra", "k": k})
    assert str(err.value) == f"k must be between 1 and 20; got {k}. Try k=5."


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query(settings: Settings, query: str) -> None:
    with pytest.raises(ToolInputError, match="query is empty"):
        search({"query": query})


def test_fetch_needs_a_cursor_or_a_known_doc_id(settings: Settings) -> None:
    with pytest.raises(ToolInputError, match="Give a cursor from a milvus_search result"):
        fetch({})
    with pytest.raises(ToolInputError) as err:
        fetch({"doc_id": "0123456789abcdef"})
    assert str(err.value) == (
        "No document '0123456789abcdef' in the collection. Use a cursor from milvus_search results."
    )


@pytest.mark.parametrize("doc_id", ["http://example.com/a.md", "file:///etc/passwd"])
def test_fetch_refuses_urls(settings: Settings, doc_id: str) -> None:
    with pytest.raises(ToolInputError) as err:
        fetch({"doc_id": doc_id})
    msg = str(err.value)
    assert "fetch_doc reads only documents in the collection" in msg
    assert "(no URLs)" in msg


@pytest.mark.parametrize(
    "doc_id", ["/etc/passwd", "../x", "~/.ssh", "~/.ssh/id_rsa", "..\\..\\windows"]
)
def test_fetch_looks_paths_up_in_the_collection_only(settings: Settings, doc_id: str) -> None:
    with pytest.raises(ToolInputError) as err:
        fetch({"doc_id": doc_id})
    assert str(err.value).startswith(f"No document '{doc_id}' in the collection.")


@pytest.mark.parametrize(
    "doc_id", ["./guide/alpha.md", "guide//alpha.md", "guide/../guide/alpha.md"]
)
def test_fetch_accepts_the_forms_a_path_is_typed_in(settings: Settings, doc_id: str) -> None:
    msg = fetch({"doc_id": doc_id})
    assert msg.artifact.source == "guide/alpha.md"


# -- source filters against real Milvus ---------------------------------------------------
PREFIX_CASES = [
    ('q"uote/', {'q"uote/one.md', 'q"uote/two.md'}),
    ('q"uote', {'q"uote/one.md', 'q"uote/two.md', 'q"uotes/four.md'}),
    ("a or b/", {"a or b/x.md"}),
    ("k==1", {"k==1/x.md", "k==10/x.md"}),
    ("k==1/", {"k==1/x.md"}),
    ("back\\", {"back\\slash/x.md"}),
    ("back\\slash/", {"back\\slash/x.md"}),
    ("100%", {"100%/x.md"}),
    ("tick`", {"tick`/x.md"}),
]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_source_prefix_matches_exactly(settings: Settings, mode: str) -> None:
    for prefix, expected in PREFIX_CASES:
        result = run_search(settings, "zebra filter probe", 20, prefix, CursorRegistry(), mode)  # type: ignore[arg-type]
        assert {h.source for h in result.hits} == expected, (mode, prefix)


def test_source_prefix_through_the_tool(settings: Settings) -> None:
    msg = search({"query": "zebra filter probe", "k": 20, "source": 'q"uote/'})
    assert {h.source for h in msg.artifact.hits} == {'q"uote/one.md', 'q"uote/two.md'}
    assert msg.content.startswith(
        'Search results for "zebra filter probe" under \'q"uote/\' (2 hits, hybrid):'
    )
    assert len(search({"query": "zebra filter probe", "k": 20, "source": ""}).artifact.hits) == 20


@pytest.mark.parametrize(
    "injection",
    [
        '" or source != "',
        'x" or "1" == "1',
        '" or source >= "',
        'q\\" or source != \\"',
        '") or (source != "',
        '% or source like "%',
        'a" || source != "',
    ],
)
@pytest.mark.parametrize("mode", ["hybrid", "bm25"])
def test_filter_injection_returns_nothing(settings: Settings, injection: str, mode: str) -> None:
    result = run_search(settings, "zebra filter probe", 20, injection, CursorRegistry(), mode)  # type: ignore[arg-type]
    assert result.hits == []


def test_injection_through_the_tool_reports_no_results(settings: Settings) -> None:
    msg = search({"query": "zebra", "k": 20, "source": '" or source != "'})
    assert msg.artifact.hits == []
    assert msg.content.startswith('No results for "zebra" under \'" or source != "\'.')


def test_control_characters_in_source_are_refused(settings: Settings) -> None:
    with pytest.raises(ToolInputError, match="without control characters"):
        search({"query": "zebra", "source": "guide/\n or 1"})


def test_every_filter_document_is_reachable(settings: Settings) -> None:
    hits = run_search(settings, "filter probe", 20, None, CursorRegistry(), "bm25").hits
    assert {h.source for h in hits} == set(FILTER_SOURCES)
    assert Path(settings.milvus_uri).exists()
