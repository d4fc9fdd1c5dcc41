"""CLI commands for the agent (chat lives in agent.cli.chat): ask, resume."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli import stopping
from agent.cli.errors import Interrupted
from agent.cli.options import AsJson, RunFlags, run_flags
from agent.cli.render import print_answer
from agent.schemas import Answer, ModelChoice, StepEvent
from tools.errors import ResearchAgentError
from tools.terminal import safe, safe_json, safe_line

if TYPE_CHECKING:
    from agent.runs import Run

Reasoning = Annotated[
    bool, typer.Option("--show-reasoning", help="Also print the reasoning (dimmed), as it comes.")
]
NoStream = Annotated[
    bool,
    typer.Option(
        "--no-stream", help="Ask for whole turns instead of tokens (servers that cannot stream)."
    ),
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print the answer alone: no steps, sources or notes.")
]
NoWait = Annotated[
    bool,
    typer.Option(
        "--no-wait", help="If another run (any process) is using the thread, fail at once."
    ),
]
OFFLINE_BANNER = (
    "offline policy ({why}): this answer is extracted from your documents, not written by gpt-oss."
)


def banner(choice: ModelChoice | None) -> str | None:
    """The line that leads a run's output: said only when the offline policy answers."""
    if choice is None or not choice.offline:
        return None
    return OFFLINE_BANNER.format(why=choice.reason)


def prepared(flags: RunFlags, **extra: Any) -> tuple[Run, str | None]:
    """The run of these flags (and thread_id, wait), its model chosen once, and its banner.

    The flags are validated (with the environment and .env) before anything runs, and the
    model is chosen here, once, so the banner can lead the output; the run reuses it.

    Raises:
        ConfigError: A flag or setting has a value that is not allowed (exit 2).
        ModelServerError: A configured model server cannot be used.
    """
    # lazy: the chat model pulls in langchain, kept out of `--help` (benchmarks/cold_start.py)
    from agent.runs import prepare

    run = prepare(**flags, **extra)
    return run, banner(run.choice)


class _Printer:
    """Prints a run as it happens: tokens inline, steps one per line, reasoning dimmed."""

    def __init__(self, show_reasoning: bool, err: bool) -> None:
        self.show_reasoning = show_reasoning
        self.err = err
        self.mode = ""  # "answer" or "reasoning" while tokens of that kind are printed
        self.answer = ""  # answer text streamed since the last step
        self.streamed_reasoning = False  # this turn's reasoning was printed as tokens

    def _end_line(self) -> None:
        if self.mode:
            typer.echo("", err=self.err)
        self.mode = ""

    def event(self, event: StepEvent) -> None:
        if event.kind == "answer_token":
            if self.mode != "answer":
                self._end_line()
                typer.echo("", err=self.err)
                self.mode = "answer"
            self.answer += event.result
            typer.echo(safe(event.result), nl=False, err=self.err)
            return
        if event.kind == "reasoning_token":
            if self.show_reasoning:
                if self.mode != "reasoning":
                    self._end_line()
                    typer.secho("  reasoning: ", dim=True, nl=False, err=self.err)
                    self.mode = "reasoning"
                typer.secho(safe(event.result), dim=True, nl=False, err=self.err)
            self.streamed_reasoning = True
            return
        if event.kind == "reasoning":
            if self.show_reasoning and not self.streamed_reasoning:
                self._end_line()
                typer.secho(f"  reasoning: {safe(event.result)}", dim=True, err=self.err)
            self.streamed_reasoning = False
            return
        self._end_line()
        self.answer = ""
        args = ", ".join(f"{k}={v!r}" for k, v in event.args.items())
        if event.kind == "tool_call":
            note = f"  [{event.note}]" if event.note else ""
            typer.echo(safe_line(f"-> {event.tool}({args}){note}"), err=self.err)
        elif event.kind == "refused":
            typer.echo(safe_line(f"-x {event.tool}({args}) {event.result}"), err=self.err)
        else:
            typer.echo(f"   <- {safe_line(event.result)}", err=self.err)

    def finish(self, final: str) -> bool:
        """End the streamed text; True when the final answer was streamed as it stands.

        The verified answer differs when citations were renumbered or dropped; it is then
        printed again in full.
        """
        self._end_line()
        return bool(self.answer.strip()) and self.answer.strip() == final.strip()


