"""A run on a thread that stops part-way: how it is said, recognised and finished.

On a thread every step's checkpoint is written before the next step starts, and a node
that finished has its output saved beside the checkpoint (LangGraph's pending writes), so
a run stopped anywhere (Ctrl-C, SIGTERM, SIGKILL, a database or disk that fails) leaves
the thread at its last finished step: `resume` runs what is left. This module names the
stop for the caller and tells a stopped run from a finished one.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from agent.settings import Settings
from agent.threads import CheckpointStoreError, is_postgres, unreachable, unwritable
from tools.errors import ConfigError, ResearchAgentError


def resume_hint(thread_id: str) -> str:
    """How to finish a stopped run, for messages."""
    return f"finish it with `research-agent resume --thread {thread_id}`"


def interrupted(thread_id: str) -> str:
    """The line for a run on a thread stopped by Ctrl-C, SIGTERM or a cancelled task."""
    return (
        f"the run on thread {thread_id} stopped before its answer; the steps it finished are "
        f"kept: {resume_hint(thread_id)} (agent.resume({thread_id!r}) in Python)."
    )


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM in the CLI) stopped a run on a thread; `resume` finishes it.

    A KeyboardInterrupt still, so code that stops on Ctrl-C keeps doing so.
    """

    def __init__(self, thread_id: str) -> None:
        super().__init__(interrupted(thread_id))
        self.thread_id = thread_id


class UnfinishedRunError(ResearchAgentError):
    """A new question on a thread whose last run stopped part-way (it would be dropped)."""


def resumable(snapshot: Any) -> bool:
    """True when the thread's last run stopped before its end.

    `next` lists the nodes still to run; `tasks` also holds nodes that finished after the
    last checkpoint (their output is saved, and no later checkpoint took it in yet). A run
    that reached its end leaves neither.
    """
    return bool(snapshot.next or snapshot.tasks)


def _unfinished(thread_id: str) -> UnfinishedRunError:
    return UnfinishedRunError(
        f"Thread {thread_id} has a run that stopped before its answer; {resume_hint(thread_id)} "
        "before asking it something new."
    )


def check_finished(graph: Any, config: Any, thread_id: str) -> None:
    """Refuse a new question while the thread's last run is unfinished.

    Raises:
        UnfinishedRunError: The last run stopped part-way.
    """
    if resumable(graph.get_state(config)):
        raise _unfinished(thread_id)


async def acheck_finished(graph: Any, config: Any, thread_id: str) -> None:
    """Async form of `check_finished`."""
    if resumable(await graph.aget_state(config)):
        raise _unfinished(thread_id)


def _store_failure(settings: Settings, exc: BaseException) -> str | None:
    """The line for a checkpoint database that failed mid-run, or None if it is not one."""
    if isinstance(exc, sqlite3.Error):
        return unwritable(settings, str(exc))
    if is_postgres(settings) and type(exc).__module__.startswith("psycopg"):
        return unreachable(settings, exc).removesuffix(".")
    return None


def _stopped(settings: Settings, thread_id: str, exc: Exception) -> Exception:
    """What a failed run on a thread raises: the same one line, with how to finish the run."""
    if isinstance(exc, ConfigError | UnfinishedRunError):
        return exc  # nothing ran
    line = _store_failure(settings, exc)
    if line is not None:
        return CheckpointStoreError(f"{line}; then {resume_hint(thread_id)}.")
    if isinstance(exc, ResearchAgentError) and "research-agent resume" not in str(exc):
        exc.args = (f"{str(exc).rstrip('.')}. The run is kept: {resume_hint(thread_id)}.",)
    return exc


@contextmanager
def thread_guard(settings: Settings, thread_id: str | None) -> Iterator[None]:
    """Name a stopped run on a thread: Ctrl-C as RunInterrupted, failures with the resume hint."""
    if not thread_id:
        yield
        return
    try:
        yield
    except RunInterrupted:
        raise
    except KeyboardInterrupt:
        raise RunInterrupted(thread_id) from None
    except Exception as exc:
        mapped = _stopped(settings, thread_id, exc)
        if mapped is exc:
            raise
        raise mapped from None


@asynccontextmanager
async def athread_guard(settings: Settings, thread_id: str | None) -> AsyncIterator[None]:
    """Async form of `thread_guard`; a cancelled task stays cancelled, with the resume note."""
    if not thread_id:
        yield
        return
    try:
        with thread_guard(settings, thread_id):
            yield
    except asyncio.CancelledError as exc:
        exc.add_note(interrupted(thread_id))
        raise
