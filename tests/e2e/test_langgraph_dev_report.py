"""The report graph under `langgraph dev`, driven through langgraph_sdk: review the plan
(accept, edit, reject) with `Command(resume=...)` as Studio does, offline policy."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agent.reporting.schemas import Report
from agent.settings import ReportContext
from tests.e2e.test_langgraph_dev import require_langgraph_dev
from tests.support.agent_e2e import agent_env, file_lines, langgraph_dev, write_corpus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
TOPIC = "Heron storage engine"
EDITED = ["When are Heron segments compacted?", "Who wrote the Osprey planner?"]


async def review_run(client: Any, decision: dict[str, Any]) -> dict[str, Any]:
    thread = await client.threads.create()
    first = await client.runs.wait(
        thread["thread_id"], "report", input={"topic": TOPIC, "review": True}
    )
    state = await client.threads.get_state(thread["thread_id"])
    (pending,) = state["interrupts"]
    final = await client.runs.wait(thread["thread_id"], "report", command={"resume": decision})
    return {"first": first, "pending": pending["value"], "final": final}


async def drive(url: str, corpus: Path) -> dict[str, Any]:
    from langgraph_sdk import get_client

    client = get_client(url=url)
    await client.runs.wait(None, "ingest", input={"paths": [str(corpus)]})
    out = {
        "accept": await review_run(client, {"action": "accept"}),
        "edit": await review_run(client, {"action": "edit", "sub_questions": EDITED}),
        "reject": await review_run(client, {"action": "reject", "reason": "off topic"}),
    }
    (assistant,) = await client.assistants.search(graph_id="report")
    out["schemas"] = await client.assistants.get_schemas(assistant["assistant_id"])
    return out


def test_report_review_accept_edit_reject_through_the_sdk(tmp_path: Path) -> None:
    require_langgraph_dev()
    corpus = write_corpus(tmp_path)
    env = agent_env(
        tmp_path / ".ra",
        collection="studio",
        RESEARCH_AGENT_PROVIDER="offline",
        RESEARCH_AGENT_INGEST_ROOTS=str(corpus),  # the server ingests only under its roots
    )
    with langgraph_dev(env, tmp_path / "langgraph-dev.log") as url:
        out = asyncio.run(asyncio.wait_for(drive(url, corpus), timeout=200))

    accept = out["accept"]
    assert "report" not in accept["first"] or accept["first"]["report"] is None
    planned = accept["pending"]["plan"]["sub_questions"]
    assert planned[0] == TOPIC and len(planned) >= 2
    report = Report.model_validate(accept["final"]["report"])
    assert report.plan.sub_questions == planned
    assert report.provider == "offline" and report.status == "complete"
    assert report.sources and report.dropped_claims == 0
    for c in report.sources:  # every citation quotes the file's own lines
        assert c.quote == file_lines(tmp_path / c.source, c.start_line, c.end_line)

    edited = Report.model_validate(out["edit"]["final"]["report"])
    assert edited.plan.sub_questions == EDITED
    assert [b.question for b in edited.branches] == EDITED
    assert any(c.source.endswith("osprey.md") for c in edited.sources)

    rejected = Report.model_validate(out["reject"]["final"]["report"])
    assert rejected.status == "partial" and rejected.branches == []
    assert rejected.why == "the plan was rejected at review: off topic"

    props = out["schemas"]["context_schema"]["properties"]
    assert set(props) == set(ReportContext.model_fields)
    assert props["max_branches"]["maximum"] == 8
