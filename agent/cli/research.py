"""CLI commands for the agent (chat lives in agent.cli.chat): ask, resume, doctor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from agent.cli import stopping
from agent.cli.errors import Interrupted
from agent.cli.options import (
    AsJson,
    BaseUrl,
    Collection,
    Effort,
    K,
    MaxCalls,
    MaxContext,
    MaxTurns,
    Model,
    Provider,
    Uri,
    given,
    settings_with,
)
from agent.cli.render import print_answer
from agent.schemas import Answer, StepEvent
from agent.settings import Context, resolve
from tools.errors import ResearchAgentError
from tools.terminal import safe, safe_json, safe_line

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


def run_options(**flags: Any) -> tuple[dict[str, Any], str | None]:
    """API options from the flags that were given, and the offline banner if it applies.

    The flags are validated (with the environment and .env) before anything runs, and the
    model is chosen once, here, so the banner can lead the output.

    Raises:
        ConfigError: A flag or setting has a value that is not allowed (exit 2).
    """
    # lazy: the chat model pulls in langchain, kept out of `--help` (benchmarks/cold_start.py)
    from agent.llm.servers.choose import select_chat_model

    options = given(**flags)
    context = Context(**{k: v for k, v in options.items() if k not in ("thread_id", "wait")})
    settings = resolve(context)
    _, name, provider = select_chat_model(context)
    options["provider"] = provider
    if provider != "offline":
        options["model"] = name
        return options, None
    why = "chosen" if settings.provider == "offline" else "no model server configured or reachable"
    return options, OFFLINE_BANNER.format(why=why)


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
    options: dict[str, Any],
    banner: str | None,
    show_reasoning: bool,
    as_json: bool = False,
    tokens: bool = True,
    quiet: bool = False,
) -> Answer:
    """Run one question and print it as `show` does (tokens as they come unless quiet/JSON)."""
    # lazy: the graph, langgraph and pymilvus (+1.3 s), kept out of `--help` (cold_start.py)
    from agent.api import stream

    events = stream(question, tokens=tokens and not as_json and not quiet, **options)
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


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    provider: Provider = None,
    base_url: BaseUrl = None,
    model: Model = None,
    effort: Effort = None,
    k: K = None,
    max_tool_calls: MaxCalls = None,
    max_turns: MaxTurns = None,
    max_context_tokens: MaxContext = None,
    collection: Collection = None,
    milvus_uri: Uri = None,
    thread: Annotated[str | None, typer.Option("--thread", help="Keep this in a thread.")] = None,
    no_wait: NoWait = False,
    show_reasoning: Reasoning = False,
    no_stream: NoStream = False,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Answer a question from your documents, showing each step and the verified sources."""
    options, banner = run_options(
        provider=provider,
        base_url=base_url,
        model=model,
        effort=effort,
        k=k,
        max_tool_calls=max_tool_calls,
        max_turns=max_turns,
        max_context_tokens=max_context_tokens,
        collection=collection,
        milvus_uri=milvus_uri,
        thread_id=thread,
    )
    if no_wait:
        options["wait"] = False
    with stopped_run(thread):
        run_question(question, options, banner, show_reasoning, as_json, not no_stream, quiet)


def resume(
    thread: Annotated[str, typer.Option("--thread", help="The thread whose run to finish.")],
    provider: Provider = None,
    base_url: BaseUrl = None,
    model: Model = None,
    effort: Effort = None,
    k: K = None,
    max_tool_calls: MaxCalls = None,
    max_turns: MaxTurns = None,
    max_context_tokens: MaxContext = None,
    collection: Collection = None,
    milvus_uri: Uri = None,
    no_wait: NoWait = False,
    show_reasoning: Reasoning = False,
    as_json: AsJson = False,
) -> None:
    """Finish a thread's interrupted run (killed, server down) from its last checkpoint.

    Tool calls that finished before the interruption are not run again.
    """
    # lazy: the graph, langgraph and pymilvus (+1.3 s), kept out of `--help` (cold_start.py)
    from agent.api import NothingToResumeError, resume_stream

    options, banner = run_options(
        provider=provider,
        base_url=base_url,
        model=model,
        effort=effort,
        k=k,
        max_tool_calls=max_tool_calls,
        max_turns=max_turns,
        max_context_tokens=max_context_tokens,
        collection=collection,
        milvus_uri=milvus_uri,
    )
    if no_wait:
        options["wait"] = False
    with stopped_run(thread):
        if _resume_report(thread, options, as_json):
            return
        events = resume_stream(thread, **options)
        try:
            first = next(events)
        except NothingToResumeError as exc:
            if not exc.finished:
                raise
            typer.echo(str(exc))  # not an error: the thread is complete
            return
        except StopIteration:
            first = None
        show(_chain(first, events), banner, show_reasoning, as_json)


def _resume_report(thread: str, options: dict[str, Any], as_json: bool) -> bool:
    """Finish the thread's report if it holds one (True), else leave it to `resume`."""
    # lazy: the report graph and its CLI, loaded only by `resume`
    from agent.cli.report import resume_report
    from agent.report_api import is_report_thread

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


def doctor(
    provider: Provider = None,
    base_url: BaseUrl = None,
    model: Model = None,
    collection: Collection = None,
    milvus_uri: Uri = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check the model server, Milvus and the embedder, one line each."""
    # lazy: the checks import the chat model and Milvus, kept out of `--help`
    from agent.cli.doctor import run_checks

    settings = settings_with(
        provider=provider,
        base_url=base_url,
        model=model,
        collection=collection,
        milvus_uri=milvus_uri,
    )
    checks = run_checks(settings)
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in checks]))
    else:
        for check in checks:
            typer.echo(check.line())
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the agent commands to the app."""
    app.command()(ask)
    app.command()(resume)
    app.command()(doctor)
