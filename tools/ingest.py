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

import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.settings import Settings
from tools.discover import Walker
from tools.docplan import (
    DocPlan,
    Fragments,
    chunk_id,
    doc_id_for,
    file_doc_id,
    from_file,
    from_text,
    pieces_of,
    version_of,
)
from tools.embeddings import Embedder
from tools.errors import ResearchAgentError
from tools.loaders import (
    ReadLimits,
    SourceDoc,
    UnreadableFile,
    is_streamed,
    load_file,
    read_limits,
)
from tools.loaders_code import OUTLINE_VERSION
from tools.metadata import metadata_of
from tools.pdftext import PdfWorker
from tools.progress import IngestProgress, Tracker
from tools.schemas import Chunk, IngestReport
from tools.sources import source_name
from tools.splitter import Outline
from tools.store import ChunkStore, DocState
from tools.store.lite import LARGE_INGEST_MB, large_ingest_note
from tools.writer import Batch, Writer, embed_input

Progress = Callable[[IngestProgress], None]
"""Called with a snapshot as files are read and chunk batches are embedded and written."""

BAD_BYTE_SCAN = 64 << 20
MOVE_CHUNKS = 1024
TICK_CHARS = 1 << 20
"""Progress is reported at least every this many characters read of one file."""
HOLD_READING = "RESEARCH_AGENT_TEST_HOLD_READING"
"""Tests only: seconds to hold a file's first read at its first progress report, so a
signal sent while a file is being read lands there on any machine (0 or unset: never)."""

__all__ = [
    "chunk_document",
    "doc_hash_for",
    "doc_id_for",
    "embed_input",
    "ingest_documents",
    "ingest_paths",
]


def doc_hash_for(doc: SourceDoc, max_tokens: int) -> str:
    """Content hash of a document as chunked: a new splitter or chunk size re-chunks it."""
    return version_of(from_text(doc.text)(), doc.title, max_tokens, _tag(doc.outline)).doc_hash


def _tag(outline: Outline | None) -> str:
    """The outline's part of the chunker tag in a document's hash ("" for Markdown)."""
    return "" if outline is None else f":outline={OUTLINE_VERSION}"


def chunk_document(doc: SourceDoc, embedder: Embedder, max_tokens: int) -> list[Chunk]:
    """Split a document held in memory into chunks with deterministic ids."""
    plan = _Planner.plan_for(doc_id_for(doc.source), doc, max_tokens, embedder)
    return list(chunks_of(plan, max_tokens, embedder))


def chunks_of(plan: DocPlan, max_tokens: int, embedder: Embedder) -> Iterator[Chunk]:
    """A planned document's chunks, streamed."""
    v = plan.version
    meta = metadata_of(plan.source, plan.fragments)  # modified time, front-matter tags
    for i, p in enumerate(
        pieces_of(plan.fragments, v.blank, max_tokens, embedder.count_tokens, plan.outline)
    ):
        yield Chunk(
            id=chunk_id(plan.doc_id, i, p.text),
            doc_id=plan.doc_id,
            source=plan.source,
            title=v.title,
            chunk_index=i,
            start_line=p.start_line,
            end_line=p.end_line,
            text=p.text,
            n_chunks=plan.n_chunks,
            doc_hash=v.doc_hash,
            heading=p.heading,
            **meta,
        )


def _ticking(parts: Iterator[str], tracker: Tracker, name: str, size: int) -> Iterator[str]:
    """Fragments passed through, with a progress report every TICK_CHARS characters."""
    done = mark = 0
    for part in parts:
        done += len(part)
        if done - mark >= TICK_CHARS:
            if mark == 0 and tracker.state.files_done == 0:
                time.sleep(float(os.environ.get(HOLD_READING) or 0))
            mark = done
            tracker.reading(name, done, size)
        yield part


