"""`research-agent chat`: a REPL over a persistent thread, and listing/deleting threads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Annotated, Any

import typer

from agent.cli import stopping
from agent.cli.errors import Interrupted
from agent.cli.options import RunFlags, run_flags, settings_with
from agent.cli.render import print_answer, say
from agent.cli.research import NoStream, NoWait, Reasoning, prepared, run_question
from agent.settings import Settings
from tools.errors import ResearchAgentError
from tools.redact import redact_text
from tools.terminal import safe, safe_json, safe_line

ENDS = ("/exit", "exit", "/quit", "quit")
"""What ends a session besides Ctrl-D; a blank line does nothing."""


def _when(ts: str) -> str:
    return ts[:19].replace("T", " ") if ts else "unknown"


def _list(settings: Settings, as_json: bool) -> None:
    # lazy: the checkpointers load langgraph (+0.09 s), kept out of `--help` (cold_start.py)
    from agent.conversations import list_threads, where

    threads = list_threads(settings)
    if as_json:
        rows = [
            {
                "thread_id": t.thread_id,
                "first_question": t.first_question,
                "last_activity": t.last_activity,
            }
            for t in threads
        ]
        typer.echo(safe_json(json.dumps(rows, ensure_ascii=False, indent=2)))
        return
    if not threads:
        where_ = redact_text(where(settings))
        typer.echo(f"no threads in {where_} yet; start one with `research-agent chat`.")
        return
    for t in threads:
        question = t.first_question.replace("\n", " ")
        question = question if len(question) <= 60 else question[:59] + "…"
        typer.echo(safe_line(f"{t.thread_id}  {_when(t.last_activity)} UTC  {question}"))


def _delete(settings: Settings, thread_id: str) -> None:
    # lazy: the checkpointers load langgraph (+0.09 s), kept out of `--help` (cold_start.py)
    from agent.conversations import delete_thread, where

    if not delete_thread(settings, thread_id):
        raise ResearchAgentError(
            f"No thread '{thread_id}' in {where(settings)}; `research-agent chat --list` "
            "shows them."
        )
    typer.echo(f"deleted thread {thread_id}")


def _show_last(settings: Settings, thread_id: str) -> None:
    """Print the last exchange of a resumed thread, so the user knows where it stands."""
    # lazy: the checkpointers load langgraph (+0.09 s), kept out of `--help` (cold_start.py)
    from agent.conversations import get_thread

    info = get_thread(settings, thread_id)
    if info is None:
        typer.echo(f"thread {thread_id} is new")
        return
    typer.echo(f"thread {thread_id}, last active {_when(info.last_activity)} UTC; last exchange:")
    typer.echo(f"you> {safe(info.last_question)}")
    if info.last_answer is not None:
        print_answer(info.last_answer)
    typer.echo("")


def repl(
    ask_one: Callable[[str], Any],
    read: Callable[[str], str] | None = None,
) -> None:
    """Ask each line until /exit, exit or Ctrl-D; a failed question prints its error only."""
    read = read or input
    while True:
        try:
            line = read("you> ").strip()
        except EOFError:
            typer.echo("")
            return
        if not line:
            continue
        if line.lower() in ENDS:
            return
        try:
            ask_one(line)
        except ResearchAgentError as exc:
            say(f"error: {exc}")
        except Exception as exc:  # one failed question must not end the session
            say(f"error: {type(exc).__name__}: {exc}")


@run_flags()
def chat(
    *,
    thread: Annotated[str | None, typer.Option("--thread", help="Resume this thread.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the threads and exit.")] = False,
    delete: Annotated[
        str | None, typer.Option("--delete", metavar="ID", help="Delete a thread and exit.")
    ] = None,
    flags: RunFlags,
    no_wait: NoWait = False,
    show_reasoning: Reasoning = False,
    no_stream: NoStream = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --list: print JSON.")] = False,
) -> None:
    """A conversation that persists across runs: /exit, exit or Ctrl-D ends it."""
    settings = settings_with()
    if list_:
        _list(settings, as_json)
        return
    if as_json:
        raise typer.BadParameter("--json goes with --list", param_hint="'--json'")
    if delete is not None:
        _delete(settings, delete)
        return
    thread_id = thread or uuid.uuid4().hex[:8]
    run, banner = prepared(flags, thread_id=thread_id, wait=False if no_wait else None)
    if thread:
        _show_last(settings, thread_id)
    typer.echo(f"thread {thread_id} (resume with --thread {thread_id}); /exit or Ctrl-D ends")
    said = [banner]

    def ask_one(question: str) -> None:
        run_question(question, run, said[0], show_reasoning, tokens=not no_stream)
        said[0] = None  # the banner is said once per conversation

    line = (
        f"thread {thread_id} is kept up to its last answer; a question cut off is finished "
        f"by `research-agent resume --thread {thread_id}`; go on with "
        f"`research-agent chat --thread {thread_id}`."
    )
    stopping.arm(f"interrupted: {line}")  # a stalled model server cannot hold Ctrl-C
    try:
        repl(ask_one)
    except KeyboardInterrupt:
        typer.echo("", err=True)  # leave the prompt's line
        raise Interrupted(line) from None


def register(app: typer.Typer) -> None:
    """Add the chat command to the app."""
    app.command()(chat)
