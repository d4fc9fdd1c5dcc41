"""The Python API: ask a question, get a verified Answer; or stream the steps on the way.

Options mirror the CLI: provider, model, base_url, effort, k, max_tool_calls, max_turns,
max_context_tokens, collection, milvus_uri (fields of agent.settings.Context), plus
thread_id (a persistent thread, kept where RESEARCH_AGENT_CHECKPOINT_URI says: empty for
<data_dir>/checkpoints.sqlite, or PostgreSQL), wait (False: raise ThreadBusyError instead
of waiting, up to `thread_wait` seconds, while another run, in any process, holds the
thread) and data_dir. Or, instead of them, `run=` a run prepared once by
agent.runs.prepare(**options): its `choice` says which model serves it and why, and the
model it chose and built is the one the graph uses (each call otherwise chooses once).

On a thread, a run stopped part-way stays resumable: Ctrl-C raises
agent.interruptions.RunInterrupted (a KeyboardInterrupt naming `resume`), a cancelled
task stays cancelled with the same note, and `resume` / `resume_stream` finish the run
without redoing its finished steps. A new question on such a thread is refused
(UnfinishedRunError) until the stopped run is finished.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig

from agent.events import Event, RunEvents
from agent.interruptions import (
    acheck_finished,
    athread_guard,
    check_finished,
    resumable,
    thread_guard,
)
from agent.llm.wire.deadline import run_deadline
from agent.runs import Run, from_options
from agent.schemas import Answer
from agent.settings import Settings
from agent.thread_locks import athread_lock, thread_lock
from agent.threads import aopen_checkpointer, checkpoint_serde, open_checkpointer, where
from graphs.research import build_graph, graph
from tools.errors import ResearchAgentError


def _durability(thread_id: str | None) -> Literal["sync"] | None:
    # On a thread, each step's checkpoint is written before the next step starts (LangGraph's
    # default writes it meanwhile): a run killed at any point resumes after its last step.
    return "sync" if thread_id else None


class NothingToResumeError(ResearchAgentError):
    """The thread has no interrupted run: it finished (`finished`), or it does not exist."""

    def __init__(self, message: str, *, finished: bool) -> None:
        super().__init__(message)
        self.finished = finished


def _run(options: dict[str, Any], *, choose: bool = True) -> Run:
    """The call's run (agent.runs): its options checked, its chat model chosen once."""
    return from_options(options, choose=choose)


def _config(thread_id: str | None) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}} if thread_id else {}


@contextmanager
def _graph(run: Run, *, fresh: bool = False) -> Iterator[Any]:
    """The graph for this run; on a thread, with its checkpointer and the thread held.

    With `fresh` (a new question), a thread whose last run stopped part-way is refused:
    the new run would leave the stopped one behind unanswered.
    """
    if not run.thread_id:
        yield graph
        return
    # The checkpointer (whose tables are set up on first use) is opened before the thread is
    # locked: a run never holds the thread while it waits for the setup lock.
    with (
        open_checkpointer(run.settings, checkpoint_serde()) as saver,
        thread_lock(run.settings, run.thread_id, wait=run.wait),
    ):
        compiled = build_graph(checkpointer=saver)
        if fresh:
            check_finished(compiled, _config(run.thread_id), run.thread_id)
        yield compiled


@asynccontextmanager
async def _agraph(run: Run) -> AsyncIterator[Any]:
    if not run.thread_id:
        yield graph
        return
    async with (
        aopen_checkpointer(run.settings, checkpoint_serde()) as saver,
        athread_lock(run.settings, run.thread_id, wait=run.wait),
    ):
        compiled = build_graph(checkpointer=saver)
        await acheck_finished(compiled, _config(run.thread_id), run.thread_id)
        yield compiled


def _stream_options(run: Run, events: RunEvents) -> dict[str, Any]:
    """The keyword arguments of graph.stream / graph.astream for this run."""
    return {
        "context": run.context,
        "stream_mode": events.modes,
        "durability": _durability(run.thread_id),
    }


def stream(question: str, *, tokens: bool = True, **options: Any) -> Iterator[Event]:
    """Ask a question and yield tokens and steps as they happen, then the Answer.

    Args:
        question: The question.
        tokens: Stream the model's tokens (`answer_token`, `reasoning_token` events, the
            server is asked to stream); False asks for whole turns (servers that cannot
            stream) and yields steps only.
        **options: See the module docstring.

    Yields:
        StepEvent for tokens, each tool call and result or refused call, then the Answer.
    """
    run = _run(options)
    events = RunEvents(tokens=tokens)
    with (
        _graph(run, fresh=True) as graph,
        thread_guard(run.settings, run.thread_id),
        run_deadline(run.settings.run_timeout),
    ):
        question_input = {"question": question}
        for item in graph.stream(question_input, run.config(), **_stream_options(run, events)):
            yield from events.of(item)


async def astream(question: str, *, tokens: bool = True, **options: Any) -> AsyncIterator[Event]:
    """Async form of `stream`."""
    run = await asyncio.to_thread(_run, options)  # a probe must not block the loop
    events = RunEvents(tokens=tokens)
    async with (
        _agraph(run) as graph,
        athread_guard(run.settings, run.thread_id),
        run_deadline(run.settings.run_timeout),
    ):
        question_input = {"question": question}
        config = run.config()
        async for item in graph.astream(question_input, config, **_stream_options(run, events)):
            for event in events.of(item):
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
        agent.threads.ThreadBusyError: Another run holds the thread (wait=False), or held it
            for longer than `thread_wait` seconds.
        agent.interruptions.UnfinishedRunError: The thread's last run stopped part-way;
            finish it with `resume` first.
        agent.interruptions.RunInterrupted: Ctrl-C on a thread (finish the run with `resume`).
    """
    run = _run(options)
    with (
        _graph(run, fresh=True) as graph,
        thread_guard(run.settings, run.thread_id),
        run_deadline(run.settings.run_timeout),
    ):
        state = graph.invoke(
            {"question": question},
            run.config(),
            context=run.context,
            durability=_durability(run.thread_id),
        )
    return state["answer"]


async def aask(question: str, **options: Any) -> Answer:
    """Async form of `ask`."""
    run = await asyncio.to_thread(_run, options)  # a probe must not block the loop
    async with _agraph(run) as graph, athread_guard(run.settings, run.thread_id):
        state = await graph.ainvoke(
            {"question": question},
            run.config(),
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
    run = _run({**options, "thread_id": thread_id}, choose=False)
    config = _config(thread_id)
    events = RunEvents(tokens=False)
    with _graph(run) as graph, run_deadline(run.settings.run_timeout):
        snapshot = graph.get_state(config)
        if not resumable(snapshot):
            known = bool(snapshot.values)
            raise NothingToResumeError(_nothing(thread_id, known, run.settings), finished=known)
        run = run.with_model()  # chosen once there is something to resume
        with thread_guard(run.settings, thread_id):
            for update in graph.stream(None, run.config(), **_stream_options(run, events)):
                yield from events.of(update)


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
    run = _run({**options, "thread_id": thread_id}, choose=False)
    with open_checkpointer(run.settings, checkpoint_serde()) as saver:
        return build_graph(checkpointer=saver).get_state(_config(thread_id))


def _nothing(thread_id: str, known: bool, settings: Settings) -> str:
    if known:
        return f"Thread {thread_id} has nothing to resume: its last run finished."
    return (
        f"Thread {thread_id} has nothing to resume: it is not in {where(settings)}; check the "
        "id and RESEARCH_AGENT_CHECKPOINT_URI."
    )
