"""The research agent's graph: model and tools in a loop, then a verified answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.nodes.model_turn import make_call_model, prepare, respond, route_after_model
from agent.nodes.run_tools import make_run_tools
from agent.settings import Context
from agent.state import InputState, State
from tools.fetch import fetch_doc
from tools.find import find_in_doc
from tools.search import milvus_search

DEFAULT_TOOLS: tuple[BaseTool, ...] = (milvus_search, fetch_doc, find_in_doc)
"""The product's tools."""


def build_graph(
    model: BaseChatModel | None = None,
    checkpointer: Any = None,
    *,
    tools: Sequence[BaseTool] | None = None,
) -> CompiledStateGraph[State, Context, InputState, State]:
    """Wire the research graph.

    Args:
        model: The chat model for every run; None chooses one per run from the context
            (a configured gpt-oss server, a local one, or the offline policy).
        checkpointer: A LangGraph checkpointer for persistent threads, or None.
        tools: The tools the model may call; None means DEFAULT_TOOLS (milvus_search,
            fetch_doc, find_in_doc).

    Returns:
        The compiled graph, named "research".
    """
    toolset = DEFAULT_TOOLS if tools is None else tools
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node("prepare", prepare)
    builder.add_node("call_model", make_call_model(model, toolset))
    builder.add_node("tools", make_run_tools(toolset))
    builder.add_node("respond", respond)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "call_model")
    builder.add_conditional_edges("call_model", route_after_model)
    builder.add_edge("tools", "call_model")
    builder.add_edge("respond", END)
    return builder.compile(checkpointer=checkpointer, name="research")


graph = build_graph()
