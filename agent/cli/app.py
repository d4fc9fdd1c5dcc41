"""The `research-agent` command line: a thin client of the Python API."""

from __future__ import annotations

import sys
from importlib.metadata import version

import typer
from typer._click.exceptions import UsageError
from typer.exceptions import TyperException

from agent.cli import catalog, chat, collections, documents, evaluate, mcp, research
from agent.cli.errors import Interrupted
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
chat.register(app)
collections.register(catalog.collections_app)  # `collections reindex` beside list and rm
catalog.register(app)
evaluate.register(app)
mcp.register(app)


def _usage(exc: UsageError) -> None:
    """The usage line and one error line, as every well-kept CLI prints them."""
    if exc.ctx is not None:
        typer.echo(exc.ctx.get_usage(), err=True)
        hint = f" (see '{exc.ctx.command_path} --help')"
    else:
        hint = ""
    typer.echo(f"error: {exc.format_message()}{hint}", err=True)


def _path_message(exc: OSError) -> str:
    """A path the user gave (data folder, Milvus Lite file, document) cannot be used."""
    return (
        f"cannot use '{exc.filename}': {exc.strerror}. Check the path: RESEARCH_AGENT_DATA_DIR "
        "and --milvus-uri must name a folder / file location you can write, and every part "
        "before the last must be a folder."
    )


def main() -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit."""
    try:
        # Without standalone mode click returns (not raises) the code of a typer.Exit.
        code = app(prog_name="research-agent", standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C inside a command into Exit(130)
            typer.echo(INTERRUPTED, err=True)
        if isinstance(code, int) and code:
            sys.exit(code)
    except Interrupted as exc:
        typer.echo(f"interrupted: {exc}", err=True)
        sys.exit(130)
    except ConfigError as exc:  # a flag, variable or .env line with a value not allowed
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ResearchAgentError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo(INTERRUPTED, err=True)
        sys.exit(130)
    except OSError as exc:
        if exc.filename is None:  # not a path the user named: a bug or an outage, keep it loud
            raise
        typer.echo(f"error: {_path_message(exc)}", err=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo(INTERRUPTED, err=True)
        sys.exit(130)
    except UsageError as exc:  # typer's own copy of click: missing or unknown arguments
        _usage(exc)
        sys.exit(2)
    except TyperException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
