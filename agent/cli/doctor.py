"""`research-agent doctor`: the checks of agent.doctor, one line each (or JSON)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli.options import BaseUrl, Collection, Model, Provider, Uri
from tools.redact import redact_text
from tools.terminal import safe_line

if TYPE_CHECKING:
    from agent.doctor import Check


def shown(check: Check) -> str:
    """A check's detail as it may be shown: secrets masked, control characters escaped."""
    return safe_line(redact_text(check.detail))


def line(check: Check) -> str:
    """The report line, e.g. 'ok    milvus: ...'."""
    return f"{'ok' if check.ok else 'FAIL':<5} {check.name}: {shown(check)}"


def as_dict(check: Check) -> dict[str, object]:
    """The check for `doctor --json`, its detail as `shown` gives it."""
    return {"name": check.name, "ok": check.ok, "detail": shown(check)}


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
    from agent.doctor import doctor as run_checks

    checks = run_checks(
        provider=provider,
        base_url=base_url,
        model=model,
        collection=collection,
        milvus_uri=milvus_uri,
    )
    if as_json:
        typer.echo(json.dumps([as_dict(c) for c in checks]))
    else:
        for check in checks:
            typer.echo(line(check))
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the `doctor` command to the app."""
    app.command()(doctor)
