"""The eval harness: run the agent (and optionally a single-shot baseline) over a QA dataset.

A dataset is JSONL: `question`, `answer`, `answer_aliases` (optional), `supporting_titles`
and `paragraphs` (`{title, text}`). The corpus is the union of all paragraphs of the file,
indexed into collection `eval_<hash>` of <data_dir>/eval/eval_<hash>.db (re-runs reuse it).
Evidence is judged by title. Every search, the agent's and the baseline's, returns exactly
`k` hits in the given mode. Like agent.api, this public API module builds the graph itself.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, ValidationError

from agent import metrics
from agent.settings import Context, Settings
from tools.errors import ResearchAgentError
from tools.loaders import SourceDoc
from tools.store import SearchMode

Baseline = Literal["single-shot"]
Progress = Callable[[str, int, int], None]
"""Called with (phase, done, total): phase "index" counts chunks, "questions" questions."""


class Paragraph(BaseModel):
    """One paragraph of a question's context: a document of the corpus."""

    title: str
    text: str


class EvalItem(BaseModel):
    """One line of a dataset."""

    id: str = ""
    question: str
    answer: str
    answer_aliases: list[str] = Field(default_factory=list)
    supporting_titles: list[str]
    paragraphs: list[Paragraph]


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


def search_tool(hits: int, mode: SearchMode) -> BaseTool:
    """milvus_search as the product has it, but every call returns `hits` hits in `mode`."""
    from langchain_core.tools import StructuredTool

    from tools.context import settings_from_runtime
    from tools.cursors import CursorRegistry
    from tools.render import render_search
    from tools.search import SearchArgs, milvus_search, run_search

    def run(query: str, k: int = hits, source: str | None = None, state: Any = None) -> Any:
        # the model's k is ignored, so that the agent and the baseline compare at one k
        registry = CursorRegistry.from_messages((state or {}).get("messages", []))
        result = run_search(settings_from_runtime(), query, hits, source, registry, mode)
        return render_search(result), result

    return StructuredTool.from_function(
        run, name=milvus_search.name, description=milvus_search.description,
        args_schema=SearchArgs, response_format="content_and_artifact",
    )  # fmt: skip


class SingleShot(BaseChatModel):
    """The original recipe: one search with the question, then one answer without tools."""

    inner: BaseChatModel
    model_name: str = "single-shot"

    @property
    def _llm_type(self) -> str:
        return "single-shot"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        """Tools are bound only to know that the first turn may search."""
        return self.bind(tools_bound=True, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        tools_bound: bool = False,
        **kwargs: Any,
    ) -> ChatResult:
        start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        searched = any(isinstance(m, ToolMessage) for m in messages[start:])
        if tools_bound and not searched:
            query = messages[start].text
            call = {"name": "milvus_search", "args": {"query": query}, "id": "single_shot_0"}
            message: BaseMessage = AIMessage(content="", tool_calls=[call])
        else:
            message = self.inner.invoke(messages)
        return ChatResult(generations=[ChatGeneration(message=message)])


def make_graphs(context: Context, k: int, mode: SearchMode, baseline: bool) -> tuple[Any, Any]:
    """The agent's graph and, when asked, the single-shot baseline's, over the eval tools."""
    from graphs.research import build_graph
    from tools.fetch import fetch_doc

    tools = [search_tool(k, mode), fetch_doc]
    agent = build_graph(tools=tools)
    if not baseline:
        return agent, None
    from agent.models import select_chat_model

    return agent, build_graph(SingleShot(inner=select_chat_model(context)[0]), tools=tools)


