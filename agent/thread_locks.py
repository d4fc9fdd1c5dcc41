"""One run per thread: a lock that any process on any machine respects, held for one run.

Two uncoordinated runs on one thread would both start from the same checkpoint and fork
the thread (one answer drops out of its current state). `thread_lock` makes them take
turns: a PostgreSQL advisory lock on a hash of the thread id, or a file lock beside the
SQLite file. Both are released by the database or the operating system when the holder
dies, so a killed run never leaves a thread locked.

A waiter polls (`pg_try_advisory_lock`, `flock(LOCK_NB)`) rather than blocking inside the
database: a statement blocked in `pg_advisory_lock` is one that a concurrent `CREATE INDEX
CONCURRENTLY` waits for, and a blocked wait cannot be bounded. The wait ends after
`thread_wait` seconds with one line naming the thread.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from agent.settings import Settings
from agent.threads import (
    CheckpointStoreError,
    ThreadBusyError,
    is_postgres,
    pause,
    pg_connect,
    unwritable,
)


def lock_key(thread_id: str) -> int:
    """The thread's 64-bit advisory-lock key (stable across processes and machines)."""
    digest = hashlib.blake2b(f"research-agent:thread:{thread_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class _Claim:
    """A thread's lock, tried without blocking and given back once."""

    def __init__(self, settings: Settings, thread_id: str) -> None:
        self.key = lock_key(thread_id)
        self.conn: Any = None
        self.fd = -1
        self.held = False
        if is_postgres(settings):
            self.conn = pg_connect(settings)
            return
        folder = settings.data_dir / "thread-locks"
        name = hashlib.sha256(thread_id.encode()).hexdigest()[:32]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise CheckpointStoreError(
                f"{unwritable(settings, exc.strerror or str(exc))}."
            ) from None

    def try_take(self) -> bool:
        """Take the lock if it is free; never waits."""
        if self.conn is not None:
            row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            self.held = bool(row[0])
        else:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.held = True
            except BlockingIOError:
                self.held = False
        return self.held

    def close(self) -> None:
        """Give the lock back and close the connection or file that held it."""
        if self.conn is not None:
            # Closing the session releases its advisory locks; an explicit unlock first
            # would fail on a connection the database already dropped (and the lock with it).
            self.conn.close()
        elif self.fd >= 0:
            os.close(self.fd)  # closing the descriptor releases the lock


def _refused(thread_id: str, waited: float | None) -> ThreadBusyError:
    if waited is None:
        return ThreadBusyError(
            f"Thread {thread_id} is busy: another run is using it; try again when it ends, "
            "or leave out --no-wait to wait for it."
        )
    return ThreadBusyError(
        f"Thread {thread_id} is still busy after {waited:g} s: another run is using it; "
        "run the command again when it ends, or wait longer with RESEARCH_AGENT_THREAD_WAIT."
    )


@contextmanager
def thread_lock(settings: Settings, thread_id: str, *, wait: bool = True) -> Iterator[None]:
    """Hold the thread for one run, across processes and machines.

    Args:
        settings: Where threads are kept, and `thread_wait`.
        thread_id: The thread.
        wait: Wait up to `settings.thread_wait` seconds for another run on the thread to
            end; False raises ThreadBusyError at once.

    Raises:
        ThreadBusyError: The thread stayed busy past the allowed wait.
        CheckpointStoreError: The PostgreSQL database cannot be reached.
    """
    claim = _Claim(settings, thread_id)
    try:
        deadline = time.monotonic() + settings.thread_wait
        while not claim.try_take():
            if not wait or time.monotonic() >= deadline:
                raise _refused(thread_id, settings.thread_wait if wait else None)
            time.sleep(pause())
        yield
    finally:
        claim.close()


@asynccontextmanager
async def athread_lock(
    settings: Settings, thread_id: str, *, wait: bool = True
) -> AsyncIterator[None]:
    """Async form of `thread_lock`: waiting yields to the event loop and can be cancelled."""
    claim = await asyncio.to_thread(_Claim, settings, thread_id)
    try:
        deadline = time.monotonic() + settings.thread_wait
        while not claim.try_take():  # one non-blocking query or flock: quick enough inline
            if not wait or time.monotonic() >= deadline:
                raise _refused(thread_id, settings.thread_wait if wait else None)
            await asyncio.sleep(pause())
        yield
    finally:
        claim.close()
