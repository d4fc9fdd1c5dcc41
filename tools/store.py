"""The Milvus chunk store: the only module that touches Milvus.

Collection creation goes through langchain-milvus (schema, BM25 built-in function, index
parameters); reads, upserts and hybrid search use its pymilvus client directly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agent.settings import Settings
from tools.errors import StoreError
from tools.schemas import Chunk

if TYPE_CHECKING:
    import numpy as np
    from pymilvus import MilvusClient

# gRPC keepalive pings otherwise print "GOAWAY ... too_many_pings" to users' terminals.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

SearchMode = Literal["hybrid", "dense", "bm25"]
HYBRID_MIN_DEPTH = 8
PROP_EMBEDDER = "research_agent.embedder"
PROP_DIM = "research_agent.dim"
OUTPUT_FIELDS = [
    "id",
    "doc_id",
    "source",
    "title",
    "heading",
    "chunk_index",
    "start_line",
    "end_line",
    "text",
]
_NOISY_LOGGERS = ("milvus_lite", "pymilvus", "langchain_milvus")


def milvus_literal(value: str) -> str:
    """A Milvus string literal: the value can never leave its quotes."""
    if any(ord(c) < 32 for c in value):
        raise ValueError("control characters are not allowed in a filter value")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def prefix_filter(prefix: str) -> str:
    """Exact prefix match on source as a range (no LIKE wildcards to escape)."""
    return (
        f"source >= {milvus_literal(prefix)} and source < {milvus_literal(prefix + chr(0x10FFFF))}"
    )


def _clip(value: str, max_bytes: int) -> str:
    return value.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence library loggers that print tracebacks meant for their own developers."""
    saved = [(lg, lg.level) for lg in map(logging.getLogger, _NOISY_LOGGERS)]
    for lg, _ in saved:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in saved:
            lg.setLevel(level)


def _served_here(path: Path) -> bool:
    """Whether this process already runs the embedded Lite server for the database."""
    from milvus_lite.server_manager import server_manager_instance

    return os.path.abspath(path) in getattr(server_manager_instance, "_servers", {})


def _lite_locked(path: Path) -> bool:
    """Whether another process holds the Lite database's LOCK (this process's own is fine)."""
    import fcntl

    if _served_here(path):
        return False
    lock = path / "LOCK"
    if not lock.exists():
        return False
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def lock_message(path: Path) -> str:
    """The one-line message for a Lite database held by another process."""
    return (
        f"The Milvus Lite database {path} is in use by another process (Milvus Lite allows one). "
        f"Stop that process, or share it: run `milvus-lite server --data-dir {path} --host "
        "127.0.0.1 --port 19540` and set RESEARCH_AGENT_MILVUS_URI=http://127.0.0.1:19540."
    )


@dataclass(frozen=True)
class DocState:
    """What the store holds of one document."""

    doc_id: str
    source: str
    doc_hash: str
    n_chunks: int
    rows: int
    rows_current: int

    @property
    def complete(self) -> bool:
        """All chunks of the latest version are present and nothing else."""
        return self.rows == self.rows_current == self.n_chunks


