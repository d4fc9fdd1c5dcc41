"""Load: 200 sequential offline runs in one process (memory bound), and two CLI processes
sharing one database through a real `milvus-lite server` (one ingests while the other searches).
"""

from __future__ import annotations

import gc
import re
import subprocess
import time
from pathlib import Path

import pytest

from agent.api import ask
from tests.support.faults import rss_mb, tiny_lite
from tests.support.foundation import (
    RESEARCH_AGENT,
    clean_env,
    run_cli,
)
from tests.support.servers import milvus_lite_server
from tools.store import close_stores

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
RUNS = 200
WARMUP = 20
RSS_GROWTH_BOUND_MB = 40.0
SECOND = 20
"""Files the second ingest adds while searches run (40 took 38 s alone, 92 s in make test)."""


def test_two_hundred_sequential_runs_do_not_grow_memory(tmp_path: Path) -> None:
    settings = tiny_lite(tmp_path)
    options = {
        "provider": "offline",
        "milvus_uri": settings.milvus_uri,
        "collection": settings.collection,
    }
    questions = ["Who makes the Zephyr drone?", "Where is the office of Acme Robotics?"]
    try:
        for i in range(WARMUP):
            ask(questions[i % 2], **options)
        gc.collect()
        before = rss_mb()
        started = time.monotonic()
        for i in range(RUNS - WARMUP):
            answer = ask(questions[i % 2], **options)
            assert answer.status == "answered" and answer.citations
            assert ("Acme" if i % 2 == 0 else "Oslo") in answer.answer
        seconds = time.monotonic() - started
        gc.collect()
        after = rss_mb()
    finally:
        close_stores()
    print(
        f"\n{RUNS} sequential offline runs: RSS after {WARMUP} warm-up runs {before:.1f} MiB, "
        f"after {RUNS} runs {after:.1f} MiB (growth {after - before:+.1f} MiB, bound "
        f"{RSS_GROWTH_BOUND_MB} MiB); {seconds / (RUNS - WARMUP) * 1000:.0f} ms per run"
    )
    assert after - before < RSS_GROWTH_BOUND_MB


def write_docs(folder: Path, n: int, offset: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(offset, offset + n):
        lines = [f"# Part {i}", ""] + [
            f"Part {i} line {j}: the gizmo {i} needs bolt size {i % 7} and torque {j}."
            for j in range(60)
        ]
        (folder / f"part{i:03d}.md").write_text("\n".join(lines) + "\n")


def test_one_cli_ingests_while_another_searches_through_milvus_lite_server(
    tmp_path: Path,
) -> None:
    with milvus_lite_server(tmp_path / "db", timeout=60) as uri:
        env = clean_env(RESEARCH_AGENT_MILVUS_URI=uri)
        write_docs(tmp_path / "first", 5)
        first = run_cli("ingest", "first", "--json", env=env, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        write_docs(tmp_path / "second", SECOND, offset=100)
        ingest = subprocess.Popen(
            [str(RESEARCH_AGENT), "ingest", "second", "--json"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        searches = []
        while ingest.poll() is None or not searches:
            done = run_cli("search", "gizmo bolt size", "-k", "3", "--json", env=env, cwd=tmp_path)
            searches.append(done)
        out, err = ingest.communicate(timeout=120)
        assert ingest.returncode == 0, err
        assert re.search(rf'"new":\s*{SECOND}\b', out), out
        # every search but the last began while the ingest ran (the loop checks it first)
        assert len(searches) >= 2, "the ingest ended before a second search began"
        for done in searches:
            assert done.returncode == 0, done.stderr
            assert "Traceback" not in done.stderr and "error" not in done.stderr.lower()
            assert '"cursor"' in done.stdout
        last = 100 + SECOND - 1
        final = run_cli("search", f"gizmo {last} bolt", "-k", "20", "--json", env=env, cwd=tmp_path)
        assert final.returncode == 0 and f"part{last}.md" in final.stdout
        print(f"\n{len(searches)} searches ran while the other CLI ingested {SECOND} files")
