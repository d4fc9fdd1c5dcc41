"""The store package's pure parts: id filters, rows as written, and what importing it costs."""

from __future__ import annotations

import numpy as np

from tools.schemas import Chunk
from tools.store.collection import rows
from tools.store.filters import ids_filters


def test_ids_filters_bound_each_request_and_quote_every_id() -> None:
    ids = [f"id{i}" for i in range(1001)] + ['x" or id != "']
    filters = ids_filters(ids)
    assert len(filters) == 3
    assert filters[0].startswith('id in ["id0", "id1", ') and filters[0].endswith('"id499"]')
    assert filters[1].count(", ") == 499
    assert filters[2] == 'id in ["id1000", "x\\" or id != \\""]'
    assert ids_filters([]) == []


def test_rows_clip_varchar_fields_to_whole_characters_and_carry_the_vector() -> None:
    chunk = Chunk(
        id="c",
        doc_id="d",
        source="s" * 5000,
        title="é" * 2000,  # 4000 bytes: over the 2048-byte field
        chunk_index=0,
        start_line=1,
        end_line=1,
        text="body\n",
        heading="h",
    )
    (row,) = rows([chunk], np.array([[0.5, 0.25]], dtype="float32"))
    assert row["title"] == "é" * 1024
    assert row["source"] == "s" * 4096
    assert row["search_text"] == f"{'é' * 2000}\nh\nbody\n"
    assert row["dense"] == [0.5, 0.25]
    assert row["text"] == "body\n" and row["id"] == "c"
