"""The chunk collection's layout: its fields, indexes and properties, and rows to write.

Created with pymilvus directly: langchain-milvus creates a collection only inside its first
insert (it infers fields and the dimension from that batch), so creating would also write,
through a second write path beside `upsert`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pymilvus import DataType, Function, FunctionType

from tools.schemas import Chunk
from tools.store import indexes

if TYPE_CHECKING:
    import numpy as np
    from pymilvus import MilvusClient

    from tools.store.indexes import DenseIndex

PROP_EMBEDDER = "research_agent.embedder"
PROP_DIM = "research_agent.dim"
PROP_INCOMPLETE = "research_agent.incomplete"
"""doc_ids whose chunks are being written (JSON list): not searched, fetched or complete."""
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
    "doc_hash",  # a hit's document version: page numbers are cached by it
]
# Byte limits of the VARCHAR fields; values are clipped to them on write.
VARCHARS = {
    "text": 65535,
    "doc_id": 64,
    "source": 4096,
    "title": 2048,
    "heading": 4096,
    "doc_hash": 64,
}
INTEGERS = ("chunk_index", "n_chunks", "start_line", "end_line")
TAG_LIMITS = {"max_capacity": 32, "max_length": 128}
"""Front-matter tags per chunk and bytes per tag (tools/metadata.py keeps within them)."""
SEARCH_TEXT_BYTES = 65535


def create_collection(
    client: MilvusClient,
    name: str,
    dim: int,
    embedder: str,
    dense: DenseIndex = "HNSW",
    metadata: bool = True,
) -> None:
    """Create the collection (dense + BM25 sparse vectors, indexes, embedder name), loaded.

    metadata=False gives the layout of collections made before the modified and tags fields
    (the tests build one to check that such collections keep working).
    """
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=65535)
    # BM25's input: title, heading and text, tokenized by Milvus's standard analyzer.
    schema.add_field(
        "search_text", DataType.VARCHAR, max_length=SEARCH_TEXT_BYTES, enable_analyzer=True
    )
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    for field, max_length in VARCHARS.items():
        schema.add_field(field, DataType.VARCHAR, max_length=max_length)
    for field in INTEGERS:
        schema.add_field(field, DataType.INT64)
    if metadata:  # filters by date and tag (tools/store/filters.py)
        schema.add_field("modified", DataType.INT64)
        schema.add_field("tags", DataType.ARRAY, element_type=DataType.VARCHAR, **TAG_LIMITS)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["search_text"],
            output_field_names=["sparse"],
        )
    )
    index = client.prepare_index_params()
    index.add_index(indexes.DENSE_FIELD, index_name="dense", **indexes.dense_index(dense))
    index.add_index(indexes.SPARSE_FIELD, index_name="sparse", **indexes.SPARSE_INDEX)
    client.create_collection(
        name,
        schema=schema,
        index_params=index,
        consistency_level="Strong",
        properties={PROP_EMBEDDER: embedder, PROP_DIM: str(dim)},
    )  # with index_params, pymilvus also loads the new collection


def recorded_embedder(properties: dict[str, Any]) -> tuple[str, int]:
    """(embedder name, dimension) from a collection's properties ("?", 0 when unrecorded)."""
    return str(properties.get(PROP_EMBEDDER, "?")), int(properties.get(PROP_DIM, 0) or 0)


def _clip(value: str, max_bytes: int) -> str:
    return value.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def field_names(client: MilvusClient, name: str) -> set[str]:
    """The names of a collection's fields."""
    return {f["name"] for f in client.describe_collection(name).get("fields", [])}


def rows(
    chunks: Sequence[Chunk], vectors: np.ndarray, metadata: bool = True
) -> list[dict[str, Any]]:
    """The rows to upsert: each chunk's fields clipped to their limits, with its vector.

    metadata: False for a collection made before the modified and tags fields existed.
    """
    out = []
    for chunk, vec in zip(chunks, vectors, strict=True):
        row = chunk.model_dump(exclude=None if metadata else {"modified", "tags"})
        for field in ("title", "heading", "source"):
            row[field] = _clip(row[field], VARCHARS[field])
        row["search_text"] = _clip(
            f"{chunk.title}\n{chunk.heading}\n{chunk.text}", SEARCH_TEXT_BYTES
        )
        row["dense"] = [float(x) for x in vec]
        out.append(row)
    return out
