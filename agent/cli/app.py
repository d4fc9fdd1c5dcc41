"""The `research-agent` command line: a thin client of the Python API."""

from __future__ import annotations

import sys
from importlib.metadata import version

import typer
from typer._click.exceptions import UsageError
from typer.exceptions import TyperException

from agent.cli import (
    chat,
    collections,
    docs,
    doctor,
    documents,
    evaluate,
    mcp,
    report,
    research,
    stopping,
)
from agent.cli.errors import IngestInterrupted, Interrupted, exit_now
from agent.cli.render import say
from tools.errors import ConfigError, ResearchAgentError

INTERRUPTED = (
    "interrupted: everything already written is kept; run the same command again to finish."
)

app = typer.Typer(
    name="research-agent",
    help="Research assistant over your own documents in Milvus, with verified citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"research-agent {version('research-agent')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Research assistant over your own documents in Milvus, with verified citations."""


documents.register(app)
research.register(app)
doctor.register(app)
report.register(app)
chat.register(app)
docs.register(app)
collections.register(app)
evaluate.register(app)
mcp.register(app)


def _usage(exc: UsageError) -> None:
    """The usage line and one error line, as every well-kept CLI prints them."""
    if exc.ctx is not None:
        say(exc.ctx.get_usage())
        hint = f" (see '{exc.ctx.command_path} --help')"
    else:
        hint = ""
    say(f"error: {exc.format_message()}{hint}")


def _path_message(exc: OSError) -> str:
    """A path the user gave (data folder, Milvus Lite file, document) cannot be used."""
    return (
        f"cannot use '{exc.filename}': {exc.strerror}. Check the path: RESEARCH_AGENT_DATA_DIR "
        "and --milvus-uri must name a folder / file location you can write, and every part "
        "before the last must be a folder."
    )


def main() -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit."""
    previous = stopping.install(INTERRUPTED)  # SIGTERM as Ctrl-C, a bounded wind-down
    try:
        _main()
    finally:
        stopping.restore(previous)


def _main() -> None:
    try:
        # Without standalone mode click returns (not raises) the code of a typer.Exit.
        code = app(prog_name="research-agent", standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C inside a command into Exit(130)
            stopping.said()
            say(INTERRUPTED)
        if isinstance(code, int) and code:
            sys.exit(code)
    except Interrupted as exc:
        stopping.said()
        say(f"interrupted: {exc}")
        # only as the `research-agent` command: a caller of main() (a test) keeps its process
        if (
            isinstance(exc, IngestInterrupted)
            and getattr(sys.modules["__main__"], "main", None) is main
        ):
            exit_now(130)
        sys.exit(130)
    except ConfigError as exc:  # a flag, variable or .env line with a value not allowed
        say(f"error: {exc}")
        sys.exit(2)
    except ResearchAgentError as exc:
        say(f"error: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        stopping.said()
        say(INTERRUPTED)
        sys.exit(130)
    except OSError as exc:
        if exc.filename is None:  # not a path the user named: a bug or an outage, keep it loud
            raise
        say(f"error: {_path_message(exc)}")
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        stopping.said()
        say(INTERRUPTED)
        sys.exit(130)
    except UsageError as exc:  # typer's own copy of click: missing or unknown arguments
        _usage(exc)
        sys.exit(2)
    except TyperException as exc:
        say(f"error: {exc.format_message()}")
        sys.exit(exc.exit_code)
