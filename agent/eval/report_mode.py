"""Report mode against the single question loop, on a multi-hop QA set, at one total budget.

Each question is run twice over the same index and the same eval tools (every search
returns exactly `k` hits): as a question (the loop: `max_tool_calls` = the tool budget,
`max_run_tokens` = the token budget) and as a report topic (`report_tool_calls` and
`report_tokens` = the same two totals, shared by the plan, the branches and the writer).
Tokens are prompt tokens counted exactly per request (agent/llm/servers/harmony_tokens.py),
also with the offline policy: the requests its turns receive are those a gpt-oss server
would get; its planner and writer send none. Scored per question:
evidence recall and all-gold over the documents each system retrieved or read, whether
the gold answer appears in the output, and unsupported sentences: claims left in the
output without a citation (the loop's answer), and claims the report's verifier removed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent import prompts
from agent.eval import metrics
from agent.eval.data import Progress
from agent.eval.harness import prepare
from agent.eval.systems import search_tool
from agent.evidence.seen import artifacts
from agent.reporting.verify import is_claim, split_sentences
from agent.settings import Context, ReportContext, Settings
from graphs.report import build_report_graph
from graphs.research import build_graph
from tools.fetch import fetch_doc
from tools.schemas import SearchResult
from tools.store import SearchMode

DISPLAY_CITATION = re.compile(r"\[\d+\]")
DEFAULT_TOKEN_BUDGET = 60_000
"""Prompt tokens per question for each system (about 12 turns of a 5k-token request)."""


class SystemScore(BaseModel):
    """One system on one question."""

    evidence_recall: float
    all_gold: float
    answer_contained: float
    tool_calls: int
    tokens: int
    unsupported_in_output: int
    removed_by_verifier: int
    seconds: float


class ModeComparison(BaseModel):
    """Means over the questions, per system."""

    dataset: str
    questions: int
    budget: int
    token_budget: int
    branches: int
    loop: dict[str, float]
    report: dict[str, float]


def uncited_claims(text: str) -> int:
    """Claims (sentences with enough words) that carry no [n] citation.

    The offline policy's header line (it says what produced the answer) is not a claim.
    """
    text = text.replace(prompts.OFFLINE_HEADER, "")
    return sum(
        1
        for line in text.splitlines()
        for sentence in split_sentences(line.strip().lstrip("-*+ "))
        if is_claim(sentence) and not DISPLAY_CITATION.search(sentence)
    )


def score_loop(graph: Any, context: Context, question: str, item: Any) -> SystemScore:
    """The question loop on one question."""
    t0 = time.perf_counter()
    state = graph.invoke({"question": question}, context=context)
    seen: dict[str, None] = {}
    for found in artifacts(state["messages"]):
        titles = [h.title for h in found.hits] if isinstance(found, SearchResult) else [found.title]
        seen.update(dict.fromkeys(titles))
    answer = state["answer"]
    golds = [item.answer, *item.answer_aliases]
    return SystemScore(
        evidence_recall=metrics.evidence_recall(seen, item.supporting_titles),
        all_gold=float(metrics.all_gold(seen, item.supporting_titles)),
        answer_contained=metrics.answer_contained(metrics.strip_citations(answer.answer), golds),
        tool_calls=answer.steps.tool_calls,
        tokens=answer.steps.run_tokens,
        unsupported_in_output=uncited_claims(answer.answer),
        removed_by_verifier=answer.dropped_citations,
        seconds=time.perf_counter() - t0,
    )


def score_report(graph: Any, context: ReportContext, question: str, item: Any) -> SystemScore:
    """The report graph with the question as its topic."""
    t0 = time.perf_counter()
    report = graph.invoke({"topic": question}, context=context)["report"]
    seen = dict.fromkeys(d.title for b in report.branches for d in b.read)
    text = "\n".join(s.text for s in report.sections)
    golds = [item.answer, *item.answer_aliases]
    calls = sum(b.answer.steps.tool_calls for b in report.branches if b.answer is not None)
    return SystemScore(
        evidence_recall=metrics.evidence_recall(seen, item.supporting_titles),
        all_gold=float(metrics.all_gold(seen, item.supporting_titles)),
        answer_contained=metrics.answer_contained(metrics.strip_citations(text), golds),
        tool_calls=calls + (1 if report.provider == "offline" else 0),  # the planner's search
        tokens=report.budget.spent_tokens,
        unsupported_in_output=uncited_claims(text),
        removed_by_verifier=report.dropped_claims,
        seconds=time.perf_counter() - t0,
    )


def _means(scores: Sequence[SystemScore]) -> dict[str, float]:
    names = list(SystemScore.model_fields)
    return {n: round(sum(getattr(s, n) for s in scores) / max(1, len(scores)), 4) for n in names}


def compare(
    dataset: str | Path,
    limit: int | None = None,
    budget: int = 12,
    branches: int = 3,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    k: int = 5,
    mode: SearchMode = "hybrid",
    provider: str = "offline",
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> ModeComparison:
    """Run both systems on the dataset's first `limit` questions at the same total budgets.

    `budget` is the tool calls and `token_budget` the prompt tokens each system may spend
    on one question, in all.
    """
    items, context, _ = prepare(dataset, k, mode, provider, settings, progress)
    tools = [search_tool(k, mode), fetch_doc]
    given = context.model_dump(exclude_unset=True)
    loop_context = Context(**given, max_tool_calls=budget, max_run_tokens=token_budget)
    report_context = ReportContext(
        **given,
        report_tool_calls=budget,
        report_tokens=token_budget,
        max_branches=branches,
    )
    loop_graph, report_graph = build_graph(tools=tools), build_report_graph(tools=tools)
    loops, reports = [], []
    chosen = items[:limit]
    for done, item in enumerate(chosen):
        if progress:
            progress("questions", done, len(chosen))
        loops.append(score_loop(loop_graph, loop_context, item.question, item))
        reports.append(score_report(report_graph, report_context, item.question, item))
    return ModeComparison(
        dataset=str(dataset),
        questions=len(chosen),
        budget=budget,
        token_budget=token_budget,
        branches=branches,
        loop=_means(loops),
        report=_means(reports),
    )
