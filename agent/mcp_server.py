"""A read-only MCP server over the Python API: search, fetch, ask, report (`research-agent mcp`).

Every tool reads the collection and nothing else: `search` and `fetch` are the CLI's
`search --json` / `fetch --json` (agent.documents), `ask` is `agent.api.astream` and returns the
verified Answer, `report` (agent/mcp_report.py) is `agent.report_api.areport_stream` and returns
the verified Report. No tool ingests, deletes, or opens a path: a document is only ever looked up
in the collection. Input schemas are built from the argument models the graph's tools use
(tools.schemas.SearchInput / FetchInput, agent.settings.Context), so MCP clients and gpt-oss
read the same descriptions and limits. Any failure comes back as an MCP tool error whose text
is one line (agent.mcp_errors), never a traceback.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

import anyio
from mcp.server.fastmcp import Context as McpContext
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from agent import documents
from agent.api import astream
from agent.mcp_errors import one_line
from agent.mcp_report import add_report_tool
from agent.schemas import Answer, StepEvent
from agent.settings import Context, Settings
from tools.schemas import DocWindow, FetchInput, SearchInput, SearchResult
from tools.search import SearchArgs

SERVER_NAME = "research-agent"
INSTRUCTIONS = (
    "Read-only research over the user's own documents (indexed in Milvus). `search` finds "
    "passages (hybrid dense + BM25) with their line spans; `fetch` reads a document as "
    "numbered lines; `ask` runs the research agent and returns an answer whose citations were "
    "checked against the lines it read; `report` researches a topic in parallel branches and "
    "returns a sectioned report verified the same way. Nothing here changes the collection."
)
READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, openWorldHint=False)
SHOWN_ARGS = 200
"""Characters of a step's arguments shown in a progress message."""

Query = Annotated[str, SearchInput.model_fields["query"]]
K = Annotated[int | None, SearchInput.model_fields["k"]]
Source = Annotated[str | None, SearchInput.model_fields["source"]]
FileType = Annotated[str | None, SearchArgs.model_fields["file_type"]]
After = Annotated[date | None, SearchArgs.model_fields["modified_after"]]
Before = Annotated[date | None, SearchArgs.model_fields["modified_before"]]
TitleContains = Annotated[str | None, SearchArgs.model_fields["title_contains"]]
Tags = Annotated[list[str] | None, SearchArgs.model_fields["tags"]]
DocId = Annotated[
    str,
    Field(
        description="The document to read: a doc_id or source path from a search hit "
        "(relative, ./ or absolute forms of the stored path work too)."
    ),
]
StartLine = Annotated[int, FetchInput.model_fields["start_line"]]
NumLines = Annotated[int, FetchInput.model_fields["num_lines"]]
CharOffset = Annotated[int, FetchInput.model_fields["char_offset"]]
Question = Annotated[str, Field(description="The research question, in plain words.")]
AskK = Annotated[int | None, Field(description=Context.model_fields["k"].description)]
MaxToolCalls = Annotated[
    int | None, Field(description=Context.model_fields["max_tool_calls"].description)
]


@dataclass(frozen=True)
class ServerConfig:
    """What every tool call uses: the store's settings and the research run's options."""

    settings: Settings
    """Collection, Milvus URI, embedder: one resolved Settings for search and fetch."""
    run_options: dict[str, Any] = field(default_factory=dict)
    """Options of agent.api.astream for `ask` (provider, model, base_url, effort, ...)."""


