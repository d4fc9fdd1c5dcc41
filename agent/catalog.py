"""Python API for what is indexed: documents and collections (list, remove, reindex).

The CLI's `docs` and `collections` commands are thin clients of these functions; Studio
and Python users call them the same way. Each takes the settings (None: the environment's)
and returns plain data (DocInfo, CollectionInfo, ReindexReport) or raises a one-line
ResearchAgentError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from agent.settings import Settings
from tools import catalog
from tools.catalog import CollectionInfo, DocInfo
from tools.store import admin, open_store
from tools.store.admin import ReindexReport

__all__ = [
    "CollectionInfo",
    "DocInfo",
    "ReindexReport",
    "drop_collection",
    "list_collections",
    "list_documents",
    "reindex",
    "remove_documents",
]


def list_documents(settings: Settings | None = None) -> list[DocInfo]:
    """The documents of the collection, by source: title, chunks, when ingested, complete.

    Raises:
        ResearchAgentError: The collection does not exist (the message says how to ingest).
    """
    return catalog.list_docs(settings or Settings())


def remove_documents(sources: Sequence[str], settings: Settings | None = None) -> dict[str, int]:
    """Remove documents' chunks (each named by source or doc_id); chunks removed per name.

    The files are not touched. Nothing is removed when any name matches no document.

    Raises:
        ResearchAgentError: A name matches no document, or the collection does not exist.
    """
    return catalog.remove_docs(settings or Settings(), sources)


def list_collections(settings: Settings | None = None) -> list[CollectionInfo]:
    """Every collection of the Milvus database: name, chunks, embedder, indexes."""
    return catalog.list_collections(settings or Settings())


def drop_collection(name: str, settings: Settings | None = None) -> int:
    """Remove a whole collection and its chunks; returns how many chunks it held.

    Raises:
        ResearchAgentError: There is no such collection.
    """
    return catalog.drop_collection(settings or Settings(), name)


def reindex(
    collection: str | None = None,
    settings: Settings | None = None,
    index: Literal["HNSW", "FLAT"] | None = None,
) -> ReindexReport:
    """Give a collection's dense field the index new collections get (HNSW; FLAT without faiss).

    In place (drop + create index): nothing is re-embedded; the collection cannot be
    searched while the index builds. Re-running it is harmless.
    """
    settings = settings or Settings()
    if collection:
        settings = settings.model_copy(update={"collection": collection})
    return admin.reindex(open_store(settings), index)
