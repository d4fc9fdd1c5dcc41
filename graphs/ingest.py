"""The ingest graph: one node that indexes paths into the collection (for Studio and servers)."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.nodes.ingest import IngestState, run_ingest
from agent.settings import Context


def build_ingest_graph() -> CompiledStateGraph[IngestState, Context, IngestState, IngestState]:
    """Wire the ingest graph."""
    builder = StateGraph(IngestState, context_schema=Context)
    builder.add_node("ingest", run_ingest)
    builder.add_edge(START, "ingest")
    builder.add_edge("ingest", END)
    return builder.compile(name="ingest")


graph = build_ingest_graph()
