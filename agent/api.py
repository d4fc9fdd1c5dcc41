"""The Python API: ask a question, get a verified Answer; or stream the steps on the way.

Options mirror the CLI: provider, model, base_url, effort, k, max_tool_calls, max_turns,
max_context_tokens, collection, milvus_uri (fields of agent.settings.Context), plus
thread_id (a persistent thread, kept where RESEARCH_AGENT_CHECKPOINT_URI says: empty for
<data_dir>/checkpoints.sqlite, or PostgreSQL), wait (False: raise ThreadBusyError instead
of waiting while another run, in any process, holds the thread) and data_dir.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig

from agent.nodes.evidence import summarize
from agent.schemas import Answer, StepEvent
from agent.settings import Context, Settings, resolve
from agent.threads import aopen_checkpointer, open_checkpointer, thread_lock, where
from tools.errors import ConfigError, ResearchAgentError

Event = StepEvent | Answer
CONTEXT_FIELDS = frozenset(Context.model_fields)
SCHEMA_TYPES = [("agent.schemas", n) for n in ("Answer", "Citation", "Steps", "StepRecord")]
EXTRA_OPTIONS = frozenset({"thread_id", "data_dir", "wait"})


def _durability(thread_id: str | None) -> Literal["sync"] | None:
    # On a thread, each step's checkpoint is written before the next step starts (LangGraph's
    # default writes it meanwhile): a run killed at any point resumes after its last step.
    return "sync" if thread_id else None


class NothingToResumeError(ResearchAgentError):
    """The thread has no interrupted run: it finished (`finished`), or it does not exist."""

    def __init__(self, message: str, *, finished: bool) -> None:
        super().__init__(message)
        self.finished = finished


@dataclass(frozen=True)
class Run:
    """One call's options, split up and checked."""

    context: Context
    thread_id: str | None
    settings: Settings
    wait: bool
    """False: raise ThreadBusyError rather than wait for another run on the thread."""


def _run(options: dict[str, Any]) -> Run:
    """Split options into the run's Context, the thread id, the settings and `wait`.

    Raises:
        ConfigError: An option is unknown or its value is not allowed (checked before the
            run starts, with the environment and .env resolved too).
    """
    options = {k: v for k, v in options.items() if v is not None}
    thread_id = options.pop("thread_id", None)
    data_dir = options.pop("data_dir", None)
    wait = bool(options.pop("wait", True))
    unknown = set(options) - CONTEXT_FIELDS
    if unknown:
        valid = ", ".join(sorted(CONTEXT_FIELDS | EXTRA_OPTIONS))
        raise ConfigError(f"unknown option(s) {', '.join(sorted(unknown))}; valid: {valid}.")
    context = Context(**options)
    settings = resolve(context, data_dir=data_dir)  # the environment's values checked too
    if "milvus_uri" not in options:
        context = Context(**options, milvus_uri=settings.resolved_milvus_uri())
    return Run(context, thread_id, settings, wait)


def _config(thread_id: str | None) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}} if thread_id else {}


def _serde() -> Any:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    return JsonPlusSerializer(allowed_msgpack_modules=SCHEMA_TYPES)


@contextmanager
def _graph(run: Run) -> Iterator[Any]:
    """The graph for this run; on a thread, with its checkpointer and the thread held."""
    from graphs.research import build_graph, graph

    if not run.thread_id:
        yield graph
        return
    with (
        thread_lock(run.settings, run.thread_id, wait=run.wait),
        open_checkpointer(run.settings, _serde()) as saver,
    ):
        yield build_graph(checkpointer=saver)


