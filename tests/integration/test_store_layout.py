"""The collection the store creates in a real Milvus Lite file, and how every write reaches it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.foundation import lite_settings
from tools.schemas import Chunk
from tools.store import ChunkStore, close_stores, open_store


def chunks(n: int, title: str = "T") -> list[Chunk]:
    return [
        Chunk(
            id=f"c{i}",
            doc_id="d",
            source="a.md",
            title=title,
            chunk_index=i,
            start_line=i + 1,
            end_line=i + 1,
            text=f"line {i} about milvus\n",
            n_chunks=n,
            doc_hash="h",
        )
        for i in range(n)
    ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChunkStore]:
    yield open_store(lite_settings(tmp_path))
    close_stores()


def test_first_write_creates_the_documented_layout(store: ChunkStore) -> None:
    store.upsert(chunks(2), np.ones((2, 3), dtype="float32"), "minilm-test")
    desc = store.client.describe_collection(store.collection)
    fields = {f["name"]: f for f in desc["fields"]}
    assert set(fields) == {
        "id",
        "search_text",
        "dense",
        "sparse",
        "text",
        "doc_id",
        "source",
        "title",
        "heading",
        "doc_hash",
        "chunk_index",
        "n_chunks",
        "start_line",
        "end_line",
        "modified",  # search filters by date and tag (tools/store/filters.py)
        "tags",
    }
    assert fields["id"].get("is_primary") is True
    assert fields["tags"]["params"]["max_capacity"] in (32, "32")
    assert fields["dense"]["params"]["dim"] == 3
    assert fields["search_text"]["params"]["enable_analyzer"] in (True, "true")
    limits = {
        n: int(f["params"]["max_length"]) for n, f in fields.items() if "max_length" in f["params"]
    }
    assert limits == {
        "id": 65535,
        "search_text": 65535,
        "text": 65535,
        "doc_id": 64,
        "source": 4096,
        "title": 2048,
        "heading": 4096,
        "doc_hash": 64,
    }
    (bm25,) = desc["functions"]
    assert (bm25["input_field_names"], bm25["output_field_names"]) == (["search_text"], ["sparse"])
    assert store.recorded_embedder() == ("minilm-test", 3)
    indexes = {
        name: store.client.describe_index(store.collection, name)
        for name in store.client.list_indexes(store.collection)
    }
    kinds = {i["field_name"]: (i["index_type"], i["metric_type"]) for i in indexes.values()}
    assert kinds == {"dense": ("HNSW", "COSINE"), "sparse": ("SPARSE_INVERTED_INDEX", "BM25")}
    # BM25 ranks c1 first; c0 and c1 are neighbours in one document, so one passage
    (hit,) = store.search("line 1 about milvus", None, 1, mode="bm25")
    assert (hit["id"], hit["start_line"], hit["end_line"]) == ("c0", 1, 2)
    assert hit["text"] == "line 0 about milvus\nline 1 about milvus\n"


def test_every_write_is_an_upsert_even_the_one_that_creates(
    store: ChunkStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    for name in ("insert", "upsert"):
        real = getattr(store.client, name)

        def spy(*args: Any, _name: str = name, _real: Any = real, **kw: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kw)

        monkeypatch.setattr(store.client, name, spy)
    vectors = np.ones((3, 3), dtype="float32")
    store.upsert(chunks(3), vectors, "e")
    store.upsert(chunks(3, title="New"), vectors, "e")
    assert calls == ["upsert", "upsert"]
    assert store.count() == 3
    assert {c.title for c in store.get_chunks("d")} == {"New"}
