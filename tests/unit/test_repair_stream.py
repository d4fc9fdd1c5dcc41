"""Streamed turns are repaired chunk by chunk to exactly what the finished turn becomes.

Every recorded text (tests/fixtures/wire/gptoss) is replayed as recorded (SSE deltas) or
split at every character and at random points: the concatenated streamed answer equals the
repaired final answer, reasoning never leaks into it, and no harmony token is ever emitted
(nor any `<|`, unless the text holds one that opens no token, like `<||>`). Tool-call
malformations are generated from valid calls with hypothesis.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage

from agent.llm.repair.args import HARMONY_TOKEN, ArgumentsError, complete_json, parse_arguments
from agent.llm.repair.harmony import ContentStream
from agent.llm.repair.message import REPAIRS_KEY, repair_message
from tests.support import WIRE

SCHEMAS = {
    "milvus_search": {
        "type": "object",
        "properties": {"query": {"type": "string"}, "k": {"type": "integer"}},
        "required": ["query"],
    },
    "fetch_doc": {
        "type": "object",
        "properties": {
            "cursor": {"type": "integer"},
            "start_line": {"type": "integer"},
            "num_lines": {"type": "integer"},
        },
        "required": ["cursor"],
    },
}


def _deltas(text: str) -> list[str]:
    """Content deltas of an SSE chat-completions stream, in order."""
    out: list[str] = []
    for line in text.splitlines():
        if not line.startswith("data: {"):
            continue
        for choice in json.loads(line[6:]).get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if isinstance(content, str):
                out.append(content)
    return out


def _recorded() -> dict[str, list[str]]:
    """Every recorded content text, as the chunks it arrived in (one chunk when not streamed)."""
    cases: dict[str, list[str]] = {}
    for path in sorted((WIRE / "bodies").iterdir()) + sorted((WIRE / "issues").iterdir()):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".sse" and (deltas := _deltas(text)):
            cases[path.name] = deltas
            continue
        try:
            body = json.loads(text)
            content = body["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            content = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        if isinstance(content, str) and content:
            cases[path.name] = [content]
    for path in sorted((WIRE / "cassettes" / "pydantic_ai").glob("*.json")):
        for index, turn in enumerate(json.loads(path.read_text()).get("interactions") or []):
            raw = (turn.get("response") or {}).get("body_raw") or ""
            if deltas := _deltas(raw):
                cases[f"{path.name}#{index}"] = deltas
    return cases


CASES = _recorded()
HARMONY = [
    "<|channel|>analysis<|message|>Think about it.<|end|><|start|>assistant<|channel|>final"
    "<|message|>Paris is the capital.<|return|>",
    "Plain answer with <b>html</b> and a < sign.",
    "\u200b to=functions.milvus_search<|channel|>commentary json<|message|>"
    '{"query": "heron"}<|call|>',
    'I will search.\n```json\n{"name": "milvus_search", "arguments": {"query": "x"}}\n```',
    'Answer first.\n{"query": "kestrel", "k": 3}',
    "Use `code` and ```python\nprint(1)\n``` then more.",
]


def _replay(chunks: list[str]) -> tuple[str, list[str], AIMessage]:
    stream = ContentStream()
    pieces: list[str] = []
    for chunk in chunks:
        answer, reasoning = stream.feed(chunk)
        pieces += [answer, reasoning]
    final = repair_message(AIMessage("".join(chunks)), schemas=SCHEMAS)
    answer = stream.answer
    tail = stream.tail(str(final.content))
    return answer + tail, [*pieces, tail], final


def _check(chunks: list[str]) -> None:
    streamed, pieces, final = _replay(chunks)
    assert streamed == final.content
    assert not any(HARMONY_TOKEN.search(piece) for piece in pieces)
    if "<|" not in "".join(chunks).replace("<||>", ""):
        assert not any("<|" in piece for piece in pieces)
    reasoning = str(final.additional_kwargs.get("reasoning_content") or "")
    if len(reasoning) > 12:
        assert reasoning not in streamed


def test_the_recordings_are_found() -> None:
    assert len(CASES) >= 15 and any(len(c) > 5 for c in CASES.values())


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_recording_streams_to_its_repaired_answer(name: str) -> None:
    chunks = CASES[name]
    _check(chunks)  # as recorded
    text = "".join(chunks)
    _check(list(text))  # one character at a time


@pytest.mark.parametrize("text", HARMONY)
def test_harmony_and_json_calls_stream_to_their_repaired_answer(text: str) -> None:
    _check(list(text))
    _check([text])


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(CASES) + HARMONY), st.lists(st.integers(0, 10_000), max_size=12))
def test_any_split_of_a_recording_streams_the_same(case: str, cuts: list[int]) -> None:
    text = "".join(CASES[case]) if case in CASES else case
    points = sorted({c % (len(text) + 1) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    _check(chunks)


def test_a_partial_token_is_held_back_until_resolved() -> None:
    stream = ContentStream()
    assert stream.feed("The answer <") == ("The answer", "")
    assert stream.feed("|") == ("", "")
    assert stream.feed("end|>") == ("", "")
    assert stream.tail(str(repair_message(AIMessage(stream.raw)).content)) == " "


# A query holding `<|` may hold harmony markup (`<|x|>` is a token, `<|co` a token's debris),
# which the content parser removes by design wherever it stands; the tests below with `<|`
# in the text are in test_stream_splits.py.
QUERY = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda query: "<|" not in query)
VALID = st.fixed_dictionaries({"query": QUERY}, optional={"k": st.integers(1, 20)})


@given(VALID, st.integers(1, 3))
def test_arguments_missing_their_closing_characters_are_completed(
    args: dict[str, object], cut: int
) -> None:
    text = json.dumps(args)
    cut_text = text[:-1] if cut == 1 else text[:-2] if text.endswith('"}') else text[:-1]
    message = AIMessage(
        "",
        invalid_tool_calls=[{"name": "milvus_search", "args": cut_text, "id": "c", "error": None}],
    )
    fixed = repair_message(message, schemas=SCHEMAS)
    assert [(c["name"], c["args"]) for c in fixed.tool_calls] == [("milvus_search", args)]


@given(
    VALID,
    st.sampled_from(["<|channel|>commentary", "assistant<|channel|>analysis", "<|constrain|>json"]),
)
def test_a_debris_only_name_runs_the_one_tool_the_arguments_fit(
    args: dict[str, object], debris: str
) -> None:
    message = AIMessage(
        "", tool_calls=[{"name": debris, "args": args, "id": "c", "type": "tool_call"}]
    )
    fixed = repair_message(message, schemas=SCHEMAS)
    assert [(c["name"], c["args"]) for c in fixed.tool_calls] == [("milvus_search", args)]
    assert "milvus_search" in fixed.additional_kwargs[REPAIRS_KEY]["c"]


def test_arguments_that_fit_no_tool_or_two_keep_the_name_unknown() -> None:
    message = AIMessage(
        "",
        tool_calls=[{"name": "<|channel|>x", "args": {"zzz": 1}, "id": "c", "type": "tool_call"}],
    )
    fixed = repair_message(message, schemas=SCHEMAS)
    assert fixed.tool_calls[0]["name"] != "milvus_search"


@given(
    VALID, st.sampled_from(["", "Let me search.\n", "Searching the docs now:\n\n"]), st.booleans()
)
def test_a_json_call_after_prose_or_in_a_fence_becomes_a_call(
    args: dict[str, object], prose: str, fenced: bool
) -> None:
    call = json.dumps({"name": "milvus_search", "arguments": args})
    text = prose + (f"```json\n{call}\n```" if fenced else call)
    fixed = repair_message(AIMessage(text), schemas=SCHEMAS)
    assert [(c["name"], c["args"]) for c in fixed.tool_calls] == [("milvus_search", args)]
    assert fixed.content == prose.strip()
    _check(list(text))


def test_a_cut_that_does_not_fit_the_schema_is_a_tool_error() -> None:
    message = AIMessage(
        "",
        invalid_tool_calls=[
            {"name": "fetch_doc", "args": '{"start_line": 3', "id": "c", "error": None}
        ],
    )
    fixed = repair_message(message, schemas=SCHEMAS)
    assert fixed.tool_calls == [] and fixed.invalid_tool_calls[0]["error"]


@pytest.mark.parametrize(
    "text",
    ['{"cursor": 0, oops', '{"a": 1 "b": 2', '{"a": truex', '{"a": 1}}x', '{"a": [1, 2]]', "oops"],
)
def test_complete_json_refuses_garbage_that_is_no_cut(text: str) -> None:
    """parse_partial_json backs off past garbage ({"cursor": 0, oops -> {"cursor": 0})."""
    assert complete_json(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": tr', {}),
        ('{"a": 1, "b": fal', {"a": 1}),
        ('{"q": "cut', {"q": "cut"}),
        ('{"a": 1.', {"a": 1}),
        ('{"a": -', {}),
        ('{"a": 1, "ke', {"a": 1}),
        ('{"a": [1, {"b": 2', {"a": [1, {"b": 2}]}),
    ],
)
def test_complete_json_completes_every_kind_of_cut(text: str, value: object) -> None:
    assert complete_json(text) == (value or None)


def test_complete_json_closes_cuts_and_refuses_mismatched_brackets() -> None:
    assert complete_json('{"a": 1}}') is None
    assert complete_json('{"a": [1}') is None
    assert complete_json('{"a": [1, 2') == {"a": [1, 2]}
    assert complete_json('{"q": "x", "k"') == {"q": "x"}
    assert complete_json('{"q": "x", "k": ') == {"q": "x"}
    assert complete_json('{"q": "x", "flag": tr') == {"q": "x"}  # a cut literal is dropped
    assert complete_json('{"q": "a\\') == {"q": "a"}  # a cut escape is dropped
    assert complete_json('{"q": "tab\there') is None  # control characters stay invalid


def test_a_cut_argument_string_keeps_its_trailing_spaces() -> None:
    message = AIMessage(
        "",
        invalid_tool_calls=[
            {"name": "milvus_search", "args": '{"query": "two words ', "id": "c", "error": None}
        ],
    )
    fixed = repair_message(message, schemas=SCHEMAS)
    assert [c["args"] for c in fixed.tool_calls] == [{"query": "two words "}]


def test_fixture_folder_exists() -> None:
    assert Path(WIRE).is_dir()


@pytest.mark.timeout(10)  # the hand-written completion this replaced took 90 s here
def test_a_cut_string_of_control_characters_is_refused_not_backtracked() -> None:
    with pytest.raises(ArgumentsError):
        parse_arguments('{"query": "' + "\t" * 90_000, "milvus_search", SCHEMAS["milvus_search"])
