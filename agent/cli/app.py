"""The `research-agent` command line: a thin client of the Python API."""

from __future__ import annotations

import sys
from typing import Any

import typer
from pydantic import ValidationError

from agent.cli.documents import register as register_docs
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
    from agent.cli.research import register as register_agent

    register_agent(app)
    from agent.cli.evaluate import register as register_eval

    register_eval(app)
except ImportError:  # pragma: no cover - only while the agent package is incomplete
    pass


def settings_with(**overrides: Any) -> Any:
    """Settings from the environment/.env with the CLI flags that were given on top."""
    from agent.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


FLAGGED_SETTINGS = frozenset(
    "k collection milvus_uri provider base_url model effort max_tool_calls max_turns".split()
)


def settings_problem(exc: ValidationError) -> str:
    """One line naming each bad setting, where it can be set, and what is wrong with it."""
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "?"
        where = f"RESEARCH_AGENT_{name.upper()}"
        if name in FLAGGED_SETTINGS:
            where += f" or --{name.replace('_', '-')}"
        parts.append(f"{name} ({where}): {err['msg']}, got {err.get('input')!r}")
    return "invalid setting " + "; ".join(parts) + "."


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
    except ValidationError as exc:  # a setting from the environment, .env or a flag
        typer.echo(f"error: {settings_problem(exc)}", err=True)
        sys.exit(2)
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
