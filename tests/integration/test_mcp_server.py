"""The MCP server through an in-process `mcp` client, over a real Milvus Lite collection."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import types
from mcp.types import CallToolResult

from agent import documents
from agent.schemas import Answer
from agent.settings import Context, Settings
from tests.support.faults import (  # noqa: F401
    TINY_DOCS,
    answer_reply,
    slow_second_search,
    tiny_lite,
    tiny_lite_here,
    tool_call_reply,
)
from tests.support.foundation import clean_env, lite_settings, run_cli
from tests.support.mcp_client import error_text, in_process, structured
from tests.support.wire_server import WireServer
from tools.schemas import DocWindow, FetchInput, SearchInput, SearchResult
from tools.search import SearchArgs
from tools.store import close_stores


def _call(settings: Settings, name: str, args: dict[str, Any], **run: Any) -> CallToolResult:
    async def go() -> CallToolResult:
        async with in_process(settings, run) as session:
            return await session.call_tool(name, args)

    return asyncio.run(go())


async def _tools(settings: Settings) -> dict[str, types.Tool]:
    async with in_process(settings) as session:
        return {t.name: t for t in (await session.list_tools()).tools}


def test_tools_are_listed_read_only_with_the_graph_models_schemas(lite: Settings) -> None:
    async def go() -> Any:
        async with in_process(lite) as session:
            return (await session.list_tools()).tools

    tools = {t.name: t for t in asyncio.run(go())}
    assert set(tools) == {"search", "fetch", "ask", "report"}
    for tool in tools.values():
        assert tool.annotations is not None
        assert tool.annotations.readOnlyHint is True and tool.annotations.destructiveHint is False
    search = tools["search"].inputSchema
    graph_search = SearchInput.model_json_schema()
    for name in ("query", "k", "source"):
        assert (
            search["properties"][name]["description"]
            == (graph_search["properties"][name]["description"])
        )
    assert search["required"] == ["query"]
    fetch = tools["fetch"].inputSchema
    graph_fetch = FetchInput.model_json_schema()
    for name in ("start_line", "num_lines", "char_offset"):
        assert fetch["properties"][name] == graph_fetch["properties"][name] | {
            "title": fetch["properties"][name]["title"]
        }
    assert fetch["required"] == ["doc_id"] and "cursor" not in fetch["properties"]
    ask = tools["ask"].inputSchema
    assert ask["required"] == ["question"]
    assert ask["properties"]["k"]["description"] == Context.model_fields["k"].description
    assert tools["search"].outputSchema == SearchResult.model_json_schema()
    assert tools["fetch"].outputSchema == DocWindow.model_json_schema()
    assert tools["ask"].outputSchema == Answer.model_json_schema()


def test_search_and_fetch_return_the_api_models(lite: Settings) -> None:
    found = SearchResult.model_validate(
        structured(_call(lite, "search", {"query": "Who founded Acme Robotics?", "k": 2}))
    )
    assert found.k == 2 and len(found.hits) == 2
    assert found.hits[0].source == "companies/acme.md"
    assert [h.cursor for h in found.hits] == [0, 1]
    window = DocWindow.model_validate(
        structured(_call(lite, "fetch", {"doc_id": found.hits[0].doc_id, "num_lines": 3}))
    )
    assert window.lines == TINY_DOCS["companies/acme.md"].splitlines()[:3]
    assert (window.start_line, window.end_line, window.total_lines) == (1, 3, 4)
    by_path = structured(_call(lite, "fetch", {"doc_id": "./companies/acme.md", "start_line": 3}))
    assert by_path["lines"] == [
        "Acme Robotics was founded by Jane Doe in 2011.",
        "Acme Robotics has its office in Oslo.",
    ]


def test_search_takes_milvus_search_filters(tmp_path: Path) -> None:
    schema = asyncio.run(_tools(tiny_lite(tmp_path / "schema")))["search"].inputSchema
    for name in ("file_type", "modified_after", "modified_before", "title_contains", "tags"):
        assert schema["properties"][name]["description"] == (
            SearchArgs.model_fields[name].description
        )
    close_stores()
    folder = tmp_path / "notes"
    folder.mkdir()
    runbook = "---\ntitle: Backup runbook\ntags: [ops]\n---\nRestore a backup from the snapshot.\n"
    (folder / "runbook.md").write_text(runbook)
    (folder / "old.txt").write_text("Old notes\n\nRestore a backup by asking the admin.\n")
    os.utime(folder / "old.txt", (1e9, 1e9))  # 2001-09-09
    settings = lite_settings(tmp_path)
    documents.ingest([folder], settings)
    close_stores()

    def sources(args: dict[str, Any]) -> set[str]:
        found = structured(_call(settings, "search", {"query": "restore a backup"} | args))
        return {Path(hit["source"]).name for hit in found["hits"]}

    assert sources({}) == {"runbook.md", "old.txt"}
    assert sources({"tags": ["OPS"]}) == {"runbook.md"}
    assert sources({"file_type": "txt"}) == {"old.txt"}
    assert sources({"title_contains": "Backup"}) == {"runbook.md"}
    assert sources({"title_contains": "Backup' or 1==1 or '"}) == set()
    assert sources({"modified_after": "2020-01-01"}) == {"runbook.md"}
    assert sources({"modified_before": "2020-01-01"}) == {"old.txt"}
    text = error_text(_call(settings, "search", {"query": "x", "modified_after": "2025-13-01"}))
    assert text.startswith("invalid argument modified_after:") and "\n" not in text
    close_stores()


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("search", {"query": "x", "k": "many"}, "invalid argument k: Input should be a valid"),
        ("search", {"query": "x", "k": 0}, "k must be between 1 and 20; got 0"),
        ("search", {}, "invalid argument query: Field required"),
        ("search", {"query": "   "}, "query is empty"),
        ("fetch", {"doc_id": "/etc/passwd"}, "No document '/etc/passwd' in collection"),
        ("fetch", {"doc_id": "companies/acme.md", "start_line": 99}, "start_line 99 is outside"),
        ("fetch", {"doc_id": "companies/acme.md", "num_lines": 10**9}, "num_lines must be"),
        ("fetch", {"doc_id": "companies/acme.md", "char_offset": -1}, "char_offset must be 0"),
        ("ask", {"question": "Who?", "k": 500}, "k"),
        ("drop_collection", {}, "Unknown tool: drop_collection"),
    ],
)
def test_errors_are_one_line_tool_errors(
    lite: Settings, name: str, args: dict[str, Any], expected: str
) -> None:
    text = error_text(_call(lite, name, args, provider="offline"))
    assert expected in text
    assert "\n" not in text and "Traceback" not in text and len(text) <= 400


def test_a_huge_argument_is_not_echoed_back(lite: Settings) -> None:
    text = error_text(_call(lite, "fetch", {"doc_id": "z" * 1_000_000}))
    assert text.startswith("No document 'zzz") and len(text) <= 400


def test_ask_returns_the_verified_answer_with_a_progress_note_per_step(lite: Settings) -> None:
    notes: list[tuple[float, str | None]] = []

    async def note(progress: float, total: float | None, message: str | None) -> None:
        notes.append((progress, message))

    async def go() -> CallToolResult:
        run = {"provider": "offline", "milvus_uri": lite.milvus_uri, "collection": lite.collection}
        async with in_process(lite, run) as session:
            return await session.call_tool(
                "ask", {"question": "Who founded Acme Robotics?"}, progress_callback=note
            )

    answer = Answer.model_validate(structured(asyncio.run(go())))
    assert answer.status == "answered" and answer.provider == "offline"
    assert answer.citations and answer.citations[0].source == "companies/acme.md"
    assert "Jane Doe" in answer.answer
    assert [p for p, _ in notes] == list(range(1, len(notes) + 1))
    messages = [m or "" for _, m in notes]
    assert messages[0].startswith('-> milvus_search({"query": "Who founded Acme Robotics?"')
    assert sum(m.startswith("<- ") for m in messages) == answer.steps.tool_calls


def test_cancelling_ask_stops_the_run(lite: Settings, wire_server: WireServer) -> None:
    """After the client cancels, the model server gets no further request from that run."""
    wire_server.script(*slow_second_search())
    run = {"base_url": wire_server.url, "model": "m", "milvus_uri": lite.milvus_uri}

    async def go() -> Any:
        first_step = asyncio.Event()

        async def note(progress: float, total: float | None, message: str | None) -> None:
            first_step.set()

        async with in_process(lite, run) as session:
            request = types.ClientRequest(
                types.CallToolRequest(
                    params=types.CallToolRequestParams(
                        name="ask", arguments={"question": "Who founded Acme?"}
                    )
                )
            )
            call = asyncio.ensure_future(
                session.send_request(request, types.CallToolResult, progress_callback=note)
            )
            await asyncio.wait_for(first_step.wait(), 20)
            request_id = session._request_id - 1
            await session.send_notification(
                types.ClientNotification(
                    types.CancelledNotification(
                        params=types.CancelledNotificationParams(requestId=request_id)
                    )
                )
            )
            outcome = await asyncio.gather(call, return_exceptions=True)
            await asyncio.sleep(2.0)  # time for a third model request, were the run still going
            return outcome[0]

    outcome = asyncio.run(go())
    assert "cancelled" in str(outcome).lower()
    posts = [r for r in wire_server.requests if r.method == "POST"]
    assert 1 <= len(posts) <= 2  # a run that went on would send all four scripted turns


@pytest.mark.slow
def test_search_and_fetch_equal_the_cli_json_on_the_same_index(
    lite: Settings, tmp_path: Path
) -> None:
    close_stores()  # the CLI opens the same Lite file
    env = clean_env(RESEARCH_AGENT_MILVUS_URI=lite.milvus_uri)
    cli_search = run_cli("search", "Zephyr flight time", "-k", "2", "--json", env=env, cwd=tmp_path)
    assert cli_search.returncode == 0, cli_search.stderr
    cli_fetch = run_cli(
        "fetch",
        "drones/zephyr.md",
        "--start-line",
        "2",
        "--num-lines",
        "3",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    assert cli_fetch.returncode == 0, cli_fetch.stderr
    hits = structured(_call(lite, "search", {"query": "Zephyr flight time", "k": 2}))["hits"]
    assert hits == json.loads(cli_search.stdout)
    window = _call(lite, "fetch", {"doc_id": "drones/zephyr.md", "start_line": 2, "num_lines": 3})
    assert structured(window) == json.loads(cli_fetch.stdout)
