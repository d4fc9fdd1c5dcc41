"""`research-agent docs list|rm`: see and remove indexed documents (agent.catalog)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from agent.cli.options import AsJson, Collection, Uri, settings_with
from tools.render import counted
from tools.terminal import safe_json, safe_line

docs_app = typer.Typer(help="See and remove indexed documents.", no_args_is_help=True)


@docs_app.command("list")
def docs_list(
    collection: Collection = None, milvus_uri: Uri = None, as_json: AsJson = False
) -> None:
    """List the documents of a collection: source, title, chunks, when ingested."""
    # lazy: the catalog loads pymilvus (+0.4 s), kept out of `--help` (benchmarks/cold_start.py)
    from agent.catalog import list_documents

    docs = list_documents(settings_with(collection=collection, milvus_uri=milvus_uri))
    if as_json:
        typer.echo(safe_json(json.dumps([asdict(d) for d in docs], ensure_ascii=False, indent=2)))
        return
    for d in docs:
        mark = "" if d.complete else "  INCOMPLETE (not searched; run ingest again to finish it)"
        typer.echo(
            safe_line(
                f"{d.source}  {counted(d.chunks, 'chunk')}  ingested {d.ingested}  {d.title}{mark}"
            )
        )
    partial = sum(not d.complete for d in docs)
    typer.echo(
        f"{counted(len(docs), 'document')}, {counted(sum(d.chunks for d in docs), 'chunk')}"
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
    # lazy: the catalog loads pymilvus (+0.4 s), kept out of `--help` (benchmarks/cold_start.py)
    from agent.catalog import remove_documents

    removed = remove_documents(sources, settings_with(collection=collection, milvus_uri=milvus_uri))
    if as_json:
        typer.echo(json.dumps({"removed": removed, "chunks": sum(removed.values())}))
        return
    for source, n in removed.items():
        typer.echo(safe_line(f"removed {source}: {counted(n, 'chunk')}"))


def register(app: typer.Typer) -> None:
    """Add the `docs` group to the app."""
    app.add_typer(docs_app, name="docs")
