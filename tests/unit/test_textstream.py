"""Streaming a document: fragments tile the text, token counts come in bounded blocks."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.foundation import word_count
from tools.docplan import version_of
from tools.splitter import BLOCK_CHARS, PIECE_BYTES, split_document, split_stream
from tools.textstream import FRAGMENT_CHARS, file_fragments, text_fragments

BREAKS = st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", ""])


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.tuples(st.text(max_size=40), BREAKS), max_size=30))
def test_fragments_are_the_lines_of_str_splitlines(parts: list[tuple[str, str]]) -> None:
    text = "".join(a + b for a, b in parts)
    assert list(text_fragments(text)) == text.splitlines(keepends=True)


def test_a_one_line_file_streams_in_bounded_fragments(tmp_path: Path) -> None:
    text = ("word " * 300_000) + "\r\nlast"  # 1.5 MB without a line break, then one more line
    path = tmp_path / "one-line.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())  # with a BOM, which is dropped
    parts = list(file_fragments(path))
    assert "".join(parts) == text
    assert max(len(p) for p in parts) == FRAGMENT_CHARS
    assert parts[-1] == "last"


def test_tokens_are_counted_in_blocks_never_the_whole_text() -> None:
    calls: list[int] = []

    def count(texts: Sequence[str]) -> list[int]:
        calls.append(sum(len(t) for t in texts))
        return word_count(texts)

    text = "".join(f"line {i} " + "w " * (i % 50) + "\n" for i in range(40_000))  # ~2.5 MB
    pieces = list(split_stream(text_fragments(text), 200, count))
    assert "".join(p.text for p in pieces) == text
    assert len(calls) > 20
    assert max(calls) <= BLOCK_CHARS + FRAGMENT_CHARS


def test_blank_and_untokenized_runs_are_bounded_pieces() -> None:
    text = "\n" * 50_000 + "\x01" * 40_000 + "\u00e9" * 60_000 + "\nend\n"  # few tokens
    pieces = split_document(text, 200, word_count)
    assert "".join(p.text for p in pieces) == text
    assert max(len(p.text.encode()) for p in pieces) <= PIECE_BYTES


def test_streamed_hash_equals_the_hash_of_the_whole_text() -> None:
    text = "---\ntitle: Front\n---\n# Head\n\nbody é\r\n" * 500
    h = hashlib.sha256()
    for part in (text, "Front", "chunker=2:200"):
        h.update(part.encode())
        h.update(b"\x00")
    version = version_of(text_fragments(text), "fallback", 200)
    assert (version.title, version.doc_hash, version.blank) == ("Front", h.hexdigest()[:32], False)
