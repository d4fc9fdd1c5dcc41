"""The splitter tiles a document exactly: pieces join back to it, spans are exact, headings cut."""

from __future__ import annotations

import bisect

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.foundation import shared_corpus, word_count
from tools.splitter import FENCE, Piece, fence_after, heading_of, split_document

WORD = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=12,
)
WORDS = st.lists(WORD, min_size=1, max_size=40).map(" ".join)


@st.composite
def heading_line(draw: st.DrawFn) -> str:
    indent = " " * draw(st.integers(0, 3))
    level = "#" * draw(st.integers(1, 6))
    title = draw(st.lists(WORD.filter(lambda w: not w.startswith("#")), min_size=1, max_size=5))
    return f"{indent}{level} {' '.join(title)}"


@st.composite
def fence_block(draw: st.DrawFn) -> list[str]:
    indent = " " * draw(st.integers(0, 3))
    body = draw(
        st.lists(
            st.one_of(
                st.integers(0, 999).map(lambda n: f"# fenced comment {n}"),
                st.integers(0, 999).map(lambda n: f"  ## fenced heading {n}"),
                WORDS,
                st.just(""),
            ),
            max_size=8,
        )
    )
    return [f"{indent}```python", *body, f"{indent}```"]


LINE_BLOCKS = st.one_of(
    heading_line().map(lambda h: [h]),
    WORDS.map(lambda w: [w]),
    st.just([""]),
    st.just(["   "]),
    fence_block(),
    st.integers(200, 3000).map(lambda n: ["x" * n]),  # very long, no spaces
    st.lists(WORD, min_size=60, max_size=200).map(lambda ws: [" ".join(ws)]),  # long, spaced
    st.text(min_size=1, max_size=80).map(lambda t: [t.replace("\r", "").replace("\n", "")]),
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines = [ln for block in draw(st.lists(LINE_BLOCKS, max_size=30)) for ln in block]
    style = draw(st.sampled_from(["\n", "\r\n", "mixed"]))
    out = []
    for line in lines:
        end = draw(st.sampled_from(["\n", "\r\n"])) if style == "mixed" else style
        out.append(line + end)
    text = "".join(out)
    if text and draw(st.booleans()):
        text = text.rstrip("\r\n")  # no final newline
    return text


def line_starts(text: str) -> list[int]:
    """Character offset where each line starts (lines as str.splitlines sees them, 0-based)."""
    starts, pos = [], 0
    for line in text.splitlines(keepends=True):
        starts.append(pos)
        pos += len(line)
    return starts


def line_at(starts: list[int], offset: int) -> int:
    """1-based number of the line holding character offset."""
    return bisect.bisect_right(starts, offset)


def headings_outside_fences(text: str) -> set[int]:
    """1-based numbers of the lines that are Markdown headings (not inside code fences).

    Written apart from the splitter's fence_after: CommonMark's rule, that a fence closes
    only with the same character, at least as many, and nothing after them.
    """
    found, open_mark = set(), ""
    for n, line in enumerate(text.splitlines(keepends=True), start=1):
        m = FENCE.match(line)
        mark, rest = (m.group(1), m.group(2)) if m else ("", "")
        if not open_mark and mark and not (mark[0] == "`" and "`" in rest):
            open_mark = mark
        elif open_mark and mark[:1] == open_mark[0] and len(mark) >= len(open_mark):
            open_mark = "" if not rest.strip() else open_mark
        elif not open_mark and heading_of(line):
            found.add(n)
    return found


def check_tiling(text: str, pieces: list[Piece]) -> None:
    """Pieces join to the text, and every span is the exact line range the piece occupies."""
    assert "".join(p.text for p in pieces) == text
    assert all(p.text for p in pieces)
    starts = line_starts(text)
    offset = 0
    prev: Piece | None = None
    for piece in pieces:
        assert piece.start_line == line_at(starts, offset), piece
        assert piece.end_line == line_at(starts, offset + len(piece.text) - 1), piece
        assert piece.start_line <= piece.end_line
        if prev is not None:
            ended_mid_line = offset not in starts
            expected = prev.end_line if ended_mid_line else prev.end_line + 1
            assert piece.start_line == expected, (prev, piece)
        offset += len(piece.text)
        prev = piece


def check_headings_cut(text: str, pieces: list[Piece]) -> None:
    """A heading starts a piece unless everything before it in the piece is headings or blank."""
    heads = headings_outside_fences(text)
    lines = text.splitlines()
    for piece in pieces:
        for n in range(piece.start_line + 1, piece.end_line + 1):
            if n in heads:
                before = range(piece.start_line, n)
                assert all(m in heads or not lines[m - 1].strip() for m in before), (n, piece)
    # '#' lines inside code fences never become section titles
    assert not any("fenced" in p.heading for p in pieces)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=documents(), max_tokens=st.integers(3, 40))
# found by hypothesis: a ``` block inside a ~~~ fence made its '#' line a section title
@example(text="~~~ 0 0 0\n```python\n# fenced comment 0\n```\n", max_tokens=3)
def test_pieces_tile_the_document_exactly(text: str, max_tokens: int) -> None:
    pieces = split_document(text, max_tokens, word_count)
    check_tiling(text, pieces)
    check_headings_cut(text, pieces)
    for piece in pieces:
        # with whitespace words as tokens every over-long line can be cut to fit
        assert word_count([piece.text])[0] <= max_tokens, piece


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=400), max_tokens=st.integers(1, 10))
def test_arbitrary_unicode_round_trips(text: str, max_tokens: int) -> None:
    """Any text at all, with every kind of line break str.splitlines knows."""
    pieces = split_document(text, max_tokens, word_count)
    check_tiling(text, pieces)


