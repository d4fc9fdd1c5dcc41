"""What the model reads from the tools, and the Milvus filter literals built from user text."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.loaders import load_file
from tools.render import (
    LINE_CHARS,
    SNIPPET_CHARS,
    SNIPPET_LINES,
    clip_line,
    render_search,
    render_window,
)
from tools.schemas import DocWindow, SearchHit, SearchResult
from tools.store import milvus_literal, prefix_filter


def hit(cursor: int = 0, text: str = "alpha\nbeta\n", start: int = 10, **kw: object) -> SearchHit:
    fields: dict[str, object] = {
        "cursor": cursor,
        "doc_id": f"d{cursor}",
        "source": f"docs/d{cursor}.md",
        "title": f"Doc {cursor}",
        "chunk_id": f"c{cursor}",
        "chunk_index": 0,
        "start_line": start,
        "end_line": start + max(text.count("\n") - 1, 0),
        "score": 0.5,
        "text": text,
        "heading": "",
    }
    fields.update(kw)
    return SearchHit(**fields)  # type: ignore[arg-type]


# -- search -------------------------------------------------------------------------------
def test_search_exact_text() -> None:
    result = SearchResult(
        query="index types",
        k=5,
        source_prefix="docs/",
        mode="hybrid",
        hits=[hit(0, "alpha\nbeta\n", 10, heading="Guide > Index"), hit(3, "gamma\n", 7)],
    )
    assert render_search(result) == (
        "Search results for \"index types\" under 'docs/' (2 hits, hybrid):\n"
        "\n"
        "【0†Doc 0†docs/d0.md】 L10-L11\n"
        "section: Guide > Index\n"
        "L10: alpha\n"
        "L11: beta\n"
        "\n"
        "【3†Doc 3†docs/d3.md】 L7-L7\n"
        "L7: gamma"
    )


def test_search_counts_one_hit_in_the_singular() -> None:
    result = SearchResult(query="q", k=5, mode="dense", hits=[hit(0, "alpha\n", 1)])
    assert render_search(result).splitlines()[0] == 'Search results for "q" (1 hit, dense):'


def test_search_without_hits_says_what_to_do() -> None:
    text = render_search(SearchResult(query="zzz", k=5, source_prefix="a/", hits=[]))
    assert text == (
        "No results for \"zzz\" under 'a/'. Try other words, a broader query, "
        "or drop the source filter."
    )


def test_search_snippet_is_bounded_and_points_to_fetch_doc() -> None:
    body = "".join(f"line {i}\n" for i in range(20))
    text = render_search(SearchResult(query="q", k=1, hits=[hit(4, body, 100)]))
    numbered = [ln for ln in text.splitlines() if ln.startswith("L")]
    assert numbered == [f"L{100 + i}: line {i}" for i in range(SNIPPET_LINES)]
    assert text.splitlines()[-1] == "… (open with fetch_doc cursor=4, start_line=100)"


def test_search_long_line_is_clipped_with_a_marker() -> None:
    long = "w" * 1000
    text = render_search(SearchResult(query="q", k=1, hits=[hit(0, long + "\nnext\n", 5)]))
    lines = text.splitlines()
    first = next(ln for ln in lines if ln.startswith("L5: "))
    marker = f"… [{1000 - SNIPPET_CHARS} more characters on this line]"
    assert first == f"L5: {'w' * SNIPPET_CHARS}{marker}"
    assert not any(ln.startswith("L6: ") for ln in lines)  # the snippet budget is spent
    assert lines[-1] == "… (open with fetch_doc cursor=0, start_line=5)"


def test_control_characters_in_text_become_spaces() -> None:
    text = render_search(
        SearchResult(query="q", k=1, hits=[hit(0, "a\x1b[31mred\x00b\tc\x07\n", 1)])
    )
    assert "L1: a [31mred b\tc " in text.splitlines()
    assert "\x1b" not in text and "\x00" not in text and "\x07" not in text


# -- fetch window -------------------------------------------------------------------------
def window(**kw: object) -> DocWindow:
    fields: dict[str, object] = {
        "cursor": 2,
        "doc_id": "d2",
        "source": "docs/g.md",
        "title": "Guide",
        "start_line": 12,
        "end_line": 14,
        "total_lines": 40,
        "lines": ["x", "", "y\x1bz"],
    }
    fields.update(kw)
    return DocWindow(**fields)  # type: ignore[arg-type]


def test_window_exact_text_with_more_hint() -> None:
    assert render_window(window()) == (
        "【2†Guide†docs/g.md】 viewing lines [12 - 14] of 40\n"
        "L12: x\n"
        "L13: \n"
        "L14: y z\n"
        "(more: fetch_doc cursor=2, start_line=15)"
    )


def test_window_at_the_end_has_no_more_hint() -> None:
    text = render_window(window(start_line=38, end_line=40, lines=["a", "b", "c"]))
    assert text.splitlines() == [
        "【2†Guide†docs/g.md】 viewing lines [38 - 40] of 40",
        "L38: a",
        "L39: b",
        "L40: c",
    ]


def test_window_clips_long_lines() -> None:
    text = render_window(window(start_line=1, end_line=1, total_lines=1, lines=["q" * 1000]))
    assert text.splitlines()[1] == (
        f"L1: {'q' * LINE_CHARS}… [{1000 - LINE_CHARS} more characters on this line]"
    )


def test_clip_line_bounds() -> None:
    assert clip_line("abc", 3) == "abc"
    assert clip_line("abcd", 3) == "abc… [1 more characters on this line]"


def test_every_control_character_is_neutralised() -> None:
    controls = [chr(c) for c in range(0xA0) if unicodedata.category(chr(c)) == "Cc"]
    cleaned = clip_line("".join(c for c in controls if c != "\t"))
    assert all(unicodedata.category(ch) != "Cc" for ch in cleaned), repr(cleaned)


def test_header_stays_one_line_for_an_html_title_with_a_newline(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text("<html><head><title>Release\n  notes\x1b[2J</title></head><body>b</body>")
    doc = load_file(page, "p.html")
    assert "\n" in doc.title  # what the loader really produces
    one = hit(0, "b\n", 1, title=doc.title, source=doc.source)
    result = SearchResult(query="q", k=1, hits=[one])
    header = render_search(result).splitlines()[2]
    assert header.startswith("【0†Release") and header.endswith("】 L1-L1")
    win = render_window(window(title=doc.title, source=doc.source))
    assert win.splitlines()[0].endswith("viewing lines [12 - 14] of 40")
    assert "\x1b" not in render_search(result)


# -- filter literals ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("docs/", '"docs/"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ('x\\" or source != "', '"x\\\\\\" or source != \\""'),
        ("100%_x", '"100%_x"'),
        ("k == 1 or `", '"k == 1 or `"'),
        ("", '""'),
    ],
)
def test_milvus_literal_escapes(value: str, literal: str) -> None:
    assert milvus_literal(value) == literal


@pytest.mark.parametrize("bad", ["a\nb", "a\x00", "\r", "tab\tnot allowed", "\x1f"])
def test_milvus_literal_refuses_control_characters(bad: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        milvus_literal(bad)


def scan_literal(lit: str) -> tuple[str, int]:
    """Read a double-quoted literal as Milvus does: (decoded value, index of closing quote)."""
    assert lit[0] == '"'
    out, i = [], 1
    while i < len(lit):
        c = lit[i]
        if c == "\\":
            out.append(lit[i + 1])
            i += 2
        elif c == '"':
            return "".join(out), i
        else:
            out.append(c)
            i += 1
    raise AssertionError("unterminated literal")


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)).filter(lambda c: c >= " ")))
def test_literal_never_leaves_its_quotes(value: str) -> None:
    lit = milvus_literal(value)
    decoded, end = scan_literal(lit)
    assert end == len(lit) - 1
    assert decoded == value


def test_prefix_filter_is_a_range_not_a_like() -> None:
    assert prefix_filter('a"b%') == ('source >= "a\\"b%" and source < "a\\"b%\U0010ffff"')
    assert "like" not in prefix_filter("x%").lower()


def test_a_bare_half_of_a_control_token_is_defused_too() -> None:
    from agent.nodes.run_tools import neutralise

    assert (
        neutralise("args {'query': {'<|': 0}} and |> end")
        == "args {'query': {'< |': 0}} and | > end"
    )
    assert neutralise("<|end|>") == "<end>"
