"""Persistent threads: the checkpointer chosen by `checkpoint_uri`, set up once, safely.

Empty `checkpoint_uri` keeps threads in `<data_dir>/checkpoints.sqlite`; a postgresql://
URI keeps them in PostgreSQL (langgraph-checkpoint-postgres, the `postgres` extra), where
any process on any machine can continue them. One run per thread is agent.thread_locks.

The checkpointer's tables are created or migrated before any thread is locked, by one
process at a time, under a lock of their own. PostgreSQL's `CREATE INDEX CONCURRENTLY`
waits for every open statement, including one blocked in `pg_advisory_lock`; so nobody
waits for a lock inside the database: waiters poll `pg_try_advisory_lock`, which returns
at once, and the migration never waits on a waiter.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
import random
import sqlite3
import time
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
_REPORT_TYPES = (
    "Plan",
    "OutlineSection",
    "ReadDoc",
    "BranchResult",
    "SectionDraft",
    "ReportBudget",
)
SCHEMA_TYPES += [
    ("agent.reporting.schemas", n) for n in (*_REPORT_TYPES, "ReportSection", "Report")
]
POSTGRES_EXTRA = "pip install 'research-agent[postgres]'"
# A fixed advisory-lock key that serializes the checkpointer's table migrations.
SETUP_KEY = int.from_bytes(
    hashlib.blake2b(b"research-agent:setup", digest_size=8).digest(), "big", signed=True
)
_SET_UP: set[str] = set()
"""Databases (URI or file) whose tables this process has already set up."""
SQLITE_BUSY_SECONDS = 60.0
"""How long a SQLite write waits for another process's write to end."""


class ThreadBusyError(ResearchAgentError):
    """Another run holds the thread: the caller asked not to wait, or waited its limit."""


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


def _psycopg() -> Any:
    try:
        # lazy: psycopg is the optional [postgres] extra, needed only for a postgresql:// URI
        import psycopg
    except ImportError:
        raise CheckpointStoreError(
            f"RESEARCH_AGENT_CHECKPOINT_URI is a PostgreSQL URI but the driver is missing; "
            f"run `{POSTGRES_EXTRA}`."
        ) from None
    # A connection lost mid-run also logs "error ignored terminating <Pipeline>": the error
    # itself is raised, and said in one line.
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    return psycopg


def pg_connect(settings: Settings, **kwargs: Any) -> Any:
    """An autocommit connection to the checkpoint database.

    Raises:
        CheckpointStoreError: The database cannot be reached (one line, no password).
    """
    psycopg = _psycopg()
    try:
        return psycopg.connect(settings.checkpoint_uri, autocommit=True, **kwargs)
    except psycopg.OperationalError as exc:
        raise CheckpointStoreError(unreachable(settings, exc)) from None


