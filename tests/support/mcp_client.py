"""Helpers for the MCP server tests: an in-process client session and result checks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import ClientSession
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult, TextContent

from agent.mcp_server import ServerConfig, build_server
from agent.settings import Settings


@asynccontextmanager
async def in_process(
    settings: Settings, run_options: dict[str, Any] | None = None
) -> AsyncIterator[ClientSession]:
    """A client session connected in memory to a server over `settings`."""
    server = build_server(ServerConfig(settings, run_options or {}), log_level="WARNING")
    async with create_connected_server_and_client_session(server._mcp_server) as session:
        yield session


def error_text(result: CallToolResult) -> str:
    """The one text block of a failed call (asserts that it failed)."""
    assert result.isError, result
    assert len(result.content) == 1 and isinstance(result.content[0], TextContent)
    return result.content[0].text


def structured(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a successful call, checked against its text block."""
    assert not result.isError, result.content
    assert result.structuredContent is not None
    block = result.content[0]
    assert isinstance(block, TextContent)
    assert json.loads(block.text) == result.structuredContent
    return result.structuredContent
