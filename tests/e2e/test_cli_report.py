"""`research-agent report` as a user runs it: offline, a tmp data folder, real subprocesses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.reporting.schemas import Report
from tests.support.agent_e2e import agent_env, file_lines, run_agent, write_corpus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
TOPIC = "Heron storage engine"
ADDED = "Who wrote the Osprey planner?"


@dataclass(frozen=True)
class Workspace:
    root: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("cli_report")
    corpus = write_corpus(root)
    env = agent_env(root / ".ra", RESEARCH_AGENT_PROVIDER="offline")
    done = run_agent("ingest", str(corpus), env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    yield Workspace(root, env)


def test_report_json_and_markdown_file(workspace: Workspace) -> None:
    out = workspace.root / "report.md"
    done = run_agent(
        "report", TOPIC, "--json", "--out", str(out), env=workspace.env, cwd=workspace.root
    )
    assert done.returncode == 0, done.stderr
    report = Report.model_validate_json(done.stdout)
    assert report.status == "complete" and report.provider == "offline"
    assert report.sources and report.dropped_claims == 0
    for c in report.sources:  # every citation resolves to the file's own lines
        assert c.quote == file_lines(workspace.root / c.source, c.start_line, c.end_line)
    # progress went to stderr: the plan, then lines per branch
    assert "this report is extracted from your documents, not written by gpt-oss" in done.stderr
    assert f"plan: {TOPIC}" in done.stderr and f"  1. {TOPIC}" in done.stderr
    for n in range(1, len(report.branches) + 1):
        assert f"[{n}] researching " in done.stderr and f"[{n}] done: answered," in done.stderr
    markdown = out.read_text(encoding="utf-8")
    assert markdown == report.markdown() and markdown.startswith(f"# {TOPIC}\n")


def test_review_edit_in_the_terminal_then_resume_says_finished(workspace: Workspace) -> None:
    planned = json.loads(
        run_agent("report", TOPIC, "--json", env=workspace.env, cwd=workspace.root).stdout
    )["plan"]["sub_questions"]
    # edit: keep the title and the first sub-question, remove the others, add one
    keys = ["e", "", "", *["-"] * (len(planned) - 1), ADDED, ""]
    done = run_agent(
        "report",
        TOPIC,
        "--review",
        "--thread",
        "rv1",
        env=workspace.env,
        cwd=workspace.root,
        stdin="\n".join(keys) + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert "accept, edit or reject the plan?" in done.stdout
    assert "[2] researching Who wrote the Osprey planner?" in done.stdout
    assert "[3] researching" not in done.stdout
    assert "status: complete; 0 unverified sentences dropped" in done.stdout
    again = run_agent("resume", "--thread", "rv1", env=workspace.env, cwd=workspace.root)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "Thread rv1 has nothing to resume: its last report finished."


def test_review_reject(workspace: Workspace) -> None:
    done = run_agent(
        "report", TOPIC, "--review", env=workspace.env, cwd=workspace.root, stdin="r\nnot now\n"
    )
    assert done.returncode == 0, done.stderr
    assert "researching" not in done.stdout
    assert "status: partial: the plan was rejected at review: not now" in done.stdout


def test_report_tokens_is_the_total_and_no_branch_goes_over_its_share(
    workspace: Workspace,
) -> None:
    done = run_agent(
        "report", TOPIC, "--report-tokens", "5000", env=workspace.env, cwd=workspace.root
    )
    assert done.returncode == 0, done.stderr
    spent = re.search(r"^spent: (\d+) of 5000 tokens, \d+ of 30 tool calls$", done.stdout, re.M)
    assert spent is not None and int(spent.group(1)) <= 5000, done.stdout
    shares = re.findall(r"^\[\d\] done: .*, (\d+)/(\d+) tokens$", done.stdout, re.M)
    assert shares and all(int(used) <= int(share) for used, share in shares)
    assert len({share for _, share in shares}) == 1  # equal shares


@pytest.mark.parametrize(
    ("argv", "code", "line"),
    [
        (["report", TOPIC, "--max-branches", "9"], 2, "error: invalid setting max_branches=9"),
        (["report", TOPIC, "--report-tokens", "10"], 2, "error: invalid setting report_tokens=10"),
        (["report", "  "], 1, 'error: Nothing to report on: send {"topic": "..."}.'),
    ],
)
def test_user_mistakes_are_one_error_line(
    workspace: Workspace, argv: list[str], code: int, line: str
) -> None:
    done = run_agent(*argv, env=workspace.env, cwd=workspace.root)
    assert done.returncode == code
    assert done.stderr.strip().splitlines()[-1].startswith(line), done.stderr
    assert "Traceback" not in done.stderr
