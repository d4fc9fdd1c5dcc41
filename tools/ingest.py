"""Ingestion: load, split, embed and upsert, idempotently, crash-safely, in bounded memory.

Two passes. The first streams each file to hash it (and, for a new or changed document, to
count its chunks), keeping no text; the second streams each document to write again,
splitting, embedding and upserting it batch by batch, each batch flushed. Memory holds a
block of text and a batch of chunks, whatever the size of a file.

A document whose chunks span more than one batch is listed in the collection as being
written (ChunkStore.mark_incomplete) until its last chunk is written and its older
version deleted: `docs list` shows it incomplete, search and fetch leave it out. Chunk ids
are deterministic, so the next run skips the chunks an interrupted one wrote and embeds
only the rest. Stale chunks are deleted only after the new version is fully written.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.settings import Settings
from tools.discover import Walker
from tools.docplan import doc_id_for, file_doc_id, from_text
from tools.embeddings import Embedder
from tools.errors import ResearchAgentError
from tools.ingest_files import file_size, open_text
from tools.ingest_plan import HOLD_READING, Planner, chunk_document, chunks_of, doc_hash_for
from tools.ingest_tidy import move_document, prune_gone
from tools.loaders import SourceDoc, UnreadableFile, read_limits
from tools.pdftext import PdfWorker
from tools.progress import IngestProgress, Tracker
from tools.schemas import IngestReport
from tools.sources import source_name
from tools.store import ChunkStore, DocState
from tools.store.lite import LARGE_INGEST_MB, large_ingest_note
from tools.writer import Batch, Writer, embed_input

Progress = Callable[[IngestProgress], None]
"""Called with a snapshot as files are read and chunk batches are embedded and written."""

__all__ = [
    "HOLD_READING",
    "chunk_document",
    "chunks_of",
    "doc_hash_for",
    "doc_id_for",
    "embed_input",
    "ingest_documents",
    "ingest_paths",
]


def ingest_documents(
    store: ChunkStore,
    embedder: Embedder,
    docs: Sequence[SourceDoc],
    settings: Settings,
    progress: Progress | None = None,
    batch_chunks: int = 256,
    states: dict[str, DocState] | None = None,
) -> IngestReport:
    """Write new and changed documents held in memory (named by source); skip unchanged ones.

    `states` is what the store held before (store.doc_states()); read here when not given.
    """
    t0 = time.perf_counter()
    store.check_embedder(embedder.name)
    tracker = Tracker(progress, files_total=len(docs))
    states = store.doc_states() if states is None else states
    planner = Planner(store, states, settings.chunk_tokens, embedder, tracker)
    for doc in docs:
        doc_id = doc_id_for(doc.source)
        planner.add(
            doc_id, doc.source, from_text(doc.text), doc.title, len(doc.text), doc_id, doc.outline
        )
    _write(store, embedder, planner, tracker, batch_chunks)
    planner.report.seconds = round(time.perf_counter() - t0, 3)
    return planner.report


def _write(
    store: ChunkStore, embedder: Embedder, planner: Planner, tracker: Tracker, batch: int
) -> None:
    """Embed and upsert the planned chunks batch by batch (see tools.writer)."""
    # a remote embedder gets enough texts per call to fill all its request slots
    batch = max(batch, getattr(embedder, "chunks_in_flight", 0))
    max_tokens = planner.max_tokens
    with Writer(store, embedder, tracker) as writer:
        current = Batch()
        for plan in planner.plans:
            finished = False
            for chunk in chunks_of(plan, max_tokens, embedder):
                if chunk.id not in plan.present:
                    current.chunks.append(chunk)
                if chunk.chunk_index == plan.n_chunks - 1:  # its last chunk is in this batch
                    current.finished.append(plan)
                    finished = True
                if len(current.chunks) >= batch:
                    writer.add(current)
                    current = Batch()
            if not finished:  # the file changed between the passes: done all the same
                current.finished.append(plan)
        writer.add(current)
    store.flush()
    tracker.finish()
    planner.report.chunks_written = tracker.state.chunks_done
    planner.report.chunks_deleted = writer.deleted


def ingest_paths(
    store: ChunkStore,
    embedder: Embedder,
    paths: Sequence[Path],
    settings: Settings,
    prune: bool = False,
    progress: Progress | None = None,
    walker: Walker | None = None,
    notice: Callable[[str], None] | None = None,
) -> IngestReport:
    """Ingest files and folders; with prune, remove documents whose files are gone.

    A file is one document whatever the working folder or the form of its path: its id
    is made from its real absolute path. Text files are streamed from disk; what a loader
    extracts (HTML, PDF) is spooled to a temporary file for the second pass. `notice`
    hears one warning before a large ingest into a Milvus Lite file.
    """
    t0 = time.perf_counter()
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise ResearchAgentError(f"No such file or folder: {', '.join(missing)}. Check the path.")
    tracker = Tracker(progress)
    tracker.stage("scanning")
    found = (walker or Walker()).walk(paths)
    if notice is not None and settings.is_lite():
        mb = sum(file_size(f) for f in found.files) / (1 << 20)
        if mb > LARGE_INGEST_MB:
            notice(large_ingest_note(Path(store.uri), mb))
    store.check_embedder(embedder.name)
    before = store.doc_states()  # one scan serves the plan and the prune
    planner = Planner(store, before, settings.chunk_tokens, embedder, tracker)
    report = planner.report
    report.skipped = [str(s) for s in found.skipped]
    report.excluded = found.excluded
    tracker.files(len(found.files))
    present: set[str] = set()
    with (
        tempfile.TemporaryDirectory(prefix="research-agent-ingest-") as spool,
        PdfWorker(settings.extract_seconds) as pdf,
    ):
        limits = read_limits(settings, pdf)
        for n, f in enumerate(found.files):
            source = source_name(f)
            try:
                fragments, title, size, outline = open_text(
                    f, source, Path(spool) / f"{n}.txt", limits
                )
                doc_id = file_doc_id(f)
                planner.add(doc_id, source, fragments, title, size, doc_id_for(source), outline)
            except UnreadableFile as exc:
                report.skipped.append(f"{f}: {exc}")
                tracker.file_read(source, 0)
                continue
            present.add(doc_id)
        _write(store, embedder, planner, tracker, 256)
    for move in planner.moves:
        move_document(store, embedder.name, *move)
    if prune:
        prune_gone(store, before, present, paths, report)
    report.seconds = round(time.perf_counter() - t0, 3)
    return report