def unreachable(settings: Settings, exc: BaseException) -> str:
    """The one line for a checkpoint database that cannot be reached or written."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return (
        f"Cannot reach the checkpoint database {where(settings)} ({first}); start it or "
        "fix RESEARCH_AGENT_CHECKPOINT_URI."
    )


def unwritable(settings: Settings, reason: str) -> str:
    """The line for a thread file that cannot be written (disk full, read-only folder)."""
    return (
        f"Cannot write the thread to {where(settings)} ({reason}); free disk space or make "
        "the data folder writable"
    )


def pause() -> float:
    """Seconds between two tries of a busy lock (jittered, so waiters do not march in step)."""
    return random.uniform(0.05, 0.2)


def _setup_postgres(settings: Settings) -> None:
    """Create or migrate the checkpoint tables: once per process, one process at a time.

    Runs before the caller locks any thread. The setup lock is taken by polling, so a
    process waiting for it has no statement open that the holder's `CREATE INDEX
    CONCURRENTLY` would wait for.
    """
    if settings.checkpoint_uri in _SET_UP:
        return
    _psycopg()
    try:
        # lazy: part of the optional [postgres] extra
        from langgraph.checkpoint.postgres import PostgresSaver
    except ImportError:
        raise CheckpointStoreError(
            f"PostgreSQL threads need langgraph-checkpoint-postgres; run `{POSTGRES_EXTRA}`."
        ) from None
    # lazy: the optional [postgres] extra (pg_connect() checks that it is installed)
    from psycopg.rows import dict_row

    with pg_connect(settings, prepare_threshold=0, row_factory=dict_row) as conn:
        while not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (SETUP_KEY,)).fetchone()[
            "ok"
        ]:
            time.sleep(pause())
        try:
            PostgresSaver(conn).setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_KEY,))
    _SET_UP.add(settings.checkpoint_uri)


def _sqlite_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "checkpoints.sqlite"


def _setup_sqlite(settings: Settings) -> None:
    """Create the SQLite file's tables (and WAL mode) once, one process at a time."""
    path = _sqlite_path(settings)
    if str(path.resolve()) in _SET_UP:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.parent / "checkpoints.setup.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise CheckpointStoreError(f"{unwritable(settings, exc.strerror or str(exc))}.") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the holder waits for nothing: no cycle possible
        conn = sqlite3.connect(path, timeout=SQLITE_BUSY_SECONDS)
        try:
            SqliteSaver(conn).setup()
        except sqlite3.Error as exc:
            raise CheckpointStoreError(f"{unwritable(settings, str(exc))}.") from None
        finally:
            conn.close()
    finally:
        os.close(fd)
    _SET_UP.add(str(path.resolve()))


def ensure_schema(settings: Settings) -> None:
    """Create or migrate the checkpoint tables if this process has not yet done so.

    Raises:
        CheckpointStoreError: The database is unreachable or its driver is not installed.
    """
    if is_postgres(settings):
        _setup_postgres(settings)
    else:
        _setup_sqlite(settings)


@contextmanager
def open_checkpointer(settings: Settings | None = None, serde: Any = None) -> Iterator[Any]:
    """The checkpointer `checkpoint_uri` names, set up and open for the duration of the block.

    Raises:
        CheckpointStoreError: The database is unreachable or its driver is not installed.
    """
    settings = settings or resolve()
    ensure_schema(settings)
    if is_postgres(settings):
        # lazy: the optional [postgres] extra (ensure_schema() checked that it is installed)
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        with pg_connect(settings, prepare_threshold=0, row_factory=dict_row) as conn:
            yield PostgresSaver(conn, serde=serde)
        return
    conn = sqlite3.connect(
        _sqlite_path(settings), check_same_thread=False, timeout=SQLITE_BUSY_SECONDS
    )
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
    await asyncio.to_thread(ensure_schema, settings)
    if is_postgres(settings):
        psycopg = _psycopg()
        # lazy: the optional [postgres] extra (ensure_schema() checked that it is installed)
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row

        try:
            conn = await psycopg.AsyncConnection.connect(
                settings.checkpoint_uri, autocommit=True, prepare_threshold=0, row_factory=dict_row
            )
        except psycopg.OperationalError as exc:
            raise CheckpointStoreError(unreachable(settings, exc)) from None
        async with conn:
            yield AsyncPostgresSaver(conn, serde=serde)
        return
    async with aiosqlite.connect(_sqlite_path(settings), timeout=SQLITE_BUSY_SECONDS) as conn:
        yield AsyncSqliteSaver(conn, serde=serde)


@asynccontextmanager
async def server_checkpointer() -> AsyncIterator[Any]:
    """The checkpointer for `langgraph dev` (langgraph.json's `checkpointer.path`).

    Opt-in: add `"checkpointer": {"path": "./agent/threads.py:server_checkpointer"}` to
    langgraph.json so that Studio's threads live where the CLI's do (docs/deployment.md).
    """
    async with aopen_checkpointer(resolve(), checkpoint_serde()) as saver:
        yield saver
