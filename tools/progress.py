"""Ingest progress: what stage a run is in, files and chunks done, and the time left.

The ingest calls a Tracker; the Tracker hands a snapshot (IngestProgress) to whoever listens:
the CLI's bar on a terminal, or PlainLines, which prints a plain line now and then for logs
and pipes (a long ingest is never silent).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, TextIO

from tools.terminal import safe_line

Stage = Literal["scanning", "reading", "embedding", "writing", "done"]
STAGE_TEXT = {
    "scanning": "finding files",
    "reading": "reading and splitting files",
    "embedding": "embedding chunks",
    "writing": "writing chunks to Milvus",
    "done": "done",
}


@dataclass(frozen=True)
class IngestProgress:
    """A snapshot of an ingest run."""

    stage: Stage
    files_done: int = 0
    files_total: int = 0
    chunks_done: int = 0
    chunks_total: int = 0
    """Chunks to write found so far (final once every file is read)."""
    seconds_left: float | None = None
    """Estimated from the chunks written so far; None until the first batch is written."""
    current: str = ""
    """The file being read, while reading."""
    current_done: int = 0
    current_size: int = 0
    """Characters of the current file read so far in this pass, and its size (big files)."""


def duration(seconds: float) -> str:
    """'45s', '3m05s', '1h02m'."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def describe(p: IngestProgress) -> str:
    """One line: stage, files, chunks, time left."""
    if p.stage == "scanning":
        return STAGE_TEXT["scanning"]
    parts = [
        STAGE_TEXT[p.stage],
        f"files {p.files_done}/{p.files_total}",
        f"chunks {p.chunks_done}/{p.chunks_total}",
    ]
    if p.stage == "reading" and p.current_size:
        mb = 1 << 20
        parts.insert(2, f"{p.current}: {p.current_done / mb:.0f}/{p.current_size / mb:.0f} MB")
    if p.stage in ("embedding", "writing"):
        parts.append("estimating time left" if p.seconds_left is None else "")
        if p.seconds_left is not None:
            parts[-1] = f"about {duration(p.seconds_left)} left"
    return ", ".join(parts)


class Tracker:
    """Counts what an ingest did and reports each change to a listener."""

    def __init__(
        self,
        listener: Callable[[IngestProgress], None] | None,
        files_total: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.listener = listener
        self.clock = clock
        self.state = IngestProgress("reading" if files_total else "scanning", 0, files_total)
        self._write_start: float | None = None
        self._emit()

    def _emit(self) -> None:
        if self.listener is not None:
            self.listener(self.state)

    def _set(self, **changes: object) -> None:
        self.state = replace(self.state, **changes)  # type: ignore[arg-type]
        self._emit()

    def stage(self, stage: Stage) -> None:
        """Enter a stage (the write loop alternates embedding and writing)."""
        if stage == "embedding" and self._write_start is None:
            self._write_start = self.clock()
        if stage != self.state.stage:
            self._set(stage=stage, current="")

    def heartbeat(self) -> None:
        """Nothing changed, but work goes on: the listener may say so (PlainLines, every 10 s)."""
        self._emit()

    def files(self, total: int) -> None:
        """The number of files to read is known."""
        self._set(stage="reading", files_total=total)

    def reading(self, name: str, done: int, size: int) -> None:
        """Part of a big file is read (a heartbeat: the listener hears from a long file)."""
        self._set(current=name, current_done=done, current_size=size)

    def file_read(self, name: str, chunks: int) -> None:
        """One file read (and split into `chunks` to write; 0 when unchanged or skipped)."""
        self._set(
            files_done=self.state.files_done + 1,
            chunks_total=self.state.chunks_total + chunks,
            current=name,
            current_done=0,
            current_size=0,
        )

    def chunks_written(self, n: int) -> None:
        """A batch of n chunks is embedded and written."""
        done = self.state.chunks_done + n
        left = None
        if self._write_start is not None and done:
            rate = done / max(self.clock() - self._write_start, 1e-6)
            left = (self.state.chunks_total - done) / rate
        self._set(chunks_done=done, seconds_left=left)

    def finish(self) -> None:
        """Everything is written."""
        self._set(stage="done", seconds_left=0.0, current="")


class PlainLines:
    """Progress as plain lines for a log or a pipe: at each stage change, else every `every` s."""

    def __init__(
        self,
        out: TextIO,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.every = every
        self.clock = clock
        self._last_stage: str | None = None
        self._last_time = 0.0

    def __call__(self, p: IngestProgress) -> None:
        """Print a line when the stage changed or `every` seconds passed since the last one."""
        now = self.clock()
        # embedding and writing alternate per batch: one stage for the line's purposes
        stage = "writing" if p.stage == "embedding" else p.stage
        if stage == self._last_stage and now - self._last_time < self.every:
            return
        if p.stage == "done":
            return  # the summary follows
        self._last_stage, self._last_time = stage, now
        print(f"ingest: {safe_line(describe(p))}", file=self.out, flush=True)
