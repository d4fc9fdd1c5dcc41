"""The MCP server's `report` tool: a topic in, a verified Report out (agent.report_api).

There is no review of the plan over MCP (a tool call cannot stop to ask its caller);
the plan is used as written and shown in the first progress notification. Every event
of the report becomes one progress notification, so a client sees each branch work;
cancelling the request cancels the run (the report graph runs with `astream`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import aclosing
from typing import Annotated, Any, TypeVar

from mcp.server.fastmcp import Context as McpContext
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from agent.report_api import areport_stream
from agent.reporting.schemas import Report, ReportEvent
from agent.settings import ReportContext

T = TypeVar("T")
Topic = Annotated[str, Field(description="The topic of the report, in plain words.")]
MaxBranches = Annotated[
    int | None, Field(description=ReportContext.model_fields["max_branches"].description)
]
Budget = Annotated[
    int | None, Field(description=ReportContext.model_fields["report_tokens"].description)
]
DESCRIPTION = (
    "Research a topic over the documents: a plan of sub-questions, each researched in "
    "parallel by the agent, then a report in sections where every sentence that states "
    "a fact cites lines a branch read (the others are removed and counted). No review of "
    "the plan over MCP: the plan is used as written. `budget` is the report's total of "
    "prompt tokens, split among the branches; the Report's `status` and `budget` say "
    "whether it ran out. Sends a progress notification per plan, branch step and "
    "section; cancelling the request stops the run."
)


def report_progress_line(event: ReportEvent) -> str:
    """One progress message per report event; branches are numbered from 1."""
    if event.kind == "plan" and event.plan is not None:
        count = len(event.plan.sub_questions)
        return f"plan: {event.plan.title} ({count} sub-questions)"
    if event.kind == "section":
        return f"written: {event.text}"
    label = {"branch_start": "researching: ", "branch_done": "done: "}.get(event.kind, "")
    number = "" if event.index is None else f"[{event.index + 1}] "
    return f"{number}{label}{event.text}"


async def stream_report(topic: str, options: dict[str, Any], ctx: McpContext) -> Report:
    """Run the report, sending one progress notification per event; return the Report."""
    step = 0
    async with aclosing(areport_stream(topic, **options)) as items:
        async for item in items:
            if isinstance(item, Report):
                return item
            step += 1
            await ctx.report_progress(step, None, report_progress_line(item))
    raise ToolError("The report ended without a result; run `research-agent doctor`.")


async def cancelled_once(run: Coroutine[Any, Any, T]) -> T:
    """Await `run` in its own task, and cancel that task exactly once if the caller is cancelled.

    The SDK cancels a request through an anyio cancel scope, which cancels the waiting task
    again and again; LangGraph's astream, cancelled again while it cancels its branch tasks,
    left those branches running (they went on sending model requests). A shielded task
    with a single cancel lets its clean-up finish.
    """
    task = asyncio.ensure_future(run)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()
        raise


def add_report_tool(
    server: FastMCP[Any], run_options: dict[str, Any], annotations: ToolAnnotations
) -> None:
    """Register `report` on the server, with the run options `ask` uses."""

    @server.tool(description=DESCRIPTION, annotations=annotations)
    async def report(
        topic: Topic, ctx: McpContext, max_branches: MaxBranches = None, budget: Budget = None
    ) -> Report:
        options = {**run_options, "max_branches": max_branches, "report_tokens": budget}
        return await cancelled_once(stream_report(topic, options, ctx))
