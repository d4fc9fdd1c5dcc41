"""Progress keeps coming while one batch is embedded, however slowly (issue 15 item 3).

Progress used to be reported once per batch: with the local embedder on a busy 2-core
machine one batch of 256 chunks took 97 s, so a log saw no line for 97 s (the README
promises one every 10 s off a terminal).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from tools import writer as writer_module
from tools.progress import PlainLines, Tracker
from tools.schemas import Chunk
from tools.writer import Batch, Writer

DIM = 4


class FakeStore:
    """The part of ChunkStore the writer uses, recording the vectors it is given."""

    def __init__(self) -> None:
        self.vectors: list[np.ndarray] = []

    def incomplete(self) -> set[str]:
        return set()

    def exists(self) -> bool:
        return True

    def mark_incomplete(self, doc_ids: set[str]) -> None:
        pass

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, embedder: str) -> None:
        assert len(chunks) == len(vectors)
        self.vectors.append(vectors)

    def flush(self) -> None:
        pass


class SlowEmbedder:
    """Takes `seconds` of the fake clock per call; row i of the result encodes its text."""

    name, dim = "slow", DIM

    def __init__(self, now: list[float], seconds: float) -> None:
        self.now, self.seconds, self.calls = now, seconds, 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.now[0] += self.seconds
        return np.array([[float(t.rsplit(" ", 1)[-1]), 0, 0, 1] for t in texts], np.float32)


def batch(n: int) -> Batch:
    chunks = [
        Chunk(
            id=f"c{i}",
            doc_id="d",
            source="big.md",
            title="Big",
            chunk_index=i,
            start_line=i + 1,
            end_line=i + 1,
            text=f"chunk {i}",
        )
        for i in range(n)
    ]
    return Batch(chunks=chunks)


def test_a_slow_local_batch_prints_a_line_every_ten_seconds() -> None:
    now = [0.0]
    out = io.StringIO()
    tracker = Tracker(PlainLines(out, every=10.0, clock=lambda: now[0]), clock=lambda: now[0])
    tracker.files(1)
    tracker.file_read("big.md", 256)
    store, embedder = FakeStore(), SlowEmbedder(now, seconds=4.0)  # 32 texts per 4 s
    before = len(out.getvalue().splitlines())
    Writer(store, embedder, tracker).add(batch(256))  # type: ignore[arg-type]
    lines = out.getvalue().splitlines()[before:]
    # 8 slices over 32 s: the embedding line at once, then one at 12, 24 s and after writing
    assert embedder.calls == 8
    assert len(lines) >= 3, lines
    assert lines[0] == "ingest: embedding chunks, files 1/1, chunks 0/256, estimating time left"
    (vectors,) = store.vectors
    assert vectors[:, 0].tolist() == list(range(256))  # slices joined in order


def test_a_remote_batch_awaited_beats_while_it_is_embedded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writer_module, "HEARTBEAT_SECONDS", 0.01)
    beats: list[Any] = []
    release = threading.Event()

    def listener(state: Any) -> None:
        beats.append(state)
        if len(beats) >= 8:
            release.set()  # the embedding ends only once heartbeats were heard

    class Remote(SlowEmbedder):
        remote = True

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            assert release.wait(10), "no heartbeat while the batch was awaited"
            return super().embed(texts)

    store = FakeStore()
    with Writer(store, Remote([0.0], 0.0), Tracker(listener)) as writer:  # type: ignore[arg-type]
        writer.add(batch(5))  # embedded in the background, awaited (and written) at the end
    assert release.is_set()
    assert store.vectors[0][:, 0].tolist() == [0, 1, 2, 3, 4]
