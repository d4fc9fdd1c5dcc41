"""CLI commands for the document side: ingest, search, fetch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.options import AsJson, Collection, K, Uri, settings_with
from tools.errors import ConfigError


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index.")],
    collection: Collection = None,
    milvus_uri: Uri = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove documents whose files are gone.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Index Markdown, text, HTML and PDF files into Milvus (idempotent; safe to re-run)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from agent.documents import ingest as run

    settings = settings_with(collection=collection, milvus_uri=milvus_uri)
    err = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("embedding chunks", total=None)
        report = run(
            paths,
            settings,
            prune,
            lambda done, total: bar.update(task, completed=done, total=total),
        )
    for line in report.skipped:
        typer.echo(f"skipped {line}", err=True)
    if as_json:
        keys = (
            "new",
            "changed",
            "unchanged",
            "removed",
            "chunks_written",
            "chunks_deleted",
            "seconds",
        )
        data = {k: getattr(report, k) for k in keys} | {"skipped": report.skipped}
        typer.echo(json.dumps(data))
        return
    typer.echo(
        f"files: {report.new} new, {report.changed} changed, {report.unchanged} unchanged, "
        f"{report.removed} removed, {len(report.skipped)} skipped; "
        f"chunks written: {report.chunks_written}, deleted: {report.chunks_deleted}; "
        f"{report.seconds:.1f} s -> {settings.resolved_milvus_uri()} [{settings.collection}]"
    )


def search(
    query: Annotated[str, typer.Argument(help="What to search for.")],
    k: K = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Only sources starting with this.")
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, dense or bm25.")] = "hybrid",
    collection: Collection = None,
    milvus_uri: Uri = None,
    as_json: AsJson = False,
) -> None:
    """Search exactly as the model does and print the hits as the model sees them."""
    from agent.documents import search as run
    from tools.render import render_search

    if mode not in ("hybrid", "dense", "bm25"):
        raise ConfigError(f"--mode must be hybrid, dense or bm25, not '{mode}'.")
    settings = settings_with(k=k, collection=collection, milvus_uri=milvus_uri)
    result = run(query, settings.k, source, settings, mode)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps([h.model_dump() for h in result.hits], ensure_ascii=False, indent=2))
    else:
        typer.echo(render_search(result))


def fetch(
    doc: Annotated[str, typer.Argument(help="A doc_id or a source path as stored.")],
    start_line: Annotated[int, typer.Option("--start-line", help="First line (1-based).")] = 1,
    num_lines: Annotated[int, typer.Option("--num-lines", help="Lines to show.")] = 60,
    collection: Collection = None,
    milvus_uri: Uri = None,
    as_json: AsJson = False,
) -> None:
    """Print a document as numbered lines, exactly as the model sees it."""
    from agent.documents import fetch as run
    from tools.render import render_window

    window = run(
        doc, start_line, num_lines, settings_with(collection=collection, milvus_uri=milvus_uri)
    )
    typer.echo(window.model_dump_json(indent=2) if as_json else render_window(window))


def register(app: typer.Typer) -> None:
    """Add the document commands to the app."""
    app.command()(ingest)
    app.command()(search)
    app.command()(fetch)
