"""Ctrl-C on `research-agent ingest` of one big file: it stops within about a second, whatever
it was doing, the file shows as incomplete, and the next run embeds only the rest."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.cli.documents import STOP_SECONDS
from tests.integration.test_openai_embedder import EmbeddingServer
from tests.support.foundation import RESEARCH_AGENT, clean_env, run_cli
from tools.ingest import HOLD_READING

pytestmark = [pytest.mark.slow, pytest.mark.serial]
BATCH = 256  # chunks per batch with 2 embedding requests in flight (tools/ingest.py)
EXIT_WITHIN = STOP_SECONDS + 0.7  # seconds: the hard stop, and a loaded machine's margin


def write_big(path: Path, mb: float) -> None:
    with path.open("w", encoding="utf-8") as fh:
        n = 0
        while fh.tell() < mb * (1 << 20):
            fh.write(f"## Part {n}\n\n" + " ".join(f"w{n}x{i}" for i in range(400)) + ".\n\n")
            n += 1


@pytest.fixture
def server() -> Iterator[EmbeddingServer]:
    srv = EmbeddingServer()
    yield srv
    srv.stop()


def start(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(RESEARCH_AGENT), "ingest", "big.md", "--json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupt(proc: subprocess.Popen[str]) -> tuple[float, str]:
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return time.monotonic() - sent, err


def env_for(server: EmbeddingServer) -> dict[str, str]:
    return clean_env(
        RESEARCH_AGENT_EMBEDDER="openai",
        RESEARCH_AGENT_EMBEDDING_BASE_URL=server.url,
        RESEARCH_AGENT_EMBEDDING_MODEL="bow-64",
        RESEARCH_AGENT_EMBEDDING_CONCURRENCY="2",
        RESEARCH_AGENT_ENV_FILE="",
    )


def ingest_to_the_end(folder: Path, env: dict[str, str]) -> dict[str, Any]:
    """`research-agent ingest big.md --json` run to its end in `folder`: its report."""
    done = run_cli("ingest", "big.md", "--json", env=env, cwd=folder, timeout=300)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_ctrl_c_while_writing_then_the_next_run_resumes(
    server: EmbeddingServer, tmp_path: Path
) -> None:
    write_big(tmp_path / "big.md", 2.0)
    env = env_for(server)
    server.delay = 0.3
    proc = start(tmp_path, env)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and len(server.requests) < 12:
        time.sleep(0.02)
    seconds, err = interrupt(proc)
    print(f"\nexit {seconds:.2f} s after SIGINT while writing")
    assert proc.returncode == 130, err
    assert seconds < EXIT_WITHIN
    kept = re.search(r"\((\d+) of (\d+) chunks written", err)
    assert kept is not None, err
    written, total = int(kept.group(1)), int(kept.group(2))
    assert 0 < written < total

    listed = run_cli("docs", "list", "--json", env=env, cwd=tmp_path)
    [doc] = json.loads(listed.stdout)
    assert (doc["source"], doc["complete"]) == ("big.md", False)
    # The batch in flight at the signal may still be applied by Milvus: the message is a
    # lower bound, by at most that batch (and the one queued behind it).
    stored = doc["chunks"]
    assert written <= stored <= written + 2 * BATCH

    server.delay = 0.0
    server.requests.clear()
    report = ingest_to_the_end(tmp_path, env)
    sent = sum(len(r["input"]) for r in server.requests[1:])  # after the dimension probe
    assert (report["resumed"], report["chunks_written"], sent) == (
        1,
        total - stored,
        total - stored,
    )  # nothing stored is embedded again


def test_ctrl_c_while_reading_a_big_file_acts_at_once(
    server: EmbeddingServer, tmp_path: Path
) -> None:
    write_big(tmp_path / "big.md", 3.0)
    # The first pass holds at its first progress report (1 MB into the file) for up to a
    # minute: the signal lands while the file is being read, however loaded the machine.
    env = {**env_for(server), HOLD_READING: "60"}
    proc = start(tmp_path, env)
    assert proc.stderr is not None
    while "reading and splitting" not in (line := proc.stderr.readline()):
        assert line, "the ingest ended before it read the file"
    seconds, err = interrupt(proc)
    print(f"\nexit {seconds:.2f} s after SIGINT while reading")
    assert proc.returncode == 130, err
    assert seconds < EXIT_WITHIN
    assert "0 of 0 chunks written, 0 of 1 files read" in err


# `research-agent ingest` whose Milvus Lite (the default, inside the process) is busy with
# its background work: each compaction and index build takes 30 s, as on a large
# collection. Milvus Lite's close at exit waits for that work.
BUSY_LITE = """
import sys, time
import milvus_lite.engine.collection as engine
work = engine.Collection._bg_compact_and_index
def slow(self):
    time.sleep(30)
    work(self)
engine.Collection._bg_compact_and_index = slow
from agent.cli.app import main
sys.argv[0] = "research-agent"
sys.exit(main())
"""


def test_ctrl_c_while_milvus_lite_is_busy_ends_within_a_second(
    server: EmbeddingServer, tmp_path: Path
) -> None:
    write_big(tmp_path / "big.md", 2.0)
    env = env_for(server)
    server.delay = 0.3
    proc = subprocess.Popen(
        [sys.executable, "-c", BUSY_LITE, "ingest", "big.md", "--json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and len(server.requests) < 12:
        time.sleep(0.02)  # a few batches are written: Milvus Lite has background work
    seconds, err = interrupt(proc)
    print(f"\nexit {seconds:.2f} s after SIGINT with Milvus Lite busy")
    assert proc.returncode == 130, err
    assert seconds < EXIT_WITHIN
    kept = re.search(r"\((\d+) of (\d+) chunks written", err)
    assert kept is not None, err
    written, total = int(kept.group(1)), int(kept.group(2))

    server.delay = 0.0
    report = ingest_to_the_end(tmp_path, env)
    assert report["resumed"] == 1
    assert written <= total - report["chunks_written"] <= written + 2 * BATCH
    listed = run_cli("docs", "list", "--json", env=env, cwd=tmp_path)
    [doc] = json.loads(listed.stdout)
    assert (doc["complete"], doc["chunks"]) == (True, total)
