"""Token budgets, counted exactly: a question loop's `max_run_tokens`, a report's total."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent import prompts
from agent.llm.servers.harmony_tokens import count_request_tokens
from agent.reporting.budget import branch_share, section_allowance, writer_allowance
from agent.reporting.schemas import BranchResult, OutlineSection, Plan
from agent.reporting.write import write_section
from agent.settings import ReportContext
from tests.support.corpus import run as run_loop
from tests.support.fake_chat import call
from tests.support.fake_tools import FakeCorpus
from tests.unit.test_report_graph import Q1, Q2, TOPIC, WRITER, model, run

SEARCH = AIMessage("", tool_calls=[call("milvus_search", "c1", query="Zephyr")])
ANSWER = AIMessage("A quadcopter 【0†L2-L2】.")


def sizes(calls: list[tuple[list[BaseMessage], list[dict[str, Any]]]]) -> list[int]:
    """Each request recounted on its own, as a gpt-oss server renders it."""
    return [count_request_tokens(messages, tools, "medium") for messages, tools in calls]


def loop_sizes(model_calls: list[dict[str, Any]], corpus: FakeCorpus) -> list[int]:
    specs = [convert_to_openai_tool(t) for t in corpus.tools()]
    return sizes([(c["messages"], specs if c["tools"] else []) for c in model_calls])


def test_loop_run_tokens_are_the_exact_sum_of_its_requests() -> None:
    state, chat, corpus = run_loop([SEARCH, ANSWER])
    sent = loop_sizes(chat.calls, corpus)
    assert state["answer"].steps.run_tokens == sum(sent) == state["run_tokens"]
    assert len(sent) == 2 and state["answer"].status == "answered"


def test_loop_takes_tools_away_when_two_more_requests_would_not_fit() -> None:
    _, chat, corpus = run_loop([SEARCH, ANSWER])
    first = loop_sizes(chat.calls, corpus)[0]
    # room for the first request and a smaller answer turn, not for two first requests
    state, chat, corpus = run_loop([ANSWER], max_run_tokens=2 * first - 1)
    assert [c["tools"] is None for c in chat.calls] == [True]
    sent = loop_sizes(chat.calls, corpus)
    assert state["run_tokens"] == sent[0] <= 2 * first - 1
    assert state["budget_spent"] == f"{2 * first - 1} run tokens"
    assert state["answer"].status == "budget_exhausted"


def test_loop_sends_nothing_when_not_even_the_answer_turn_fits() -> None:
    state, chat, _ = run_loop([ANSWER], max_run_tokens=50)
    assert chat.calls == []
    answer = state["answer"]
    reason = "50 run tokens; no room left for the answer turn"
    assert answer.answer == prompts.NO_ANSWER_TURN.format(reason=reason)
    assert (answer.status, answer.steps.run_tokens, answer.steps.turns) == (
        "budget_exhausted",
        0,
        0,
    )


def test_a_total_too_small_for_every_branch_ends_budget_exhausted_with_exact_counts() -> None:
    chat = model(WRITER)
    report = run(chat, report_tokens=5000)
    by_route: dict[str, list[int]] = {}
    for (key, messages), tools in zip(chat.calls, chat.tools, strict=True):
        by_route.setdefault(key, []).append(sizes([(messages, tools)])[0])
    budget = report.budget
    assert budget.planning_tokens == sum(by_route[TOPIC])
    share = branch_share(5000, budget.planning_tokens, 2)
    assert budget.branch_share == share == (5000 - budget.planning_tokens) // 3
    # each branch: one search, then its answer turn; the second tools turn did not fit
    assert [chat.count(q) for q in (Q1, Q2)] == [2, 2]
    assert [b.tokens for b in report.branches] == [sum(by_route[Q1]), sum(by_route[Q2])]
    assert all(b.tokens <= b.token_budget == share for b in report.branches)
    assert [b.stopped_by for b in report.branches] == [f"{share} run tokens"] * 2
    writer = sum(by_route["Section: Maker"] + by_route["Section: Company"])
    assert budget.writer_tokens == writer
    assert budget.spent_tokens == sum(sum(v) for v in by_route.values()) <= 5000
    assert (budget.cut_branches, budget.cut_sections) == ([1, 2], [])
    assert report.status == "budget_exhausted"
    assert report.why == (
        f"token budget exhausted ({budget.spent_tokens} of 5000 tokens spent): branches 1, 2 "
        f"cut at their share of {share} tokens"
    )


def test_a_total_that_covers_every_branch_is_complete_and_the_writer_gets_the_rest() -> None:
    chat = model(WRITER)
    report = run(chat, report_tokens=20_000)
    budget = report.budget
    assert report.status == "complete" and budget.cut_branches == []
    assert [chat.count(q) for q in (Q1, Q2)] == [3, 3]
    assert budget.spent_tokens <= 20_000
    assert all(b.tokens <= b.token_budget for b in report.branches)


def test_a_section_that_does_not_fit_what_the_writer_has_left_is_cut() -> None:
    chat = model(WRITER)
    plan = Plan(title="The Zephyr drone", sub_questions=[Q1, Q2])
    section = OutlineSection(heading="Maker", covers=[1])
    settings = ReportContext().settings()
    draft = write_section(chat, settings, plan, section, ["Evidence"], allowance=100)
    assert draft.cut and draft.tokens == 0 and draft.text == ""
    assert draft.note == (
        "not written: its request does not fit the report's token budget left (100 tokens)"
    )
    assert chat.calls == []


def test_the_writer_gets_its_share_plus_what_the_branches_left() -> None:
    share = branch_share(10_000, 1_000, 2)
    assert share == 3_000  # (10,000 - 1,000) / (2 branches + the writer)
    spent = [
        BranchResult(index=0, question=Q1, token_budget=share, tokens=1_200),
        BranchResult(index=1, question=Q2, token_budget=share, tokens=3_000),
    ]
    assert writer_allowance(10_000, 1_000, spent) == 3_000 + 1_800
    assert [section_allowance(4_800, n) for n in (3, 2, 1)] == [1_600, 2_400, 4_800]
    assert branch_share(5_000, 6_000, 3) == 1  # planning spent it all: no request fits
