"""The pure repairs of agent/llm/repair/message.py, on recorded output and on generated debris."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage

from agent.llm.repair.message import (
    ArgumentsError,
    RawCall,
    clean_tool_name,
    is_empty,
    parse_arguments,
    repair_message,
    split_harmony,
)
from agent.llm.wire.protocol import attach_reasoning
from tests.support import wire_path

TOOLS = ["milvus_search", "fetch_doc"]
SEARCH_HINT = 'Send a JSON object like {"query": "...", "k": 5}.'
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
TOKENS = st.sampled_from(
    ["<|channel|>", "<|constrain|>", "<|message|>", "<|end|>", "<|call|>", "<|start|>"]
)
DEBRIS = st.lists(
    st.one_of(TOKENS, st.sampled_from(["commentary", "analysis", "json", " ", "\u200b", "final"])),
    max_size=6,
).map("".join)


def issue(name: str) -> str:
    lines = wire_path("issues", name).read_text().splitlines()
    return "\n".join(line for line in lines if not line.startswith("#"))


def test_vllm_streamed_names_lose_channel_suffix() -> None:
    names = re.findall(
        r"'([^']+)'", issue("vllm_32587_streamed_toolnames_channel_commentary.partial.txt")
    )
    assert "query_dataset<|channel|>commentary" in names
    assert {clean_tool_name(n) for n in names} <= {
        "describe_datasets",
        "query_dataset",
    } | {"query_dataset"}
    assert clean_tool_name(names[1]) == "query_dataset"


@pytest.mark.parametrize(
    ("raw", "known", "clean"),
    [
        ("create_event<|channel|>analysis", (), "create_event"),  # ollama/ollama#12132
        ("functions.milvus_search", TOOLS, "milvus_search"),
        ("to=functions.fetch_doc<|channel|>commentary json", TOOLS, "fetch_doc"),
        (" to=functions.get_weather\u00a0\u200b\u200b\u00a0\u00a0\n\n\n\n", (), "get_weather"),
        ("Web Search", (), "Web_Search"),  # lmstudio-bug-tracker#876
        ("Milvus Search", TOOLS, "milvus_search"),
        ("milvus_search json", TOOLS, "milvus_search"),
        ("<|start|>assistant", (), "assistant"),
        ("python", TOOLS, "python"),  # unknown names are left to the graph
    ],
)
def test_clean_tool_name(raw: str, known: tuple[str, ...], clean: str) -> None:
    assert clean_tool_name(raw, known) == clean


@given(NAMES, DEBRIS)
def test_debris_after_a_name_is_removed(name: str, debris: str) -> None:
    assert clean_tool_name(f"{name}<|channel|>{debris}") == name
    assert clean_tool_name(f"functions.{name}<|channel|>{debris}", TOOLS) == name


@given(st.text(), DEBRIS)
def test_cleaned_names_never_hold_harmony_tokens(text: str, debris: str) -> None:
    assert "<|" not in clean_tool_name(debris + text + debris)


def test_lmstudio_raw_harmony_call_with_space_in_name() -> None:
    text = issue("lmstudio_876_toolcall_parse_error_space_in_name.txt").split("\n\n")[-1]
    parts = split_harmony(text)
    assert parts.content == ""
    assert parts.calls == (
        RawCall(
            "Web_Search",
            '{ "query": "\\"Fractal Design North XL\\"", "pageSize": 10, '
            '"safeSearch": "moderate" }',
        ),
    )


def test_raw_harmony_capture_splits_into_reasoning_and_call() -> None:
    parts = split_harmony(issue("raw_harmony_imp1719_toolcall_capture.txt"))
    assert parts.reasoning == 'We need to use the get_weather function. Provide city "Berlin".'
    assert parts.calls == (RawCall("get_weather", '{"city":"Berlin"}'),)
    assert parts.content.strip() == ""


@pytest.mark.parametrize(
    ("text", "content"),
    [
        ("<|channel|>final<|message|>The answer is 4.<|end|>", "The answer is 4."),
        ("<|start|>assistant<|channel|>final<|message|>Done.<|return|>", "Done."),
        ("Plain answer, no tokens.", "Plain answer, no tokens."),
        ("Answer<|end|>", "Answer"),
    ],
)
def test_harmony_tokens_are_stripped_from_answers(text: str, content: str) -> None:
    assert split_harmony(text).content == content
    assert split_harmony(text).calls == ()


@pytest.mark.parametrize(
    ("raw", "args"),
    [
        ('{"query": "milvus", "k": 5}', {"query": "milvus", "k": 5}),
        ('{"query": "milvus", "k": 5}<|call|>', {"query": "milvus", "k": 5}),
        ('{"query": "milvus"} trailing words', {"query": "milvus"}),
        ("{'query': 'milvus', 'source': None}", {"query": "milvus", "source": None}),
        ('{"query": "x", "exact": True, "k": 3,}', {"query": "x", "exact": True, "k": 3}),
        ('```json\n{"cursor": 1}\n```', {"cursor": 1}),
        ('"{\\"cursor\\": 2}"', {"cursor": 2}),
        ({"cursor": 3}, {"cursor": 3}),
        ("{'query': \"it's\"}", {"query": "it's"}),
    ],
)
def test_repairable_arguments(raw: Any, args: dict[str, Any]) -> None:
    assert parse_arguments(raw, "milvus_search") == args


@pytest.mark.parametrize(
    ("raw", "tool", "error"),
    [
        (
            '"{"fi',
            "milvus_search",  # continuedev/continue#7491
            "Arguments were not valid JSON: '\"{\"fi'. " + SEARCH_HINT,
        ),
        (
            "import sys, subprocess, json",
            "fetch_doc",  # odysseus#5877
            "Arguments were not valid JSON: 'import sys, subprocess, json'. "
            'Send a JSON object like {"cursor": 1, "start_line": 1, "num_lines": 40}.',
        ),
        (
            "",
            "milvus_search",
            "No arguments were sent. " + SEARCH_HINT,
        ),
        (
            "[1, 2]",
            "milvus_search",
            "Arguments must be a JSON object, not a list. " + SEARCH_HINT,
        ),
    ],
)
def test_unrepairable_arguments_say_how_to_fix_them(raw: str, tool: str, error: str) -> None:
    with pytest.raises(ArgumentsError) as exc:
        parse_arguments(raw, tool)
    assert str(exc.value) == error


SIMPLE = st.dictionaries(
    st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
    st.one_of(
        st.booleans(),
        st.none(),
        st.integers(-99, 99),
        st.from_regex(r"[A-Za-z0-9 ]{0,12}", fullmatch=True),
    ),
    max_size=4,
)


@given(SIMPLE)
def test_python_style_dicts_parse_to_the_same_values(args: dict[str, Any]) -> None:
    assert parse_arguments(str(args)) == args
    assert parse_arguments(str(args)[:-1] + ",}" if args else "{}") == args


@given(SIMPLE, st.text(max_size=20))
def test_trailing_garbage_after_an_object_is_ignored(args: dict[str, Any], tail: str) -> None:
    import json

    assert parse_arguments(json.dumps(args) + tail) == args


def test_llamacpp_recipient_leak_becomes_a_call_without_arguments() -> None:
    # ggml-org/llama.cpp#15181: content was " to=functions.get_weather" + NBSP/ZWSP junk.
    assert "to=functions.get_weather" in issue(
        "llamacpp_15181_content_leak_to_functions.partial.txt"
    )
    leaked = AIMessage(
        " to=functions.get_weather\u00a0\u200b\u200b\u00a0\u00a0\n\n\n\n", id="chatcmpl-MKw"
    )
    fixed = repair_message(leaked, TOOLS)
    assert fixed.content == "" and fixed.tool_calls == []
    assert [(c["name"], c["error"]) for c in fixed.invalid_tool_calls] == [
        ("get_weather", 'No arguments were sent. Send a JSON object like {"name": "value"}.')
    ]
    assert not is_empty(fixed)


def test_json_tool_call_in_content_becomes_a_tool_call() -> None:
    # The shape of Groq's failed_generation (groq_120b_tool_use_failed_400.json).
    message = AIMessage(
        '{"name": "milvus_search", "arguments": {"query": "hybrid search", "k": 3}}'
    )
    fixed = repair_message(message, TOOLS)
    assert fixed.content == ""
    assert [(c["name"], c["args"]) for c in fixed.tool_calls] == [
        ("milvus_search", {"query": "hybrid search", "k": 3})
    ]


def test_json_answer_that_is_not_a_call_stays_content() -> None:
    message = AIMessage('{"joke": "The only way \u2026"}')  # lmstudio-bug-tracker#1105
    assert repair_message(message, TOOLS) is message


def test_invalid_calls_are_repaired_or_explained_and_unknown_names_kept() -> None:
    message = AIMessage(
        "",
        tool_calls=[{"name": "fetch_doc<|channel|>commentary", "args": {"cursor": 1}, "id": "a"}],
        invalid_tool_calls=[
            {"name": "milvus_search", "args": "{'query': 'x', 'k': 2,}", "id": "b", "error": None},
            {"name": "browser.search", "args": "{", "id": "c", "error": None},
        ],
    )
    fixed = repair_message(message, TOOLS)
    assert [(c["name"], c["args"], c["id"]) for c in fixed.tool_calls] == [
        ("fetch_doc", {"cursor": 1}, "a"),
        ("milvus_search", {"query": "x", "k": 2}, "b"),
    ]
    assert [(c["name"], c["id"], c["error"]) for c in fixed.invalid_tool_calls] == [
        (
            "browser.search",
            "c",
            'Arguments were not valid JSON: \'{\'. Send a JSON object like {"name": "value"}.',
        )
    ]


def test_leaked_analysis_moves_to_reasoning() -> None:
    message = AIMessage(
        "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>Paris."
    )
    fixed = repair_message(message)
    assert fixed.content == "Paris."
    assert fixed.additional_kwargs == {"reasoning_content": "Think."}


def test_empty_turns_are_detected() -> None:
    assert is_empty(AIMessage(""))
    assert is_empty(AIMessage("\u200b \n"))
    assert not is_empty(AIMessage("", tool_calls=[{"name": "fetch_doc", "args": {}, "id": "1"}]))


def test_attach_reasoning_only_after_the_last_final_answer() -> None:
    history = [
        AIMessage(
            "",
            tool_calls=[{"name": "milvus_search", "args": {}, "id": "1"}],
            additional_kwargs={"reasoning_content": "old"},
        ),
        AIMessage("final", additional_kwargs={"reasoning_content": "answer"}),
        AIMessage(
            "",
            tool_calls=[{"name": "fetch_doc", "args": {}, "id": "2"}],
            additional_kwargs={"reasoning_content": "new"},
        ),
    ]
    wire: list[dict[str, Any]] = [{"role": "assistant", "reasoning": "stale"} for _ in history]
    attach_reasoning(history, wire, "reasoning")
    assert wire == [
        {"role": "assistant"},
        {"role": "assistant"},
        {"role": "assistant", "reasoning": "new"},
    ]


def test_arguments_nested_thousands_deep_are_a_tool_error_not_a_recursion_error() -> None:
    for text in ("[" * 100_000 + "]" * 100_000, '{"a": ' * 5000 + "1" + "}" * 5000):
        try:
            parse_arguments(text, "milvus_search")
        except ArgumentsError as exc:
            assert "nested more than 64 levels deep" in str(exc)
        else:
            raise AssertionError("deep arguments were accepted")
    calls = repair_message(AIMessage("[" * 50_000)).tool_calls
    assert calls == []
