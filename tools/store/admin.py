"""Operations on whole collections of a Milvus database: list, drop, and reindex in place.

They go through a ChunkStore's client (one opener per Lite file and process) and leave the
store's cached view of its own collection fresh (`ChunkStore.forget`) when they change it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tools.errors import StoreError
from tools.store import indexes
from tools.store.chunks import ChunkStore
from tools.store.collection import PROP_EMBEDDER
from tools.store.connect import answering, quiet
from tools.store.indexes import DenseIndex

UNKNOWN = "unknown"
"""Shown for what a collection does not record (the embedder of one built elsewhere)."""


@dataclass(frozen=True)
class CollectionInfo:
    """One collection of the Milvus database."""

    name: str
    chunks: int
    embedder: str
    index: str


@dataclass(frozen=True)
class ReindexReport:
    """What `reindex` did to one collection."""

    collection: str
    before: str | None
    after: str
    rows: int
    seconds: float

    @property
    def changed(self) -> bool:
        """Whether an index was rebuilt (False: it already had the target index)."""
        return self.before != self.after


def _rows(store: ChunkStore, name: str) -> int:
    rows = store.client.query(name, filter="", output_fields=["count(*)"])
    return int(rows[0]["count(*)"]) if rows else 0


def list_collections(store: ChunkStore) -> list[CollectionInfo]:
    """Every collection of the store's database, with its chunk count, embedder and indexes."""
    out = []
    with answering(store.uri):
        for name in sorted(store.client.list_collections()):
            props = store.client.describe_collection(name).get("properties", {})
            store.client.load_collection(name)
            out.append(
                CollectionInfo(
                    name=name,
                    chunks=_rows(store, name),
                    embedder=str(props.get(PROP_EMBEDDER, UNKNOWN)),
                    index=indexes.index_summary(store.client, name),
                )
            )
    return out


def drop_collection(store: ChunkStore, name: str) -> int:
    """Remove a whole collection of the store's database; returns how many chunks it held.

    Raises:
        StoreError: There is no such collection.
    """
    with answering(store.uri):
        if not store.client.has_collection(name):
            raise StoreError(
                f"No collection '{name}' at {store.uri}; `research-agent collections` lists them."
            )
        store.client.load_collection(name)
        chunks = _rows(store, name)
        store.client.drop_collection(name)
    if name == store.collection:
        store.forget()
    return chunks


def reindex(store: ChunkStore, target: DenseIndex | None = None) -> ReindexReport:
    """Give the store's collection's dense field the target index, in place.

    Drop + create index, not a rebuild of the collection: the rows, their vectors and the
    BM25 index stay as they are, so nothing is re-embedded or copied, and the collection
    needs no extra space. The collection is released meanwhile (searches fail for that
    time). A run cut short between the drop and the create leaves the field without an
    index; running it again finishes the job.

    Args:
        store: The store of the collection to migrate.
        target: The dense index to give it (default: what a new collection gets).

    Raises:
        StoreError: There is no such collection.
    """
    client, collection = store.client, store.collection
    target = target or indexes.dense_index_for(store.settings)
    if not client.has_collection(collection):
        raise StoreError(f"No collection '{collection}'. `research-agent ingest` creates it.")
    t0 = time.perf_counter()
    try:
        before = indexes.dense_index_of(client, collection)
        if before != target:
            client.release_collection(collection)
            for name in client.list_indexes(collection, field_name=indexes.DENSE_FIELD):
                client.drop_index(collection, name)
            params = client.prepare_index_params()
            params.add_index(
                field_name=indexes.DENSE_FIELD,
                index_name=indexes.DENSE_FIELD,
                **indexes.dense_index(target),
            )
            client.create_index(collection, params)
        with quiet():
            client.load_collection(collection)
        rows = _rows(store, collection)
    finally:
        store.forget()  # the next search reads the new index type
    return ReindexReport(collection, before, target, rows, round(time.perf_counter() - t0, 3))
