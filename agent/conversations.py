"""Python API for the chat threads a user has: list them, read the last exchange, delete one.

Threads live wherever `checkpoint_uri` keeps them (agent.threads): the SQLite file in the
data folder, or PostgreSQL. Both checkpointers keep a `checkpoints` table with a
`thread_id` column, which is how the threads are found without reading every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage

from agent.schemas import Answer
from agent.settings import Settings
from agent.threads import checkpoint_serde, is_postgres, open_checkpointer
from agent.threads import where as _where


@dataclass(frozen=True)
class ThreadInfo:
    """One persistent conversation."""

    thread_id: str
    first_question: str
    last_question: str
    last_answer: Answer | None
    last_activity: str
    """ISO-8601 time (UTC) of the thread's latest checkpoint."""


def _ids(settings: Settings, saver: Any) -> list[str]:
    if is_postgres(settings):
        rows = saver.conn.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
        return [str(r["thread_id"]) for r in rows]
    saver.setup()
    rows = saver.conn.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
    return [str(r[0]) for r in rows]


def _info(saver: Any, thread_id: str) -> ThreadInfo | None:
    tup = saver.get_tuple({"configurable": {"thread_id": thread_id}})
    if tup is None:
        return None
    values = tup.checkpoint.get("channel_values", {})
    messages = values.get("messages", [])
    questions = [str(m.content) for m in messages if isinstance(m, HumanMessage)]
    answer = values.get("answer")
    return ThreadInfo(
        thread_id=thread_id,
        first_question=questions[0] if questions else "",
        last_question=questions[-1] if questions else "",
        last_answer=answer if isinstance(answer, Answer) else None,
        last_activity=str(tup.checkpoint.get("ts", "")),
    )


def _no_threads_yet(settings: Settings) -> bool:
    return not is_postgres(settings) and not (settings.data_dir / "checkpoints.sqlite").exists()


def where(settings: Settings) -> str:
    """Where the threads are kept: the SQLite file, or the PostgreSQL database."""
    return _where(settings)


def list_threads(settings: Settings) -> list[ThreadInfo]:
    """Every thread, most recently active first."""
    if _no_threads_yet(settings):
        return []
    with open_checkpointer(settings, checkpoint_serde()) as saver:
        infos = [info for t in _ids(settings, saver) if (info := _info(saver, t)) is not None]
    return sorted(infos, key=lambda i: i.last_activity, reverse=True)


def get_thread(settings: Settings, thread_id: str) -> ThreadInfo | None:
    """One thread, or None when there is no such thread."""
    if _no_threads_yet(settings):
        return None
    with open_checkpointer(settings, checkpoint_serde()) as saver:
        return _info(saver, thread_id)


def delete_thread(settings: Settings, thread_id: str) -> bool:
    """Remove a thread's checkpoints; False when there was no such thread."""
    if _no_threads_yet(settings):
        return False
    with open_checkpointer(settings, checkpoint_serde()) as saver:
        if saver.get_tuple({"configurable": {"thread_id": thread_id}}) is None:
            return False
        saver.delete_thread(thread_id)
    return True