def test_heading_path_and_new_piece_per_section() -> None:
    text = (
        "intro line\n"
        "  # Title\r\n"
        "body one\r\n"
        "\n"
        "   ## Part A\n"
        "```\n"
        "# not a heading\n"
        "```\n"
        "text a\n"
        "    ## four spaces is code, not a heading\n"
        "## Part B\n"
        "text b"
    )
    pieces = split_document(text, 50, word_count)
    assert [(p.start_line, p.end_line, p.heading) for p in pieces] == [
        (1, 1, ""),
        (2, 4, "Title"),
        (5, 10, "Title > Part A"),
        (11, 12, "Title > Part B"),
    ]
    assert "".join(p.text for p in pieces) == text


def test_headings_only_prefix_stays_with_its_first_section() -> None:
    text = "# Top\n\n## Sub\n\nbody\n## Next\nmore\n"
    pieces = split_document(text, 50, word_count)
    assert [(p.start_line, p.end_line) for p in pieces] == [(1, 5), (6, 7)]
    assert pieces[1].heading == "Top > Next"


def test_piece_after_a_heading_only_prefix_is_labelled_with_its_section() -> None:
    text = "# Operational FAQ\n\n#### Docker pull fails?\n\nUse a mirror.\n#### Next?\nyes\n"
    pieces = split_document(text, 50, word_count)
    assert pieces[0].heading == "Operational FAQ > Docker pull fails?"


def test_long_section_breaks_at_a_blank_line_within_budget() -> None:
    para = "w " * 6
    text = f"# H\n{para}\n{para}\n\n{para}\n{para}\n"
    pieces = split_document(text, 14, word_count)
    check_tiling(text, pieces)
    assert [(p.start_line, p.end_line) for p in pieces] == [(1, 4), (5, 6)]
    assert all(word_count([p.text])[0] <= 14 for p in pieces)


def test_line_without_spaces_is_cut_and_still_tiles() -> None:
    counter = lambda texts: [len(t) // 10 for t in texts]  # noqa: E731 - 1 token per 10 chars
    text = "a\n" + "y" * 1000 + "\nb\n"
    pieces = split_document(text, 20, counter)
    check_tiling(text, pieces)
    assert len(pieces) > 3
    assert all(counter([p.text])[0] <= 20 for p in pieces)


def test_fragments_of_a_long_line_respect_the_budget() -> None:
    # Short words first, long words last: equal-width parts hold unequal token counts.
    line = "a " * 30 + " ".join(["z" * 40] * 6)
    pieces = split_document(line + "\n", 10, word_count)
    check_tiling(line + "\n", pieces)
    assert max(word_count([p.text])[0] for p in pieces) <= 10


@pytest.mark.shared
def test_real_tokenizer_on_indented_headings() -> None:
    from agent.settings import Settings
    from tools.embeddings import get_embedder

    path = shared_corpus("milvus_faq") / "troubleshooting.md"
    text = path.read_text(encoding="utf-8")
    embedder = get_embedder(Settings())
    pieces = split_document(text, 200, embedder.count_tokens)
    check_tiling(text, pieces)
    check_headings_cut(text, pieces)
    assert max(embedder.count_tokens([p.text for p in pieces])) <= 200
    heads = headings_outside_fences(text)
    # the indented `  ## Boot issues` etc. are headings; the `  # delete the pvc` in a fence is not
    lines = text.splitlines()
    boot = next(n for n, ln in enumerate(lines, 1) if ln.strip() == "## Boot issues")
    pvc = next(n for n, ln in enumerate(lines, 1) if "# delete the pvc" in ln)
    assert boot in heads and pvc not in heads
    boot_piece = next(p for p in pieces if p.start_line == boot)
    assert boot_piece.heading == "Troubleshooting > Boot issues"
    assert not any("delete the pvc" in p.heading for p in pieces)
    headings = {p.heading for p in pieces}
    assert "Troubleshooting > etcd crash issues > 2. etcd pod crash" in headings


def test_a_title_is_never_left_alone_before_a_long_paragraph() -> None:
    # HotpotQA-shaped documents: a title, then one paragraph longer than the budget.
    for words in (45, 60, 120):
        text = "# Maha Sona\n\n" + " ".join(["yaka"] * words) + "\n"
        pieces = split_document(text, 50, word_count)
        check_tiling(text, pieces)
        assert pieces[0].text.startswith("# Maha Sona\n\nyaka"), [p.text[:30] for p in pieces]
        assert all(word_count([p.text])[0] <= 50 for p in pieces)


@pytest.mark.parametrize(
    ("lines", "open_after"),
    [
        (["```py", "# code", "```"], [True, True, False]),
        (["~~~", "```", "# code", "```", "~~~"], [True, True, True, True, False]),
        (["````", "```", "````"], [True, True, False]),
        (["```", "``` not a close", "```"], [True, True, False]),
        (["``` a`b", "# title"], [False, False]),  # a backtick in the info string: no fence
        (["   ~~~", "    ~~~"], [True, True]),  # four spaces: code, not a closing fence
    ],
)
def test_a_fence_closes_only_with_its_own_marker(lines: list[str], open_after: list[bool]) -> None:
    mark: str | None = None
    seen = []
    for line in lines:
        mark = fence_after(mark, line)
        seen.append(mark is not None)
    assert seen == open_after


def test_a_backtick_block_inside_a_tilde_fence_gives_no_title() -> None:
    text = "~~~\n```python\n# not a title\n```\n~~~\n# Title\nbody\n"
    pieces = split_document(text, 400, word_count)
    assert {p.heading for p in pieces} <= {"", "Title"}
    assert pieces[-1].heading == "Title"