class ClientHungUp(logging.Filter):
    """Drops the SDK's traceback for a client that closed its event stream.

    mcp's streamable HTTP transport logs `Error in standalone SSE ...` with a traceback of
    anyio.ClosedResourceError when a client ends its session while the server-to-client
    stream is open: the normal end of a session, not a failure worth a traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """False for records of a closed client stream."""
        exc = record.exc_info[1] if record.exc_info else None
        found = list(exc.exceptions) if isinstance(exc, BaseExceptionGroup) else [exc]
        return not any(isinstance(e, anyio.ClosedResourceError) for e in found)


class ReadOnlyServer(FastMCP[Any]):
    """FastMCP whose tool errors are one line: the user's message, never a traceback."""

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Run a tool; any failure becomes a ToolError carrying one clear line."""
        try:
            return await super().call_tool(name, arguments)
        except ToolError as exc:
            raise ToolError(one_line(exc.__cause__ or exc)) from None


def progress_line(event: StepEvent) -> str | None:
    """One progress message per step of a run, as `ask` shows it; None for what is not shown.

    Raw reasoning is never sent (as on the CLI without --show-reasoning).
    """
    args = json.dumps(event.args, ensure_ascii=False)[:SHOWN_ARGS]
    if event.kind == "tool_call":
        return f"-> {event.tool}({args})" + (f" [{event.note}]" if event.note else "")
    if event.kind == "tool_result":
        return f"<- {event.tool}: {event.result}"
    if event.kind == "refused":
        return f"-x {event.tool}({args}) {event.result}"
    return None


def build_server(config: ServerConfig, **fastmcp_options: Any) -> FastMCP[Any]:
    """The MCP server with its four read-only tools bound to one configuration.

    Args:
        config: The store settings and the research run options.
        **fastmcp_options: Passed to FastMCP (host, port for streamable HTTP).
    """
    server = ReadOnlyServer(SERVER_NAME, instructions=INSTRUCTIONS, **fastmcp_options)
    transport_log = logging.getLogger("mcp.server.streamable_http")
    if not any(isinstance(f, ClientHungUp) for f in transport_log.filters):
        transport_log.addFilter(ClientHungUp())
    store_lock = anyio.CapacityLimiter(1)  # one Milvus Lite client, one caller at a time

    @server.tool(annotations=READ_ONLY)
    async def search(
        query: Query,
        k: K = None,
        source: Source = None,
        file_type: FileType = None,
        modified_after: After = None,
        modified_before: Before = None,
        title_contains: TitleContains = None,
        tags: Tags = None,
    ) -> SearchResult:
        """Search the indexed documents (hybrid: meaning and keywords), optionally narrowed by file type, modified day, title or front-matter tags. Returns the hits with their doc_id, source, line span, score and text, exactly as `research-agent search --json` prints them."""  # noqa: E501
        settings = config.settings
        return await anyio.to_thread.run_sync(
            lambda: documents.search(
                query,
                settings.k if k is None else k,
                source,
                settings,
                file_type=file_type,
                after=modified_after,
                before=modified_before,
                title=title_contains,
                tags=tags or (),
            ),
            limiter=store_lock,
        )

    @server.tool(annotations=READ_ONLY)
    async def fetch(
        doc_id: DocId,
        start_line: StartLine = 1,
        num_lines: NumLines = 60,
        char_offset: CharOffset = 0,
    ) -> DocWindow:
        """Read a window of one indexed document as lines (`lines`, from `start_line`; `total_lines` says how many there are). Only documents in the collection can be read."""  # noqa: E501
        return await anyio.to_thread.run_sync(
            lambda: documents.fetch(doc_id, start_line, num_lines, config.settings, char_offset),
            limiter=store_lock,
        )

    @server.tool(annotations=READ_ONLY)
    async def ask(
        question: Question, ctx: McpContext, k: AskK = None, max_tool_calls: MaxToolCalls = None
    ) -> Answer:
        """Research a question over the documents: the agent searches and reads them, then answers with citations (source, line span, quote) verified against what it read. Sends a progress notification for each step; cancelling the request stops the run."""  # noqa: E501
        options = {**config.run_options, "k": k, "max_tool_calls": max_tool_calls}
        step = 0
        async for event in astream(question, tokens=False, **options):
            if isinstance(event, Answer):
                return event
            message = progress_line(event)
            if message is not None:
                step += 1
                await ctx.report_progress(step, None, message)
        raise ToolError("The run ended without an answer; run `research-agent doctor`.")

    add_report_tool(server, config.run_options, READ_ONLY)
    return server
