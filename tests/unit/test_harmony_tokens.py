"""Exact token counts: our harmony rendering vs openai-harmony and a real llama.cpp server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent import prompts
from agent.llm.servers.harmony_tokens import count_request_tokens, count_segments, render_request
from tests.support import wire_path
from tests.support.harmony_reference import reference_count
from tools.fetch import fetch_doc
from tools.search import milvus_search

TOOLS = [convert_to_openai_tool(t) for t in (milvus_search, fetch_doc)]
TODAY = "2026-11-28"


@pytest.fixture(scope="module")
def vocab(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("o200k"))


def ours(messages: list[BaseMessage], tools: Any = TOOLS, effort: str = "medium") -> int:
    return count_segments(render_request(messages, tools, effort, today=TODAY))


def search(call_id: str, **args: Any) -> dict[str, Any]:
    return {"name": "milvus_search", "args": args, "id": call_id, "type": "tool_call"}


CONVERSATIONS: dict[str, list[BaseMessage]] = {
    "question only": [SystemMessage(prompts.SYSTEM_PROMPT), HumanMessage("What is HNSW?")],
    "tool loop with reasoning": [
        SystemMessage(prompts.SYSTEM_PROMPT),
        HumanMessage("Which index suits 100k vectors? <|end|> is plain text here"),
        AIMessage(
            "",
            tool_calls=[search("c1", query="index types", k=5)],
            additional_kwargs={"reasoning_content": "Search the docs first."},
        ),
        ToolMessage(
            "【0†Index types†docs/index.md】\nL1: HNSW is a graph index.", tool_call_id="c1"
        ),
        AIMessage(
            "Let me read it.",
            tool_calls=[{"name": "fetch_doc", "args": {"cursor": 0}, "id": "c2"}],
            additional_kwargs={"reasoning_content": "Open cursor 0."},
        ),
        ToolMessage("viewing lines [1 - 1] of 1\nL1: HNSW", tool_call_id="c2", name="fetch_doc"),
    ],
    "second question after an answer": [
        SystemMessage(prompts.SYSTEM_PROMPT),
        HumanMessage("Q1"),
        AIMessage(
            "", tool_calls=[search("c1", query="q1")], additional_kwargs={"reasoning_content": "x"}
        ),
        ToolMessage("nothing found", tool_call_id="c1"),
        AIMessage("Insufficient evidence: none.", additional_kwargs={"reasoning_content": "done"}),
        HumanMessage("Q2, in German: Größe?"),
    ],
}


@pytest.mark.parametrize("name", list(CONVERSATIONS))
@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_count_equals_openai_harmony(vocab: str, name: str, effort: str) -> None:
    messages = CONVERSATIONS[name]
    assert ours(messages, effort=effort) == reference_count(vocab, messages, TOOLS, effort, TODAY)


def test_without_tools_the_tool_lines_are_not_counted(vocab: str) -> None:
    messages = CONVERSATIONS["question only"]
    assert ours(messages, tools=()) == reference_count(vocab, messages, (), "medium", TODAY)
    assert ours(messages, tools=()) < ours(messages) - 300  # two tool definitions


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=40, deadline=None)
@given(
    question=texts,
    query=texts,
    result=texts,
    reasoning=texts,
    answer=texts,
    k=st.integers(1, 20),
)
def test_generated_conversations_count_exactly(
    vocab: str, question: str, query: str, result: str, reasoning: str, answer: str, k: int
) -> None:
    messages: list[BaseMessage] = [
        SystemMessage(prompts.SYSTEM_PROMPT),
        HumanMessage(question),
        AIMessage(
            "",
            tool_calls=[search("c1", query=query, k=k)],
            additional_kwargs={"reasoning_content": reasoning},
        ),
        ToolMessage(result, tool_call_id="c1"),
        AIMessage(answer),
        HumanMessage(question),
    ]
    assert ours(messages) == reference_count(vocab, messages, TOOLS, "medium", TODAY)


def _recorded_requests(path: Path) -> list[tuple[dict[str, Any], int]]:
    cassette = yaml.safe_load(path.read_text())
    pairs = []
    for interaction in cassette["interactions"]:
        usage = re.findall(r'"prompt_tokens":(\d+)', interaction["response"]["body"])
        pairs.append((json.loads(interaction["request"]["body"]), int(usage[-1])))
    return pairs


def _messages(request: dict[str, Any]) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for entry in request["messages"]:
        role = entry["role"]
        if role == "system":
            out.append(SystemMessage(entry["content"]))
        elif role == "user":
            out.append(HumanMessage(entry["content"]))
        elif role == "tool":
            out.append(ToolMessage(entry["content"], tool_call_id=entry["tool_call_id"]))
        else:
            calls = [
                {
                    "name": c["function"]["name"],
                    "args": json.loads(c["function"]["arguments"]),
                    "id": c["id"],
                }
                for c in entry.get("tool_calls") or []
            ]
            reasoning = {"reasoning_content": entry.get("reasoning_content", "")}
            out.append(
                AIMessage(entry.get("content") or "", tool_calls=calls, additional_kwargs=reasoning)
            )
    return out


@pytest.mark.parametrize(
    "cassette",
    [
        "TestOpenAICompatibleCommon__tool.yaml",
        "TestOpenAICompatibleCommon__tool_streaming.yaml",
        "TestOpenAICompatibleThinking__thinking.yaml",
        "TestOpenAICompatibleThinking__thinking-streaming.yaml",
    ],
)
def test_count_equals_prompt_tokens_a_real_llamacpp_server_reported(cassette: str) -> None:
    path = wire_path("cassettes", "fantasy_llamacpp", cassette)
    for request, prompt_tokens in _recorded_requests(path):
        tools = request.get("tools") or []
        assert count_request_tokens(_messages(request), tools) == prompt_tokens
