"""Ingestion: load, split, embed and upsert, idempotently and crash-safely.

A document is written chunk-batch by chunk-batch and flushed; each chunk records its
document's content hash and chunk count, so a re-run sees an incomplete or stale document
and rewrites it, and an unchanged one is skipped. Stale chunks are deleted only after the
new version is fully written, so a crash never loses what was already there.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agent.settings import Settings
from tools.discover import Walker
from tools.embeddings import Embedder
from tools.errors import ResearchAgentError
from tools.loaders import SourceDoc, UnreadableFile, load_file
from tools.loaders_code import OUTLINE_VERSION
from tools.progress import IngestProgress, Tracker
from tools.schemas import Chunk, IngestReport
from tools.sources import source_name
from tools.splitter import CHUNKER_VERSION, Piece, split_document
from tools.store import ChunkStore, DocState

if TYPE_CHECKING:
    import numpy as np

Progress = Callable[[IngestProgress], None]
"""Called with a snapshot as files are read and chunk batches are embedded and written."""

EMBED_PREFIX_CHARS = 160


def _sha(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def doc_id_for(source: str) -> str:
    """Stable document id from its source name."""
    return _sha("doc", source)[:16]


def doc_hash_for(doc: SourceDoc, max_tokens: int) -> str:
    """Content hash of a document as chunked: a new splitter or chunk size re-chunks it."""
    outlined = "" if doc.outline is None else f":outline={OUTLINE_VERSION}"
    return _sha(doc.text, doc.title, f"chunker={CHUNKER_VERSION}:{max_tokens}{outlined}")[:32]


def chunk_document(doc: SourceDoc, embedder: Embedder, max_tokens: int) -> list[Chunk]:
    """Split a document into chunks with deterministic ids.

    An empty (or blank) document gets one empty chunk with lines 1-0: the store then records
    that it was seen, so a re-run skips it, and search never returns it (end_line 0).
    """
    doc_id = doc_id_for(doc.source)
    doc_hash = doc_hash_for(doc, max_tokens)
    pieces = [Piece("", 1, 0, "")]
    if doc.text.strip():
        pieces = split_document(doc.text, max_tokens, embedder.count_tokens, doc.outline) or pieces
    return [
        Chunk(
            id=_sha(doc_id, str(i), p.text)[:32],
            doc_id=doc_id,
            source=doc.source,
            title=doc.title,
            chunk_index=i,
            start_line=p.start_line,
            end_line=p.end_line,
            text=p.text,
            n_chunks=len(pieces),
            doc_hash=doc_hash,
            heading=p.heading,
        )
        for i, p in enumerate(pieces)
    ]


def embed_input(chunk: Chunk) -> str:
    """What the dense embedder reads: a short title/heading prefix, then the chunk.

    The prefix is capped so prefix + chunk stay inside MiniLM's 256-token window.
    """
    tail = chunk.heading.split(" > ")[-1] if chunk.heading else ""
    prefix = chunk.title if not tail or tail == chunk.title else f"{chunk.title}: {tail}"
    return f"{prefix[:EMBED_PREFIX_CHARS]}\n{chunk.text}"


@dataclass
class _Plan:
    """What to write: chunks per new or changed document, with the doc_id it replaces."""

    states: dict[str, DocState]
    max_tokens: int
    to_write: list[tuple[list[Chunk], str | None]] = field(default_factory=list)
    report: IngestReport = field(default_factory=IngestReport)

    def add(self, doc: SourceDoc, embedder: Embedder) -> int:
        """Decide for one document; returns how many chunks it adds to write."""
        if not doc.text.strip():
            self.report.empty.append(doc.source)
        state = self.states.get(doc_id_for(doc.source))
        if state is not None and state.complete:
            if state.doc_hash == doc_hash_for(doc, self.max_tokens):
                self.report.unchanged += 1
                return 0
        if state is None:
            self.report.new += 1
        else:
            self.report.changed += 1
        chunks = chunk_document(doc, embedder, self.max_tokens)
        self.to_write.append((chunks, None if state is None else state.doc_id))
        return len(chunks)


def ingest_documents(
    store: ChunkStore,
    embedder: Embedder,
    docs: Sequence[SourceDoc],
    settings: Settings,
    progress: Progress | None = None,
    batch_chunks: int = 256,
    states: dict[str, DocState] | None = None,
) -> IngestReport:
    """Write new and changed documents; skip unchanged ones.

    `states` is what the store held before (store.doc_states()); read here when not given.
    """
    t0 = time.perf_counter()
    store.check_embedder(embedder.name)
    tracker = Tracker(progress, files_total=len(docs))
    plan = _Plan(store.doc_states() if states is None else states, settings.chunk_tokens)
    for doc in docs:
        tracker.file_read(doc.source, plan.add(doc, embedder))
    _write_plan(store, embedder, plan, tracker, batch_chunks)
    plan.report.seconds = round(time.perf_counter() - t0, 3)
    return plan.report


def _write_plan(
    store: ChunkStore, embedder: Embedder, plan: _Plan, tracker: Tracker, batch_chunks: int
) -> None:
    """Embed and upsert the planned chunks batch by batch, then delete stale ones."""
    # a remote embedder gets enough texts per call to fill all its request slots
    batch_chunks = max(batch_chunks, getattr(embedder, "chunks_in_flight", 0))
    pending: list[Chunk] = []
    stale: list[str] = []
    with _Writer(store, embedder, tracker) as writer:
        for chunks, old in plan.to_write:
            if old is not None:
                keep = {c.id for c in chunks}
                stale.extend(i for i in store.chunk_ids(old) if i not in keep)
            pending.extend(chunks)
            while len(pending) >= batch_chunks:
                writer.add(pending[:batch_chunks])
                pending = pending[batch_chunks:]
        writer.add(pending)
    store.delete_ids(stale)
    store.flush()
    tracker.finish()
    plan.report.chunks_written = tracker.state.chunks_done
    plan.report.chunks_deleted = len(stale)


class _Writer:
    """Embeds and writes chunk batches in order, each upserted and flushed on its own.

    With a remote embedder (`embedder.remote`), batch n+1 is embedded in the background
    while batch n is written, so the embedding server never waits for Milvus; a crash
    loses at most the batches not yet written, which the next run writes again.
    """

    def __init__(self, store: ChunkStore, embedder: Embedder, tracker: Tracker) -> None:
        self.store, self.embedder, self.tracker = store, embedder, tracker
        self._pool = ThreadPoolExecutor(1) if getattr(embedder, "remote", False) else None
        self._queued: tuple[list[Chunk], Future[np.ndarray]] | None = None

    def add(self, chunks: list[Chunk]) -> None:
        if not chunks:
            return
        texts = [embed_input(c) for c in chunks]
        if self._pool is None:
            self.tracker.stage("embedding")
            self._write(chunks, self.embedder.embed(texts))
            return
        queued, self._queued = self._queued, (chunks, self._pool.submit(self.embedder.embed, texts))
        if queued is not None:
            self._write_queued(queued)

    def _write_queued(self, queued: tuple[list[Chunk], Future[np.ndarray]]) -> None:
        if not queued[1].done():
            self.tracker.stage("embedding")
        self._write(queued[0], queued[1].result())

    def _write(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        self.tracker.stage("writing")
        self.store.upsert(chunks, vectors, self.embedder.name)
        self.store.flush()
        self.tracker.chunks_written(len(chunks))

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        queued, self._queued = self._queued, None
        try:
            if queued is not None and exc_type is None:
                self._write_queued(queued)
        finally:
            if self._pool is not None:  # on an error, do not wait for a batch nobody writes
                self._pool.shutdown(wait=exc_type is None, cancel_futures=True)


def ingest_paths(
    store: ChunkStore,
    embedder: Embedder,
    paths: Sequence[Path],
    settings: Settings,
    prune: bool = False,
    progress: Progress | None = None,
    walker: Walker | None = None,
) -> IngestReport:
    """Ingest files and folders; with prune, remove documents whose files are gone.

    Files are read one by one (progress counts them from the start), then the chunks of new
    and changed documents are embedded and written in batches.
    """
    t0 = time.perf_counter()
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise ResearchAgentError(f"No such file or folder: {', '.join(missing)}. Check the path.")
    tracker = Tracker(progress)
    tracker.stage("scanning")
    found = (walker or Walker()).walk(paths)
    store.check_embedder(embedder.name)
    before = store.doc_states()  # one scan serves the plan and the prune
    plan = _Plan(before, settings.chunk_tokens)
    plan.report.skipped = [str(s) for s in found.skipped]
    plan.report.excluded = found.excluded
    tracker.files(len(found.files))
    present: set[str] = set()
    for f in found.files:
        source = source_name(f)
        try:
            doc = load_file(f, source)
        except UnreadableFile as exc:
            plan.report.skipped.append(f"{f}: {exc}")
            tracker.file_read(source, 0)
            continue
        present.add(doc_id_for(source))
        tracker.file_read(source, plan.add(doc, embedder))
    _write_plan(store, embedder, plan, tracker, 256)
    report = plan.report
    if prune:
        gone = [
            s.doc_id
            for s in before.values()
            if s.doc_id not in present and _is_gone(s.source, paths)
        ]
        ids = [i for doc_id in gone for i in store.chunk_ids(doc_id)]
        store.delete_ids(ids)
        store.flush()
        report.removed = len(gone)
        report.chunks_deleted += len(ids)
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


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
