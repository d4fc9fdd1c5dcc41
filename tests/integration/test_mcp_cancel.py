"""MCP `ask` and `report` cancelled again and again: no model request after the one in flight.

The SDK cancels a tool call through an anyio cancel scope, which cancels the waiting task
at every turn of the event loop until it ends. `hammer` does the same to the task that
runs the tool's code path, then waits and counts the requests the replay server got.
Measured with this harness (2026-12-03): `areport_stream` awaited directly goes from 3
requests at the cancel to 7 (its branches ran on), hence agent/mcp_report.py's
`cancelled_once`; `ask` (agent.api.astream, awaited directly as the MCP tool does) sends
only the request already in flight: its graph has no parallel async children to orphan.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from agent.api import astream
from agent.mcp_report import cancelled_once
from agent.report_api import areport_stream
from agent.settings import Settings
from tests.support.faults import (  # noqa: F401
    answer_reply,
    slow_second_search,
    tiny_lite,
    tiny_lite_here,
    tool_call_reply,
)
from tests.support.wire_server import WireServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]  # seconds of waiting per test
SETTLE = 3.0
"""Seconds to wait after the cancel: time for the next requests, were the run going on."""


def run_options(lite: Settings, server: WireServer) -> dict[str, Any]:
    return {
        "base_url": server.url,
        "model": "m",
        "milvus_uri": lite.milvus_uri,
        "collection": lite.collection,
    }


def posts(server: WireServer) -> int:
    return sum(1 for r in server.requests if r.method == "POST")


async def hammer(
    run: Callable[[asyncio.Event], Awaitable[None]], server: WireServer
) -> tuple[int, int, BaseException | None]:
    """Start `run`, cancel it at every loop turn once it has searched; requests then and after."""
    searched = asyncio.Event()
    task = asyncio.ensure_future(run(searched))
    await asyncio.wait_for(searched.wait(), 30)
    at_cancel = posts(server)
    while not task.done():
        task.cancel()
        await asyncio.sleep(0)
    outcome = (await asyncio.gather(task, return_exceptions=True))[0]
    await asyncio.sleep(SETTLE)
    return at_cancel, posts(server), outcome


async def until_done(items: AsyncIterator[Any], searched: asyncio.Event) -> None:
    async for item in items:
        if "milvus_search" in str(item):
            searched.set()


def test_ask_cancelled_again_and_again_sends_nothing_after_the_request_in_flight(
    lite: Settings, wire_server: WireServer
) -> None:
    wire_server.script(*slow_second_search())
    options = run_options(lite, wire_server)

    async def ask(searched: asyncio.Event) -> None:  # as agent/mcp_server.py's `ask` runs it
        await until_done(astream("Who founded Acme?", tokens=False, **options), searched)

    at_cancel, after, outcome = asyncio.run(hammer(ask, wire_server))
    assert isinstance(outcome, asyncio.CancelledError)
    assert 1 <= at_cancel <= after <= 2  # turn 1, and turn 2 if it had started


def test_report_cancelled_again_and_again_sends_nothing_after_the_requests_in_flight(
    lite: Settings, wire_server: WireServer
) -> None:
    plan = {"title": "Acme", "sub_questions": ["Who founded Acme?", "Where is Acme based?"]}
    search = tool_call_reply("milvus_search", {"query": "Acme"}, "c1")
    slow = replace(tool_call_reply("milvus_search", {"query": "Acme office"}, "c2"), delay=1.0)
    wire_server.script(
        tool_call_reply("submit_plan", plan, "p1"),
        search,
        search,
        slow,
        slow,
        *[answer_reply("Jane Doe founded it.")] * 4,
    )
    options = run_options(lite, wire_server)

    async def report(searched: asyncio.Event) -> None:  # as agent/mcp_report.py runs it
        await cancelled_once(until_done(areport_stream("Acme", **options), searched))

    at_cancel, after, outcome = asyncio.run(hammer(report, wire_server))
    assert isinstance(outcome, asyncio.CancelledError)
    # the plan and the branches' first turns (one may not have started); after them at
    # most the two second turns that were in flight; a report going on sends 7 or more
    assert 2 <= at_cancel <= after <= 5
