"""CLI commands to see and manage what is indexed: `docs list|rm`, `collections [rm]`."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from agent.cli.options import AsJson, Collection, Uri, settings_with
from tools.redact import redact_url
from tools.terminal import safe_json, safe_line

docs_app = typer.Typer(help="See and remove indexed documents.", no_args_is_help=True)
collections_app = typer.Typer(help="See and remove collections.")


@docs_app.command("list")
def docs_list(
    collection: Collection = None, milvus_uri: Uri = None, as_json: AsJson = False
) -> None:
    """List the documents of a collection: source, title, chunks, when ingested."""
    # lazy: tools.catalog loads pymilvus (+0.4 s), kept out of `--help` (benchmarks/cold_start.py)
    from tools.catalog import list_docs

    docs = list_docs(settings_with(collection=collection, milvus_uri=milvus_uri))
    if as_json:
        typer.echo(safe_json(json.dumps([asdict(d) for d in docs], ensure_ascii=False, indent=2)))
        return
    for d in docs:
        mark = "" if d.complete else "  INCOMPLETE (not searched; run ingest again to finish it)"
        typer.echo(
            safe_line(f"{d.source}  {d.chunks} chunks  ingested {d.ingested}  {d.title}{mark}")
        )
    partial = sum(not d.complete for d in docs)
    typer.echo(
        f"{len(docs)} documents, {sum(d.chunks for d in docs)} chunks"
        + (f", {partial} incomplete" if partial else "")
    )


@docs_app.command("rm")
def docs_rm(
    sources: Annotated[
        list[str], typer.Argument(help="Sources (as `docs list` shows) or doc_ids.")
    ],
    collection: Collection = None,
    milvus_uri: Uri = None,
    as_json: AsJson = False,
) -> None:
    """Remove documents' chunks from the collection (the files are not touched)."""
    # lazy: tools.catalog loads pymilvus (+0.4 s), kept out of `--help` (benchmarks/cold_start.py)
    from tools.catalog import remove_docs

    removed = remove_docs(settings_with(collection=collection, milvus_uri=milvus_uri), sources)
    if as_json:
        typer.echo(json.dumps({"removed": removed, "chunks": sum(removed.values())}))
        return
    for source, n in removed.items():
        typer.echo(safe_line(f"removed {source}: {n} chunks"))


@collections_app.callback(invoke_without_command=True)
def collections(ctx: typer.Context, milvus_uri: Uri = None, as_json: AsJson = False) -> None:
    """List the collections: name, chunks, embedder, indexes."""
    if ctx.invoked_subcommand is not None:
        return
    # lazy: tools.catalog loads pymilvus (+0.4 s), kept out of `--help` (benchmarks/cold_start.py)
    from tools.catalog import list_collections

    infos = list_collections(settings_with(milvus_uri=milvus_uri))
    if as_json:
        typer.echo(json.dumps([asdict(c) for c in infos], indent=2))
        return
    if not infos:
        typer.echo("no collections yet; create one with `research-agent ingest PATH`.")
    for c in infos:
        typer.echo(f"{c.name}  {c.chunks} chunks  embedder {c.embedder}  index {c.index}")


@collections_app.command("rm")
def collections_rm(
    name: Annotated[str, typer.Argument(help="The collection to remove.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    milvus_uri: Uri = None,
) -> None:
    """Remove a whole collection and all its chunks (asks first unless --yes)."""
    # lazy: tools.catalog loads pymilvus (+0.4 s), kept out of `--help` (benchmarks/cold_start.py)
    from tools.catalog import drop_collection

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
    chunks = drop_collection(settings, name)
    typer.echo(f"removed collection {name} ({chunks} chunks)")


def register(app: typer.Typer) -> None:
    """Add the `docs` and `collections` groups to the app."""
    app.add_typer(docs_app, name="docs")
    app.add_typer(collections_app, name="collections")
