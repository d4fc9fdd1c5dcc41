"""Threads in the default SQLite file: the per-thread lock, `resume`, the setting's checks."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent.settings import Settings
from agent.thread_locks import lock_key, thread_lock
from agent.threads import CheckpointStoreError, ThreadBusyError, checkpoint_serde, open_checkpointer
from graphs.research import build_graph
from tests.support.foundation import PROJECT_ROOT, clean_env, run_cli
from tests.support.ingested import IngestedCopies, cli_ingest_tiny_docs
from tests.support.threads import answered_once, assert_linear, start_worker
from tools.errors import ConfigError

HOLD = """
import sys, time
from agent.settings import Settings
from agent.thread_locks import thread_lock
with thread_lock(Settings(data_dir=sys.argv[1], checkpoint_uri=sys.argv[2]), "t1"):
    print("holding", flush=True)
    time.sleep(600)
"""


def test_checkpoint_uri_is_empty_or_postgres() -> None:
    assert Settings(checkpoint_uri="").checkpoint_uri == ""
    assert Settings(checkpoint_uri="postgresql://u@h/db").checkpoint_uri == "postgresql://u@h/db"
    with pytest.raises(ConfigError, match="checkpoint_uri='mysql://h/db': must be empty"):
        Settings(checkpoint_uri="mysql://h/db")


def test_lock_key_is_stable_and_distinct() -> None:
    assert lock_key("chat-1") == lock_key("chat-1")
    assert lock_key("chat-1") != lock_key("chat-2")
    assert -(2**63) <= lock_key("chat-1") < 2**63  # a PostgreSQL bigint


@pytest.mark.slow  # a holder process
def test_file_lock_is_exclusive_and_dies_with_its_holder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), ""],
        stdout=subprocess.PIPE,
        env={**clean_env(), "PYTHONPATH": str(PROJECT_ROOT)},
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(ThreadBusyError, match="Thread t1 is busy"):
            with thread_lock(settings, "t1", wait=False):
                pass
        with thread_lock(settings, "t2", wait=False):  # other threads are free
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    with thread_lock(settings, "t1", wait=False):  # the dead holder's lock is gone
        pass


@pytest.mark.slow  # the CLI in a subprocess
def test_busy_thread_is_one_line_from_the_cli(tmp_path: Path) -> None:
    env = clean_env(RESEARCH_AGENT_DATA_DIR=str(tmp_path / "ra"), RESEARCH_AGENT_PROVIDER="offline")
    with thread_lock(Settings(data_dir=tmp_path / "ra"), "t1"):
        res = run_cli("ask", "--thread", "t1", "--no-wait", "Who?", env=env, cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        "error: Thread t1 is busy: another run is using it; try again when it ends, "
        "or leave out --no-wait to wait for it."
    ]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_killed_run_resumes_from_the_cli_without_redoing_tool_calls(
    tmp_path: Path, ingested_copies: IngestedCopies
) -> None:
    ingested_copies.copy_into(tmp_path, cli_ingest_tiny_docs)  # docs/ and ra/ as the CLI left them
    env = clean_env(RESEARCH_AGENT_DATA_DIR=str(tmp_path / "ra"), RESEARCH_AGENT_PROVIDER="offline")
    unknown = run_cli("resume", "--thread", "t1", env=env, cwd=tmp_path)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error: Thread t1 has nothing to resume: it is not in ")

    question = "Who makes the Zephyr drone?"
    victim = start_worker([("t1", question)], env, tmp_path, stall_at=1)
    assert victim.stdout is not None and victim.stdout.readline().strip() == "stalled"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    settings = Settings(data_dir=tmp_path / "ra")
    config = {"configurable": {"thread_id": "t1"}}
    with open_checkpointer(settings, checkpoint_serde()) as saver:
        before = build_graph(checkpointer=saver).get_state(config)
    assert before.next == ("respond",)
    tool_results = [m.id for m in before.values["messages"] if m.type == "tool"]
    assert tool_results  # the tool calls had finished before the kill

    res = run_cli("resume", "--thread", "t1", "--json", env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    answer = json.loads(res.stdout)
    assert answer["status"] == "answered"
    assert "Acme Robotics" in answer["answer"]
    assert "milvus_search" not in res.stderr  # no tool was called again
    with open_checkpointer(settings, checkpoint_serde()) as saver:
        after = build_graph(checkpointer=saver).get_state(config)
        checkpoints = list(saver.list(config))
    assert not after.next
    assert [m.id for m in after.values["messages"] if m.type == "tool"] == tool_results
    assert answered_once(after.values["messages"]) == [question]
    assert_linear(checkpoints)

    from agent import resume
    from agent.api import NothingToResumeError

    with pytest.raises(NothingToResumeError, match="its last run finished") as info:
        resume("t1", data_dir=tmp_path / "ra", provider="offline")
    assert info.value.finished


@pytest.mark.slow  # a CLI process
def test_unreachable_postgres_is_one_line(tmp_path: Path) -> None:
    from tests.support.foundation import free_port

    uri = f"postgresql://agent:secret@127.0.0.1:{free_port()}/research"
    env = clean_env(RESEARCH_AGENT_CHECKPOINT_URI=uri, RESEARCH_AGENT_PROVIDER="offline")
    res = run_cli("ask", "--thread", "t1", "Who?", env=env, cwd=tmp_path)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(
        f"error: Cannot reach the checkpoint database postgresql://127.0.0.1:{uri.split(':')[3]}"
    )
    assert lines[0].endswith("start it or fix RESEARCH_AGENT_CHECKPOINT_URI.")
    assert "secret" not in res.stderr  # the password is not echoed


def test_missing_driver_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    settings = Settings(checkpoint_uri="postgresql://u@127.0.0.1/db")
    with pytest.raises(CheckpointStoreError, match=r"pip install 'research-agent\[postgres\]'"):
        with open_checkpointer(settings):
            pass


def test_async_api_takes_the_same_lock(tmp_path: Path) -> None:
    import asyncio

    from agent.api import aask

    settings = Settings(data_dir=tmp_path)
    with thread_lock(settings, "t1"):
        with pytest.raises(ThreadBusyError, match="Thread t1 is busy"):
            asyncio.run(aask("Who?", thread_id="t1", wait=False, data_dir=tmp_path))
