"""Threads persist and resume with LANGGRAPH_STRICT_MSGPACK=true (checkpoints hold safe data).

Strict msgpack refuses to rebuild arbitrary classes from a checkpoint. The Answer types
are on the checkpointer's allowlist (agent.api for the CLI and the Python API; LangGraph
derives it from the state schema under `langgraph dev`), and tool artifacts come back as
plain dicts, which every reader of the evidence accepts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.api import thread_state
from tests.support.agent_e2e import agent_env, run_agent, write_corpus
from tests.support.ingested import IngestedCopies

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TWO_RUNS = """
import sys
from agent.api import ask, thread_state

first = ask("When are Heron segments compacted?", provider="offline", thread_id="t1")
second = ask("Who wrote the Osprey planner?", provider="offline", thread_id="t1")
values = thread_state("t1", data_dir=sys.argv[1]).values
humans = [m.content for m in values["messages"] if m.type == "human"]
kinds = {type(m.artifact).__name__ for m in values["messages"] if m.type == "tool"}
print("STATUS", first.status, second.status)
print("HUMANS", humans)
print("ANSWER", type(values["answer"]).__name__, values["answer"].status)
print("ARTIFACTS", sorted(kinds))
"""


def ingest_corpus(folder: Path) -> None:
    """The two-document corpus in folder/corpus, ingested by the CLI into folder/.ra."""
    environment = agent_env(folder / ".ra", LANGGRAPH_STRICT_MSGPACK="true")
    done = run_agent("ingest", str(write_corpus(folder)), env=environment, cwd=folder)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def env(tmp_path: Path, ingested_copies: IngestedCopies) -> dict[str, str]:
    """A copy of the session's ingest (corpus/ and .ra/) in tmp_path; its environment."""
    ingested_copies.copy_into(tmp_path, ingest_corpus)
    return agent_env(tmp_path / ".ra", LANGGRAPH_STRICT_MSGPACK="true")


def test_api_thread_persists_and_resumes_under_strict_msgpack(
    env: dict[str, str], tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", TWO_RUNS, str(tmp_path / ".ra")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines["STATUS"] == "answered answered"
    assert lines["HUMANS"] == (
        "['When are Heron segments compacted?', 'Who wrote the Osprey planner?']"
    )
    assert lines["ANSWER"] == "Answer answered"
    assert lines["ARTIFACTS"] == "['dict']"  # plain data after the round trip
    assert "Traceback" not in done.stderr


def test_cli_chat_thread_resumes_under_strict_msgpack(env: dict[str, str], tmp_path: Path) -> None:
    first = run_agent(
        "chat",
        "--thread",
        "s1",
        env=env,
        cwd=tmp_path,
        stdin="When are Heron segments compacted?\n",
    )
    assert first.returncode == 0, first.stderr
    second = run_agent(
        "chat", "--thread", "s1", env=env, cwd=tmp_path, stdin="Who wrote the Osprey planner?\n"
    )
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in first.stderr + second.stderr
    assert "status: answered" in first.stdout and "status: answered" in second.stdout
    values = thread_state("s1", data_dir=tmp_path / ".ra").values  # both exchanges
    humans = [m.content for m in values["messages"] if m.type == "human"]
    assert humans == ["When are Heron segments compacted?", "Who wrote the Osprey planner?"]
