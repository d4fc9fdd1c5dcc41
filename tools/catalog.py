"""What a Milvus database holds: documents of a collection, collections, and removing them.

The Milvus side of each operation is the store's (tools/store/: `ChunkStore` reads and
deletes, `tools.store.admin` for whole collections); this module adds what lives beside the
data (ingest times) and the messages. Ingest stays the only writer of chunks.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from agent.settings import Settings
from tools.errors import ResearchAgentError
from tools.store import admin, open_store
from tools.store.admin import UNKNOWN, CollectionInfo

__all__ = [
    "UNKNOWN",
    "CollectionInfo",
    "DocInfo",
    "IngestTimes",
    "after_ingest",
    "before_ingest",
    "drop_collection",
    "list_collections",
    "list_docs",
    "remove_docs",
]


@dataclass(frozen=True)
class DocInfo:
    """One indexed document."""

    doc_id: str
    source: str
    title: str
    chunks: int
    ingested: str = UNKNOWN
    """When its current version was ingested (ISO 8601, UTC), or "unknown"."""
    complete: bool = True
    """False while its chunks are being written, or when an interrupted ingest left it
    half-written: search and fetch leave it out until an ingest finishes it."""


def list_docs(settings: Settings) -> list[DocInfo]:
    """Documents of the collection, by source."""
    store = open_store(settings)
    store.require()
    sources: dict[str, str] = {}
    titles: dict[str, str] = {}
    chunks: dict[str, int] = {}
    hashes: dict[str, str] = {}
    versions: Counter[tuple[str, str, int]] = Counter()
    fields = ["doc_id", "source", "title", "chunk_index", "doc_hash", "n_chunks"]
    for row in store.all_rows(fields):
        doc_id = row["doc_id"]
        sources[doc_id] = row["source"]
        chunks[doc_id] = chunks.get(doc_id, 0) + 1
        hashes[doc_id] = row["doc_hash"]
        versions[(doc_id, row["doc_hash"], row["n_chunks"])] += 1
        if row["chunk_index"] == 0 or doc_id not in titles:
            titles[doc_id] = row["title"]
    times = IngestTimes(settings).get()
    whole = {doc_id for (doc_id, _, n), rows in versions.items() if rows == n == chunks[doc_id]}
    whole -= store.incomplete()

    def when(doc_id: str) -> str:
        entry = times.get(doc_id, {})
        at = entry.get("at") if entry.get("hash") == hashes[doc_id] else None
        return at or UNKNOWN

    docs = (DocInfo(d, sources[d], titles[d], chunks[d], when(d), d in whole) for d in sources)
    return sorted(docs, key=lambda i: i.source)


def remove_docs(settings: Settings, sources: Sequence[str]) -> dict[str, int]:
    """Delete the chunks of each document (by source or doc_id); chunks removed per name.

    Raises:
        ResearchAgentError: A name matches no document (nothing is deleted then).
    """
    store = open_store(settings)
    store.require()
    ids: dict[str, list[str]] = {}
    doc_ids: dict[str, str] = {}
    missing = []
    for name in sources:
        doc_id = store.find_doc(name)
        if doc_id is None:
            missing.append(name)
        else:
            ids[name] = store.chunk_ids(doc_id)
            doc_ids[name] = doc_id
    if missing:
        raise ResearchAgentError(
            f"No document {', '.join(repr(m) for m in missing)} in collection "
            f"'{settings.collection}'; nothing removed. `research-agent docs list` shows "
            "the sources."
        )
    for chunk_ids in ids.values():
        store.delete_ids(chunk_ids)
    store.flush()
    if (marked := store.incomplete()) & set(doc_ids.values()):
        store.mark_incomplete(marked - set(doc_ids.values()))
    IngestTimes(settings).forget(list(doc_ids.values()))
    return {name: len(chunk_ids) for name, chunk_ids in ids.items()}


def list_collections(settings: Settings) -> list[CollectionInfo]:
    """Every collection of the database, with its chunk count, embedder and indexes."""
    return admin.list_collections(open_store(settings))


def drop_collection(settings: Settings, name: str) -> int:
    """Remove a whole collection (and its ingest times); returns how many chunks it held.

    Raises:
        StoreError: There is no such collection.
    """
    chunks = admin.drop_collection(open_store(settings), name)
    IngestTimes(settings.model_copy(update={"collection": name})).forget()
    return chunks


class IngestTimes:
    """When each document's current version was ingested, kept beside the data.

    Chunks carry no time and the collection schema stays as it is, so the times live in
    `<data_dir>/ingested.json`, per Milvus URI and collection: doc_id -> {hash, at}. A
    time counts only while the document's hash is the one stored; documents that were
    already indexed before times were kept show "unknown".
    """

    FILE = "ingested.json"

    def __init__(self, settings: Settings) -> None:
        self.path = settings.data_dir / self.FILE
        self.key = f"{settings.resolved_milvus_uri()}#{settings.collection}"

    def _load(self) -> dict[str, dict[str, dict[str, str | None]]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # absent or damaged: times are a convenience
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, dict[str, dict[str, str | None]]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(self.path)

    def known(self) -> bool:
        """Whether times are kept for this collection yet."""
        return self.key in self._load()

    def get(self) -> dict[str, dict[str, str | None]]:
        """doc_id -> {"hash", "at"} for this collection."""
        return self._load().get(self.key, {})

    def record(self, hashes: dict[str, str], at: str | None) -> None:
        """Stamp documents whose hash is new or changed with `at` (None: unknown)."""
        data = self._load()
        section = data.setdefault(self.key, {})
        for doc_id, doc_hash in hashes.items():
            if section.get(doc_id, {}).get("hash") != doc_hash:
                section[doc_id] = {"hash": doc_hash, "at": at}
        self._save(data)

    def forget(self, doc_ids: Sequence[str] | None = None) -> None:
        """Drop the times of these documents, or of the whole collection (None)."""
        data = self._load()
        if self.key not in data:
            return
        if doc_ids is None:
            del data[self.key]
        else:
            for doc_id in doc_ids:
                data[self.key].pop(doc_id, None)
        self._save(data)


def _hashes(settings: Settings) -> dict[str, str] | None:
    store = open_store(settings)
    if not store.exists():
        return None
    return {doc_id: state.doc_hash for doc_id, state in store.doc_states().items()}


def before_ingest(settings: Settings) -> None:
    """Before an ingest: documents indexed before times were kept are marked "unknown".

    Reads the collection once, the first time only.
    """
    times = IngestTimes(settings)
    if not times.known():
        times.record(_hashes(settings) or {}, None)


def after_ingest(settings: Settings, wrote: bool) -> None:
    """After an ingest that added or changed documents: stamp those with the time now."""
    if not wrote:
        return
    hashes = _hashes(settings)
    if hashes is not None:
        IngestTimes(settings).record(hashes, datetime.now(UTC).isoformat(timespec="seconds"))
