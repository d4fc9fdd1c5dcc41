"""The `research-agent` command line: a thin client of the Python API."""

from __future__ import annotations

import sys
from typing import Any

import typer

from agent.cli_docs import register as register_docs
from tools.errors import ResearchAgentError

app = typer.Typer(
    name="research-agent",
    help="Research assistant over your own documents in Milvus, with verified citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
register_docs(app)
try:  # the agent commands arrive with the agent; the document commands work without them
    from agent.cli_agent import register as register_agent

    register_agent(app)
    from agent.cli_eval import register as register_eval

    register_eval(app)
except ImportError:  # pragma: no cover - only while the agent package is incomplete
    pass


def settings_with(**overrides: Any) -> Any:
    """Settings from the environment/.env with the CLI flags that were given on top."""
    from agent.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def main() -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit."""
    try:
        # Without standalone mode click returns (not raises) the code of a typer.Exit.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except ResearchAgentError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo(
            "interrupted: everything already written is kept; run again to finish.", err=True
        )
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
