"""find_in_doc as the model calls it, against a real Milvus Lite collection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from agent.evidence.seen import artifacts, seen_documents
from agent.evidence.summaries import summarize
from agent.settings import Settings
from tests.support.foundation import lite_settings
from tools.artifacts import parse_artifact
from tools.cursors import CursorRegistry
from tools.embeddings import get_embedder
from tools.errors import ToolInputError
from tools.find import MAX_LINES, find_in_doc, run_find
from tools.ingest import ingest_documents
from tools.loaders import SourceDoc
from tools.render import LINE_CHARS
from tools.schemas import FindResult
from tools.store import close_stores, open_store

LINES = [f"Line {n}: filler about nothing in particular." for n in range(1, 121)]
LINES[40] = "The Heron engine seals a segment at 512 MB and then"  # L41
LINES[41] = "compacts   it at NIGHT, every night."  # L42
LINES[99] = "Compacts it at night is said again here."  # L100
GUIDE = "# Long guide\n" + "\n".join(LINES[1:]) + "\n"
ONE_LINE = "filler words " * 1500 + "the Qvwm window manager " + "more filler " * 500


@pytest.fixture(scope="module")
def store_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings_ = lite_settings(tmp_path_factory.mktemp("find"))
    docs = [
        SourceDoc("guide/long.md", "Long guide", GUIDE),
        SourceDoc("guide/every.md", "Every line", "".join(f"zebra {n}\n" for n in range(300))),
        SourceDoc("guide/oneline.md", "One line", f"# One line\n{ONE_LINE}\n"),
    ]
    ingest_documents(open_store(settings_), get_embedder(settings_), docs, settings_)
    yield settings_
    close_stores()


@pytest.fixture(autouse=True)
def tool_env(store_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEARCH_AGENT_MILVUS_URI", store_settings.milvus_uri)
    monkeypatch.setenv("RESEARCH_AGENT_COLLECTION", store_settings.collection)


def call(args: dict[str, Any]) -> ToolMessage:
    msg = find_in_doc.invoke(
        {"type": "tool_call", "name": "find_in_doc", "id": "call_1", "args": {**args, "state": {}}}
    )
    assert isinstance(msg, ToolMessage)
    return msg


def test_a_phrase_across_a_line_break_in_any_case_is_found_with_its_lines() -> None:
    msg = call({"doc_id": "guide/long.md", "pattern": "then compacts it  at night"})
    result = msg.artifact
    assert isinstance(result, FindResult)
    assert (result.cursor, result.matches, result.total_lines) == (0, 1, 120)
    (window,) = result.windows
    assert (window.start_line, window.end_line) == (39, 44)  # L41-L42 and two lines each side
    assert window.lines == LINES[38:44]
    assert msg.content.splitlines()[:3] == [
        '【0†Long guide†guide/long.md】 find "then compacts it at night": 1 match in 120 lines',
        "[lines 39 - 44]",
        f"L39: {LINES[38]}",
    ]
    # the windows count as read lines: citations into them verify
    seen = seen_documents([msg])[0]
    assert seen.lines[42] == LINES[41] and seen.fetched
    assert summarize(msg) == "1 match"
    # a checkpoint stores the artifact as a dict: it comes back as the same windows
    restored = ToolMessage(msg.content, tool_call_id="c", artifact=result.model_dump())
    assert parse_artifact(restored.artifact) == result
    assert list(artifacts([restored])) == result.windows


def test_each_match_gets_a_window_in_document_order() -> None:
    result = run_find(Settings(), CursorRegistry(), "COMPACTS IT AT NIGHT", doc_id="guide/long.md")
    assert result.matches == 2
    assert [(w.start_line, w.end_line) for w in result.windows] == [(40, 44), (98, 102)]


def test_no_match_is_an_answer_not_an_error() -> None:
    msg = call({"doc_id": "guide/long.md", "pattern": "quantum teleport"})
    assert msg.status != "error"
    assert "no match" in msg.content and "fetch_doc" in msg.content
    assert msg.artifact.windows == [] and msg.artifact.matches == 0


def test_a_phrase_on_every_line_is_bounded() -> None:
    msg = call({"doc_id": "guide/every.md", "pattern": "zebra"})
    result = msg.artifact
    assert result.matches == 300 and result.more
    assert sum(len(w.lines) for w in result.windows) == MAX_LINES
    assert msg.content.splitlines()[-1].startswith("(more matches after line 60: fetch_doc")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"doc_id": "guide/long.md", "pattern": "   "}, "pattern is empty"),
        ({"doc_id": "guide/long.md", "pattern": "x" * 300}, "at most 200"),
        ({"cursor": 9, "pattern": "night"}, "Cursor 9 is unknown"),
        ({"doc_id": "nope.md", "pattern": "night"}, "No document 'nope.md'"),
        ({"doc_id": "https://example.com/x", "pattern": "night"}, "no URLs"),
    ],
)
def test_bad_calls_are_errors_the_model_can_fix(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ToolInputError, match=message):
        run_find(
            Settings(), CursorRegistry(), args["pattern"], args.get("cursor"), args.get("doc_id")
        )


def test_a_match_deep_in_a_long_line_is_shown_as_the_piece_around_it() -> None:
    msg = call({"doc_id": "guide/oneline.md", "pattern": "qvwm WINDOW"})
    (window,) = msg.artifact.windows
    at = ONE_LINE.index("Qvwm") - LINE_CHARS // 4
    assert window.lines == ["# One line", ONE_LINE[at : at + LINE_CHARS]]
    assert window.cuts == {2: (at, len(ONE_LINE) - at - LINE_CHARS)}
    assert "the Qvwm window manager" in msg.content
    assert f"start_line=2, char_offset={at + LINE_CHARS}]" in msg.content
    assert seen_documents([msg])[0].lines[2] == f"…{ONE_LINE[at : at + LINE_CHARS]}…"