@dataclass
class _Planner:
    """Decides per document: unchanged (skip), resumed, changed or new, and counts chunks."""

    store: ChunkStore
    states: dict[str, DocState]
    max_tokens: int
    embedder: Embedder
    tracker: Tracker
    plans: list[DocPlan] = field(default_factory=list)
    report: IngestReport = field(default_factory=IngestReport)
    moves: list[tuple[str, str, str, int]] = field(default_factory=list)
    """(old doc_id, doc_id, source, chunks) of unchanged documents stored under an old id."""

    @staticmethod
    def plan_for(doc_id: str, doc: SourceDoc, max_tokens: int, embedder: Embedder) -> DocPlan:
        """The plan of a document held in memory (chunk count included)."""
        fragments = from_text(doc.text)
        version = version_of(fragments(), doc.title, max_tokens, _tag(doc.outline))
        plan = DocPlan(doc_id, doc.source, version, 0, fragments, outline=doc.outline)
        count = embedder.count_tokens
        plan.n_chunks = sum(
            1 for _ in pieces_of(fragments, version.blank, max_tokens, count, doc.outline)
        )
        return plan

    def add(
        self,
        doc_id: str,
        source: str,
        fragments: Fragments,
        title: str,
        size: int,
        legacy: str,
        outline: Outline | None = None,
    ) -> None:
        """Plan one document: `title` is the fallback; `legacy` its id in older indexes."""
        tick = lambda: _ticking(fragments(), self.tracker, source, size)  # noqa: E731
        version = version_of(tick(), title, self.max_tokens, _tag(outline))
        if version.blank:
            self.report.empty.append(source)
        state = self.states.get(doc_id)
        replaces = [legacy] if legacy != doc_id and legacy in self.states else []
        if replaces and state is None:
            old = self.states[legacy]
            if old.complete and old.doc_hash == version.doc_hash:  # stored before, unchanged
                self.moves.append((legacy, doc_id, source, old.n_chunks))
                self.report.unchanged += 1
                self.tracker.file_read(source, 0)
                return
        if replaces == [] and state is not None and state.complete:
            if state.doc_hash == version.doc_hash:
                self.report.unchanged += 1
                self.tracker.file_read(source, 0)
                return
        present: set[str] = set()
        if state is not None:
            present = set(self.store.chunk_ids(doc_id, version.doc_hash))
        if state is None and not replaces:
            self.report.new += 1
        elif present and state is not None and state.doc_hash == version.doc_hash:
            self.report.resumed += 1
        else:
            self.report.changed += 1
        count = self.embedder.count_tokens
        n = sum(1 for _ in pieces_of(tick, version.blank, self.max_tokens, count, outline))
        self.plans.append(
            DocPlan(
                doc_id, source, version, n, fragments, replaces, state is not None, present, outline
            )
        )
        self.tracker.file_read(source, n - len(present))


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
    planner = _Planner(store, states, settings.chunk_tokens, embedder, tracker)
    for doc in docs:
        doc_id = doc_id_for(doc.source)
        planner.add(
            doc_id, doc.source, from_text(doc.text), doc.title, len(doc.text), doc_id, doc.outline
        )
    _write(store, embedder, planner, tracker, batch_chunks)
    planner.report.seconds = round(time.perf_counter() - t0, 3)
    return planner.report


