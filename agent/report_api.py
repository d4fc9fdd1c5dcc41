"""The Python API of research reports: `report`, `areport`, `report_stream`, `resume_report`.

Options are those of `agent.api.ask` plus the report's own (fields of
agent.settings.ReportContext): max_branches, report_tool_calls, report_tokens (the
report's total prompt-token budget, split as agent/reporting/budget.py says),
unverified. A review of
the plan, and resuming an interrupted report, need a thread (`thread_id`); a review
without one gets a new thread, named in the `review` event. Or `run=` a run prepared once
by agent.runs.prepare(...) (its `choice` shown first, as the CLI does), with only the
report's own options beside it. Each call chooses and builds the chat model once (`report`
once for the report and its reviews); plan, branches and write all use that one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from langgraph.types import Command

from agent.api import NothingToResumeError
from agent.report_runs import ReportRun, report_run
from agent.reporting.schemas import Plan, Report, ReportEvent
from agent.reporting.state import ReportInput
from agent.thread_locks import thread_lock
from agent.threads import checkpoint_serde, open_checkpointer
from graphs.report import build_report_graph, graph
from tools.errors import ResearchAgentError
from tools.render import counted

ReportItem = ReportEvent | Report
Reviewer = Callable[[Plan], Any]
"""Called with the plan; returns a decision: "accept", {"action": "edit", ...}, or reject."""


@contextmanager
def _graph(run: ReportRun) -> Iterator[Any]:
    if not run.thread_id:
        yield graph
        return
    # The checkpointer (its tables set up on first use) is opened before the thread is
    # locked, as in agent.api: a run never holds the thread while it waits for the setup.
    with (
        open_checkpointer(run.run.settings, checkpoint_serde()) as saver,
        thread_lock(run.run.settings, run.thread_id, wait=run.run.wait),
    ):
        yield build_report_graph(checkpointer=saver)


def _items(chunk: tuple[str, Any], thread_id: str) -> Iterator[ReportItem]:
    """Translate one streamed (mode, data) pair into report events and the Report."""
    mode, data = chunk
    if mode == "custom":
        kind = data.get("kind")
        index = data.get("index")
        if kind == "plan":
            yield ReportEvent(kind="plan", plan=Plan.model_validate(data["plan"]))
        elif kind == "branch_start":
            yield ReportEvent(kind=kind, index=index, text=data["question"])
        elif kind == "branch_step":
            yield ReportEvent(kind=kind, index=index, text=data["step"])
        elif kind == "branch_done":
            text = (
                f"{data['status']}, {counted(data['tool_calls'], 'tool call')}, "
                f"{counted(data['citations'], 'citation')}"
                f", {data.get('tokens', 0)}/{data.get('token_budget', 0)} tokens"
            )
            yield ReportEvent(kind=kind, index=index, text=text)
        elif kind == "section":
            yield ReportEvent(
                kind="section",
                text=data["heading"] + (f" ({data['note']})" if data["note"] else ""),
            )
        return
    for node, values in data.items():
        if node == "__interrupt__":
            payload = values[0].value
            yield ReportEvent(
                kind="review",
                plan=Plan.model_validate(payload["plan"]),
                text=payload.get("error", ""),
                thread_id=thread_id,
            )
        elif isinstance(values, dict) and values.get("report") is not None:
            yield values["report"]


def _stream(run: ReportRun, payload: Any) -> Iterator[ReportItem]:
    with _graph(run) as compiled:
        for chunk in compiled.stream(
            payload,
            run.config(),
            context=run.context,
            stream_mode=["custom", "updates"],
            durability="sync" if run.thread_id else None,
        ):
            yield from _items(chunk, run.thread_id or "")


def report_stream(topic: str, *, review: bool = False, **options: Any) -> Iterator[ReportItem]:
    """Research a topic and yield the plan, each branch's progress, then the Report.

    Args:
        topic: What the report is about.
        review: Stop after planning with a `review` event; continue with `resume_report`.
        **options: See the module docstring.

    Yields:
        ReportEvent as the report progresses, then the Report (not after a `review` event).
    """
    run = report_run(options)
    if review:
        run = run.on_a_thread()
    yield from _stream(run, {"topic": topic, "review": review})


def _snapshot(run: ReportRun) -> Any:
    """The thread's last checkpoint (read without taking the thread)."""
    with open_checkpointer(run.run.settings, checkpoint_serde()) as saver:
        return build_report_graph(checkpointer=saver).get_state(run.config())


