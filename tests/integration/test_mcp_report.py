"""The MCP server's `report` tool through an in-process `mcp` client, over Milvus Lite."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from mcp import types
from mcp.types import CallToolResult

from agent.reporting.schemas import Report
from agent.settings import ReportContext, Settings
from tests.support.faults import answer_reply, tiny_lite, tiny_lite_here, tool_call_reply  # noqa: F401
from tests.support.mcp_client import error_text, in_process, structured
from tests.support.wire_server import WireServer

TOPIC = "Acme Robotics and its Zephyr drone"


def offline(settings: Settings) -> dict[str, Any]:
    return {
        "provider": "offline",
        "milvus_uri": settings.milvus_uri,
        "collection": settings.collection,
    }


def call_report(
    settings: Settings, args: dict[str, Any], run: dict[str, Any]
) -> tuple[CallToolResult, list[tuple[float, str]]]:
    notes: list[tuple[float, str]] = []

    async def note(progress: float, total: float | None, message: str | None) -> None:
        notes.append((progress, message or ""))

    async def go() -> CallToolResult:
        async with in_process(settings, run) as session:
            return await session.call_tool("report", args, progress_callback=note)

    return asyncio.run(go()), notes


def test_report_is_listed_read_only_with_the_report_settings_schema(lite: Settings) -> None:
    async def go() -> Any:
        async with in_process(lite) as session:
            return (await session.list_tools()).tools

    tool = next(t for t in asyncio.run(go()) if t.name == "report")
    assert tool.annotations is not None and tool.annotations.readOnlyHint is True
    schema = tool.inputSchema
    assert schema["required"] == ["topic"]
    assert set(schema["properties"]) == {"topic", "max_branches", "budget"}
    fields = ReportContext.model_fields
    assert schema["properties"]["budget"]["description"] == fields["report_tokens"].description
    assert schema["properties"]["max_branches"]["description"] == (
        fields["max_branches"].description
    )
    assert tool.outputSchema == Report.model_json_schema()
    assert "No review of the plan over MCP" in (tool.description or "")


def test_report_returns_the_verified_report_with_a_note_per_branch_event(lite: Settings) -> None:
    result, notes = call_report(lite, {"topic": TOPIC, "max_branches": 2}, offline(lite))
    report = Report.model_validate(structured(result))
    assert report.provider == "offline" and len(report.plan.sub_questions) == 2
    assert report.sources and {c.source for c in report.sources} <= {
        "drones/zephyr.md",
        "companies/acme.md",
    }
    assert report.budget.total_tokens == ReportContext().settings().report_tokens
    assert [p for p, _ in notes] == list(range(1, len(notes) + 1))
    messages = [m for _, m in notes]
    assert messages[0] == f"plan: {report.plan.title} (2 sub-questions)"
    for number, question in enumerate(report.plan.sub_questions, 1):
        assert f"[{number}] researching: {question}" in messages
        done = [m for m in messages if m.startswith(f"[{number}] done: ")]
        assert len(done) == 1 and done[0].endswith(f"/{report.budget.branch_share} tokens")
    steps = [m for m in messages if m.startswith(("[1] milvus_search", "[2] milvus_search"))]
    assert len(steps) >= 2
    assert [m for m in messages if m.startswith("written: ")] == [
        f"written: {s.heading}" for s in report.sections
    ]


def test_budget_is_the_reports_token_total(lite: Settings) -> None:
    result, _ = call_report(
        lite, {"topic": TOPIC, "max_branches": 2, "budget": 5000}, offline(lite)
    )
    report = Report.model_validate(structured(result))
    budget = report.budget
    assert budget.total_tokens == 5000 and budget.spent_tokens <= 5000
    assert all(b.tokens <= b.token_budget == budget.branch_share for b in report.branches)
    assert budget.branch_share == (5000 - budget.planning_tokens) // 3


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"topic": TOPIC, "budget": 10}, "report_tokens=10: Input should be greater than or"),
        ({"topic": TOPIC, "max_branches": 30}, "max_branches=30: Input should be less than"),
        ({"topic": "   "}, "Nothing to report on"),
        ({}, "invalid argument topic: Field required"),
    ],
)
def test_report_errors_are_one_line_tool_errors(
    lite: Settings, args: dict[str, Any], expected: str
) -> None:
    result, _ = call_report(lite, args, offline(lite))
    text = error_text(result)
    assert expected in text
    assert "\n" not in text and "Traceback" not in text and len(text) <= 400


@pytest.mark.slow
def test_cancelling_report_stops_every_branch(lite: Settings, wire_server: WireServer) -> None:
    """After the client cancels, the model server gets no new request from the report."""
    plan = {"title": "Acme", "sub_questions": ["Who founded Acme?", "Where is Acme based?"]}
    search = tool_call_reply("milvus_search", {"query": "Acme"}, "c1")
    wire_server.script(
        tool_call_reply("submit_plan", plan, "p1"),
        search,
        search,
        replace(tool_call_reply("milvus_search", {"query": "Acme office"}, "c2"), delay=1.0),
        replace(tool_call_reply("milvus_search", {"query": "Acme office"}, "c2"), delay=1.0),
        *[answer_reply("Jane Doe founded it.")] * 4,
    )
    run = {"base_url": wire_server.url, "model": "m", "milvus_uri": lite.milvus_uri}

    async def go() -> Any:
        first_step = asyncio.Event()

        async def note(progress: float, total: float | None, message: str | None) -> None:
            if "milvus_search" in (message or ""):
                first_step.set()

        async with in_process(lite, run) as session:
            params = types.CallToolRequestParams(name="report", arguments={"topic": "Acme"})
            request = types.ClientRequest(types.CallToolRequest(params=params))
            call = asyncio.ensure_future(
                session.send_request(request, types.CallToolResult, progress_callback=note)
            )
            await asyncio.wait_for(first_step.wait(), 30)
            request_id = session._request_id - 1
            cancel = types.CancelledNotificationParams(requestId=request_id)
            await session.send_notification(
                types.ClientNotification(types.CancelledNotification(params=cancel))
            )
            outcome = await asyncio.gather(call, return_exceptions=True)
            await asyncio.sleep(3.0)  # time for further model requests, were the run going on
            return outcome[0]

    outcome = asyncio.run(go())
    assert "cancelled" in str(outcome).lower()
    posts = [r for r in wire_server.requests if r.path.endswith("/chat/completions")]
    # plan, each branch's first turn, at most the two second turns already in flight; a
    # report that went on would also send the answer turns and a request per section
    assert 3 <= len(posts) <= 5


def test_a_report_on_a_file_that_is_not_ingested_cites_only_ingested_ones(lite: Settings) -> None:
    topic = "What do /etc/passwd and ../../.ssh/id_rsa say?"
    result, _ = call_report(lite, {"topic": topic, "max_branches": 2}, offline(lite))
    report = Report.model_validate(structured(result))
    read = {d.source for b in report.branches for d in b.read}
    assert read <= {"drones/zephyr.md", "companies/acme.md"}
    assert {c.source for c in report.sources} <= read
