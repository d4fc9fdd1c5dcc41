"""How the CLI prints an answer: Markdown in a terminal, plain text when piped, or alone."""

from __future__ import annotations

import sys

import typer

from agent.schemas import Answer
from tools.redact import redact_text
from tools.render import counted
from tools.terminal import safe, safe_line


def is_terminal() -> bool:
    """Whether stdout is a terminal (answers are rendered as Markdown only there)."""
    return sys.stdout.isatty()


def say(text: str) -> None:
    """A line for stderr (an error, an interruption): secrets masked, control characters shown."""
    typer.echo(safe(redact_text(text)), err=True)


def notes(answer: Answer) -> str:
    """Status, model and what the run spent, on one line."""
    parts = [f"status: {answer.status}", f"model: {answer.model} ({answer.provider})"]
    parts.append(
        f"{counted(answer.steps.tool_calls, 'tool call')}, {counted(answer.steps.turns, 'turn')}"
    )
    if answer.status == "cut_off":
        parts.append("the answer was cut off at the output cap (max_output_tokens)")
    if answer.dropped_citations:
        parts.append(f"{answer.dropped_citations} unverifiable citation(s) dropped")
    return "; ".join(parts)


def print_answer(answer: Answer, quiet: bool = False, streamed: bool = False) -> None:
    """The answer, its sources and a notes line; `quiet` prints the answer text alone.

    In a terminal the answer is rendered as Markdown (rich) unless it was already streamed
    token by token; piped, it is the plain text the model wrote, so scripts and files get
    exactly that.
    """
    text = safe(answer.answer)  # the model's words, and documents' words quoted in them
    if quiet:
        typer.echo(text)
        return
    if not streamed:
        typer.echo("")
        if is_terminal():
            # lazy: rich's console and markdown (+0.04 s), kept out of `--help` (cold_start.py)
            from rich.console import Console
            from rich.markdown import Markdown

            Console().print(Markdown(text))
        else:
            typer.echo(text)
    if answer.citations:
        typer.echo("\nSources:")
        for c in answer.citations:
            typer.echo(f"  [{c.n}] {safe_line(c.location())} ({safe_line(c.title)})")
    typer.echo("\n" + safe_line(notes(answer)))
