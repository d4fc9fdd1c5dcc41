"""The `research_branch` node: one sub-question through the question loop (a subgraph).

The node has a sync and an async form: `stream` runs the loop with `stream`, `astream`
with `astream`, so cancelling an async report (an MCP client's cancel) cancels every
branch's loop between two steps instead of letting it run on in a worker thread. The loop
gets the report run's chat model in its config (CHOSEN_KEY): a branch never chooses its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import ToolMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langgraph.config import get_stream_writer
from langgraph.runtime import get_runtime
from langgraph.types import StreamWriter

from agent.evidence.summaries import summarize
from agent.llm.servers.choose import CHOSEN_KEY
from agent.reporting.evidence import read_docs
from agent.reporting.model import run_model
from agent.reporting.schemas import BranchResult
from agent.reporting.state import BranchTask
from agent.settings import Context, ReportContext

STREAM_MODES = ["updates", "values"]


def branch_context(
    context: ReportContext | None, tool_budget: int, token_budget: int = 0
) -> Context:
    """A research run's options for one branch: the report's, with the branch's budgets."""
    given = context.model_dump(exclude_unset=True) if context is not None else {}
    kept = {k: v for k, v in given.items() if k in Context.model_fields}
    kept["max_tool_calls"] = min(tool_budget, 200)
    kept["max_run_tokens"] = token_budget
    return Context(**kept)


def start(
    task: BranchTask, model: BaseChatModel | None
) -> tuple[Context, RunnableConfig, StreamWriter]:
    """Announce the branch; its loop's options and config, and the report's stream writer.

    The config carries the report run's chat model (merged into the run's own config by
    LangGraph), so the loop's `call_model` neither probes nor builds another.
    """
    emit = get_stream_writer()
    emit({"kind": "branch_start", "index": task["index"], "question": task["question"]})
    report = get_runtime(ReportContext).context or ReportContext()
    config: RunnableConfig = {"configurable": {CHOSEN_KEY: run_model(model, report)}}
    context = branch_context(report, task["tool_budget"], task.get("token_budget", 0))
    return context, config, emit


def steps(data: dict[str, Any]) -> Iterator[str]:
    """One line per tool result in a streamed update of the loop."""
    for values in data.values():
        for message in (values or {}).get("messages", []):
            if isinstance(message, ToolMessage):
                yield f"{message.name}: {summarize(message)}"


def finish(task: BranchTask, final: dict[str, Any], emit: StreamWriter) -> dict[str, Any]:
    """The branch's result from the loop's last state, announced with `branch_done`."""
    answer = final.get("answer")
    result = BranchResult(
        index=task["index"],
        question=task["question"],
        status="done",
        answer=answer,
        read=read_docs(final.get("messages", [])),
        tool_budget=task["tool_budget"],
        token_budget=task.get("token_budget", 0),
        tokens=final.get("run_tokens", 0),
        stopped_by=final.get("budget_spent", ""),
    )
    emit(
        {
            "kind": "branch_done",
            "index": task["index"],
            "status": answer.status if answer is not None else "none",
            "citations": len(answer.citations) if answer is not None else 0,
            "tool_calls": answer.steps.tool_calls if answer is not None else 0,
            "tokens": result.tokens,
            "token_budget": result.token_budget,
        }
    )
    return {"branches": [result]}


def make_research_branch(
    research: Any, model: BaseChatModel | None = None
) -> Runnable[BranchTask, dict[str, Any]]:
    """Build the node that runs one branch.

    Args:
        research: The compiled question loop (graphs/research.py); it runs as a subgraph
            and keeps its checkpoints under this node's task on a persistent thread.
        model: The chat model given to the report graph, or None: the run's.

    Returns:
        The node (sync and async); it streams `branch_start`, `branch_step`, `branch_done`.
    """

    def research_branch(task: BranchTask) -> dict[str, Any]:
        context, config, emit = start(task, model)
        final: dict[str, Any] = {}
        question = {"question": task["question"]}
        for mode, data in research.stream(
            question, config, context=context, stream_mode=STREAM_MODES
        ):
            if mode == "values":
                final = data
                continue
            for step in steps(data):
                emit({"kind": "branch_step", "index": task["index"], "step": step})
        return finish(task, final, emit)

    async def aresearch_branch(task: BranchTask) -> dict[str, Any]:
        # in a worker thread: a run that has not chosen its model yet probes the server
        context, config, emit = await asyncio.to_thread(start, task, model)
        final: dict[str, Any] = {}
        question = {"question": task["question"]}
        async for mode, data in research.astream(
            question, config, context=context, stream_mode=STREAM_MODES
        ):
            if mode == "values":
                final = data
                continue
            for step in steps(data):
                emit({"kind": "branch_step", "index": task["index"], "step": step})
        return finish(task, final, emit)

    return RunnableLambda(research_branch, afunc=aresearch_branch, name="research_branch")