@contextmanager
def stopped_run(thread: str | None) -> Iterator[None]:
    """Ctrl-C or SIGTERM during a run: on a thread, one line naming `resume` (exit 130).

    Either way the process ends within `stopping.GRACE_SECONDS` of the signal.
    """
    if not thread:
        stopping.arm()  # nothing is kept without a thread: the usual line
        yield
        return
    # lazy: agent.interruptions loads the checkpointers (langgraph), kept out of `--help`
    from agent.interruptions import interrupted

    line = interrupted(thread)
    stopping.arm(f"interrupted: {line}")
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(line) from None


def run_question(
    question: str,
    run: Run,
    banner: str | None,
    show_reasoning: bool,
    as_json: bool = False,
    tokens: bool = True,
    quiet: bool = False,
) -> Answer:
    """Run one question and print it as `show` does (tokens as they come unless quiet/JSON)."""
    # lazy: the graph, langgraph and pymilvus (+1.3 s), kept out of `--help` (cold_start.py)
    from agent.api import stream

    events = stream(question, tokens=tokens and not as_json and not quiet, run=run)
    return show(events, banner, show_reasoning, as_json, quiet)


def show(
    events: Iterator[StepEvent | Answer],
    banner: str | None,
    show_reasoning: bool,
    as_json: bool = False,
    quiet: bool = False,
) -> Answer:
    """Print a run's steps as they come, then its answer (JSON, or the text alone if quiet).

    The banner goes to stderr when stdout carries JSON or the answer alone.
    """
    if banner:
        typer.echo(banner, err=as_json or quiet)
    answer: Answer | None = None
    printer = _Printer(show_reasoning, err=as_json)
    for event in events:
        if isinstance(event, Answer):
            answer = event
        elif not quiet:
            printer.event(event)
    streamed = printer.finish(answer.answer if answer is not None else "")
    if answer is None:  # the graph always ends in respond; this guards a broken install
        raise ResearchAgentError("The run ended without an answer; run `research-agent doctor`.")
    if as_json:
        typer.echo(safe_json(answer.model_dump_json(indent=2)))
    else:
        streamed = streamed and answer.status != "budget_exhausted"
        print_answer(answer, quiet=quiet, streamed=streamed)
    return answer


@run_flags()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    flags: RunFlags,
    thread: Annotated[str | None, typer.Option("--thread", help="Keep this in a thread.")] = None,
    no_wait: NoWait = False,
    show_reasoning: Reasoning = False,
    no_stream: NoStream = False,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Answer a question from your documents, showing each step and the verified sources."""
    run, said = prepared(flags, thread_id=thread, wait=False if no_wait else None)
    with stopped_run(thread):
        run_question(question, run, said, show_reasoning, as_json, not no_stream, quiet)


@run_flags()
def resume(
    thread: Annotated[str, typer.Option("--thread", help="The thread whose run to finish.")],
    flags: RunFlags,
    no_wait: NoWait = False,
    show_reasoning: Reasoning = False,
    as_json: AsJson = False,
) -> None:
    """Finish a thread's interrupted run (killed, server down) from its last checkpoint.

    Tool calls that finished before the interruption are not run again.
    """
    # lazy: the graph, langgraph and pymilvus (+1.3 s), kept out of `--help` (cold_start.py)
    from agent.api import NothingToResumeError, resume_stream

    run, said = prepared(flags, wait=False if no_wait else None)
    with stopped_run(thread):
        if _resume_report(thread, run, as_json):
            return
        events = resume_stream(thread, run=run)
        try:
            first = next(events)
        except NothingToResumeError as exc:
            if not exc.finished:
                raise
            typer.echo(str(exc))  # not an error: the thread is complete
            return
        except StopIteration:
            first = None
        show(_chain(first, events), said, show_reasoning, as_json)


def _resume_report(thread: str, run: Run, as_json: bool) -> bool:
    """Finish the thread's report if it holds one (True), else leave it to `resume`."""
    # lazy: the report graph and its CLI, loaded only by `resume`
    from agent.cli.report import resume_report
    from agent.report_api import is_report_thread

    options = {"run": run}  # the model this command chose is the report's too
    if not is_report_thread(thread, **options):
        return False
    resume_report(thread, options, as_json)
    return True


def _chain(
    first: StepEvent | Answer | None, rest: Iterator[StepEvent | Answer]
) -> Iterator[StepEvent | Answer]:
    if first is not None:
        yield first
    yield from rest


def register(app: typer.Typer) -> None:
    """Add the agent commands to the app."""
    app.command()(ask)
    app.command()(resume)
