"""Ctrl-C on `research-agent ingest` of one big file: it stops within about a second, whatever
it was doing, the file shows as incomplete, and the next run embeds only the rest."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_openai_embedder import EmbeddingServer
from tests.support.foundation import RESEARCH_AGENT, clean_env

pytestmark = pytest.mark.slow
EXIT_WITHIN = 2.0  # seconds: the goal is 1 s; the margin is for a loaded 2-core machine


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

    listed = subprocess.run(
        [str(RESEARCH_AGENT), "docs", "list", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    [doc] = json.loads(listed.stdout)
    assert (doc["source"], doc["complete"], doc["chunks"]) == ("big.md", False, written)

    server.delay = 0.0
    server.requests.clear()
    done = subprocess.run(
        [str(RESEARCH_AGENT), "ingest", "big.md", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    sent = sum(len(r["input"]) for r in server.requests[1:])  # after the dimension probe
    assert (report["resumed"], report["chunks_written"], sent) == (
        1,
        total - written,
        total - written,
    )


def test_ctrl_c_while_reading_a_big_file_acts_at_once(
    server: EmbeddingServer, tmp_path: Path
) -> None:
    write_big(tmp_path / "big.md", 30.0)
    proc = start(tmp_path, env_for(server))
    assert proc.stderr is not None
    while "reading and splitting" not in (line := proc.stderr.readline()):
        assert line, "the ingest ended before it read the file"
    time.sleep(0.1)  # the first pass over 30 MB takes about a second; stop it well inside
    seconds, err = interrupt(proc)
    print(f"\nexit {seconds:.2f} s after SIGINT while reading")
    assert proc.returncode == 130, err
    assert seconds < EXIT_WITHIN
    assert "0 of 0 chunks written" in err
