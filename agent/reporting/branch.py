"""The `research_branch` node: one sub-question through the question loop (a subgraph)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.evidence.summaries import summarize
from agent.reporting.evidence import read_docs
from agent.reporting.schemas import BranchResult
from agent.reporting.state import BranchTask
from agent.settings import Context, ReportContext


def branch_context(context: ReportContext | None, tool_budget: int) -> Context:
    """A research run's options for one branch: the report's, with the branch's tool budget."""
    given = context.model_dump(exclude_unset=True) if context is not None else {}
    kept = {k: v for k, v in given.items() if k in Context.model_fields}
    kept["max_tool_calls"] = min(tool_budget, 200)
    return Context(**kept)


def make_research_branch(research: Any) -> Callable[..., dict[str, Any]]:
    """Build the node that runs one branch.

    Args:
        research: The compiled question loop (graphs/research.py); it runs as a subgraph
            and keeps its checkpoints under this node's task on a persistent thread.

    Returns:
        The node function; it streams `branch_start`, `branch_step` and `branch_done`.
    """

    def research_branch(task: BranchTask, runtime: Runtime[ReportContext]) -> dict[str, Any]:
        emit = get_stream_writer()
        index, question = task["index"], task["question"]
        emit({"kind": "branch_start", "index": index, "question": question})
        context = branch_context(runtime.context, task["tool_budget"])
        final: dict[str, Any] = {}
        for mode, data in research.stream(
            {"question": question}, context=context, stream_mode=["updates", "values"]
        ):
            if mode == "values":
                final = data
                continue
            for values in data.values():
                for message in (values or {}).get("messages", []):
                    if isinstance(message, ToolMessage):
                        step = f"{message.name}: {summarize(message)}"
                        emit({"kind": "branch_step", "index": index, "step": step})
        answer = final.get("answer")
        result = BranchResult(
            index=index,
            question=question,
            status="done",
            answer=answer,
            read=read_docs(final.get("messages", [])),
            tool_budget=task["tool_budget"],
        )
        emit(
            {
                "kind": "branch_done",
                "index": index,
                "status": answer.status if answer is not None else "none",
                "citations": len(answer.citations) if answer is not None else 0,
                "tool_calls": answer.steps.tool_calls if answer is not None else 0,
            }
        )
        return {"branches": [result]}

    return research_branch
