"""This project's own repository, ingested and asked about as a user would: code is indexed,
generated and hidden folders are left out, and the offline answer cites the lines of a function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.foundation import PROJECT_ROOT, clean_env, run_cli

pytestmark = pytest.mark.slow
INCLUDE = "/tools/[d-i]*.py"


def test_ingest_the_repository_and_ask_about_its_code(tmp_path: Path) -> None:
    env = clean_env(
        RESEARCH_AGENT_MILVUS_URI=str(tmp_path / "m.db"),
        RESEARCH_AGENT_DATA_DIR=str(tmp_path / "ra"),
    )
    # the whole tree is walked; only tools/[d-i]*.py (11 modules, about 130 chunks, among them
    # discover.py and the other ingest modules) is embedded, to keep the test short: all of
    # tools/*.py (383 chunks) took 27 s alone and over 90 s beside make test's other worker.
    # The timeout only guards against a hang.
    done = run_cli(
        "ingest", ".", "--include", INCLUDE, "--json", env=env, cwd=PROJECT_ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["skipped"] == []
    assert report["new"] == len(list((PROJECT_ROOT / "tools").glob("[d-i]*.py"))) >= 10
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
