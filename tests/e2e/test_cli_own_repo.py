"""This project's own repository, ingested and asked about as a user would: code is indexed,
generated and hidden folders are left out, and the offline answer cites the lines of a function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.foundation import PROJECT_ROOT, clean_env, run_cli

pytestmark = pytest.mark.slow


def test_ingest_the_repository_and_ask_about_its_code(tmp_path: Path) -> None:
    env = clean_env(
        RESEARCH_AGENT_MILVUS_URI=str(tmp_path / "m.db"),
        RESEARCH_AGENT_DATA_DIR=str(tmp_path / "ra"),
    )
    # the whole tree is walked; only tools/*.py is embedded, to keep the test short. The
    # timeout only guards against a hang: beside make test's other worker on a loaded machine
    # this ingest took over 120 s (64 s alone)
    done = run_cli(
        "ingest", ".", "--include", "/tools/*.py", "--json", env=env, cwd=PROJECT_ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["skipped"] == []
    assert report["new"] == len(list((PROJECT_ROOT / "tools").glob("*.py")))
    left_out = {Path(e.split(": ")[0].rstrip("/")).name for e in report["excluded"]}
    assert {".git", ".venv"} <= left_out
    asked = run_cli(
        "ask",
        "--provider",
        "offline",
        "--json",
        "Which function gives the reason a file cannot be indexed?",
        env=env,
        cwd=PROJECT_ROOT,
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    lines = (PROJECT_ROOT / "tools" / "discover.py").read_text(encoding="utf-8").splitlines()
    start = next(n for n, line in enumerate(lines, 1) if line.startswith("def why_not("))
    first = answer["citations"][0]
    assert (first["source"], first["start_line"]) == ("tools/discover.py", start)
    assert first["quote"].startswith("def why_not(path: Path)")
