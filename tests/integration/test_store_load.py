"""Loading the collection: once for concurrent first searches, again after a release."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from agent.settings import Settings
from tests.support.faults import tiny_lite_here  # noqa: F401  (the `lite` fixture)
from tools.embeddings import get_embedder
from tools.store import ChunkStore, close_stores

THREADS = 20


def query_vector(settings: Settings) -> list[float]:
    return [float(x) for x in get_embedder(settings).embed(["Who makes the Zephyr drone?"])[0]]


def counting_loads(store: ChunkStore, delay: float) -> list[float]:
    """Wrap the client's load_collection: record each call, and make it take `delay` s."""
    calls: list[float] = []
    load = store.client.load_collection

    def slow_load(*args: Any, **kwargs: Any) -> Any:
        calls.append(time.monotonic())
        time.sleep(delay)
        return load(*args, **kwargs)

    store.client.load_collection = slow_load  # type: ignore[method-assign]
    return calls


def test_concurrent_first_searches_load_the_collection_once(lite: Settings) -> None:
    close_stores()  # a fresh store, as in a server process that just started
    store = ChunkStore(lite)
    vector = query_vector(lite)
    loads = counting_loads(store, delay=0.3)
    start = threading.Barrier(THREADS)
    hits: list[int] = []
    errors: list[BaseException] = []

    def one() -> None:
        start.wait()
        try:
            hits.append(len(store.search("Zephyr drone", vector, 3)))
        except BaseException as exc:  # every failure is reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    store.close()
    assert not errors, errors[:3]
    assert len(hits) == THREADS and hits[0] > 0 and set(hits) == {hits[0]}
    assert len(loads) == 1, f"{len(loads)} loads for {THREADS} concurrent first searches"


def test_a_collection_released_elsewhere_is_loaded_again_and_searched(lite: Settings) -> None:
    close_stores()
    store = ChunkStore(lite)
    vector = query_vector(lite)
    assert store.search("Zephyr drone", vector, 2)
    # what `collections reindex` in another process does to a server's loaded collection
    store.client.release_collection(store.collection)
    loads = counting_loads(store, delay=0.0)
    hits = store.search("Zephyr drone", vector, 2)
    store.close()
    assert [h["source"] for h in hits][:1] == ["drones/zephyr.md"]
    assert len(loads) == 1


@pytest.mark.parametrize("message", ["collection not found", "unexpected error"])
def test_other_search_failures_are_not_retried(
    lite: Settings, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pymilvus import MilvusException

    from tools.errors import StoreError

    close_stores()
    store = ChunkStore(lite)
    vector = query_vector(lite)
    tries: list[int] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        tries.append(1)
        raise MilvusException(message=message)

    monkeypatch.setattr("tools.store.chunks.search", failing)
    with pytest.raises(StoreError, match=message):
        store.search("Zephyr drone", vector, 2)
    store.close()
    assert len(tries) == 1
