"""Threads in a real PostgreSQL shared by several processes and one `milvus-lite server`.

Needs RESEARCH_AGENT_TEST_POSTGRES_URI (`.ci/run` starts a throwaway server with
.ci/postgres.sh; run `eval "$(.ci/postgres.sh start)"` to do the same by hand).
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path

import pytest

from agent.settings import Settings
from agent.thread_locks import thread_lock
from agent.threads import checkpoint_serde, open_checkpointer
from graphs.research import build_graph
from tests.support.foundation import (
    clean_env,
    run_cli,
    stop_process,
)
from tests.support.threads import answered_once, assert_linear, start_worker

PG_URI = os.environ.get("RESEARCH_AGENT_TEST_POSTGRES_URI", "")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        not PG_URI,
        reason="no PostgreSQL: set RESEARCH_AGENT_TEST_POSTGRES_URI "
        '(eval "$(.ci/postgres.sh start)" starts one)',
    ),
]
QUESTIONS = ["Who makes the Zephyr drone?", "Where is the office of Acme Robotics?"]


@pytest.fixture(scope="module")
def milvus_server(tiny_lite_server: str) -> str:
    """The session's `milvus-lite server` with the tiny corpus, for every process of the test."""
    return tiny_lite_server


@pytest.fixture
def env(milvus_server: str, tmp_path: Path) -> dict[str, str]:
    return clean_env(
        RESEARCH_AGENT_CHECKPOINT_URI=PG_URI,
        RESEARCH_AGENT_MILVUS_URI=milvus_server,
        RESEARCH_AGENT_PROVIDER="offline",
        RESEARCH_AGENT_DATA_DIR=str(tmp_path / "ra"),
    )


def history(thread: str) -> tuple[list[object], list[object]]:
    """The thread's checkpoints (newest first) and its current messages, read from PostgreSQL."""
    settings = Settings(checkpoint_uri=PG_URI)
    config = {"configurable": {"thread_id": thread}}
    with open_checkpointer(settings, checkpoint_serde()) as saver:
        checkpoints = [
            c for c in saver.list(config) if c.config["configurable"]["checkpoint_ns"] == ""
        ]
        state = build_graph(checkpointer=saver).get_state(config)
    return checkpoints, list(state.values.get("messages", []))


def test_workers_share_threads_and_a_killed_run_is_resumed_elsewhere(
    env: dict[str, str], tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    shared = [f"shared-{run}-a", f"shared-{run}-b"]
    victim_thread = f"victim-{run}"
    plans = {
        f"w{w}": [(shared[(w + i) % 2], f"{QUESTIONS[i % 2]} (w{w} #{i})") for i in range(4)]
        for w in range(3)
    }
    victim_plan = [
        (shared[0], f"{QUESTIONS[0]} (victim #0)"),
        (victim_thread, f"{QUESTIONS[1]} (victim #1)"),
    ]
    victim = start_worker(victim_plan, env, tmp_path, stall_at=2)
    workers = {name: start_worker(plan, env, tmp_path) for name, plan in plans.items()}
    try:
        assert victim.stdout is not None
        first = json.loads(victim.stdout.readline())
        assert first["thread"] == shared[0] and first["status"] == "answered"
        assert victim.stdout.readline().strip() == "stalled"
        victim.send_signal(signal.SIGKILL)  # mid-run, holding the thread's lock
        victim.wait(timeout=10)
        assert victim.returncode == -signal.SIGKILL

        before, interrupted = history(victim_thread)
        assert interrupted and before[0].checkpoint is not None
        resumed = run_cli("resume", "--thread", victim_thread, env=env, cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        assert "status: answered" in resumed.stdout
        again = run_cli("resume", "--thread", victim_thread, env=env, cwd=tmp_path)
        assert again.returncode == 0
        assert again.stdout.strip() == (
            f"Thread {victim_thread} has nothing to resume: its last run finished."
        )
        follow_up = run_cli(
            "ask", "--thread", victim_thread, "Who founded Acme Robotics?", env=env, cwd=tmp_path
        )
        assert follow_up.returncode == 0, follow_up.stderr

        for name, proc in workers.items():
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, f"{name}: {err}"
            statuses = [json.loads(line)["status"] for line in out.splitlines()]
            assert statuses == ["answered"] * 4, (name, out)
    finally:
        for proc in [victim, *workers.values()]:
            stop_process(proc)

    # The victim's thread: the work done before the kill kept as is (no tool call redone),
    # then the resumed answer, then the follow-up; one chain of checkpoints.
    checkpoints, messages = history(victim_thread)
    assert_linear(checkpoints)
    assert [m.id for m in messages[: len(interrupted)]] == [m.id for m in interrupted]
    assert answered_once(messages) == [victim_plan[1][1], "Who founded Acme Robotics?"]

    # The shared threads: every question of every process, each answered once, no fork.
    for thread in shared:
        checkpoints, messages = history(thread)
        assert_linear(checkpoints)
        asked = [q for plan in [*plans.values(), victim_plan] for t, q in plan if t == thread]
        got = answered_once(messages)
        assert sorted(got) == sorted(asked)
        for plan in plans.values():  # each process's questions in the order it asked them
            mine = [q for t, q in plan if t == thread]
            assert [q for q in got if q in mine] == mine


def test_busy_thread_fails_at_once_with_no_wait(env: dict[str, str], tmp_path: Path) -> None:
    thread = f"busy-{uuid.uuid4().hex[:6]}"
    with thread_lock(Settings(checkpoint_uri=PG_URI), thread, wait=False):
        res = run_cli(
            "ask",
            "--thread",
            thread,
            "--no-wait",
            "Who makes the Zephyr drone?",
            env=env,
            cwd=tmp_path,
        )
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        f"error: Thread {thread} is busy: another run is using it; try again when it ends, "
        "or leave out --no-wait to wait for it."
    ]
    assert "status:" not in res.stdout  # no answer: only the offline banner came first
    checkpoints, _ = history(thread)
    assert checkpoints == []  # nothing ran


def test_langgraph_server_checkpointer_opens_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    from agent.threads import server_checkpointer

    monkeypatch.setenv("RESEARCH_AGENT_CHECKPOINT_URI", PG_URI)

    async def kind() -> type:
        async with server_checkpointer() as saver:
            await saver.aget_tuple({"configurable": {"thread_id": "none", "checkpoint_ns": ""}})
            return type(saver)

    assert asyncio.run(kind()) is AsyncPostgresSaver


def test_async_api_keeps_a_thread_in_postgres(
    milvus_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from agent.api import aask

    monkeypatch.setenv("RESEARCH_AGENT_CHECKPOINT_URI", PG_URI)
    monkeypatch.setenv("RESEARCH_AGENT_MILVUS_URI", milvus_server)
    thread = f"async-{uuid.uuid4().hex[:6]}"

    async def two() -> list[str]:
        first = await aask(QUESTIONS[0], thread_id=thread, provider="offline")
        second = await aask(QUESTIONS[1], thread_id=thread, provider="offline")
        return [first.status, second.status]

    assert asyncio.run(two()) == ["answered", "answered"]
    checkpoints, messages = history(thread)
    assert_linear(checkpoints)
    assert answered_once(messages) == QUESTIONS
