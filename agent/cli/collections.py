"""`research-agent collections reindex`: migrate a collection's dense index in place."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from agent.cli.options import AsJson, Uri, settings_with
from tools.errors import ConfigError


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
    # lazy: pymilvus, onnxruntime and langgraph (+1.1 s), kept out of `--help` (cold_start.py)
    from agent.documents import reindex as run

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


def register(group: typer.Typer) -> None:
    """Add `reindex` to the `collections` group (agent/cli/catalog.py)."""
    group.command()(reindex)
