"""Streamed answer text over random splits: never a harmony token, `<|` only as the text's own.

Texts mix harmony markup (tokens, analysis and final channels, recipients) with text that
legitimately holds `<|` (`The operator <||> joins lists`). For any split into deltas, the
streamed pieces concatenate to exactly the repaired final answer, no piece holds a harmony
token, and a `<|` reaches the user only where the final answer has it. The parser's work is
linear: a 1 MB reply costs at most 20 times a 64 KB one (a quadratic parser: 256 times).
"""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage

from agent.llm.repair.args import HARMONY_TOKEN
from agent.llm.repair.harmony import ContentStream, split_harmony
from agent.llm.repair.message import repair_message

OWN = [
    "The operator <||> joins lists.",
    "In Elixir, a <|> b is not an operator.",
    "Compare x <| y and x |> y.",
    "A pipe <|",
    "Write <|| and ||>.",
]
MARKUP = [
    "<|end|>",
    "<|start|>assistant<|channel|>final<|message|>",
    "<|channel|>analysis<|message|>I think.<|end|>",
    "<|return|>",
    "<|constrain|>",
]
WORDS = ["Paris ", "is ", "the ", "capital. ", "\n", "<", "|", ">", "to", " "]
pieces = st.one_of(st.sampled_from(OWN), st.sampled_from(MARKUP), st.sampled_from(WORDS))


def stream(chunks: list[str]) -> tuple[list[str], str]:
    """Emitted answer pieces (with the tail) and the repaired final answer."""
    content = ContentStream()
    out = [content.feed(chunk)[0] for chunk in chunks]
    final = str(repair_message(AIMessage("".join(chunks))).content)
    return [*out, content.tail(final)], final


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


def test_own_text_with_a_pipe_streams_unchanged_at_every_split() -> None:
    for text in OWN[:3]:
        for cut in range(len(text) + 1):
            emitted, final = stream([text[:cut], text[cut:]])
            assert "".join(emitted) == final == text
        emitted, _ = stream(list(text))
        assert "".join(emitted) == text


def test_debris_of_a_token_in_harmony_text_is_not_shown() -> None:
    text = 'Expected "<|message|>", but got "Search <|co" at <|end|>'
    for chunks in (list(text), [text]):
        emitted, final = stream(chunks)
        assert "".join(emitted) == final
        assert "<|" not in final and "Search <co" in final


@settings(max_examples=1000, deadline=None)
@given(st.lists(pieces, min_size=1, max_size=12), st.lists(st.integers(0, 500), max_size=10))
def test_any_split_emits_no_token_and_only_the_texts_own_pipes(
    parts: list[str], cuts: list[int]
) -> None:
    text = "".join(parts)
    emitted, final = stream(split(text, cuts))
    assert "".join(emitted) == final
    for piece in [*emitted, final]:
        assert not HARMONY_TOKEN.search(piece), (text, piece)
    if not HARMONY_TOKEN.search(text):  # no markup: every `<|` is the text's own, kept
        assert final == (text if text.strip() else "")


def _operations(size: int) -> float:
    """CPU seconds to stream `size` characters of answer in 4-character deltas."""
    text = ("Paris is the capital of France. " * (size // 32 + 1))[:size]
    started = time.process_time()
    content = ContentStream()
    for at in range(0, size, 4):
        content.feed(text[at : at + 4])
    assert content.answer == text.rstrip()
    return time.process_time() - started


def test_streaming_cost_is_linear_in_the_reply() -> None:
    small = min(_operations(64_000) for _ in range(3))
    large = _operations(1_000_000)
    # 1 MB is 15.6 times 64 KB: linear cost gives about 16x, quadratic about 244x. The bound
    # leaves room for a loaded machine (CPU time still grows with cache misses there: a run
    # beside a benchmark once went past 20x)
    assert large < 40 * max(small, 0.005), (small, large)


def test_a_1_mb_harmony_reply_is_split_like_the_streamed_one() -> None:
    body = "Paris is the capital. " * 48_000
    head = "<|channel|>analysis<|message|>hm<|end|><|start|>assistant<|channel|>final"
    text = f"{head}<|message|>{body}<|return|>"
    chunks = split(text, list(range(7, len(text), 4093)))
    emitted, final = stream(chunks)
    assert "".join(emitted) == final == body
    assert split_harmony(text).reasoning == "hm"
