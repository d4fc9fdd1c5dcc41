"""The Python API: ask a question, get a verified Answer; or stream the steps on the way.

Options mirror the CLI: provider, model, base_url, effort, k, max_tool_calls, max_turns,
max_context_tokens, collection, milvus_uri (fields of agent.settings.Context), plus
thread_id (persistent chat in <data_dir>/checkpoints.sqlite) and data_dir.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage

from agent.nodes.evidence import summarize
from agent.schemas import Answer, StepEvent
from agent.settings import Context, resolve
from tools.errors import ConfigError

Event = StepEvent | Answer
CONTEXT_FIELDS = frozenset(Context.model_fields)
SCHEMA_TYPES = [("agent.schemas", n) for n in ("Answer", "Citation", "Steps", "StepRecord")]


def _context(options: dict[str, Any]) -> tuple[Context, str | None, Path]:
    """Split options into the run's Context, the thread id and the data folder.

    Raises:
        ConfigError: An option is unknown or its value is not allowed (checked before the
            run starts, with the environment and .env resolved too).
    """
    options = {k: v for k, v in options.items() if v is not None}
    thread_id = options.pop("thread_id", None)
    data_dir = options.pop("data_dir", None)
    unknown = set(options) - CONTEXT_FIELDS
    if unknown:
        valid = ", ".join(sorted(CONTEXT_FIELDS | {"thread_id", "data_dir"}))
        raise ConfigError(f"unknown option(s) {', '.join(sorted(unknown))}; valid: {valid}.")
    context = Context(**options)
    settings = resolve(context, data_dir=data_dir)  # the environment's values checked too
    if "milvus_uri" not in options:
        context = Context(**options, milvus_uri=settings.resolved_milvus_uri())
    return context, thread_id, settings.data_dir


def _config(thread_id: str | None) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}} if thread_id else {}


def _serde() -> Any:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    return JsonPlusSerializer(allowed_msgpack_modules=SCHEMA_TYPES)


@contextmanager
def _graph(thread_id: str | None, data_dir: Path) -> Iterator[Any]:
    from graphs.research import build_graph, graph

    if not thread_id:
        yield graph
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    data_dir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(data_dir / "checkpoints.sqlite", check_same_thread=False)
    try:
        yield build_graph(checkpointer=SqliteSaver(conn, serde=_serde()))
    finally:
        conn.close()


@asynccontextmanager
async def _agraph(thread_id: str | None, data_dir: Path) -> AsyncIterator[Any]:
    from graphs.research import build_graph, graph

    if not thread_id:
        yield graph
        return
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    data_dir.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(data_dir / "checkpoints.sqlite") as conn:
        yield build_graph(checkpointer=AsyncSqliteSaver(conn, serde=_serde()))


def _events(update: dict[str, Any], calls: dict[str, dict[str, Any]]) -> Iterator[Event]:
    """Translate one `updates` chunk of the graph into step events and the final Answer."""
    for node, values in update.items():
        values = values or {}
        for message in values.get("messages", []) if node != "respond" else []:
            if isinstance(message, AIMessage):
                reasoning = message.additional_kwargs.get("reasoning_content")
                if reasoning:
                    yield StepEvent(kind="reasoning", result=str(reasoning))
                for call in message.tool_calls:
                    calls[call["id"] or ""] = call["args"]
                    yield StepEvent(kind="tool_call", tool=call["name"], args=call["args"])
            elif isinstance(message, ToolMessage):
                args = calls.get(message.tool_call_id, {})
                yield StepEvent(
                    kind="tool_result",
                    tool=message.name or "",
                    args=args,
                    result=summarize(message),
                )
        if node == "respond" and values.get("answer") is not None:
            yield values["answer"]


def stream(question: str, **options: Any) -> Iterator[Event]:
    """Ask a question and yield each step (tool called, tool result), then the Answer.

    Args:
        question: The question.
        **options: See the module docstring.

    Yields:
        StepEvent for each tool call and result, then the final Answer.
    """
    context, thread_id, data_dir = _context(options)
    calls: dict[str, dict[str, Any]] = {}
    with _graph(thread_id, data_dir) as graph:
        for update in graph.stream(
            {"question": question}, _config(thread_id), context=context, stream_mode="updates"
        ):
            yield from _events(update, calls)


async def astream(question: str, **options: Any) -> AsyncIterator[Event]:
    """Async form of `stream`."""
    context, thread_id, data_dir = _context(options)
    calls: dict[str, dict[str, Any]] = {}
    async with _agraph(thread_id, data_dir) as graph:
        async for update in graph.astream(
            {"question": question}, _config(thread_id), context=context, stream_mode="updates"
        ):
            for event in _events(update, calls):
                yield event


def ask(question: str, **options: Any) -> Answer:
    """Answer a question from the documents, with verified citations.

    Args:
        question: The question.
        **options: See the module docstring, e.g. provider="offline", k=8, thread_id="chat-1".

    Returns:
        The Answer.

    Raises:
        tools.errors.ResearchAgentError: The store, the embedder or the model server cannot
            be used as configured; the message says what to do.
    """
    context, thread_id, data_dir = _context(options)
    with _graph(thread_id, data_dir) as graph:
        state = graph.invoke({"question": question}, _config(thread_id), context=context)
    return state["answer"]


async def aask(question: str, **options: Any) -> Answer:
    """Async form of `ask`."""
    context, thread_id, data_dir = _context(options)
    async with _agraph(thread_id, data_dir) as graph:
        state = await graph.ainvoke({"question": question}, _config(thread_id), context=context)
    return state["answer"]