def _write(
    store: ChunkStore, embedder: Embedder, planner: _Planner, tracker: Tracker, batch: int
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
        mb = sum(_size(f) for f in found.files) / (1 << 20)
        if mb > LARGE_INGEST_MB:
            notice(large_ingest_note(Path(store.uri), mb))
    store.check_embedder(embedder.name)
    before = store.doc_states()  # one scan serves the plan and the prune
    planner = _Planner(store, before, settings.chunk_tokens, embedder, tracker)
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
                fragments, title, size, outline = _open(f, source, Path(spool) / f"{n}.txt", limits)
                doc_id = file_doc_id(f)
                planner.add(doc_id, source, fragments, title, size, doc_id_for(source), outline)
            except UnreadableFile as exc:
                report.skipped.append(f"{f}: {exc}")
                tracker.file_read(source, 0)
                continue
            present.add(doc_id)
        _write(store, embedder, planner, tracker, 256)
    for move in planner.moves:
        _move(store, embedder.name, *move)
    if prune:
        _prune(store, before, present, paths, report)
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


def _size(path: Path) -> int:
    """A file's size in bytes (0 if it cannot be read: the read says why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _open(
    path: Path, source: str, spool: Path, limits: ReadLimits
) -> tuple[Fragments, str, int, Outline | None]:
    """How to read a file's text again, its fallback title, its size and its outline.

    Raises:
        UnreadableFile: The file cannot be read as text (the message says why).
    """
    if is_streamed(path):
        try:
            size = path.stat().st_size
            with path.open("rb") as fh:
                if b"\x00" in fh.read(8192):
                    raise UnreadableFile("binary content (NUL bytes)")
        except OSError as exc:
            raise UnreadableFile(f"cannot read ({exc.strerror or exc})") from exc
        return _checked(path), path.stem, size, None
    doc = load_file(path, source, limits)
    spool.write_text(doc.text, encoding="utf-8", newline="")
    return from_file(spool), doc.title, len(doc.text), doc.outline


def _checked(path: Path) -> Fragments:
    """Fragments of a text file whose decoding and read errors become UnreadableFile."""

    def read() -> Iterator[str]:
        try:
            yield from from_file(path)()
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                f"not UTF-8 text ({_bad_byte(path)}); convert it to UTF-8"
            ) from exc
        except OSError as exc:
            raise UnreadableFile(f"cannot read ({exc.strerror or exc})") from exc

    return read


def _bad_byte(path: Path) -> str:
    """'byte N' of the first byte that is not UTF-8 (files up to BAD_BYTE_SCAN only)."""
    if path.stat().st_size > BAD_BYTE_SCAN:
        return "a byte past the first block"
    try:
        path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return f"byte {exc.start}"
    return "changed while read"


def _move(store: ChunkStore, embedder: str, old: str, doc_id: str, source: str, n: int) -> None:
    """Store an unchanged document of an older index under its new id, with its vectors.

    Nothing is embedded again. The new chunks are written before the old ones are deleted,
    so an interruption leaves both, and the next run finishes the move.
    """
    for first in range(0, n, MOVE_CHUNKS):
        rows = store.chunks_with_vectors(old, first, first + MOVE_CHUNKS - 1)
        if not rows:
            continue
        moved = [
            c.model_copy(
                update={
                    "doc_id": doc_id,
                    "source": source,
                    "id": chunk_id(doc_id, c.chunk_index, c.text),
                }
            )
            for c, _ in rows
        ]
        store.upsert(moved, np.asarray([v for _, v in rows], dtype=np.float32), embedder)
    store.flush()
    store.delete_ids(store.chunk_ids(old))
    store.flush()


def _prune(
    store: ChunkStore,
    before: dict[str, DocState],
    present: set[str],
    roots: Sequence[Path],
    report: IngestReport,
) -> None:
    """Remove stored documents whose files are gone (see _is_gone)."""
    gone = [
        s.doc_id for s in before.values() if s.doc_id not in present and _is_gone(s.source, roots)
    ]
    ids = [i for doc_id in gone for i in store.chunk_ids(doc_id)]
    store.delete_ids(ids)
    store.flush()
    report.removed = len(gone)
    report.chunks_deleted += len(ids)


def _is_gone(source: str, roots: Sequence[Path]) -> bool:
    """A stored document that --prune may remove (the caller knows it was not found now).

    Documents under a path being ingested go; so do documents stored with an absolute path
    whose file no longer exists. A relative source whose file is missing is kept unless it
    lies under a given path: from another working folder it would only look missing.
    """
    path = Path(source)
    resolved = path.resolve()
    if any(resolved.is_relative_to(r.resolve()) for r in roots if r.is_dir()):
        return True
    return path.is_absolute() and not path.exists()
