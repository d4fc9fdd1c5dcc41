"""The request a model turn sends: the current run whole, earlier exchanges fitted exactly."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent import prompts
from agent.llm.servers.harmony_tokens import count_request_tokens
from agent.nodes.history import HISTORY_SHARE, SUMMARY_ID, fit_history, split_exchanges
from agent.schemas import REASONING_KEY
from tests.support.fake_chat import call
from tests.support.long_thread import bird_doc
from tools.fetch import fetch_doc
from tools.search import milvus_search

TOOLS = [convert_to_openai_tool(t) for t in (milvus_search, fetch_doc)]
LIMIT = 24000


def exchange(i: int, lines: int = 60) -> list[BaseMessage]:
    """One finished exchange: question, a search with reasoning, a long result, the answer."""
    _, _, text = bird_doc(f"bird{i}", lines)
    return [
        HumanMessage(f"Question {i}: what does survey {i} record?", id=f"q{i}"),
        AIMessage(
            "",
            tool_calls=[call("milvus_search", f"s{i}", query=f"survey {i}")],
            additional_kwargs={REASONING_KEY: f"Search for survey {i}."},
            id=f"a{i}",
        ),
        ToolMessage("\n".join(text), tool_call_id=f"s{i}", name="milvus_search", id=f"t{i}"),
        AIMessage(f"Survey {i} records wingspans 【{i}†L2-L3】.", id=f"f{i}"),
    ]


def current_run(lines: int = 5) -> list[BaseMessage]:
    _, _, text = bird_doc("current", lines)
    return [
        HumanMessage("What does the current survey record?", id="qc"),
        AIMessage(
            "",
            tool_calls=[call("milvus_search", "sc", query="current survey")],
            additional_kwargs={REASONING_KEY: "Search for the current survey."},
            id="ac",
        ),
        ToolMessage("\n".join(text), tool_call_id="sc", name="milvus_search", id="tc"),
    ]


def thread(n: int, **run: Any) -> list[BaseMessage]:
    return [m for i in range(n) for m in exchange(i)] + current_run(**run)


def fit(messages: list[BaseMessage], limit: int = LIMIT) -> Any:
    return fit_history(prompts.SYSTEM_PROMPT, messages, TOOLS, "medium", limit)


def earlier_tokens(fitted: Any, current: list[BaseMessage]) -> int:
    """Tokens the earlier exchanges (and summary) add to the request, counted exactly."""
    alone = count_request_tokens([SystemMessage(prompts.SYSTEM_PROMPT), *current], TOOLS)
    return fitted.tokens - alone


def test_a_short_thread_is_sent_as_it_is() -> None:
    messages = thread(2)
    fitted = fit(messages)
    sent = fitted.messages[1:]
    assert [(m.id, m.text) for m in sent] == [(m.id, m.text) for m in messages]
    # reasoning goes only with the current run's tool calls (the earlier one was answered)
    assert [REASONING_KEY in m.additional_kwargs for m in sent] == [False] * 9 + [True, False]
    assert (fitted.full, fitted.brief, fitted.summarised, fitted.omitted) == (2, 0, 0, 0)
    assert fitted.tokens == count_request_tokens(
        [SystemMessage(prompts.SYSTEM_PROMPT), *messages], TOOLS
    )


@pytest.mark.parametrize("n", [5, 40, 300])
def test_a_long_thread_fits_its_share_of_the_budget_exactly(n: int) -> None:
    messages = thread(n)
    fitted = fit(messages)
    run = current_run()
    assert fitted.tokens == count_request_tokens(fitted.messages, TOOLS)  # exact, not estimated
    assert 0 < earlier_tokens(fitted, run) <= int(LIMIT * HISTORY_SHARE)
    assert fitted.messages[-3:] == run  # the current run whole, its reasoning included
    assert fitted.full + fitted.brief + fitted.summarised + fitted.omitted == n
    # newest exchanges are kept, in order; older ones only in the summary
    questions = [m.id for m in fitted.messages if isinstance(m, HumanMessage)]
    kept = fitted.full + fitted.brief
    assert questions[-kept - 1 :] == [*[f"q{i}" for i in range(n - kept, n)], "qc"]
    assert fitted.brief > 0  # one result costs more than the share: questions come first
    earlier = fitted.messages[1:-3]
    assert not any(REASONING_KEY in m.additional_kwargs for m in earlier)


def test_the_summary_names_the_newest_dropped_questions_and_counts_the_rest() -> None:
    fitted = fit(thread(300))
    summary = fitted.messages[1]
    assert summary.id == SUMMARY_ID and isinstance(summary, HumanMessage)
    oldest_kept = 300 - fitted.full - fitted.brief
    assert f"Question {oldest_kept - 1}: what does survey {oldest_kept - 1} record?" in summary.text
    assert f"Survey {oldest_kept - 1} records wingspans" in summary.text
    assert fitted.summarised > 0 and fitted.omitted > 0
    assert f"({fitted.omitted} earlier exchanges not shown.)" in summary.text
    assert "Question 0:" not in summary.text


def test_brief_exchanges_keep_the_question_and_answer_without_tool_traffic() -> None:
    fitted = fit(thread(40))
    briefs = [m for m in fitted.messages[1:-3] if m.id != SUMMARY_ID]
    assert not any(isinstance(m, ToolMessage) for m in briefs[: 2 * fitted.brief])
    assert all(not getattr(m, "tool_calls", None) for m in briefs[: 2 * fitted.brief])
    assert (briefs[0].id or "").startswith("q") and (briefs[1].id or "").startswith("f")


def test_a_large_current_run_leaves_less_room_so_the_request_still_fits() -> None:
    messages = thread(40, lines=700)  # the current run alone takes most of the budget
    fitted = fit(messages)
    run = current_run(lines=700)
    alone = count_request_tokens([SystemMessage(prompts.SYSTEM_PROMPT), *run], TOOLS)
    assert alone > LIMIT * (1 - HISTORY_SHARE)
    assert fitted.tokens <= LIMIT
    assert 0 < earlier_tokens(fitted, run) <= LIMIT - alone
    assert fitted.brief > 0


def test_a_current_run_over_the_budget_sends_no_history() -> None:
    fitted = fit(thread(10, lines=1200))
    assert fitted.messages[1].id == "qc"  # no summary, no earlier exchange
    assert fitted.tokens > LIMIT  # the run's budget then forbids tools (agent/nodes/budget.py)


def test_split_exchanges_cuts_before_each_question() -> None:
    earlier, current = split_exchanges(thread(3))
    assert [e[0].id for e in earlier] == ["q0", "q1", "q2"]
    assert [len(e) for e in earlier] == [4, 4, 4]
    assert current[0].id == "qc"
