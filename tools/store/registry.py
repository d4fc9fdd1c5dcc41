"""One ChunkStore per (Milvus URI, collection) in a process, and closing them all."""

from __future__ import annotations

import threading

from agent.settings import Settings
from tools.store.chunks import ChunkStore
from tools.store.lite import release

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
            release(lite)