def run_question(
    graph: Any, context: Context, question: str, golds: list[str], gold_titles: list[str]
) -> RunMetrics:
    """Run one question through a graph and score it."""
    from agent.evidence import artifacts
    from tools.schemas import SearchResult

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
        answer=answer.answer, status=answer.status,
        evidence_recall=metrics.evidence_recall(seen, gold_titles),
        all_gold=float(metrics.all_gold(seen, gold_titles)),
        citation_precision=metrics.citation_precision(cited, gold_titles),
        exact_match=metrics.exact_match(text, golds), f1=metrics.token_f1(text, golds),
        answer_contained=metrics.answer_contained(text, golds),
        tool_calls=answer.steps.tool_calls, turns=answer.steps.turns, docs_seen=len(seen),
        seconds=round(seconds, 4), prompt_tokens=answer.steps.prompt_tokens,
        completion_tokens=answer.steps.completion_tokens,
        seen_titles=list(seen), cited_titles=cited,
    )  # fmt: skip


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
    paragraphs: int = Field(description="Distinct paragraphs (documents) in the corpus.")
    index_seconds: float
    interrupted: bool = False
    aggregate: Aggregate
    baseline: Aggregate | None = None
    questions: list[QuestionResult]


def load_dataset(path: Path) -> list[EvalItem]:
    """Read a JSONL dataset; a malformed line is reported with its number."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = EvalItem.model_validate(json.loads(line))
        except (ValueError, ValidationError) as exc:
            raise ResearchAgentError(f"{path}:{number} is not a dataset line: {exc}") from exc
        items.append(item if item.id else item.model_copy(update={"id": str(number)}))
    return items


def _slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80] or "untitled"


def corpus_docs(items: Sequence[EvalItem]) -> list[SourceDoc]:
    """The paragraphs as documents, deduplicated on title + text, sources stable per file."""
    docs: dict[tuple[str, str], SourceDoc] = {}
    taken: set[str] = set()
    for item in items:
        for p in item.paragraphs:
            if (p.title, p.text) in docs:
                continue
            source = f"eval/{_slug(p.title)}"
            if source in taken:  # same title (or slug) with another text: keep both
                digest = hashlib.sha256(f"{p.title}\n{p.text}".encode()).hexdigest()[:8]
                source = f"{source}~{digest}"
            taken.add(source)
            docs[(p.title, p.text)] = SourceDoc(source, p.title, f"# {p.title}\n\n{p.text}\n")
    return list(docs.values())


def eval_settings(path: Path, base: Settings) -> Settings:
    """Settings for the dataset's own collection (name from content, embedder and chunking)."""
    h = hashlib.sha256(path.read_bytes())
    h.update(f"{base.embedder}:{base.embedding_model}:{base.chunk_tokens}".encode())
    name = f"eval_{h.hexdigest()[:8]}"
    # one Lite file per dataset: tools.store opens a Lite file once per process and collection
    uri = base.milvus_uri or str(base.data_dir / "eval" / f"{name}.db")
    return base.model_copy(update={"milvus_uri": uri, "collection": name})


def index_corpus(
    docs: Sequence[SourceDoc], settings: Settings, progress: Progress | None = None
) -> float:
    """Ingest the corpus (unchanged documents are skipped); returns the seconds it took."""
    from tools.embeddings import get_embedder
    from tools.ingest import ingest_documents
    from tools.store import open_store

    t0 = time.perf_counter()
    report = ingest_documents(
        open_store(settings),
        get_embedder(settings),
        docs,
        settings,
        (lambda done, total: progress("index", done, total)) if progress else None,
    )
    return report.seconds if report.chunks_written else round(time.perf_counter() - t0, 3)


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
) -> Iterator[QuestionResult]:
    """Run every question (agent, then baseline) and yield its result as soon as it is done."""
    agent_graph, baseline_graph = make_graphs(context, k, mode, baseline is not None)
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
    header = {"dataset": str(path), "collection": store_settings.collection, "k": k,
              "mode": mode, "provider": provider, "paragraphs": len(docs),
              "index_seconds": seconds}  # fmt: skip
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

    Returns:
        The report: aggregates, baseline aggregates and per-question results.

    Raises:
        tools.errors.ResearchAgentError: Bad dataset, store or model server; the message
            says what to do.
    """
    items, context, header = prepare(dataset, k, mode, provider, settings, progress)
    results = list(iter_results(items[:limit], context, k, mode, baseline, progress))
    return build_report(results, header)
