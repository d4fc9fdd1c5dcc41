"""Writes planned chunks: embed a batch, upsert it, flush, and keep the being-written list.

Each batch is upserted and flushed on its own. A document whose chunks span batches is
listed as being written (ChunkStore.mark_incomplete) before its first batch and taken off
the list after its last, once its older versions are deleted; a document inside one batch
is written by one upsert and needs no listing. With a remote embedder (`embedder.remote`),
batch n+1 is embedded in the background while batch n is written, so the embedding server
never waits for Milvus; a crash loses at most the batches not yet written. While a batch is
embedded (a local embedder on a busy machine may take minutes for one), the tracker hears a
heartbeat after every slice of HEARTBEAT_TEXTS texts, or every HEARTBEAT_SECONDS while a
remote batch is awaited, so progress lines keep coming.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

import numpy as np

from tools.docplan import DocPlan
from tools.embeddings import Embedder
from tools.progress import Tracker
from tools.schemas import Chunk
from tools.store import ChunkStore

EMBED_PREFIX_CHARS = 160
HEARTBEAT_TEXTS = 32
"""Texts a local embedder embeds between two heartbeats."""
HEARTBEAT_SECONDS = 1.0
"""Seconds between heartbeats while a remote embedder's batch is awaited."""


def embed_input(chunk: Chunk) -> str:
    """What the dense embedder reads: a short title/heading prefix, then the chunk.

    The prefix is capped so prefix + chunk stay inside MiniLM's 256-token window.
    """
    tail = chunk.heading.split(" > ")[-1] if chunk.heading else ""
    prefix = chunk.title if not tail or tail == chunk.title else f"{chunk.title}: {tail}"
    return f"{prefix[:EMBED_PREFIX_CHARS]}\n{chunk.text}"


@dataclass
class Batch:
    """Chunks to write together, and the documents whose last chunk is in or before them."""

    chunks: list[Chunk] = field(default_factory=list)
    finished: list[DocPlan] = field(default_factory=list)


class Writer:
    """Embeds and writes batches in order (see the module docstring)."""

    def __init__(self, store: ChunkStore, embedder: Embedder, tracker: Tracker) -> None:
        self.store, self.embedder, self.tracker = store, embedder, tracker
        self._pool = ThreadPoolExecutor(1) if getattr(embedder, "remote", False) else None
        self._queued: tuple[Batch, Future[np.ndarray] | None] | None = None
        self.marked = store.incomplete()
        self.deleted = 0

    def add(self, batch: Batch) -> None:
        """Embed and write a batch (in the background with a remote embedder)."""
        texts = [embed_input(c) for c in batch.chunks]
        if self._pool is None:
            if texts:
                self.tracker.stage("embedding")
            self._write(batch, self._embed_here(texts) if texts else None)
            return
        job = self._pool.submit(self.embedder.embed, texts) if texts else None
        queued, self._queued = self._queued, (batch, job)
        if queued is not None:
            self._write_queued(queued)

    def _write_queued(self, queued: tuple[Batch, Future[np.ndarray] | None]) -> None:
        batch, job = queued
        if job is not None and not job.done():
            self.tracker.stage("embedding")
        self._write(batch, None if job is None else self._await(job))

    def _embed_here(self, texts: list[str]) -> np.ndarray:
        """Embed in this thread, slice by slice, with a heartbeat after each slice."""
        parts = []
        for start in range(0, len(texts), HEARTBEAT_TEXTS):
            parts.append(self.embedder.embed(texts[start : start + HEARTBEAT_TEXTS]))
            self.tracker.heartbeat()
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _await(self, job: Future[np.ndarray]) -> np.ndarray:
        """The remote batch's vectors, with a heartbeat every HEARTBEAT_SECONDS meanwhile."""
        while True:
            try:
                return job.result(timeout=HEARTBEAT_SECONDS)
            except FutureTimeout:
                self.tracker.heartbeat()

    def _write(self, batch: Batch, vectors: np.ndarray | None) -> None:
        finished = {p.doc_id for p in batch.finished}
        open_docs = {c.doc_id for c in batch.chunks} - finished
        existed = self.store.exists()
        if existed:
            self._mark(self.marked | open_docs)
        if vectors is not None:
            self.tracker.stage("writing")
            self.store.upsert(batch.chunks, vectors, self.embedder.name)
            self.store.flush()
            self.tracker.chunks_written(len(batch.chunks))
        if not existed:
            self._mark(self.marked | open_docs)
        if not batch.finished:
            return
        deleted = self.deleted
        for plan in batch.finished:
            if plan.stored:
                self.deleted += self.store.delete_other_versions(plan.doc_id, plan.version.doc_hash)
            for old in plan.replaces:
                ids = self.store.chunk_ids(old)
                self.store.delete_ids(ids)
                self.deleted += len(ids)
        if self.deleted > deleted:
            self.store.flush()
        self._mark(self.marked - finished - {old for p in batch.finished for old in p.replaces})

    def _mark(self, doc_ids: set[str]) -> None:
        if doc_ids != self.marked:
            self.store.mark_incomplete(doc_ids)
            self.marked = doc_ids

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        queued, self._queued = self._queued, None
        try:
            if queued is not None and exc_type is None:
                self._write_queued(queued)
        finally:
            if self._pool is not None:  # on an error, do not wait for a batch nobody writes
                self._pool.shutdown(wait=exc_type is None, cancel_futures=True)
                if exc_type is not None and (cancel := getattr(self.embedder, "cancel", None)):
                    cancel()  # Ctrl-C: the process exits without sending the rest
