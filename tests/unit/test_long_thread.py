"""Many questions on one thread: each one searches and answers; the thread keeps everything.

Without history trimming the whole thread was sent every turn, and from about the fourth
question on (with these reports) every run ended budget_exhausted without a tool call.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.memory import InMemorySaver

from agent import prompts
from agent.llm.servers.harmony_tokens import count_request_tokens
from agent.nodes.history import HISTORY_SHARE
from agent.offline.policy import OfflinePolicy
from agent.schemas import REASONING_KEY
from agent.settings import Context
from graphs.research import build_graph
from tests.support.fake_chat import FakeToolCallingModel, call
from tests.support.long_thread import bird_corpus, bird_question

LIMIT = Context().max_context_tokens


def ask_many(
    model: Any, questions: int, lines: int = 60
) -> tuple[list[tuple[str, int, int]], dict[str, Any]]:
    """Ask `questions` questions on one thread; (status, tool calls, request tokens) of each.

    Without trimming, runs end budget_exhausted from the 4th question on with 60-line
    reports, from the 8th with 20-line ones.
    """
    corpus = bird_corpus(lines)
    graph = build_graph(model, InMemorySaver(), tools=corpus.tools())
    config = {"configurable": {"thread_id": "long"}}
    runs = []
    state: dict[str, Any] = {}
    for index in range(questions):
        state = graph.invoke({"question": bird_question(index)}, config, context=Context())
        answer = state["answer"]
        runs.append((answer.status, answer.steps.tool_calls, state["context_tokens"]))
    return runs, state


def check(runs: list[tuple[str, int, int]], state: dict[str, Any]) -> None:
    statuses = [status for status, _, _ in runs]
    assert statuses == ["answered"] * len(runs), statuses
    assert all(calls >= 1 for _, calls, _ in runs)  # every question searched
    assert max(tokens for _, _, tokens in runs) < LIMIT
    questions = [m for m in state["messages"] if isinstance(m, HumanMessage)]
    assert [q.text for q in questions] == [bird_question(i) for i in range(len(runs))]


def test_twenty_offline_questions_on_one_thread_all_search_and_answer() -> None:
    runs, state = ask_many(OfflinePolicy(), 20)
    check(runs, state)


@pytest.mark.slow
def test_two_hundred_offline_questions_on_one_thread_all_search_and_answer() -> None:
    runs, state = ask_many(OfflinePolicy(), 200, lines=20)  # shorter reports: a faster test
    check(runs, state)


def scripted(questions: int) -> FakeToolCallingModel:
    """A search with reasoning, then an answer citing its first hit, for each question."""
    script: list[AIMessage] = []
    for index in range(questions):
        search = call("milvus_search", f"s{index}", query=bird_question(index))
        script.append(
            AIMessage("", tool_calls=[search], additional_kwargs={REASONING_KEY: f"think {index}"})
        )
        script.append(AIMessage("The survey records it 【0†L2-L2】."))
    return FakeToolCallingModel(script=script)


@pytest.mark.parametrize("questions", [pytest.param(200, marks=pytest.mark.slow), 24])
def test_scripted_model_on_a_long_thread_gets_fitted_requests(questions: int) -> None:
    model = scripted(questions)
    runs, state = ask_many(model, questions)
    check(runs, state)
    specs = [convert_to_openai_tool(t) for t in bird_corpus().tools()]
    room = int(LIMIT * HISTORY_SHARE)
    for index, sent in enumerate(model.calls):
        assert sent["tools"] is not None  # no turn lost its tools to the budget
        messages = sent["messages"]
        assert isinstance(messages[0], SystemMessage)
        assert count_request_tokens(messages, specs) < LIMIT
        start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        run = messages[start:]
        alone = count_request_tokens([messages[0], *run], specs)
        assert count_request_tokens(messages, specs) - alone <= room
        # reasoning only on this run's tool-call turn, never on earlier exchanges
        carrying = [i for i, m in enumerate(messages) if REASONING_KEY in m.additional_kwargs]
        assert carrying == ([start + 1] if index % 2 else [])
    assert prompts.SYSTEM_PROMPT == model.calls[-1]["messages"][0].text
