"""The `plan` node: the report's title, sub-questions and outline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent import prompts
from agent.reporting.model import is_offline, run_model
from agent.reporting.offline import offline_plan
from agent.reporting.planning import cap_plan, model_plan
from agent.reporting.state import ReportState
from agent.settings import ReportContext
from tools.artifacts import parse_artifact
from tools.errors import ResearchAgentError
from tools.schemas import SearchResult


def first_search(tools: Sequence[BaseTool], topic: str) -> SearchResult | None:
    """Search the topic once with the graph's milvus_search (the offline planner's input)."""
    search = next((t for t in tools if t.name == "milvus_search"), None)
    if search is None:
        return None
    call = {
        "type": "tool_call",
        "name": "milvus_search",
        "id": "report-plan-search",
        "args": {"query": topic, "state": {"messages": []}},
    }
    message = search.invoke(call)
    artifact = parse_artifact(message.artifact) if isinstance(message, ToolMessage) else None
    return artifact if isinstance(artifact, SearchResult) else None


def make_plan(
    model: BaseChatModel | None, tools: Sequence[BaseTool]
) -> Callable[..., dict[str, Any]]:
    """Build the `plan` node.

    Args:
        model: The chat model for every run, or None: the run's (agent/reporting/model.py).
        tools: The research tools (the offline planner searches with milvus_search).

    Returns:
        The node function.
    """

    def plan(state: ReportState, runtime: Runtime[ReportContext]) -> dict[str, Any]:
        topic = " ".join((state.get("topic") or "").split())
        if not topic:
            raise ResearchAgentError('Nothing to report on: send {"topic": "..."}.')
        context = runtime.context or ReportContext()
        settings = context.settings()
        serving = run_model(model, context)
        chat = serving.chat
        notes: list[str] = []
        spent = tokens = 0
        if is_offline(chat):
            spent = 1  # its search comes out of the report's tool budget
            chosen = offline_plan(topic, first_search(tools, topic), settings.max_branches)
            notes.append(prompts.OFFLINE_REPORT_NOTE)
        else:
            planned, notes, tokens = model_plan(chat, topic, settings.effort)
            if planned is None:
                notes.append("the deterministic plan was used instead")
                spent = 1
                planned = offline_plan(topic, first_search(tools, topic), settings.max_branches)
            chosen = cap_plan(planned, settings.max_branches)
        get_stream_writer()({"kind": "plan", "plan": chosen.model_dump()})
        return {
            "topic": topic,
            "plan": chosen,
            "plan_notes": notes,
            "planning_tool_calls": spent,
            "planning_tokens": tokens,
            "review_error": "",
            "branches": [],
            "evidence": [],
            "drafts": [],
            "report": None,
            "model_name": serving.choice.model,
            "provider": serving.choice.provider,
        }

    return plan
