"""Persistent threads: the checkpointer chosen by `checkpoint_uri`, and one run per thread.

Empty `checkpoint_uri` keeps threads in `<data_dir>/checkpoints.sqlite`; a postgresql://
URI keeps them in PostgreSQL (langgraph-checkpoint-postgres, the `postgres` extra), where
any process on any machine can continue them.

Two uncoordinated runs on one thread would both start from the same checkpoint and fork
the thread (one answer drops out of its current state). `thread_lock` makes them take
turns: a PostgreSQL advisory lock on a hash of the thread id, or a file lock beside the
SQLite file. Both are released by the operating system or the database when the holder
dies, so a killed run never leaves a thread locked.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.settings import Settings, resolve
from tools.errors import ResearchAgentError

SCHEMA_TYPES = [("agent.schemas", n) for n in ("Answer", "Citation", "Steps", "StepRecord")]
"""Our types that checkpoints may hold (LANGGRAPH_STRICT_MSGPACK allows only these)."""
_REPORT_TYPES = ("Plan", "OutlineSection", "ReadDoc", "BranchResult", "SectionDraft")
SCHEMA_TYPES += [
    ("agent.reporting.schemas", n) for n in (*_REPORT_TYPES, "ReportSection", "Report")
]
POSTGRES_EXTRA = "pip install 'research-agent[postgres]'"
# A fixed advisory-lock key that serializes the checkpointer's table migrations.
SETUP_KEY = int.from_bytes(
    hashlib.blake2b(b"research-agent:setup", digest_size=8).digest(), "big", signed=True
)
_SET_UP: set[str] = set()


class ThreadBusyError(ResearchAgentError):
    """Another run holds the thread and the caller asked not to wait."""


class CheckpointStoreError(ResearchAgentError):
    """The checkpoint database cannot be used as configured."""


def checkpoint_serde() -> JsonPlusSerializer:
    """The checkpoint serializer: plain data plus our schema types (strict msgpack too)."""
    return JsonPlusSerializer(allowed_msgpack_modules=SCHEMA_TYPES)


def is_postgres(settings: Settings) -> bool:
    """True when threads are kept in PostgreSQL."""
    return settings.checkpoint_uri.startswith(("postgresql://", "postgres://"))


def where(settings: Settings) -> str:
    """Where threads are kept, for messages (the PostgreSQL password left out)."""
    if is_postgres(settings):
        scheme, _, rest = settings.checkpoint_uri.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"
    return str(settings.data_dir / "checkpoints.sqlite")


def lock_key(thread_id: str) -> int:
    """The thread's 64-bit advisory-lock key (stable across processes and machines)."""
    digest = hashlib.blake2b(f"research-agent:thread:{thread_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def _psycopg() -> Any:
    try:
        # lazy: psycopg is the optional [postgres] extra, needed only for a postgresql:// URI
        import psycopg
    except ImportError:
        raise CheckpointStoreError(
            f"RESEARCH_AGENT_CHECKPOINT_URI is a PostgreSQL URI but the driver is missing; "
            f"run `{POSTGRES_EXTRA}`."
        ) from None
    return psycopg


def _pg_connect(settings: Settings, **kwargs: Any) -> Any:
    psycopg = _psycopg()
    try:
        return psycopg.connect(settings.checkpoint_uri, autocommit=True, **kwargs)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointStoreError(
            f"Cannot reach the checkpoint database {where(settings)} ({first}); start it or "
            "fix RESEARCH_AGENT_CHECKPOINT_URI."
        ) from None


def _busy(thread_id: str) -> ThreadBusyError:
    return ThreadBusyError(
        f"Thread {thread_id} is busy: another run is using it; try again when it ends, "
        "or leave out --no-wait to wait for it."
    )


@contextmanager
def thread_lock(settings: Settings, thread_id: str, *, wait: bool = True) -> Iterator[None]:
    """Hold the thread for one run, across processes and machines.

    Args:
        settings: Where threads are kept.
        thread_id: The thread.
        wait: Wait for another run on the thread to end; False raises ThreadBusyError.

    Raises:
        ThreadBusyError: wait is False and another run holds the thread.
    """
    if is_postgres(settings):
        key = lock_key(thread_id)
        with _pg_connect(settings) as conn:
            if wait:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            elif not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                raise _busy(thread_id)
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        return
    folder = settings.data_dir / "thread-locks"
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(thread_id.encode()).hexdigest()[:32]
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise _busy(thread_id) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _setup_postgres(settings: Settings, saver: Any) -> None:
    """Create or migrate the checkpoint tables once per process, one process at a time."""
    if settings.checkpoint_uri in _SET_UP:
        return
    with _pg_connect(settings) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_KEY,))
        try:
            saver.setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_KEY,))
    _SET_UP.add(settings.checkpoint_uri)


