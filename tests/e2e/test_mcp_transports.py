"""`research-agent mcp` as clients start it: over stdio, over streamable HTTP, and as the tool
source of a LangGraph agent built with langchain-mcp-adapters. Search and fetch must give what
the CLI's `--json` gives on the same index."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_mcp_adapters.client import MultiServerMCPClient
from langgraph.prebuilt import create_react_agent
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client

from agent.reporting.schemas import Report
from agent.schemas import Answer
from tests.support.fake_chat import FakeToolCallingModel, call
from tests.support.foundation import RESEARCH_AGENT, clean_env, free_port, run_cli, wait_for_port
from tests.support.mcp_client import error_text, structured

pytestmark = pytest.mark.slow

DOCS = {
    "guide.md": "# Index guide\n\n"
    + "".join(
        f"Step {n}: HNSW index tuning note {n} about efConstruction.\n" for n in range(3, 30)
    ),
    "faq.md": "# FAQ\n\n## Where is data stored?\n\n"
    "Inserted data goes to object storage as binlogs.\n",
}
QUERY = "where is inserted data stored"
SERVE = ["mcp", "--provider", "offline"]


@dataclass
class Index:
    root: Path
    env: dict[str, str]
    hits: list[dict[str, Any]]
    """`search QUERY -k 3 --json`"""
    window: dict[str, Any]
    """`fetch docs/guide.md --start-line 5 --num-lines 4 --json`"""


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    root = tmp_path_factory.mktemp("mcp")
    (root / "docs").mkdir()
    for name, text in DOCS.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    (root / "secret.txt").write_text("TOP-SECRET-TOKEN not ingested\n", encoding="utf-8")
    env = clean_env(RESEARCH_AGENT_MILVUS_URI=str(root / "m.db"))
    assert run_cli("ingest", "docs", env=env, cwd=root).returncode == 0
    found = run_cli("search", QUERY, "-k", "3", "--json", env=env, cwd=root)
    window = run_cli(
        "fetch",
        "docs/guide.md",
        "--start-line",
        "5",
        "--num-lines",
        "4",
        "--json",
        env=env,
        cwd=root,
    )
    assert found.returncode == 0 and window.returncode == 0, found.stderr + window.stderr
    return Index(root, env, json.loads(found.stdout), json.loads(window.stdout))


async def _exercise(session: ClientSession, index: Index) -> None:
    """List the tools, call each one, and compare search/fetch with the CLI's JSON."""
    await session.initialize()
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {"search", "fetch", "ask", "report"}
    assert tools["search"].inputSchema["required"] == ["query"]
    assert tools["fetch"].inputSchema["required"] == ["doc_id"]
    found = structured(await session.call_tool("search", {"query": QUERY, "k": 3}))
    assert found["hits"] == index.hits
    window = {"doc_id": "docs/guide.md", "start_line": 5, "num_lines": 4}
    assert structured(await session.call_tool("fetch", window)) == index.window
    missing = error_text(await session.call_tool("fetch", {"doc_id": "secret.txt"}))
    assert missing.startswith("No document 'secret.txt' in collection")
    notes: list[str] = []

    async def note(progress: float, total: float | None, message: str | None) -> None:
        notes.append(message or "")

    result = await session.call_tool(
        "ask", {"question": "Where is inserted data stored?"}, progress_callback=note
    )
    answer = Answer.model_validate(structured(result))
    assert answer.status == "answered" and "binlogs" in answer.answer
    assert [c.source for c in answer.citations] == ["docs/faq.md"]
    assert notes and notes[0].startswith("-> milvus_search(")
    notes.clear()
    result = await session.call_tool(
        "report",
        {"topic": "How is inserted data stored?", "max_branches": 2},
        progress_callback=note,
    )
    report = Report.model_validate(structured(result))
    assert report.provider == "offline" and report.sources
    assert notes[0].startswith("plan: ") and "[1] researching: " in "\n".join(notes)


def test_stdio_client_lists_and_calls_every_tool(index: Index) -> None:
    params = StdioServerParameters(
        command=str(RESEARCH_AGENT), args=SERVE, env=index.env, cwd=str(index.root)
    )

    async def go() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await _exercise(session, index)

    asyncio.run(go())


@contextmanager
def http_server(index: Index) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(RESEARCH_AGENT), *SERVE, "--http", f"127.0.0.1:{port}"],
        env=index.env,
        cwd=index.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        assert b"Traceback" not in err, err.decode()


def test_streamable_http_client_lists_and_calls_every_tool(index: Index) -> None:
    async def go(url: str) -> None:
        async with (
            streamablehttp_client(url) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await _exercise(session, index)

    with http_server(index) as url:
        asyncio.run(go(url))


def test_a_langgraph_agent_searches_through_langchain_mcp_adapters(index: Index) -> None:
    """A scripted model calls `search` through the server and sees the CLI's hits."""
    script = [
        AIMessage("", tool_calls=[call("search", "c1", query=QUERY, k=3)]),
        AIMessage("Inserted data is stored as binlogs."),
    ]
    model = FakeToolCallingModel(script=script)

    async def go(url: str) -> dict[str, Any]:
        client = MultiServerMCPClient({"docs": {"transport": "streamable_http", "url": url}})
        tools = await client.get_tools()
        assert sorted(t.name for t in tools) == ["ask", "fetch", "report", "search"]
        agent = create_react_agent(model, tools)
        return await agent.ainvoke({"messages": [("user", "Where is inserted data stored?")]})

    with http_server(index) as url:
        state = asyncio.run(go(url))
    tool_messages = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_messages) == 1 and tool_messages[0].status == "success"
    content = tool_messages[0].content
    text = content if isinstance(content, str) else content[0]["text"]
    assert json.loads(text)["hits"] == index.hits
    assert model.calls[0]["tools"] == ["search", "fetch", "ask", "report"]
    assert state["messages"][-1].content == "Inserted data is stored as binlogs."
