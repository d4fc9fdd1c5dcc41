"""`research-agent collections [rm|reindex]`: see, remove and reindex collections.

A thin client of agent.catalog.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from agent.cli.options import AsJson, Uri, settings_with
from tools.errors import ConfigError
from tools.redact import redact_url
from tools.render import counted

collections_app = typer.Typer(help="See and remove collections.")


@collections_app.callback(invoke_without_command=True)
def collections(ctx: typer.Context, milvus_uri: Uri = None, as_json: AsJson = False) -> None:
    """List the collections: name, chunks, embedder, indexes."""
    if ctx.invoked_subcommand is not None:
        return
    # lazy: the catalog loads pymilvus (+0.4 s), kept out of `--help` (benchmarks/cold_start.py)
    from agent.catalog import list_collections

    infos = list_collections(settings_with(milvus_uri=milvus_uri))
    if as_json:
        typer.echo(json.dumps([asdict(c) for c in infos], indent=2))
        return
    if not infos:
        typer.echo("no collections yet; create one with `research-agent ingest PATH`.")
    for c in infos:
        size = counted(c.chunks, "chunk")
        typer.echo(f"{c.name}  {size}  embedder {c.embedder}  index {c.index}")


@collections_app.command("rm")
def collections_rm(
    name: Annotated[str, typer.Argument(help="The collection to remove.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    milvus_uri: Uri = None,
) -> None:
    """Remove a whole collection and all its chunks (asks first unless --yes)."""
    # lazy: the catalog loads pymilvus (+0.4 s), kept out of `--help` (benchmarks/cold_start.py)
    from agent.catalog import drop_collection

    settings = settings_with(milvus_uri=milvus_uri)
    where = redact_url(settings.resolved_milvus_uri())
    question = f"Remove collection '{name}' at {where} and all its chunks?"
    try:
        sure = yes or typer.confirm(question)
    except typer.Abort:  # no answer (Ctrl-D, or stdin is not a terminal): keep it
        sure = False
    if not sure:
        typer.echo("\nkept; nothing removed (pass --yes to remove without asking).", err=True)
        raise typer.Exit(1)
    chunks = drop_collection(name, settings)
    typer.echo(f"removed collection {name} ({counted(chunks, 'chunk')})")


@collections_app.command("reindex")
def reindex(
    name: Annotated[str, typer.Argument(help="The collection to migrate.")],
    index: Annotated[
        str | None,
        typer.Option("--index", help="HNSW or FLAT (default: HNSW; FLAT in Lite without faiss)."),
    ] = None,
    milvus_uri: Uri = None,
    as_json: AsJson = False,
) -> None:
    """Rebuild a collection's dense index in place (FLAT -> HNSW); nothing is re-embedded."""
    # lazy: pymilvus and the store (+0.4 s), kept out of `--help` (cold_start.py)
    from agent.catalog import reindex as run

    target = index.upper() if index else None
    if target not in (None, "HNSW", "FLAT"):
        raise ConfigError(f"--index must be HNSW or FLAT, not '{index}'.")
    settings = settings_with(collection=name, milvus_uri=milvus_uri)
    report = run(settings=settings, index=target)  # type: ignore[arg-type]
    if as_json:
        keys = ("collection", "before", "after", "rows", "seconds")
        typer.echo(json.dumps({k: getattr(report, k) for k in keys}))
    elif report.changed:
        typer.echo(
            f"{report.collection}: dense index {report.before or 'none'} -> {report.after} "
            f"over {report.rows} chunks in {report.seconds:.1f} s"
        )
    else:
        typer.echo(f"{report.collection}: dense index already {report.after}; nothing to do")


def register(app: typer.Typer) -> None:
    """Add the `collections` group to the app."""
    app.add_typer(collections_app, name="collections")
