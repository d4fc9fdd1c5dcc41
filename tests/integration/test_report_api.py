"""The report's Python API over a Milvus Lite collection, offline: report, areport, streams."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import agent
from agent.api import NothingToResumeError
from agent.documents import ingest
from agent.report_api import report_stream, resume_report_stream
from agent.reporting.schemas import Plan, Report, ReportEvent
from tests.support.agent_e2e import file_lines, write_corpus
from tests.support.foundation import lite_settings
from tools.errors import ConfigError
from tools.store import close_stores

pytestmark = [pytest.mark.timeout(120)]
TOPIC = "Heron storage engine"


@pytest.fixture
def options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for key in [k for k in os.environ if k.startswith("RESEARCH_AGENT_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    settings = lite_settings(tmp_path, collection="report_api")
    assert ingest([write_corpus(tmp_path)], settings).new == 2
    yield {
        "provider": "offline",
        "milvus_uri": settings.milvus_uri,
        "collection": settings.collection,
        "data_dir": str(tmp_path / ".ra"),
    }
    close_stores()


def test_report_cites_only_lines_read(options: dict[str, Any], tmp_path: Path) -> None:
    report = agent.report(TOPIC, **options)
    assert report.status == "complete" and report.model == "offline-extractive"
    assert report.notes[0].startswith("Offline extractive report: no language model was used")
    read = {(d.source, n) for b in report.branches for d in b.read for n in d.lines}
    for c in report.sources:
        assert c.quote == file_lines(tmp_path / c.source, c.start_line, c.end_line)
        assert all((c.source, n) in read for n in range(c.start_line, c.end_line + 1))
    assert all(f"[{c.n}]" in "".join(s.text for s in report.sections) for c in report.sources)


def test_stream_order_plan_branches_sections_report(options: dict[str, Any]) -> None:
    items = list(report_stream(TOPIC, **options))
    kinds = [i.kind if isinstance(i, ReportEvent) else "report" for i in items]
    assert kinds[0] == "plan" and kinds[-1] == "report"
    report = items[-1]
    assert isinstance(report, Report)
    branches = len(report.plan.sub_questions)
    assert kinds.count("branch_start") == kinds.count("branch_done") == branches
    assert kinds.count("section") == len(report.plan.outline)
    last_branch = max(i for i, k in enumerate(kinds) if k == "branch_done")
    assert min(i for i, k in enumerate(kinds) if k == "section") > last_branch


def test_review_callback_edits_the_plan(options: dict[str, Any]) -> None:
    shown: list[Plan] = []

    def review(plan: Plan) -> dict[str, Any]:
        shown.append(plan)
        return {"action": "edit", "sub_questions": [TOPIC, "Who wrote the Osprey planner?"]}

    report = agent.report(TOPIC, review=review, **options)
    assert len(shown) == 1 and shown[0].sub_questions[0] == TOPIC
    assert [b.question for b in report.branches] == [TOPIC, "Who wrote the Osprey planner?"]


def test_review_stream_stops_then_resumes_on_the_thread(options: dict[str, Any]) -> None:
    items = list(report_stream(TOPIC, review=True, thread_id="r1", **options))
    assert [i.kind for i in items if isinstance(i, ReportEvent)] == ["plan", "review"]
    assert items[-1].thread_id == "r1"
    done = list(resume_report_stream("r1", {"action": "accept"}, **options))
    assert isinstance(done[-1], Report) and done[-1].status == "complete"
    with pytest.raises(NothingToResumeError, match="its last report finished"):
        list(resume_report_stream("r1", **options))


def test_areport_and_bad_options(options: dict[str, Any]) -> None:
    report = asyncio.run(agent.areport(TOPIC, max_branches=2, **options))
    assert len(report.plan.sub_questions) == 2
    with pytest.raises(ConfigError, match="max_branches=1"):
        agent.report(TOPIC, max_branches=1, **options)
    with pytest.raises(ConfigError, match="unknown option"):
        agent.report(TOPIC, branches=3, **options)
