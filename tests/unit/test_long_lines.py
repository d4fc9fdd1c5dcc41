"""Long lines are readable in full: fetch_doc in pieces (char_offset), find_in_doc around a match.

The tools run for real over a document held by a small in-memory store (the Milvus side is
tested in tests/integration/test_find_in_doc.py and test_tools.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent import documents
from agent.evidence.seen import joined, seen_documents
from agent.nodes.respond import respond
from agent.settings import Settings
from tests.support.fake_chat import call
from tools import fetch as fetch_module
from tools import find as find_module
from tools.artifacts import parse_artifact
from tools.cursors import CursorRegistry
from tools.errors import ResearchAgentError, ToolInputError
from tools.fetch import WINDOW_CHARS, run_fetch
from tools.find import MAX_CHARS, run_find
from tools.render import LINE_CHARS, render_find, render_search, render_window
from tools.schemas import MAX_LINES, Chunk, DocWindow, FindResult, SearchHit, SearchResult

SHORT = "A short first line."
MEDIUM = "".join(f"medium{i} " for i in range(400))[:3000]  # 3,000 characters
HUGE = "".join(f"w{i} " for i in range(12_000))[:50_000]  # 50,000 characters
NEEDLE_LINE = "x" * 20_000 + " the Linux Format magazine " + "y" * 20_000
DOCS = {
    "doc/medium.txt": f"{SHORT}\n{MEDIUM}\nLast line.\n",
    "doc/huge.txt": f"{HUGE}\nafter the huge line\n",
    "doc/needle.txt": f"intro\n{NEEDLE_LINE}\noutro\n",
    "doc/many.txt": "".join(f"{n:05d} " + "z" * 1000 + "\n" for n in range(300)),
}
CUT = re.compile(r"… \[(\d+) more characters on this line: fetch_doc cursor=(\d+), "
                 r"start_line=(\d+), char_offset=(\d+)\]$")  # fmt: skip


class FakeStore:
    """The part of ChunkStore that fetch_doc and find_in_doc read: one chunk per document."""

    def incomplete(self) -> set[str]:
        return set()

    def find_doc(self, name: str) -> str | None:
        return name if name in DOCS else None

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        text = DOCS.get(doc_id)
        if text is None:
            return []
        return [
            Chunk(
                id=f"{doc_id}-0",
                doc_id=doc_id,
                source=doc_id,
                title=doc_id,
                chunk_index=0,
                start_line=1,
                end_line=len(text.splitlines()),
                text=text,
            )
        ]


@pytest.fixture(autouse=True)
def store(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (fetch_module, find_module, documents):
        monkeypatch.setattr(module, "open_store", lambda settings: FakeStore())


def fetch(doc: str, start_line: int = 1, num_lines: int = 60, offset: int = 0) -> DocWindow:
    return run_fetch(Settings(), CursorRegistry(), None, doc, start_line, num_lines, offset)


def seen_line(*artifacts: DocWindow | FindResult, number: int) -> str:
    messages = [ToolMessage("", tool_call_id=f"c{i}", artifact=a) for i, a in enumerate(artifacts)]
    return seen_documents(messages)[0].lines[number]


def test_a_3000_character_line_is_shown_and_recorded_whole() -> None:
    win = fetch("doc/medium.txt")
    assert win.lines == [SHORT, MEDIUM, "Last line."] and win.cuts == {}
    assert f"L2: {MEDIUM}\nL3: Last line." in render_window(win)
    assert "more characters" not in render_window(win)
    assert seen_line(win, number=2) == MEDIUM


def test_a_50000_character_line_is_read_in_pieces_to_its_end() -> None:
    pieces, offset, windows = [], 0, []
    while True:
        win = fetch("doc/huge.txt", 1, 60, offset)
        windows.append(win)
        shown = render_window(win)
        assert sum(len(line) for line in win.lines) <= WINDOW_CHARS
        assert len(shown) < WINDOW_CHARS + 300  # the header and marks are short
        pieces.append(win.lines[0])
        mark = CUT.search(shown.splitlines()[1])
        if mark is None:
            break
        assert int(mark[1]) == len(HUGE) - offset - len(win.lines[0])
        assert (mark[2], mark[3]) == ("0", "1")
        offset = int(mark[4])
    assert "".join(pieces) == HUGE
    assert len(windows) == -(-len(HUGE) // WINDOW_CHARS)
    assert windows[-1].lines == [HUGE[offset:], "after the huge line"]  # the rest, then more
    assert windows[1].cuts == {1: (WINDOW_CHARS, len(HUGE) - 2 * WINDOW_CHARS)}
    assert (
        render_window(windows[1])
        .splitlines()[1]
        .startswith(
            f"L1: [… {WINDOW_CHARS} characters before] {HUGE[WINDOW_CHARS : WINDOW_CHARS + 20]}"
        )
    )
    # the evidence joins the pieces read: all of them are the whole line
    assert seen_line(*windows, number=1) == HUGE
    assert seen_line(windows[0], windows[2], number=1) == (
        f"{HUGE[:WINDOW_CHARS]}…{HUGE[2 * WINDOW_CHARS : 3 * WINDOW_CHARS]}…"
    )


def test_a_window_stops_before_a_line_that_does_not_fit() -> None:
    win = fetch("doc/many.txt", 1, MAX_LINES)
    assert len(win.lines) == WINDOW_CHARS // 1006 and win.cuts == {}
    assert render_window(win).endswith(f"start_line={len(win.lines) + 1})")


@pytest.mark.parametrize(
    ("line", "offset", "message"),
    [
        (1, -1, "char_offset must be 0 or more; got -1."),
        (1, 50_000, "char_offset 50000 is past the end of line 1: it has 50000 characters."),
        (2, 10**12, "past the end of line 2: it has 19 characters."),
    ],
)
def test_a_bad_char_offset_says_the_line_length(line: int, offset: int, message: str) -> None:
    with pytest.raises(ToolInputError, match=re.escape(message)) as error:
        fetch("doc/huge.txt", line, 60, offset)
    assert "\n" not in str(error.value) and len(str(error.value)) < 300


def test_the_api_turns_a_bad_offset_into_one_clear_error() -> None:
    with pytest.raises(ResearchAgentError, match="char_offset must be 0 or more"):
        documents.fetch("doc/huge.txt", 1, 60, Settings(), -5)


def test_huge_num_lines_over_long_lines_stays_within_budget() -> None:
    with pytest.raises(ToolInputError, match="num_lines must be between"):
        fetch("doc/many.txt", 1, 10**9)
    for start in (1, 150, 300):
        win = fetch("doc/many.txt", start, MAX_LINES)
        assert sum(len(line) for line in win.lines) <= WINDOW_CHARS


def test_find_shows_a_phrase_at_character_20000_of_a_line() -> None:
    registry = CursorRegistry()
    result = run_find(Settings(), registry, "linux  FORMAT", None, "doc/needle.txt")
    assert result.matches == 1
    [win] = result.windows
    start = NEEDLE_LINE.index("Linux Format") - LINE_CHARS // 4  # a quarter of lead-in
    assert win.lines == ["intro", NEEDLE_LINE[start : start + LINE_CHARS], "outro"]
    assert win.cuts == {2: (start, len(NEEDLE_LINE) - start - LINE_CHARS)}
    text = render_find(result)
    assert "Linux Format magazine" in text
    assert f"L2: [… {start} characters before] " in text
    assert f"char_offset={start + LINE_CHARS}]" in text
    seen = seen_line(result, number=2)
    assert seen == f"…{NEEDLE_LINE[start : start + LINE_CHARS]}…"


def test_find_bounds_the_characters_of_all_windows() -> None:
    result = run_find(Settings(), CursorRegistry(), "z", None, "doc/many.txt")
    shown = sum(len(line) for win in result.windows for line in win.lines)
    assert result.more and shown <= MAX_CHARS
    assert all(len(line) <= LINE_CHARS for win in result.windows for line in win.lines)


def test_an_old_window_without_the_new_fields_parses_renders_and_quotes_what_it_showed() -> None:
    old = {
        "cursor": 0,
        "doc_id": "d0",
        "source": "dump.txt",
        "title": "Dump",
        "start_line": 1,
        "end_line": 2,
        "total_lines": 2,
        "lines": [MEDIUM, SHORT],
    }
    win = parse_artifact(old)
    assert isinstance(win, DocWindow) and win.cuts == {} and win.clip_at == LINE_CHARS
    assert render_window(win).splitlines()[1] == (
        f"L1: {MEDIUM[:LINE_CHARS]}… [{len(MEDIUM) - LINE_CHARS} more characters on this line]"
    )
    quote = cited(win, old, "【0†L1-L2】")
    assert quote.citations[0].quote == f"{MEDIUM[:LINE_CHARS]}…\n{SHORT}"


def cited(win: DocWindow, artifact: object, citation: str) -> Any:
    """The answer of a run that fetched `win` (stored as `artifact`) and cited it so."""
    messages = [
        HumanMessage("q"),
        AIMessage("", tool_calls=[call("fetch_doc", "c1", cursor=0)]),
        ToolMessage(render_window(win), tool_call_id="c1", name="fetch_doc", artifact=artifact),
        AIMessage(f"It says {citation}."),
    ]
    state: Any = {"messages": messages, "tool_calls": 1, "turns": 2}
    return respond(state)["answer"]


def test_joined_pieces_mark_every_gap() -> None:
    assert joined([(0, "abc", 3)]) == "abc"
    assert joined([(2, "cd", 6), (0, "ab", 6)]) == "abcd…"
    assert joined([(0, "ab", 9), (4, "ef", 9), (1, "bcd", 9)]) == "abcdef…"
    assert joined([(3, "de", 5)]) == "…de"


def test_a_citation_of_a_cut_line_quotes_the_piece_shown() -> None:
    win = fetch("doc/huge.txt")
    answer = cited(win, win, "【0†L1-L1】")
    assert answer.citations[0].quote == HUGE[:WINDOW_CHARS] + "…"
    assert len(answer.model_dump_json()) < WINDOW_CHARS + 2_000


def test_a_search_snippets_hint_opens_the_whole_line() -> None:
    hit = SearchHit(
        cursor=0,
        doc_id="doc/medium.txt",
        source="doc/medium.txt",
        title="m",
        chunk_id="c",
        chunk_index=0,
        start_line=2,
        end_line=2,
        score=1.0,
        text=MEDIUM,
    )
    shown = render_search(SearchResult(query="q", k=1, hits=[hit]))
    hint = re.search(r"open with fetch_doc cursor=0, start_line=(\d+)\)$", shown)
    assert hint is not None and "more characters on this line]" in shown
    assert fetch("doc/medium.txt", int(hint[1])).lines[0] == MEDIUM


def test_a_line_seen_whole_once_stays_whole() -> None:
    def win(text: str, cuts: dict[int, tuple[int, int]]) -> DocWindow:
        return DocWindow(
            cursor=0, doc_id="d", source="s", title="t", start_line=1, end_line=1,
            total_lines=1, lines=[text], cuts=cuts, clip_at=WINDOW_CHARS,
        )  # fmt: skip

    piece, whole = win("bcd", {1: (1, 2)}), win("abcdef", {})
    assert seen_line(piece, number=1) == "…bcd…"
    assert seen_line(piece, whole, number=1) == "abcdef"
    assert seen_line(whole, piece, number=1) == "abcdef"


def test_control_characters_in_a_piece_are_neutralised() -> None:
    win = DocWindow(
        cursor=0, doc_id="d", source="s", title="t", start_line=1, end_line=1,
        total_lines=1, lines=["a\x1b]52;b\x9bc"], cuts={1: (5, 5)}, clip_at=WINDOW_CHARS,
    )  # fmt: skip
    line = render_window(win).splitlines()[1]
    assert line.startswith("L1: [… 5 characters before] a ]52;b c… [5 more characters")
    assert "\x1b" not in line and "\x9b" not in line
