"""The report graph against recorded gpt-oss traffic (llama.cpp bodies) replayed locally.

The product's chat model (chosen from the run's Context: provider llamacpp, base_url the
replay server), the product's tools over a Milvus Lite collection. The replies are the
recorded llama.cpp bodies with the tool call, reasoning and text replaced; branches run
at the same time, so the server picks each reply from the request it answers. The plan's
tool name and the writer's text carry harmony debris, as real servers send it: none of
it may reach the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.documents import ingest
from agent.settings import ReportContext
from graphs.report import build_report_graph
from tests.integration.test_graph_wire import final_turn, tool_turn
from tests.support.agent_e2e import file_lines, write_corpus
from tests.support.foundation import lite_settings
from tests.support.wire_server import Reply, WireServer
from tools.store import close_stores

pytestmark = [pytest.mark.timeout(120)]
Q1 = "When are Heron segments compacted?"
Q2 = "Who wrote the Osprey planner?"
PLAN = {
    "title": "Heron and Osprey",
    "sub_questions": [Q1, Q2],
    "outline": [{"heading": "Compaction", "covers": [1]}, {"heading": "Osprey", "covers": [2]}],
}
LEAK = (
    "<|channel|>analysis<|message|>Cite the lines read.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>"
)
COMPACTION = "Sealed Heron segments are compacted every night at 02:00 UTC 【0†L5-L5】."


def route(body: dict[str, Any]) -> Reply:
    names = [t["function"]["name"] for t in body.get("tools") or []]
    messages = body["messages"]
    question = next(m["content"] for m in messages if m["role"] == "user")
    read = [m for m in messages if m["role"] == "tool"]
    if "submit_plan" in names:
        return tool_turn(
            "Plan two sub-questions.",
            "submit_plan<|channel|>commentary",
            json.dumps(PLAN),
            "call_p",
        )
    if names and not read:
        return tool_turn(
            "Search first.",
            "milvus_search",
            json.dumps({"query": question}),
            f"call_{len(question)}",
        )
    if names:
        text = (
            "Compaction runs nightly 【0†L5-L5】."
            if question == Q1
            else "The Heron team 【0†L4-L4】."
        )
        return final_turn(text, "Answer from the hit.")
    if "Section: Compaction" in question:
        return final_turn(f"{LEAK}{COMPACTION}<|return|>")
    return final_turn(f"{LEAK}The Heron storage team wrote the Osprey planner in 2019 【1†L4-L4】.")


def test_recorded_gpt_oss_traffic_through_plan_branches_and_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("RESEARCH_AGENT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RESEARCH_AGENT_MAX_RETRIES", "0")
    monkeypatch.chdir(tmp_path)
    folder = write_corpus(tmp_path)
    settings = lite_settings(tmp_path, collection="report_wire")
    assert ingest([folder], settings).new == 2
    try:
        with WireServer() as server:
            server.router = route
            context = ReportContext(
                provider="llamacpp",
                base_url=server.url,
                milvus_uri=settings.milvus_uri,
                collection=settings.collection,
            )
            report = build_report_graph().invoke({"topic": "Heron"}, context=context)["report"]
            bodies = server.bodies
    finally:
        close_stores()
    assert report.plan.sub_questions == [Q1, Q2]
    assert [s.text for s in report.sections] == [
        "Sealed Heron segments are compacted every night at 02:00 UTC [1].",
        "The Heron storage team wrote the Osprey planner in 2019 [2].",
    ]
    assert report.status == "complete" and report.dropped_claims == 0
    dumped = report.model_dump_json()
    assert "<|" not in dumped and "Cite the lines read" not in dumped
    for c in report.sources:
        assert c.quote == file_lines(tmp_path / c.source, c.start_line, c.end_line)
    assert [c.source.rsplit("/", 1)[-1] for c in report.sources] == ["heron.md", "osprey.md"]
    # one plan turn, two turns per branch, one per section; the writer gets no tools
    assert len(bodies) == 1 + 4 + 2
    assert sum(1 for b in bodies if not b.get("tools")) == 2
