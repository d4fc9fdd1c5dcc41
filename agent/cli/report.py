"""`research-agent report`: plan, research in parallel, write and verify a report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.cli.options import AsJson, RunFlags, run_flags
from agent.cli.research import prepared
from agent.reporting.schemas import Plan, Report, ReportEvent
from tools.errors import ResearchAgentError

Review = Annotated[
    bool, typer.Option("--review", help="Show the plan and accept, edit or reject it first.")
]
MaxBranches = Annotated[
    int | None, typer.Option("--max-branches", help="Sub-questions researched in parallel (2-8).")
]
ToolCalls = Annotated[
    int | None,
    typer.Option(
        "--report-tool-calls", help="Tool calls for the whole report, shared by branches."
    ),
]
Tokens = Annotated[
    int | None,
    typer.Option(
        "--report-tokens",
        help="Prompt tokens for the whole report (counted exactly), split among branches.",
    ),
]
Out = Annotated[
    Path | None, typer.Option("--out", help="Also write the report as Markdown to this file.")
]


def plan_lines(plan: Plan) -> list[str]:
    """The plan as printed: title, numbered sub-questions, sections."""
    lines = [f"plan: {plan.title}"]
    lines += [f"  {i}. {q}" for i, q in enumerate(plan.sub_questions, 1)]
    sections = ", ".join(f"{s.heading} {s.covers}" for s in plan.outline)
    return [*lines, f"  sections: {sections}"]


def edit_plan(plan: Plan) -> dict[str, Any]:
    """Edit the plan line by line: Enter keeps a line, `-` removes it, new lines are added."""
    typer.echo("edit: Enter keeps a line, '-' removes it; add sub-questions at the end.")
    title = typer.prompt("title", default=plan.title).strip()
    questions = []
    for number, question in enumerate(plan.sub_questions, 1):
        answer = typer.prompt(f"{number}", default=question).strip()
        if answer != "-":
            questions.append(answer)
    while True:
        added = typer.prompt("add (Enter to finish)", default="", show_default=False).strip()
        if not added:
            break
        questions.append(added)
    return {"action": "edit", "plan": {"title": title, "sub_questions": questions}}


def ask_review(plan: Plan, error: str) -> Any:
    """Ask in the terminal: accept, edit or reject the plan."""
    if error:
        typer.echo(f"the edit was not used: {error}", err=True)
    choice = typer.prompt("accept, edit or reject the plan? [a/e/r]", default="a").strip().lower()
    if choice.startswith("r"):
        reason = typer.prompt("why (optional)", default="", show_default=False).strip()
        return {"action": "reject", "reason": reason}
    if choice.startswith("e"):
        return edit_plan(plan)
    return {"action": "accept"}


def show_report(
    items: Iterator[ReportEvent | Report], options: dict[str, Any], as_json: bool, out: Path | None
) -> Report:
    """Print the plan, one line per branch event, then the report; answer reviews."""
    # lazy: the report graph, langgraph and pymilvus, kept out of `--help` (cold_start.py)
    from agent.report_api import resume_report_stream

    while True:
        waiting: ReportEvent | None = None
        for item in items:
            if isinstance(item, Report):
                return _print(item, as_json, out)
            if item.kind == "review":
                waiting = item
            else:
                _progress(item, err=as_json)
        if waiting is None or waiting.plan is None:
            raise ResearchAgentError("The report ended without a result; run `doctor`.")
        for line in plan_lines(waiting.plan):
            typer.echo(line, err=as_json)
        decision = ask_review(waiting.plan, waiting.text)
        items = resume_report_stream(waiting.thread_id, decision, **options)


def _progress(event: ReportEvent, err: bool) -> None:
    if event.kind == "plan" and event.plan is not None:
        for line in plan_lines(event.plan):
            typer.echo(line, err=err)
    elif event.kind == "section":
        typer.echo(f"written: {event.text}", err=err)
    elif event.index is not None:
        label = {"branch_start": "researching", "branch_step": "", "branch_done": "done:"}
        typer.echo(
            f"[{event.index + 1}] {label[event.kind]} {event.text}".replace("  ", " "), err=err
        )


def _print(report: Report, as_json: bool, out: Path | None) -> Report:
    if out is not None:
        out.write_text(report.markdown(), encoding="utf-8")
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return report
    typer.echo("")
    typer.echo(report.markdown())
    status = report.status + (f": {report.why}" if report.why else "")
    typer.echo(f"status: {status}; {report.dropped_claims} unverified sentences dropped")
    spent = report.budget
    typer.echo(
        f"spent: {spent.spent_tokens} of {spent.total_tokens} tokens, "
        f"{spent.tool_calls} of {spent.total_tool_calls} tool calls"
    )
    for note in report.notes:
        typer.echo(f"note: {note}")
    return report


@run_flags(without=("max_tool_calls",))  # a report's budget is --report-tool-calls
def report(
    topic: Annotated[str, typer.Argument(help="The topic of the report.")],
    *,
    review: Review = False,
    max_branches: MaxBranches = None,
    report_tool_calls: ToolCalls = None,
    report_tokens: Tokens = None,
    thread: Annotated[str | None, typer.Option("--thread", help="Keep it in a thread.")] = None,
    out: Out = None,
    flags: RunFlags,
    as_json: AsJson = False,
) -> None:
    """Research a topic: a plan of sub-questions, researched in parallel, a verified report."""
    # lazy: the report graph, langgraph and pymilvus, kept out of `--help` (cold_start.py)
    from agent.report_api import report_stream

    run, banner = prepared(flags, thread_id=thread)  # the model, chosen once for the report
    options: dict[str, Any] = {
        "run": run,
        "max_branches": max_branches,
        "report_tool_calls": report_tool_calls,
        "report_tokens": report_tokens,
    }
    if banner:
        typer.echo(banner.replace("this answer is", "this report is"), err=True)
    show_report(report_stream(topic, review=review, **options), options, as_json, out)


def resume_report(thread: str, options: dict[str, Any], as_json: bool) -> None:
    """Finish an interrupted report on a thread (`research-agent resume` dispatches here)."""
    # lazy: the report graph, langgraph and pymilvus, kept out of `--help` (cold_start.py)
    from agent.api import NothingToResumeError
    from agent.report_api import resume_report_stream

    rest = {k: v for k, v in options.items() if k != "thread_id"}
    items = resume_report_stream(thread, None, **rest)
    try:
        first = next(items)
    except NothingToResumeError as exc:
        if not exc.finished:
            raise
        typer.echo(str(exc))  # not an error: the report is complete
        return
    show_report(_chain(first, items), rest, as_json, None)


def _chain(
    first: ReportEvent | Report, rest: Iterator[ReportEvent | Report]
) -> Iterator[ReportEvent | Report]:
    yield first
    yield from rest


def register(app: typer.Typer) -> None:
    """Add the report command to the app."""
    app.command()(report)
