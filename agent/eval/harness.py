"""The eval harness: run the agent (and optionally a single-shot baseline) over a QA dataset.

A dataset is JSONL: `question`, `answer`, `answer_aliases` (optional), `supporting_titles`
and `paragraphs` (`{title, text}`). The corpus is the union of all paragraphs of the file,
indexed into collection `eval_<hash>` of <data_dir>/eval/eval_<hash>.db (re-runs reuse it).
Evidence is judged by title. Every search, the agent's and the baseline's, returns exactly
`k` hits in the given mode, unless a schedule gives the agent's n-th search its own k.
Like agent.api, this public API module builds the graph itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.eval import metrics
from agent.eval.data import (
    EvalItem,
    Progress,
    corpus_docs,
    eval_settings,
    index_corpus,
    load_dataset,
)
from agent.eval.systems import SingleShot, search_tool
from agent.evidence.seen import artifacts
from agent.llm.servers.choose import select_chat_model
from agent.settings import Context, Settings
from graphs.research import build_graph
from tools.errors import ResearchAgentError
from tools.fetch import fetch_doc
from tools.find import find_in_doc
from tools.schemas import SearchResult
from tools.store import SearchMode

Baseline = Literal["single-shot"]


class RunMetrics(BaseModel):
    """One system's run on one question."""

    answer: str
    status: str
    evidence_recall: float
    all_gold: float
    citation_precision: float | None = Field(None, description="None when nothing was cited.")
    exact_match: float
    f1: float
    answer_contained: float
    tool_calls: int
    turns: int
    docs_seen: int
    seconds: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seen_titles: list[str]
    cited_titles: list[str]


def make_graphs(
    context: Context,
    k: int,
    mode: SearchMode,
    baseline: bool,
    schedule: Sequence[int] | None = None,
) -> tuple[Any, Any]:
    """The agent's graph and, when asked, the single-shot baseline's, over the eval tools.

    The agent's n-th search returns schedule[n] hits (the last repeats; default: k each);
    the baseline's one search returns k.
    """
    agent = build_graph(tools=[search_tool(schedule or k, mode), fetch_doc, find_in_doc])
    if not baseline:
        return agent, None
    tools = [search_tool(k, mode), fetch_doc, find_in_doc]
    return agent, build_graph(SingleShot(inner=select_chat_model(context)[0]), tools=tools)


def run_question(
    graph: Any, context: Context, question: str, golds: list[str], gold_titles: list[str]
) -> RunMetrics:
    """Run one question through a graph and score it."""
    t0 = time.perf_counter()
    state = graph.invoke({"question": question}, context=context)
    seconds = time.perf_counter() - t0
    seen: dict[str, None] = {}
    for item in artifacts(state["messages"]):
        titles = [h.title for h in item.hits] if isinstance(item, SearchResult) else [item.title]
        seen.update(dict.fromkeys(titles))
    answer = state["answer"]
    cited = list(dict.fromkeys(c.title for c in answer.citations))
    text = metrics.strip_citations(answer.answer)
    return RunMetrics(
        answer=answer.answer,
        status=answer.status,
        evidence_recall=metrics.evidence_recall(seen, gold_titles),
        all_gold=float(metrics.all_gold(seen, gold_titles)),
        citation_precision=metrics.citation_precision(cited, gold_titles),
        exact_match=metrics.exact_match(text, golds),
        f1=metrics.token_f1(text, golds),
        answer_contained=metrics.answer_contained(text, golds),
        tool_calls=answer.steps.tool_calls,
        turns=answer.steps.turns,
        docs_seen=len(seen),
        seconds=round(seconds, 4),
        prompt_tokens=answer.steps.prompt_tokens,
        completion_tokens=answer.steps.completion_tokens,
        seen_titles=list(seen),
        cited_titles=cited,
    )


class Aggregate(BaseModel):
    """Means over questions (citation_precision over those that cited anything)."""

    evidence_recall: float | None = None
    all_gold: float | None = None
    citation_precision: float | None = None
    exact_match: float | None = None
    f1: float | None = None
    answer_contained: float | None = None
    tool_calls: float | None = None
    turns: float | None = None
    docs_seen: float | None = Field(None, description="Distinct documents retrieved or read.")
    seconds: float | None = Field(None, description="Mean wall time per question.")
    prompt_tokens: float | None = None
    completion_tokens: float | None = None
    n: int = 0


class QuestionResult(BaseModel):
    """One question: gold data and what each system did."""

    id: str
    question: str
    answers: list[str]
    supporting_titles: list[str]
    agent: RunMetrics
    baseline: RunMetrics | None = None


