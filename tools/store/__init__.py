"""The Milvus chunk store: the only package that touches Milvus, one module per job.

pymilvus, langchain_milvus and milvus_lite are imported here and nowhere else in agent/,
tools/ or graphs/ (tests/unit/test_layout.py), and no module outside uses a store's
private members.

- `connect`: a client for the settings (Lite file, server, Zilliz Cloud), clear errors.
- `lite`: Milvus Lite's one-opener LOCK: who holds it, and releasing this process's own.
- `collection`: the collection's fields, indexes and properties; the rows written.
- `indexes`: every index and search parameter (HNSW, BM25, ef), and reading an index.
- `chunks`: `ChunkStore`, one path per operation: create, upsert, delete, read, search.
- `retrieve`: dense, BM25 and hybrid search requests, and `passages()`, the one ranking
  after them (shared with `langchain_milvus`); `fusion` combines hybrid's two sides
  (min-max weighted, or RRF); the `passages` module merges neighbouring chunks into one hit.
- `filters`: filter expressions built from values (never from the model's text).
- `admin`: whole collections of a database: list, drop, reindex in place.
- `registry`: one store per (URI, collection) in a process; `close_stores`.
- `langchain_milvus`: a read-only LangChain vector store and retriever (agent.as_retriever):
  each side fetched through langchain-milvus, ranked by `retrieve.passages()`.
"""

from tools.store.chunks import ChunkStore, DocState
from tools.store.collection import OUTPUT_FIELDS
from tools.store.filters import milvus_literal, prefix_filter
from tools.store.lite import lock_message
from tools.store.registry import close_stores, open_store
from tools.store.retrieve import HYBRID_MIN_DEPTH, SearchMode

__all__ = [
    "HYBRID_MIN_DEPTH",
    "OUTPUT_FIELDS",
    "ChunkStore",
    "DocState",
    "SearchMode",
    "close_stores",
    "lock_message",
    "milvus_literal",
    "open_store",
    "prefix_filter",
]