class ChunkStore:
    """One Milvus collection of chunks with dense and BM25 vectors."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.uri = settings.resolved_milvus_uri()
        self.collection = settings.collection
        self.client = self._connect()
        self._loaded = False
        self._embedder_ok: str | None = None  # the embedder name last found to match

    def _connect(self) -> MilvusClient:
        from pymilvus import MilvusClient, MilvusException

        # pymilvus sets its own logger level on import and then warns on every query_iterator
        # against Lite ("failed to get mvccTs"); users need none of it.
        logging.getLogger("pymilvus").setLevel(logging.ERROR)
        token = self.settings.milvus_token.get_secret_value() if self.settings.milvus_token else ""
        path = Path(self.uri)
        if self.settings.is_lite():
            path.parent.mkdir(parents=True, exist_ok=True)
            if _lite_locked(path):
                raise StoreError(lock_message(path))
        try:
            with _quiet():
                return MilvusClient(uri=self.uri, token=token, timeout=10)
        except MilvusException as exc:
            if not self.settings.is_lite():
                raise StoreError(
                    f"Milvus at {self.uri} does not answer ({exc.message}). Check that the "
                    "server is running and the URI/token are right (RESEARCH_AGENT_MILVUS_URI)."
                ) from exc
            if _lite_locked(path):
                raise StoreError(lock_message(path)) from exc
            raise StoreError(
                f"Milvus Lite could not open {path} ({exc.message}). If the folder is damaged, "
                "move it aside (nothing is deleted) and run `research-agent ingest` again."
            ) from exc

    # -- collection ---------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the collection exists."""
        return bool(self.client.has_collection(self.collection))

    def recorded_embedder(self) -> tuple[str, int] | None:
        """(embedder name, dimension) recorded with the collection, if any."""
        if not self.exists():
            return None
        props = self.client.describe_collection(self.collection).get("properties", {})
        return str(props.get(PROP_EMBEDDER, "?")), int(props.get(PROP_DIM, 0) or 0)

    def check_embedder(self, name: str) -> None:
        """Refuse to mix vectors of two embedders in one collection."""
        if name == self._embedder_ok:
            return
        rec = self.recorded_embedder()
        if rec and rec[0] == name:
            self._embedder_ok = name  # checked once: each search would repeat two calls
        if rec and rec[0] != name:
            raise StoreError(
                f"Collection '{self.collection}' was built with the embedder {rec[0]} "
                f"(dim {rec[1]}), but the settings select {name}. Use the same embedder, or "
                "ingest into another collection with --collection NAME."
            )

    def require(self) -> None:
        """Raise a clear error when there is nothing to search yet; load it otherwise."""
        if self._loaded:
            return
        if not self.exists():
            raise StoreError(
                f"No collection '{self.collection}' at {self.uri}. "
                "Run `research-agent ingest PATH` first."
            )
        with _quiet():
            self.client.load_collection(self.collection)
        self._loaded = True

    def forget(self) -> None:
        """Drop what was cached about the collection (another process may have changed it)."""
        self._loaded = False
        self._embedder_ok = None

    def _create(self, first: Sequence[Chunk], vectors: np.ndarray, embedder: str) -> None:
        from langchain_core.embeddings import Embeddings
        from langchain_milvus import BM25BuiltInFunction, Milvus
        from pymilvus import DataType

        class _Precomputed(Embeddings):
            # Vectors are computed by tools.embeddings; langchain-milvus only builds the schema.
            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                raise NotImplementedError

            def embed_query(self, text: str) -> list[float]:
                raise NotImplementedError

        def varchar(n: int) -> dict[str, Any]:
            return {"dtype": DataType.VARCHAR, "kwargs": {"max_length": n}}

        integer = {"dtype": DataType.INT64}
        store = Milvus(
            _Precomputed(),
            collection_name=self.collection,
            connection_args={"uri": self.uri, "token": self._token()},
            consistency_level="Strong",
            primary_field="id",
            text_field="search_text",
            vector_field=["dense", "sparse"],
            builtin_function=BM25BuiltInFunction(
                input_field_names="search_text", output_field_names="sparse"
            ),
            index_params=[
                {"index_type": "FLAT", "metric_type": "COSINE", "params": {}},
                {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25", "params": {}},
            ],
            search_params=[{"metric_type": "COSINE"}, {"metric_type": "BM25"}],
            metadata_schema={
                "text": varchar(65535),
                "doc_id": varchar(64),
                "source": varchar(4096),
                "title": varchar(2048),
                "heading": varchar(4096),
                "doc_hash": varchar(64),
                "chunk_index": integer,
                "n_chunks": integer,
                "start_line": integer,
                "end_line": integer,
            },
            collection_properties={PROP_EMBEDDER: embedder, PROP_DIM: str(vectors.shape[1])},
        )
        rows = self._rows(first, vectors)
        store.add_embeddings(
            texts=[r.pop("search_text") for r in rows],
            embeddings=[r.pop("dense") for r in rows],
            metadatas=[{k: v for k, v in r.items() if k != "id"} for r in rows],
            ids=[r["id"] for r in rows],
        )
        self._loaded = True

    def _token(self) -> str:
        return self.settings.milvus_token.get_secret_value() if self.settings.milvus_token else ""

    @staticmethod
    def _rows(chunks: Sequence[Chunk], vectors: np.ndarray) -> list[dict[str, Any]]:
        rows = []
        for chunk, vec in zip(chunks, vectors, strict=True):
            row = chunk.model_dump()
            row["title"] = _clip(chunk.title, 2048)
            row["heading"] = _clip(chunk.heading, 4096)
            row["source"] = _clip(chunk.source, 4096)
            row["search_text"] = _clip(f"{chunk.title}\n{chunk.heading}\n{chunk.text}", 65535)
            row["dense"] = [float(x) for x in vec]
            rows.append(row)
        return rows

    # -- writes -------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, embedder: str) -> None:
        """Write chunks (idempotent: ids are content hashes)."""
        if not chunks:
            return
        if not self.exists():
            self._create(chunks, vectors, embedder)
            return
        self.client.upsert(self.collection, self._rows(chunks, vectors))

    def delete_ids(self, ids: Sequence[str]) -> None:
        """Delete chunks by id."""
        for start in range(0, len(ids), 500):
            part = ", ".join(milvus_literal(i) for i in ids[start : start + 500])
            self.client.delete(self.collection, filter=f"id in [{part}]")

    def flush(self) -> None:
        """Persist what was written (small Lite ingests never flush on their own)."""
        if self.exists():
            self.client.flush(self.collection)

    # -- reads --------------------------------------------------------------------------
    def _query(self, filter_: str, fields: list[str]) -> list[dict[str, Any]]:
        self.require()
        it = self.client.query_iterator(
            self.collection, batch_size=2000, filter=filter_, output_fields=fields
        )
        rows: list[dict[str, Any]] = []
        try:
            while batch := it.next():
                rows.extend(batch)
        finally:
            it.close()
        return rows

    def doc_states(self) -> dict[str, DocState]:
        """Per document: source, latest hash, and how many of its chunks are present."""
        if not self.exists():
            return {}
        acc: dict[str, dict[str, Any]] = {}
        for r in self._query(
            'id != ""', ["doc_id", "source", "doc_hash", "n_chunks", "chunk_index"]
        ):
            d = acc.setdefault(r["doc_id"], {"source": r["source"], "hashes": {}, "n": {}})
            d["hashes"][r["doc_hash"]] = d["hashes"].get(r["doc_hash"], 0) + 1
            d["n"][r["doc_hash"]] = r["n_chunks"]
        out = {}
        for doc_id, d in acc.items():
            best = max(d["hashes"], key=d["hashes"].get)
            out[doc_id] = DocState(
                doc_id,
                d["source"],
                best,
                d["n"][best],
                sum(d["hashes"].values()),
                d["hashes"][best],
            )
        return out

    def chunk_ids(self, doc_id: str) -> list[str]:
        """Ids of a document's chunks."""
        return [r["id"] for r in self._query(f"doc_id == {milvus_literal(doc_id)}", ["id"])]

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in order (empty when unknown)."""
        fields = [*OUTPUT_FIELDS, "doc_hash", "n_chunks"]
        rows = self._query(f"doc_id == {milvus_literal(doc_id)}", fields)
        return sorted((Chunk(**r) for r in rows), key=lambda c: c.chunk_index)

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

    def read_lines(self, doc_id: str, start_line: int, end_line: int) -> list[str]:
        """Lines start..end (1-based, inclusive) of a document, rebuilt from its chunks."""
        lines = "".join(c.text for c in self.get_chunks(doc_id)).splitlines()
        return lines[max(start_line, 1) - 1 : max(end_line, 0)]

    def count(self) -> int:
        """Number of chunks stored."""
        if not self.exists():
            return 0
        self.require()
        res = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    def search(
        self,
        query: str,
        vector: Sequence[float] | None,
        k: int,
        source_prefix: str | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[dict[str, Any]]:
        """Top-k chunks: dense, BM25, or both fused by RRF inside Milvus."""
        from pymilvus import MilvusException

        self.require()
        try:
            return self._search(query, vector, k, source_prefix, mode)
        except MilvusException as exc:
            # The collection may have been dropped or rebuilt by another process since it
            # was loaded: look again, so a missing collection gets its usual message.
            self.forget()
            self.require()
            raise StoreError(
                f"Milvus search failed on '{self.collection}' at {self.uri} ({exc.message}). "
                "Run `research-agent doctor` to check the store."
            ) from exc

    def _search(
        self,
        query: str,
        vector: Sequence[float] | None,
        k: int,
        source_prefix: str | None,
        mode: SearchMode,
    ) -> list[dict[str, Any]]:
        from pymilvus import AnnSearchRequest, Function, FunctionType

        expr = prefix_filter(source_prefix) if source_prefix else ""
        if mode == "bm25" or vector is None:
            res = self.client.search(
                self.collection,
                data=[query],
                anns_field="sparse",
                limit=k,
                filter=expr,
                search_params={"metric_type": "BM25"},
                output_fields=OUTPUT_FIELDS,
            )
        elif mode == "dense":
            res = self.client.search(
                self.collection,
                data=[list(vector)],
                anns_field="dense",
                limit=k,
                filter=expr,
                search_params={"metric_type": "COSINE"},
                output_fields=OUTPUT_FIELDS,
            )
        else:
            # Candidates per side: max(k, 8). Deeper lists (2k was tried) let chunks that both
            # sides rank low outvote one that dense ranks first, so the top hits changed with
            # k; measured on tests/fixtures/faq_labelled.jsonl (see README, Performance).
            fetch = max(k, HYBRID_MIN_DEPTH)
            reqs = [
                AnnSearchRequest(
                    [list(vector)], "dense", {"metric_type": "COSINE"}, fetch, expr=expr
                ),
                AnnSearchRequest([query], "sparse", {"metric_type": "BM25"}, fetch, expr=expr),
            ]
            rrf = Function(
                name="rrf",
                input_field_names=[],
                function_type=FunctionType.RERANK,
                params={"reranker": "rrf", "k": 60},
            )
            res = self.client.hybrid_search(
                self.collection, reqs=reqs, ranker=rrf, limit=k, output_fields=OUTPUT_FIELDS
            )
        hits = []
        for rank, hit in enumerate(res[0]):
            row = dict(hit["entity"])
            # BM25 distances come back negative in Lite; rank order is what counts.
            row["score"] = float(hit["distance"]) if mode != "bm25" else float(k - rank)
            hits.append(row)
        return hits

    def close(self) -> None:
        """Release the connection."""
        with contextlib.suppress(Exception):
            self.client.close()


_STORES: dict[tuple[str, str], ChunkStore] = {}
# Concurrent runs (langgraph dev runs each in a worker thread) must not open the same Lite
# database twice: the second opener would find its LOCK held and fail as "in use".
_OPENING = threading.Lock()


def open_store(settings: Settings) -> ChunkStore:
    """The process's store for these settings (Milvus Lite allows one opener per process)."""
    key = (settings.resolved_milvus_uri(), settings.collection)
    with _OPENING:
        if key not in _STORES:
            _STORES[key] = ChunkStore(settings)
        return _STORES[key]


def close_stores() -> None:
    """Close every store this process opened and release the Lite databases' locks."""
    with _OPENING:
        lite = {s.uri for s in _STORES.values() if s.settings.is_lite()}
        for store in _STORES.values():
            store.close()
        _STORES.clear()
        if lite:
            from milvus_lite.server_manager import server_manager_instance

            for uri in lite:
                server_manager_instance.release_server(uri)
