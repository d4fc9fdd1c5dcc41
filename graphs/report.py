"""The report graph: plan -> review -> research branches in parallel -> write -> verify.

Each sub-question runs the question loop (graphs/research.py) as a subgraph, sent with
`Send` so the branches run at the same time, each with its share of the tool budget.
On a persistent thread a branch that finished is kept when the run is interrupted, so a
resumed run re-runs only the branches that had not finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.reporting.branch import make_research_branch
from agent.reporting.plan import make_plan
from agent.reporting.review import review
from agent.reporting.state import BranchTask, ReportInput, ReportState
from agent.reporting.verify import verify_report
from agent.reporting.write import make_write
from agent.settings import ReportContext
from graphs.research import DEFAULT_TOOLS, build_graph


def build_report_graph(
    model: BaseChatModel | None = None,
    checkpointer: Any = None,
    *,
    tools: Sequence[BaseTool] | None = None,
) -> CompiledStateGraph[ReportState, ReportContext, ReportInput, ReportState]:
    """Wire the report graph.

    Args:
        model: The chat model of every turn (plan, branches, write); None: the run's, as
            the API chose it, else chosen once per run from the context (a gpt-oss server,
            a local one, or the offline policy; agent/reporting/model.py).
        checkpointer: A LangGraph checkpointer (needed for review and resume), or None.
        tools: The research tools; None means milvus_search and fetch_doc.

    Returns:
        The compiled graph, named "report".
    """
    toolset = DEFAULT_TOOLS if tools is None else tools
    research = build_graph(model, tools=toolset)
    builder = StateGraph(ReportState, input_schema=ReportInput, context_schema=ReportContext)
    builder.add_node("plan", make_plan(model, toolset))
    builder.add_node("review", review, destinations=("research_branch", "write", END))
    builder.add_node(
        "research_branch", make_research_branch(research, model), input_schema=BranchTask
    )
    builder.add_node("write", make_write(model))
    builder.add_node("verify", verify_report)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "review")
    builder.add_edge("research_branch", "write")
    builder.add_edge("write", "verify")
    builder.add_edge("verify", END)
    return builder.compile(checkpointer=checkpointer, name="report")


graph = build_report_graph()
