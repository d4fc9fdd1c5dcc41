"""CLI commands for the document side: ingest, search, fetch."""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli import stopping
from agent.cli.errors import IngestInterrupted
from agent.cli.options import AsJson, Collection, K, Uri, settings_with
from tools.errors import ConfigError
from tools.redact import redact_url
from tools.terminal import safe, safe_json, safe_line

if TYPE_CHECKING:
    from tools.progress import IngestProgress

SHOW_SKIPPED = 20
STOP_SECONDS = 0.8
"""An interrupted ingest ends this long after the signal at the latest (see stopping)."""


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index.")],
    collection: Collection = None,
    milvus_uri: Uri = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove documents whose files are gone.")
    ] = False,
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include",
            metavar="PATTERN",
            help="Index only files matching this gitignore-style pattern, e.g. '*.md' "
            "(repeatable).",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="PATTERN",
            help="Leave out files or folders matching this pattern, e.g. 'drafts/' (repeatable).",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every skipped and left-out path.")
    ] = False,
    max_file_mb: Annotated[
        float | None,
        typer.Option(
            "--max-file-mb",
            min=0,
            metavar="MB",
            help="Skip files larger than this (default: RESEARCH_AGENT_MAX_FILE_MB, 200); "
            "0 lifts the limit.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Index Markdown, text, HTML and PDF files into Milvus (idempotent; safe to re-run).

    Inside folders, hidden entries, .git, node_modules, virtual environments, caches and what
    .gitignore names are left out. Every file not indexed is listed with the reason.
    """
    # lazy: pymilvus, onnxruntime and langgraph (+1.1 s), kept out of `--help` (cold_start.py)
    from agent.documents import ingest as run

    settings = settings_with(collection=collection, milvus_uri=milvus_uri)
    if max_file_mb is not None:
        settings = settings.model_copy(update={"max_file_mb": max_file_mb})
    last: list[IngestProgress] = []
    stopping.arm(lambda: f"interrupted: {_interrupted(last[0] if last else None)}", STOP_SECONDS)
    try:
        with _progress_display() as show:

            def listen(p: IngestProgress) -> None:
                last[:] = [p]
                show(p)

            report = run(paths, settings, prune, listen, include or (), exclude or (), _warn)
    except KeyboardInterrupt:
        raise IngestInterrupted(_interrupted(last[0] if last else None)) from None
    _print_left_out(report.skipped, report.excluded, verbose)
    if as_json:
        keys = (
            "new",
            "changed",
            "unchanged",
            "resumed",
            "removed",
            "chunks_written",
            "chunks_deleted",
            "seconds",
            "skipped",
            "empty",
            "excluded",
        )
        typer.echo(json.dumps({k: getattr(report, k) for k in keys}))
        return
    extra = "".join(
        f", {n} {what}"
        for n, what in ((len(report.empty), "empty"), (len(report.excluded), "left out"))
        if n
    )
    if report.resumed:
        extra += f", {report.resumed} resumed"
    typer.echo(
        f"files: {report.new} new, {report.changed} changed, {report.unchanged} unchanged, "
        f"{report.removed} removed, {len(report.skipped)} skipped{extra}; "
        f"chunks written: {report.chunks_written}, deleted: {report.chunks_deleted}; "
        f"{report.seconds:.1f} s -> {redact_url(settings.resolved_milvus_uri())} "
        f"[{settings.collection}]"
    )
    if report.empty:
        typer.echo(
            "empty (recorded, never a search hit): "
            + safe_line(", ".join(report.empty[:SHOW_SKIPPED]))
            + (" …" if len(report.empty) > SHOW_SKIPPED else ""),
            err=True,
        )


def _warn(text: str) -> None:
    typer.echo(f"warning: {safe_line(text)}", err=True)


def _interrupted(p: IngestProgress | None) -> str:
    """What an interrupted ingest kept, and how to finish."""
    done = ""
    if p is not None:
        done = (
            f" ({p.chunks_done} of {p.chunks_total} chunks written, "
            f"{p.files_done} of {p.files_total} files read)"
        )
    return f"everything already written is kept{done}; run the same command again to finish."


def _print_left_out(skipped: list[str], excluded: list[str], verbose: bool) -> None:
    """Skipped files on stderr (the first SHOW_SKIPPED, or all with --verbose)."""
    shown = skipped if verbose else skipped[:SHOW_SKIPPED]
    for line in shown:
        typer.echo(f"skipped {safe_line(line)}", err=True)
    if len(shown) < len(skipped):
        kinds = Counter(
            line.split(": ", 1)[-1].split(" (")[0].split(";")[0] for line in skipped[len(shown) :]
        )
        summary = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common(5))
        typer.echo(
            f"… and {len(skipped) - len(shown)} more skipped ({summary}); "
            "--verbose or --json lists all",
            err=True,
        )
    if verbose:
        for line in excluded:
            typer.echo(f"left out {safe_line(line)}", err=True)


@contextlib.contextmanager
def _progress_display() -> Iterator[Callable[[IngestProgress], None]]:
    """A live bar on a terminal; plain lines now and then when stderr is a pipe or a log."""
    # lazy: rich's console and progress bar, and tools.progress (with tools.render in search
    # and fetch, +0.01 s), kept out of `--help` (benchmarks/cold_start.py)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tools.progress import STAGE_TEXT, PlainLines, describe

    err = Console(stderr=True)
    if not err.is_terminal:
        yield PlainLines(sys.stderr)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[counts]}", markup=False),  # file names are not markup
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(STAGE_TEXT["scanning"], total=None, counts="")

        def show(p: IngestProgress) -> None:
            reading = p.stage in ("scanning", "reading")
            total = p.files_total if reading else p.chunks_total
            done = p.files_done if reading else p.chunks_done
            counts = describe(p).split(", ", 1)[-1]
            bar.update(
                task,
                description=STAGE_TEXT[p.stage],
                completed=done,
                total=total or None,
                counts=safe_line(counts),
            )

        yield show


def search(
    query: Annotated[str, typer.Argument(help="What to search for.")],
    k: K = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="Only sources under this path or prefix (./docs, docs/faq/, /abs)."
        ),
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, dense or bm25.")] = "hybrid",
    file_type: Annotated[
        str | None, typer.Option("--type", help="Only files of this type (pdf, md, html, txt).")
    ] = None,
    after: Annotated[
        str | None, typer.Option("--after", help="Only files modified on or after YYYY-MM-DD.")
    ] = None,
    before: Annotated[
        str | None, typer.Option("--before", help="Only files modified before YYYY-MM-DD.")
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="Only documents whose title contains this.")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Only documents with this front-matter tag (repeatable)."),
    ] = None,
    collection: Collection = None,
    milvus_uri: Uri = None,
    as_json: AsJson = False,
) -> None:
    """Search exactly as the model does and print the hits as the model sees them."""
    # lazy: pymilvus, onnxruntime and langgraph (+1.1 s), kept out of `--help` (cold_start.py)
    from agent.documents import search as run
    from tools.render import render_search

    if mode not in ("hybrid", "dense", "bm25"):
        raise ConfigError(f"--mode must be hybrid, dense or bm25, not '{mode}'.")
    settings = settings_with(k=k, collection=collection, milvus_uri=milvus_uri)
    result = run(
        query,
        settings.k,
        source,
        settings,
        mode,  # type: ignore[arg-type]
        file_type=file_type,
        after=_day("--after", after),
        before=_day("--before", before),
        title=title,
        tags=tag or [],
    )
    if as_json:
        hits = [h.model_dump() for h in result.hits]
        typer.echo(safe_json(json.dumps(hits, ensure_ascii=False, indent=2)))
    else:
        typer.echo(safe(render_search(result)))


def _day(flag: str, value: str | None) -> date | None:
    """A YYYY-MM-DD flag value as a date (a ConfigError naming the flag otherwise)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(
            f"{flag} must be a day as YYYY-MM-DD, e.g. 2025-01-01; got {value!r}."
        ) from None


def fetch(
    doc: Annotated[
        str, typer.Argument(help="A doc_id, or the file's path (relative, ./ or absolute).")
    ],
    start_line: Annotated[int, typer.Option("--start-line", help="First line (1-based).")] = 1,
    num_lines: Annotated[int, typer.Option("--num-lines", help="Lines to show.")] = 60,
    char_offset: Annotated[
        int, typer.Option("--char-offset", help="Start the first line at this character.")
    ] = 0,
    collection: Collection = None,
    milvus_uri: Uri = None,
    as_json: AsJson = False,
) -> None:
    """Print a document as numbered lines, exactly as the model sees it."""
    # lazy: pymilvus, onnxruntime and langgraph (+1.1 s), kept out of `--help` (cold_start.py)
    from agent.documents import fetch as run
    from tools.render import render_window

    window = run(
        doc,
        start_line,
        num_lines,
        settings_with(collection=collection, milvus_uri=milvus_uri),
        char_offset,
    )
    typer.echo(
        safe_json(window.model_dump_json(indent=2)) if as_json else safe(render_window(window))
    )


def register(app: typer.Typer) -> None:
    """Add the document commands to the app."""
    app.command()(ingest)
    app.command()(search)
    app.command()(fetch)