@asynccontextmanager
async def _agraph(run: Run) -> AsyncIterator[Any]:
    from graphs.research import build_graph, graph

    if not run.thread_id:
        yield graph
        return
    lock = thread_lock(run.settings, run.thread_id, wait=run.wait)
    await asyncio.to_thread(lock.__enter__)  # waiting for another run must not block the loop
    try:
        async with aopen_checkpointer(run.settings, _serde()) as saver:
            yield build_graph(checkpointer=saver)
    finally:
        await asyncio.to_thread(lock.__exit__, None, None, None)


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
    run = _run(options)
    calls: dict[str, dict[str, Any]] = {}
    with _graph(run) as graph:
        for update in graph.stream(
            {"question": question},
            _config(run.thread_id),
            context=run.context,
            stream_mode="updates",
            durability=_durability(run.thread_id),
        ):
            yield from _events(update, calls)


async def astream(question: str, **options: Any) -> AsyncIterator[Event]:
    """Async form of `stream`."""
    run = _run(options)
    calls: dict[str, dict[str, Any]] = {}
    async with _agraph(run) as graph:
        async for update in graph.astream(
            {"question": question},
            _config(run.thread_id),
            context=run.context,
            stream_mode="updates",
            durability=_durability(run.thread_id),
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
        agent.threads.ThreadBusyError: wait=False and another run holds the thread.
    """
    run = _run(options)
    with _graph(run) as graph:
        state = graph.invoke(
            {"question": question},
            _config(run.thread_id),
            context=run.context,
            durability=_durability(run.thread_id),
        )
    return state["answer"]


async def aask(question: str, **options: Any) -> Answer:
    """Async form of `ask`."""
    run = _run(options)
    async with _agraph(run) as graph:
        state = await graph.ainvoke(
            {"question": question},
            _config(run.thread_id),
            context=run.context,
            durability=_durability(run.thread_id),
        )
    return state["answer"]


def resume_stream(thread_id: str, **options: Any) -> Iterator[Event]:
    """Finish the thread's interrupted run from its last checkpoint, yielding its steps.

    Steps that finished before the interruption (tool calls included) are not run again:
    the graph continues with the nodes the last checkpoint left to run.

    Args:
        thread_id: The thread whose run was interrupted (killed, server down).
        **options: As for `stream` (the run's options are not stored in the thread).

    Raises:
        NothingToResumeError: The thread's last run finished, or the thread is unknown.
    """
    run = _run({**options, "thread_id": thread_id})
    config = _config(thread_id)
    calls: dict[str, dict[str, Any]] = {}
    with _graph(run) as graph:
        snapshot = graph.get_state(config)
        if not snapshot.next:
            known = bool(snapshot.values)
            raise NothingToResumeError(_nothing(thread_id, known, run.settings), finished=known)
        for update in graph.stream(
            None,
            config,
            context=run.context,
            stream_mode="updates",
            durability=_durability(run.thread_id),
        ):
            yield from _events(update, calls)


def resume(thread_id: str, **options: Any) -> Answer:
    """Finish the thread's interrupted run and return its Answer (see `resume_stream`)."""
    answers = [e for e in resume_stream(thread_id, **options) if isinstance(e, Answer)]
    if not answers:  # the graph always ends in respond; this guards a broken install
        raise ResearchAgentError("The resumed run ended without an answer; run `doctor`.")
    return answers[-1]


def thread_state(thread_id: str, **options: Any) -> Any:
    """The thread's current state: a LangGraph StateSnapshot (`values`, `next`, ...).

    Reads the last checkpoint without taking the thread; `next` is non-empty while a run
    is interrupted (finish it with `resume`).
    """
    from graphs.research import build_graph

    run = _run({**options, "thread_id": thread_id})
    with open_checkpointer(run.settings, _serde()) as saver:
        return build_graph(checkpointer=saver).get_state(_config(thread_id))


def _nothing(thread_id: str, known: bool, settings: Settings) -> str:
    if known:
        return f"Thread {thread_id} has nothing to resume: its last run finished."
    return (
        f"Thread {thread_id} has nothing to resume: it is not in {where(settings)}; check the "
        "id and RESEARCH_AGENT_CHECKPOINT_URI."
    )