class EvalReport(BaseModel):
    """What `evaluate` returns; `--json` writes it as is."""

    dataset: str
    collection: str
    k: int
    mode: str
    provider: str
    schedule: list[int] | None = Field(None, description="The agent's k per search, if not k.")
    paragraphs: int = Field(description="Distinct paragraphs (documents) in the corpus.")
    index_seconds: float
    interrupted: bool = False
    aggregate: Aggregate
    baseline: Aggregate | None = None
    questions: list[QuestionResult]


def aggregate(runs: Sequence[RunMetrics]) -> Aggregate:
    """Means of the per-question figures."""

    def avg(name: str) -> float | None:
        return metrics.mean(getattr(r, name) for r in runs)

    names = [n for n in Aggregate.model_fields if n != "n"]
    return Aggregate(**{n: avg(n) for n in names}, n=len(runs))


def iter_results(
    items: Sequence[EvalItem],
    context: Context,
    k: int,
    mode: SearchMode,
    baseline: Baseline | None,
    progress: Progress | None = None,
    schedule: Sequence[int] | None = None,
) -> Iterator[QuestionResult]:
    """Run every question (agent, then baseline) and yield its result as soon as it is done."""
    agent_graph, baseline_graph = make_graphs(context, k, mode, baseline is not None, schedule)
    for done, item in enumerate(items):
        if progress:
            progress("questions", done, len(items))
        golds = [item.answer, *item.answer_aliases]
        run = run_question(agent_graph, context, item.question, golds, item.supporting_titles)
        base = None
        if baseline_graph is not None:
            base = run_question(
                baseline_graph, context, item.question, golds, item.supporting_titles
            )
        yield QuestionResult(
            id=item.id,
            question=item.question,
            answers=golds,
            supporting_titles=item.supporting_titles,
            agent=run,
            baseline=base,
        )
    if progress:
        progress("questions", len(items), len(items))


def build_report(
    results: Sequence[QuestionResult], header: dict[str, Any], interrupted: bool = False
) -> EvalReport:
    """The report of the questions run so far."""
    base = [r.baseline for r in results if r.baseline is not None]
    return EvalReport(
        **header,
        interrupted=interrupted,
        aggregate=aggregate([r.agent for r in results]),
        baseline=aggregate(base) if base else None,
        questions=list(results),
    )


def prepare(
    dataset: str | Path,
    k: int,
    mode: SearchMode,
    provider: str,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> tuple[list[EvalItem], Context, dict[str, Any]]:
    """Load the dataset, index its corpus; returns the items, the run context and the header."""
    if not 1 <= k <= 20:
        raise ResearchAgentError(f"k must be between 1 and 20; got {k}.")
    path = Path(dataset)
    if not path.is_file():
        raise ResearchAgentError(f"No dataset file {path}. Give a JSONL file (see eval --help).")
    items = load_dataset(path)
    docs = corpus_docs(items)
    store_settings = eval_settings(path, settings or Settings())
    seconds = index_corpus(docs, store_settings, progress)
    context = Context(
        provider=provider,
        k=k,
        milvus_uri=store_settings.resolved_milvus_uri(),
        collection=store_settings.collection,
    )
    header = {
        "dataset": str(path),
        "collection": store_settings.collection,
        "k": k,
        "mode": mode,
        "provider": provider,
        "paragraphs": len(docs),
        "index_seconds": seconds,
    }
    return items, context, header


def evaluate(
    dataset: str | Path,
    limit: int | None = None,
    k: int = 5,
    mode: SearchMode = "hybrid",
    provider: str = "offline",
    baseline: Baseline | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
    schedule: Sequence[int] | None = None,
) -> EvalReport:
    """Evaluate the agent on a dataset.

    Args:
        dataset: A JSONL file in the format of ../shared/eval/*.jsonl.
        limit: Only the first N questions (the corpus is still the whole file's).
        k: Hits per search, for the agent and the baseline alike.
        mode: Search mode of every search: dense, bm25 or hybrid.
        provider: "offline" (the deterministic policy) or a gpt-oss server preset.
        baseline: "single-shot" also runs one search with the question and no loop.
        progress: Called with (phase, done, total).
        settings: Base settings (data folder, embedder, Milvus URI); default from environment.
        schedule: Hits of the agent's n-th search, e.g. (10, 5): a wide first search, then
            narrow ones (the last entry repeats); default: k for every search. The baseline
            searches with k.

    Returns:
        The report: aggregates, baseline aggregates and per-question results.

    Raises:
        tools.errors.ResearchAgentError: Bad dataset, store or model server; the message
            says what to do.
    """
    items, context, header = prepare(dataset, k, mode, provider, settings, progress)
    results = list(iter_results(items[:limit], context, k, mode, baseline, progress, schedule))
    if schedule:
        header["schedule"] = list(schedule)
    return build_report(results, header)
