"""ChunkStore: one collection of chunks, and one write path per operation.

Create: `collection.create_collection` (first write only). Write: `upsert` (ids are content
hashes, so re-running is idempotent). Delete: `delete_ids`. Reads and search go through the
same pymilvus client. pymilvus directly: langchain-milvus's upsert re-embeds the texts with its
own embedding object (ours are embedded in batches by tools.embeddings), and its delete
returns False instead of raising when Milvus fails.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pymilvus import MilvusException

from agent.settings import Settings
from tools.errors import StoreError, ToolInputError
from tools.schemas import Chunk, SearchFilters
from tools.store import collection as layout
from tools.store import indexes
from tools.store.connect import answering, connect, quiet
from tools.store.filters import (
    METADATA_FIELDS,
    ids_filters,
    milvus_literal,
    needs_metadata,
    search_filter,
    title_matches,
)
from tools.store.fusion import Fusion
from tools.store.retrieve import SearchMode, search

if TYPE_CHECKING:
    import numpy as np


INCOMPLETE_TTL = 1.0
"""Seconds a search reuses the list of documents being written (another process may write:
it marks a document before writing its first batch)."""


@dataclass(frozen=True)
class DocState:
    """What the store holds of one document."""

    doc_id: str
    source: str
    doc_hash: str
    n_chunks: int
    rows: int
    rows_current: int

    marked: bool = False
    """Listed as being written (an ingest of it started and has not finished)."""

    @property
    def complete(self) -> bool:
        """All chunks of the latest version are present, nothing else, and no write is open."""
        return self.rows == self.rows_current == self.n_chunks and not self.marked


class ChunkStore:
    """One Milvus collection of chunks with dense and BM25 vectors."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.uri = settings.resolved_milvus_uri()
        self.collection = settings.collection
        self.client = connect(settings)
        self._loaded = False
        self._loading = threading.Lock()  # concurrent first searches load the collection once
        self._embedder_ok: str | None = None  # the embedder name last found to match
        self._dense_index: str | None = None  # the dense field's index type, read on load
        self._incomplete: tuple[float, set[str]] | None = None  # (when read, doc_ids)
        self._metadata: bool | None = None  # whether the collection has modified and tags

    # -- collection ---------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the collection exists."""
        return bool(self.client.has_collection(self.collection))

    def recorded_embedder(self) -> tuple[str, int] | None:
        """(embedder name, dimension) recorded with the collection, if any."""
        with answering(self.uri):
            if not self.exists():
                return None
            props = self.client.describe_collection(self.collection).get("properties", {})
        return layout.recorded_embedder(props)

    def check_embedder(self, name: str) -> None:
        """Refuse to mix vectors of two embedders in one collection."""
        if name == self._embedder_ok:
            return
        rec = self.recorded_embedder()
        if rec and rec[0] == name:
            self._embedder_ok = name  # checked once: each search would repeat two calls
        if rec and rec[0] == "?":  # no embedder recorded: another program made it
            raise StoreError(
                f"Collection '{self.collection}' at {self.uri} was not built by research-agent "
                "(no embedder recorded). Ingest your files into a new collection with "
                f"`research-agent ingest PATH --collection NAME`."
            )
        if rec and rec[0] != name:
            raise StoreError(
                f"Collection '{self.collection}' was built with the embedder {rec[0]} "
                f"(dim {rec[1]}), but the settings select {name}. Use the same embedder, or "
                "ingest into another collection with --collection NAME."
            )

    def require(self) -> None:
        """Raise a clear error when there is nothing to search yet; load it otherwise.

        Runs that share the store (Studio's concurrent runs) wait for one load: a second
        load_collection while the first is under way returned at once on Milvus Lite, and its
        search found the collection still 'released'.
        """
        if self._loaded:
            return
        with self._loading:
            if not self._loaded:
                self._load()

    def _load(self) -> None:
        with answering(self.uri):
            exists = self.exists()
        if not exists:
            raise StoreError(
                f"No collection '{self.collection}' at {self.uri}. "
                "Run `research-agent ingest PATH` first."
            )
        # Collections built before HNSW keep their FLAT index: search params follow it.
        self._dense_index = indexes.dense_index_of(self.client, self.collection)
        if self._dense_index is None:
            raise StoreError(
                f"Collection '{self.collection}' has no index on its dense field (a reindex "
                "was interrupted?). Run `research-agent collections reindex "
                f"{self.collection}` to finish it."
            )
        with quiet():
            self.client.load_collection(self.collection)
        self._loaded = True

    def forget(self) -> None:
        """Drop what was cached about the collection (another process may have changed it)."""
        self._loaded = False
        self._embedder_ok = None
        self._dense_index = None
        self._incomplete = None
        self._metadata = None

    def has_metadata(self) -> bool:
        """Whether the collection has the modified and tags fields (made since they exist).

        Milvus Lite cannot add fields to a collection, so an older one keeps working
        without them: its rows are written without them and date or tag filters on it
        are refused with what to do instead.
        """
        if self._metadata is None:
            with answering(self.uri):
                names = layout.field_names(self.client, self.collection)
            self._metadata = set(METADATA_FIELDS) <= names
        return self._metadata

    # -- writes -------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, embedder: str) -> None:
        """Write chunks (idempotent: ids are content hashes); the first write creates."""
        if not chunks:
            return
        if not self.exists():
            dense = indexes.dense_index_for(self.settings)
            layout.create_collection(
                self.client, self.collection, vectors.shape[1], embedder, dense
            )
            self._dense_index = dense
            self._loaded = True
        rows = layout.rows(chunks, vectors, self.has_metadata())
        self.client.upsert(self.collection, rows)

    def incomplete(self) -> set[str]:
        """doc_ids of documents being written, or left half-written by an interrupted ingest."""
        with answering(self.uri):
            if not self.exists():
                return set()
            props = self.client.describe_collection(self.collection).get("properties", {})
        try:
            value = json.loads(props.get(layout.PROP_INCOMPLETE, "[]"))
        except ValueError:
            return set()
        return {str(v) for v in value} if isinstance(value, list) else set()

    def _incomplete_recent(self) -> set[str]:
        """incomplete(), read at most INCOMPLETE_TTL ago: a search saves a round trip."""
        now = time.monotonic()
        if self._incomplete is None or now - self._incomplete[0] > INCOMPLETE_TTL:
            self._incomplete = (now, self.incomplete())
        return self._incomplete[1]

    def mark_incomplete(self, doc_ids: set[str]) -> None:
        """Record the documents whose chunks are being written (replaces the list)."""
        self._incomplete = None
        if self.exists():
            self.client.alter_collection_properties(
                self.collection, properties={layout.PROP_INCOMPLETE: json.dumps(sorted(doc_ids))}
            )

    def delete_ids(self, ids: Sequence[str]) -> None:
        """Delete chunks by id."""
        for expr in ids_filters(list(ids)):
            self.client.delete(self.collection, filter=expr)

    def delete_other_versions(self, doc_id: str, doc_hash: str) -> int:
        """Delete a document's chunks of any version but `doc_hash`; returns how many."""
        expr = f"doc_id == {milvus_literal(doc_id)} and doc_hash != {milvus_literal(doc_hash)}"
        ids = [r["id"] for r in self._query(expr, ["id"])]
        self.delete_ids(ids)
        return len(ids)

    def flush(self) -> None:
        """Persist what was written (small Lite ingests never flush on their own)."""
        if self.exists():
            self.client.flush(self.collection)

    # -- reads --------------------------------------------------------------------------
    def _query(self, filter_: str, fields: list[str]) -> list[dict[str, Any]]:
        self.require()
        rows: list[dict[str, Any]] = []
        with answering(self.uri):
            it = self.client.query_iterator(
                self.collection, batch_size=2000, filter=filter_, output_fields=fields
            )
            try:
                while batch := it.next():
                    rows.extend(batch)
            finally:
                it.close()
        return rows

    def all_rows(self, fields: Sequence[str]) -> list[dict[str, Any]]:
        """These fields of every chunk, in no particular order (listings, not search)."""
        return self._query('id != ""', list(fields))

    def doc_states(self) -> dict[str, DocState]:
        """Per document: source, latest hash, and how many of its chunks are present."""
        if not self.exists():
            return {}
        acc: dict[str, dict[str, Any]] = {}
        for r in self.all_rows(["doc_id", "source", "doc_hash", "n_chunks", "chunk_index"]):
            d = acc.setdefault(r["doc_id"], {"source": r["source"], "hashes": {}, "n": {}})
            d["hashes"][r["doc_hash"]] = d["hashes"].get(r["doc_hash"], 0) + 1
            d["n"][r["doc_hash"]] = r["n_chunks"]
        out = {}
        marked = self.incomplete()
        for doc_id, d in acc.items():
            best = max(d["hashes"], key=d["hashes"].get)
            out[doc_id] = DocState(
                doc_id,
                d["source"],
                best,
                d["n"][best],
                sum(d["hashes"].values()),
                d["hashes"][best],
                doc_id in marked,
            )
        return out

    def chunk_ids(self, doc_id: str, doc_hash: str | None = None) -> list[str]:
        """Ids of a document's chunks (of the version `doc_hash` only, when given)."""
        expr = f"doc_id == {milvus_literal(doc_id)}"
        if doc_hash is not None:
            expr += f" and doc_hash == {milvus_literal(doc_hash)}"
        return [r["id"] for r in self._query(expr, ["id"])]

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in order (empty when unknown)."""
        fields = [*layout.OUTPUT_FIELDS, "n_chunks"]
        rows = self._query(f"doc_id == {milvus_literal(doc_id)}", fields)
        return sorted((Chunk(**r) for r in rows), key=lambda c: c.chunk_index)

    def chunks_with_vectors(
        self, doc_id: str, first: int, last: int
    ) -> list[tuple[Chunk, list[float]]]:
        """A document's chunks `first` to `last` (inclusive) with their dense vectors, in order."""
        expr = (
            f"doc_id == {milvus_literal(doc_id)} and chunk_index >= {int(first)} "
            f"and chunk_index <= {int(last)}"
        )
        rows = self._query(expr, [*layout.OUTPUT_FIELDS, "n_chunks", "dense"])
        rows.sort(key=lambda r: r["chunk_index"])
        return [(Chunk(**{k: v for k, v in r.items() if k != "dense"}), r["dense"]) for r in rows]

    def find_doc(self, doc_id_or_source: str) -> str | None:
        """A doc_id from a doc_id or a source path."""
        lit = milvus_literal(doc_id_or_source)
        self.require()
        rows = self.client.query(
            self.collection,
            filter=f"doc_id == {lit} or source == {lit}",
            output_fields=["doc_id"],
            limit=1,
        )
        return str(rows[0]["doc_id"]) if rows else None

    def count(self) -> int:
        """Number of chunks stored."""
        if not self.exists():
            return 0
        self.require()
        res = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    @property
    def dense_index(self) -> str | None:
        """The dense field's index type (HNSW, or FLAT in older collections); loads it."""
        self.require()
        return self._dense_index

    def search_expr(
        self,
        source_prefix: str | Sequence[str] | None = None,
        filters: SearchFilters | None = None,
    ) -> str:
        """The filter every search request applies (the caller's conditions and the store's).

        Never an empty file's marker chunk, nor a chunk of a document being written.

        Raises:
            ToolInputError: A filter value no filter can hold, or a date or tag filter on a
                collection made before those fields existed.
        """
        self.require()
        try:
            expr = search_filter(source_prefix, filters, sorted(self._incomplete_recent()))
        except ValueError as exc:
            raise ToolInputError(f"Bad search filter: {exc}. Fix or drop that filter.") from exc
        if needs_metadata(filters) and not self.has_metadata():
            raise ToolInputError(
                f"Collection '{self.collection}' was built before date and tag filters "
                "existed: search without after, before and tags (the user can re-ingest "
                "into a new collection to get them)."
            )
        return expr

    def search(
        self,
        query: str,
        vector: Sequence[float] | None,
        k: int,
        source_prefix: str | Sequence[str] | None = None,
        mode: SearchMode = "hybrid",
        filters: SearchFilters | None = None,
        keep: int | None = None,
        fusion: Fusion | None = None,
    ) -> list[dict[str, Any]]:
        """Top-k passages: dense, BM25, or both fused (the settings' fusion).

        Args:
            query: The query text.
            vector: Its embedding (None: BM25 only).
            k: How many passages.
            source_prefix: One source prefix or several (any of them matches).
            mode: hybrid, dense or bm25.
            filters: More conditions every hit meets; both sides of hybrid apply them.
            keep: Return this many passages instead of k (a reranker's candidates).
            fusion: How hybrid fuses the sides (default: the store's settings).

        Empty files' marker chunks, and chunks of documents being written (or left
        half-written by an interrupted ingest), are never returned.

        Raises:
            ToolInputError: A filter value no filter can hold, or a date or tag filter on a
                collection made before those fields existed.
        """
        expr = self.search_expr(source_prefix, filters)
        fusion = fusion or Fusion(self.settings.fusion, self.settings.fusion_dense_weight)

        def run() -> list[dict[str, Any]]:
            return search(
                self.client,
                self.collection,
                query,
                vector,
                k,
                expr,
                mode,
                self._dense_index,
                fusion,
                keep,
                accept=lambda row: title_matches(filters, row),
            )

        try:
            return run()
        except MilvusException as exc:
            # The collection may have been dropped, rebuilt or released by another process
            # since it was loaded: look again, so a missing collection gets its usual message,
            # and a released one is loaded again and searched once more.
            self.forget()
            self.require()
            if released(exc):
                with contextlib.suppress(MilvusException):
                    return run()
            raise StoreError(
                f"Milvus search failed on '{self.collection}' at {self.uri} ({exc.message}). "
                "Run `research-agent doctor` to check the store."
            ) from exc

    def close(self) -> None:
        """Release the connection."""
        with contextlib.suppress(Exception):
            self.client.close()


def released(exc: MilvusException) -> bool:
    """Whether Milvus refused because the collection is not loaded (released by someone)."""
    text = str(exc.message).lower()
    return "released" in text or "not loaded" in text