@contextmanager
def open_checkpointer(settings: Settings | None = None, serde: Any = None) -> Iterator[Any]:
    """The checkpointer `checkpoint_uri` names, open for the duration of the block.

    Raises:
        CheckpointStoreError: The database is unreachable or its driver is not installed.
    """
    settings = settings or resolve()
    if is_postgres(settings):
        _psycopg()
        # lazy: the optional [postgres] extra (_psycopg() just checked that it is installed)
        from psycopg.rows import dict_row

        try:
            # lazy: part of the optional [postgres] extra
            from langgraph.checkpoint.postgres import PostgresSaver
        except ImportError:
            raise CheckpointStoreError(
                f"PostgreSQL threads need langgraph-checkpoint-postgres; run `{POSTGRES_EXTRA}`."
            ) from None
        with _pg_connect(settings, prepare_threshold=0, row_factory=dict_row) as conn:
            saver = PostgresSaver(conn, serde=serde)
            _setup_postgres(settings, saver)
            yield saver
        return

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(settings.data_dir / "checkpoints.sqlite", check_same_thread=False)
    try:
        yield SqliteSaver(conn, serde=serde)
    finally:
        conn.close()


@asynccontextmanager
async def aopen_checkpointer(
    settings: Settings | None = None, serde: Any = None
) -> AsyncIterator[Any]:
    """Async form of `open_checkpointer`."""
    settings = settings or resolve()
    if is_postgres(settings):
        psycopg = _psycopg()
        # lazy: the optional [postgres] extra (_psycopg() just checked that it is installed)
        from psycopg.rows import dict_row

        try:
            # lazy: part of the optional [postgres] extra
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        except ImportError:
            raise CheckpointStoreError(
                f"PostgreSQL threads need langgraph-checkpoint-postgres; run `{POSTGRES_EXTRA}`."
            ) from None
        try:
            conn = await psycopg.AsyncConnection.connect(
                settings.checkpoint_uri, autocommit=True, prepare_threshold=0, row_factory=dict_row
            )
        except psycopg.OperationalError as exc:
            raise CheckpointStoreError(
                f"Cannot reach the checkpoint database {where(settings)} ({exc}); start it or "
                "fix RESEARCH_AGENT_CHECKPOINT_URI."
            ) from None
        async with conn:
            saver = AsyncPostgresSaver(conn, serde=serde)
            if settings.checkpoint_uri not in _SET_UP:
                await conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_KEY,))
                try:
                    await saver.setup()
                finally:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_KEY,))
                _SET_UP.add(settings.checkpoint_uri)
            yield saver
        return

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(Path(settings.data_dir) / "checkpoints.sqlite") as conn:
        yield AsyncSqliteSaver(conn, serde=serde)


@asynccontextmanager
async def server_checkpointer() -> AsyncIterator[Any]:
    """The checkpointer for `langgraph dev` (langgraph.json's `checkpointer.path`).

    Opt-in: add `"checkpointer": {"path": "./agent/threads.py:server_checkpointer"}` to
    langgraph.json so that Studio's threads live where the CLI's do (docs/deployment.md).
    """
    async with aopen_checkpointer(resolve(), checkpoint_serde()) as saver:
        yield saver
