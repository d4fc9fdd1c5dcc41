"""The `eval` command: the agent against a QA dataset, optionally beside a single-shot baseline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from agent.settings import Settings
from tools.errors import ResearchAgentError

if TYPE_CHECKING:
    from agent.documents import SearchMode
    from agent.eval.harness import Aggregate, Baseline, EvalReport

ROWS = [
    ("evidence_recall", "evidence recall", "{:.3f}"),
    ("all_gold", "all gold retrieved", "{:.3f}"),
    ("citation_precision", "citation precision", "{:.3f}"),
    ("exact_match", "exact match", "{:.3f}"),
    ("f1", "token F1", "{:.3f}"),
    ("answer_contained", "answer in text", "{:.3f}"),
    ("tool_calls", "tool calls", "{:.2f}"),
    ("turns", "model turns", "{:.2f}"),
    ("docs_seen", "documents seen", "{:.2f}"),
    ("seconds", "seconds / question", "{:.3f}"),
    ("prompt_tokens", "prompt tokens", "{:.0f}"),
    ("completion_tokens", "completion tokens", "{:.0f}"),
]


def _cell(agg: Aggregate | None, key: str, fmt: str) -> str:
    value = getattr(agg, key) if agg is not None else None
    return "n/a" if value is None else fmt.format(value)


def markdown_table(report: EvalReport) -> str:
    """The aggregates as a markdown table: one row per metric, one column per system."""
    systems: list[tuple[str, Aggregate | None]] = [("agent", report.aggregate)]
    if report.baseline is not None:
        systems.insert(0, ("single-shot", report.baseline))
    head = f"| metric | {' | '.join(name for name, _ in systems)} |"
    rule = "|---|" + "---:|" * len(systems)
    body = [
        f"| {label} | {' | '.join(_cell(agg, key, fmt) for _, agg in systems)} |"
        for key, label, fmt in ROWS
    ]
    note = (
        f"{report.dataset}: {report.aggregate.n} questions, {report.paragraphs} paragraphs, "
        f"k={report.k}, mode={report.mode}, provider={report.provider}, "
        f"index {report.index_seconds:.1f} s" + (" (interrupted)" if report.interrupted else "")
    )
    return "\n".join([note, "", head, rule, *body])


def _finish(report: EvalReport, json_out: Path | None) -> None:
    typer.echo(markdown_table(report))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(report.model_dump_json(indent=2), encoding="utf-8")


def _opt(*names: str, help: str) -> Any:
    return typer.Option(*names, help=help)


def eval_command(
    dataset: Annotated[
        Path,
        _opt(
            "--dataset",
            help="JSONL: question, answer, answer_aliases, supporting_titles, paragraphs.",
        ),
    ],
    limit: Annotated[int | None, _opt("--limit", help="Only the first N questions.")] = None,
    k: Annotated[int, _opt("-k", "--k", help="Hits per search (agent and baseline).")] = 5,
    mode: Annotated[str, _opt("--mode", help="dense, bm25 or hybrid.")] = "hybrid",
    provider: Annotated[
        str, _opt("--provider", help="offline, or a gpt-oss server preset (vllm, ollama, ...).")
    ] = "offline",
    json_out: Annotated[Path | None, _opt("--json", help="Write the report here.")] = None,
    baseline: Annotated[
        str | None,
        _opt("--baseline", help="single-shot: also run one search with the question, no loop."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        _opt("--data-dir", help="Folder of the eval index (default: the settings' data folder)."),
    ] = None,
    schedule: Annotated[
        str | None,
        _opt(
            "--schedule",
            help="The agent's k per search, e.g. 10,5: first search 10 hits, later ones 5 "
            "(the baseline keeps --k).",
        ),
    ] = None,
) -> None:
    """Measure the agent on a QA dataset: evidence recall, citations, EM/F1, cost."""
    # lazy: rich's console and progress bar (+0.03 s), kept out of `--help` (cold_start.py)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    # lazy: the harness loads the graph and pymilvus (+1.1 s), kept out of `--help` (cold_start.py)
    from agent.eval.harness import build_report, iter_results, prepare

    if mode not in ("hybrid", "dense", "bm25"):
        raise ResearchAgentError(f"--mode must be dense, bm25 or hybrid, not '{mode}'.")
    if baseline not in (None, "single-shot"):
        raise ResearchAgentError(f"--baseline must be single-shot, not '{baseline}'.")
    ks = _schedule(schedule)
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    search_mode = cast("SearchMode", mode)
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    tasks: dict[str, Any] = {}
    results: list[Any] = []
    with Progress(
        "{task.description}", *columns, console=Console(stderr=True), transient=True
    ) as bar:

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                label = "indexing chunks" if phase == "index" else "questions"
                tasks[phase] = bar.add_task(label, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        items, context, header = prepare(dataset, k, search_mode, provider, settings, progress)
        shot: Baseline | None = "single-shot" if baseline else None
        runs = iter_results(items[:limit], context, k, search_mode, shot, progress, ks)
        if ks:
            header["schedule"] = ks
        try:
            for result in runs:
                results.append(result)
        except KeyboardInterrupt:
            bar.stop()
            _finish(build_report(results, header, interrupted=True), json_out)
            raise typer.Exit(130) from None
    _finish(build_report(results, header), json_out)


def _schedule(text: str | None) -> list[int] | None:
    """--schedule as a list of k values (a ResearchAgentError naming the flag otherwise)."""
    if text is None:
        return None
    try:
        ks = [int(part) for part in text.split(",")]
    except ValueError:
        ks = []
    if not ks or not all(1 <= k <= 20 for k in ks):
        raise ResearchAgentError(
            f"--schedule must be k values from 1 to 20 separated by commas, e.g. 10,5; "
            f"got {text!r}."
        )
    return ks


def register(app: typer.Typer) -> None:
    """Add the `eval` command to the app."""
    app.command("eval")(eval_command)
