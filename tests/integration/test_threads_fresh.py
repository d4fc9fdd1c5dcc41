"""Eight processes start together on one thread of a fresh thread database: all finish.

The checkpointer's tables are created by whichever process comes first while the others
wait for the thread; before the setup moved out of the thread lock, this deadlocked on
PostgreSQL (`CREATE INDEX CONCURRENTLY` waiting for a waiter of the thread lock).
PostgreSQL needs RESEARCH_AGENT_TEST_POSTGRES_URI (`eval "$(.ci/postgres.sh start)"`);
each test creates a database of its own there.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from agent.interruptions import resumable
from agent.settings import Settings
from agent.thread_locks import thread_lock
from tests.support.foundation import RESEARCH_AGENT, clean_env, run_cli
from tests.support.threads import answered_once, assert_linear, thread_history

PG_URI = os.environ.get("RESEARCH_AGENT_TEST_POSTGRES_URI", "")
PROCESSES = 8
QUESTIONS = ["Who makes the Zephyr drone?", "Where is the office of Acme Robotics?"]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]


@pytest.fixture(scope="module")
def milvus(tiny_lite_server: str) -> str:
    """The session's `milvus-lite server` with the tiny corpus (these tests only read it)."""
    return tiny_lite_server


def fresh_database() -> str:
    """A new, empty database on the test server; its URI."""
    # lazy: psycopg is the optional [postgres] extra; only this test needs it
    import psycopg

    name = f"ra_fresh_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URI, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_URI.rsplit('/', 1)[0]}/{name}"


def ask_together(env: dict[str, str], cwd: Path, thread: str) -> list[str]:
    """PROCESSES `ask --thread` processes started at once; every one must finish."""
    questions = [f"{QUESTIONS[i % 2]} (process {i})" for i in range(PROCESSES)]
    procs = [
        subprocess.Popen(
            [str(RESEARCH_AGENT), "ask", "--thread", thread, "--quiet", question],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for question in questions
    ]
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=360)
            assert proc.returncode == 0, err
            assert "Acme Robotics" in out
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return questions


def check_one_history(settings: Settings, thread: str, asked: list[str]) -> None:
    checkpoints, state = thread_history(settings, thread)
    assert_linear(checkpoints)
    assert sorted(answered_once(state.values["messages"])) == sorted(asked)
    assert not resumable(state)


@pytest.mark.skipif(
    not PG_URI,
    reason='no PostgreSQL: set RESEARCH_AGENT_TEST_POSTGRES_URI (eval "$(.ci/postgres.sh start)")',
)
def test_eight_processes_on_a_fresh_postgres_database(milvus: str, tmp_path: Path) -> None:
    uri = fresh_database()
    env = clean_env(
        RESEARCH_AGENT_CHECKPOINT_URI=uri,
        RESEARCH_AGENT_MILVUS_URI=milvus,
        RESEARCH_AGENT_PROVIDER="offline",
        RESEARCH_AGENT_DATA_DIR=str(tmp_path / "ra"),
    )
    asked = ask_together(env, tmp_path, "shared-1")
    check_one_history(Settings(checkpoint_uri=uri), "shared-1", asked)


def test_eight_processes_on_a_fresh_sqlite_file(milvus: str, tmp_path: Path) -> None:
    data = tmp_path / "ra"
    env = clean_env(
        RESEARCH_AGENT_MILVUS_URI=milvus,
        RESEARCH_AGENT_PROVIDER="offline",
        RESEARCH_AGENT_DATA_DIR=str(data),
    )
    asked = ask_together(env, tmp_path, "shared-1")
    check_one_history(Settings(data_dir=data), "shared-1", asked)


def test_a_busy_thread_is_waited_for_at_most_thread_wait(tmp_path: Path) -> None:
    data = tmp_path / "ra"
    env = clean_env(
        RESEARCH_AGENT_DATA_DIR=str(data),
        RESEARCH_AGENT_PROVIDER="offline",
        RESEARCH_AGENT_THREAD_WAIT="1.5",
    )
    with thread_lock(Settings(data_dir=data), "t1", wait=False):
        started = time.monotonic()
        res = run_cli("ask", "--thread", "t1", "Who?", env=env, cwd=tmp_path)
        waited = time.monotonic() - started
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        "error: Thread t1 is still busy after 1.5 s: another run is using it; run the command "
        "again when it ends, or wait longer with RESEARCH_AGENT_THREAD_WAIT."
    ]
    assert waited >= 1.5
