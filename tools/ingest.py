"""Ingestion: load, split, embed and upsert, idempotently and crash-safely.

A document is written chunk-batch by chunk-batch and flushed; each chunk records its
document's content hash and chunk count, so a re-run sees an incomplete or stale document
and rewrites it, and an unchanged one is skipped. Stale chunks are deleted only after the
new version is fully written, so a crash never loses what was already there.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.settings import Settings
from tools.embeddings import Embedder
from tools.loaders import SourceDoc, UnreadableFile, find_files, load_file, source_name
from tools.schemas import Chunk, IngestReport
from tools.splitter import CHUNKER_VERSION, Piece, split_document
from tools.store import ChunkStore, DocState

Progress = Callable[[int, int], None]
"""Called with (chunks done, chunks total) as batches are written."""

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
    return _sha(doc.text, doc.title, f"chunker={CHUNKER_VERSION}:{max_tokens}")[:32]


def chunk_document(doc: SourceDoc, embedder: Embedder, max_tokens: int) -> list[Chunk]:
    """Split a document into chunks with deterministic ids."""
    doc_id = doc_id_for(doc.source)
    doc_hash = doc_hash_for(doc, max_tokens)
    # An empty file still gets one empty chunk, so the store records that it was seen.
    pieces = split_document(doc.text, max_tokens, embedder.count_tokens) or [Piece("", 1, 0, "")]
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
    to_write: list[tuple[SourceDoc, str | None]] = field(default_factory=list)
    report: IngestReport = field(default_factory=IngestReport)


def _plan(states: dict[str, DocState], docs: Iterable[SourceDoc], max_tokens: int) -> _Plan:
    plan = _Plan()
    for doc in docs:
        state = states.get(doc_id_for(doc.source))
        if state is None:
            plan.to_write.append((doc, None))
            plan.report.new += 1
        elif state.complete and state.doc_hash == doc_hash_for(doc, max_tokens):
            plan.report.unchanged += 1
        else:
            plan.to_write.append((doc, state.doc_id))
            plan.report.changed += 1
    return plan


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
    plan = _plan(store.doc_states() if states is None else states, docs, settings.chunk_tokens)
    chunked = [
        (chunk_document(d, embedder, settings.chunk_tokens), old) for d, old in plan.to_write
    ]
    total = sum(len(c) for c, _ in chunked)
    done = 0
    pending: list[Chunk] = []
    stale: list[str] = []
    for chunks, old in chunked:
        if old is not None:
            keep = {c.id for c in chunks}
            stale.extend(i for i in store.chunk_ids(old) if i not in keep)
        pending.extend(chunks)
        while len(pending) >= batch_chunks:
            done += _write(store, embedder, pending[:batch_chunks])
            pending = pending[batch_chunks:]
            if progress:
                progress(done, total)
    done += _write(store, embedder, pending)
    if progress:
        progress(done, total)
    store.delete_ids(stale)
    store.flush()
    plan.report.chunks_written = done
    plan.report.chunks_deleted = len(stale)
    plan.report.seconds = round(time.perf_counter() - t0, 3)
    return plan.report


def _write(store: ChunkStore, embedder: Embedder, chunks: list[Chunk]) -> int:
    if not chunks:
        return 0
    vectors = embedder.embed([embed_input(c) for c in chunks])
    store.upsert(chunks, vectors, embedder.name)
    store.flush()
    return len(chunks)


def ingest_paths(
    store: ChunkStore,
    embedder: Embedder,
    paths: Sequence[Path],
    settings: Settings,
    prune: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest files and folders; with prune, remove documents whose files are gone."""
    t0 = time.perf_counter()
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        from tools.errors import ResearchAgentError

        raise ResearchAgentError(f"No such file or folder: {', '.join(missing)}. Check the path.")
    docs: list[SourceDoc] = []
    skipped: list[str] = []
    for f in find_files(list(paths)):
        try:
            docs.append(load_file(f, source_name(f)))
        except UnreadableFile as exc:
            skipped.append(f"{f}: {exc}")
    before = store.doc_states()  # one scan serves the plan and the prune
    report = ingest_documents(store, embedder, docs, settings, progress, states=before)
    report.skipped = skipped
    if prune:
        present = {doc_id_for(d.source) for d in docs}
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
