"""Ingest housekeeping: moving unchanged documents to their new ids, pruning vanished files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tools.docplan import chunk_id
from tools.schemas import IngestReport
from tools.store import ChunkStore, DocState

MOVE_CHUNKS = 1024


def move_document(
    store: ChunkStore, embedder: str, old: str, doc_id: str, source: str, n: int
) -> None:
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


def prune_gone(
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
