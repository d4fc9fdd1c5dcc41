from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import ToolMessage

from agent.evidence.citations import Marker, apply_citations, parse_markers
from agent.evidence.seen import SeenDoc, chunk_lines, seen_documents
from tools.schemas import DocWindow, SearchHit, SearchResult


def doc(cursor: int = 0, lines: range = range(1, 11)) -> SeenDoc:
    return SeenDoc(cursor, f"d{cursor}", f"s{cursor}.md", "T", {n: f"line {n}" for n in lines})


def test_parse_forms() -> None:
    text = "a 【3†L10-L15】 b 【4†L7】 c [5†L1–L2] d [6] e [link](http://x) f 【7†L9-L8】"
    assert [(m.cursor, m.first_line, m.last_line) for m in parse_markers(text)] == [
        (3, 10, 15),
        (4, 7, 7),
        (5, 1, 2),
        (6, None, None),
        (7, 8, 9),
    ]


def test_kept_citation_is_clipped_to_seen_lines_and_quoted_from_them() -> None:
    seen = {0: doc(lines=range(5, 9))}
    text, citations, dropped = apply_citations("Fact 【0†L1-L6】.", seen)
    assert (text, dropped) == ("Fact [1].", 0)
    assert (citations[0].start_line, citations[0].end_line, citations[0].quote) == (
        5,
        6,
        "line 5\nline 6",
    )


def test_unseen_cursor_and_unseen_lines_are_dropped_and_counted() -> None:
    seen = {0: doc()}
    text, citations, dropped = apply_citations("A 【0†L2-L3】 B 【9†L1-L2】 C 【0†L40-L50】.", seen)
    assert (text, dropped, len(citations)) == ("A [1] B C.", 2, 1)


def test_same_span_cited_twice_keeps_one_number_and_bare_cursor_uses_first_run() -> None:
    seen = {0: doc(lines=range(3, 6)), 1: doc(1)}
    text, citations, _ = apply_citations("x 【0†L3-L4】 y 【0†L3-L4】 z [1]", seen)
    assert text == "x [1] y [1] z [2]"
    assert [(c.cursor, c.start_line, c.end_line) for c in citations] == [(0, 3, 4), (1, 1, 10)]


def test_evidence_from_dict_artifacts_after_checkpoint_round_trip() -> None:
    hit = SearchHit(
        cursor=0,
        doc_id="a",
        source="a.md",
        title="A",
        chunk_id="a-0",
        chunk_index=0,
        start_line=4,
        end_line=5,
        score=1.0,
        text="four\nfive\n",
    )
    window = DocWindow(
        cursor=1,
        doc_id="b",
        source="b.md",
        title="B",
        start_line=2,
        end_line=3,
        total_lines=9,
        lines=["two", "three"],
    )
    messages = [
        ToolMessage(
            "", tool_call_id="1", artifact=SearchResult(query="q", k=5, hits=[hit]).model_dump()
        ),
        ToolMessage("", tool_call_id="2", artifact=window.model_dump()),
        ToolMessage("Error: x", tool_call_id="3", status="error", artifact={"cursor": 7}),
    ]
    seen = seen_documents(messages)
    assert {c: d.lines for c, d in seen.items()} == {
        0: {4: "four", 5: "five"},
        1: {2: "two", 3: "three"},
    }
    assert seen[1].fetched and not seen[0].fetched


def test_chunk_lines_ignores_one_trailing_newline() -> None:
    assert chunk_lines("a\nb\n", 3, 4) == {3: "a", 4: "b"}
    assert chunk_lines("a\n\nb", 1, 3) == {1: "a", 2: "", 3: "b"}


@given(
    seen_lines=st.sets(st.integers(1, 40), min_size=1, max_size=20),
    cited=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 45), st.integers(0, 5)), max_size=6),
)
def test_kept_citations_only_cover_seen_lines(
    seen_lines: set[int], cited: list[tuple[int, int, int]]
) -> None:
    seen = {0: SeenDoc(0, "d", "s", "t", {n: f"L{n}" for n in seen_lines})}
    text = " ".join(f"claim 【{c}†L{a}-L{a + span}】" for c, a, span in cited)
    _, citations, dropped = apply_citations(text, seen)
    kept_markers = [m for m in parse_markers(text) if isinstance(m, Marker)]
    assert len(kept_markers) == len(cited)
    for citation in citations:
        assert citation.cursor == 0
        assert citation.start_line in seen_lines and citation.end_line in seen_lines
        assert all(line.removeprefix("L").isdigit() for line in citation.quote.split("\n"))
    expected_drops = sum(
        1 for c, a, span in cited if c != 0 or not any(a <= n <= a + span for n in seen_lines)
    )
    assert dropped == expected_drops