def _resume(run: ReportRun, decision: Any) -> Iterator[ReportItem]:
    """Go on with the run's thread; its model is chosen once there is something to resume."""
    snapshot = _snapshot(run)
    if not snapshot.next:
        known = bool(snapshot.values)
        message = (
            f"Thread {run.thread_id} has nothing to resume: its last report finished."
            if known
            else f"Thread {run.thread_id} has no report to resume; check the id."
        )
        raise NothingToResumeError(message, finished=known)
    waiting = any(task.interrupts for task in snapshot.tasks)
    # No decision accepts the plan (as the review node reads None); said explicitly, since
    # LangGraph fails on Command(resume=None) with an UnboundLocalError.
    answer = "accept" if decision is None else decision
    yield from _stream(run.with_model(), Command(resume=answer) if waiting else None)


def resume_report_stream(
    thread_id: str, decision: Any = None, **options: Any
) -> Iterator[ReportItem]:
    """Go on with a thread's report: after a review (with `decision`) or an interruption.

    Branches that finished before the interruption are not run again.

    Raises:
        NothingToResumeError: The thread's report finished, or there is none.
    """
    yield from _resume(report_run({**options, "thread_id": thread_id}, choose=False), decision)


def is_report_thread(thread_id: str, **options: Any) -> bool:
    """True when the thread's last checkpoint is a report's (it has a topic)."""
    run = report_run({**options, "thread_id": thread_id}, choose=False)
    return bool(_snapshot(run).values.get("topic"))


def report(topic: str, *, review: Reviewer | None = None, **options: Any) -> Report:
    """Research a topic: plan, research the sub-questions in parallel, write, verify.

    The model is chosen once for the whole report, reviews included.

    Args:
        topic: What the report is about.
        review: Called with the plan before any research; returns "accept",
            {"action": "edit", "plan": {...}} or {"action": "edit", "sub_questions": [...]},
            or {"action": "reject", "reason": "..."}. None: no review.
        **options: See the module docstring, e.g. provider="offline", max_branches=4.

    Returns:
        The Report; every citation in it points at lines a branch read.
    """
    run = report_run(options)
    if review is not None:
        run = run.on_a_thread()
    items = _stream(run, {"topic": topic, "review": review is not None})
    while True:
        pending: ReportEvent | None = None
        for item in items:
            if isinstance(item, Report):
                return item
            if item.kind == "review":
                pending = item
        if pending is None or pending.plan is None:
            raise ResearchAgentError("The report ended without a result; run `doctor`.")
        decision = review(pending.plan) if review is not None else "accept"
        items = _resume(run, decision)


async def areport(topic: str, *, review: Reviewer | None = None, **options: Any) -> Report:
    """Async form of `report` (the run happens in a worker thread)."""
    return await asyncio.to_thread(report, topic, review=review, **options)


async def areport_stream(
    topic: str, *, review: bool = False, **options: Any
) -> AsyncGenerator[ReportItem, None]:
    """Async form of `report_stream`.

    Without a thread (and so without a review) the graph runs with `astream`: cancelling
    the task that iterates stops every branch between two steps (a model request already
    sent is awaited, no new one starts). With a thread, the sync form runs in a worker
    thread and a cancel takes effect at its next event.
    """
    run = await asyncio.to_thread(report_run, options)  # a probe must not block the loop
    payload: ReportInput = {"topic": topic, "review": review}
    if not review and not run.thread_id:
        async for chunk in graph.astream(
            payload, run.config(), context=run.context, stream_mode=["custom", "updates"]
        ):
            for event in _items(cast(tuple[str, Any], chunk), ""):
                yield event
        return
    items = _stream(run.on_a_thread(), payload)
    done = object()
    while True:
        item = await asyncio.to_thread(next, items, done)
        if item is done:
            return
        yield item  # type: ignore[misc]
