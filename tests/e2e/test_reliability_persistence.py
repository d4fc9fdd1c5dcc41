"""Conversation persistence: a killed process (SIGKILL) loses nothing of a thread.

`chat` keeps its state in <data_dir>/checkpoints.sqlite; a run killed mid-way resumes from
its last checkpoint without redoing the tool calls it had already made.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.foundation import PROJECT_ROOT, RESEARCH_AGENT, clean_env
from tests.support.ingested import IngestedCopies, cli_ingest_tiny_docs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def env(tmp_path: Path, ingested_copies: IngestedCopies) -> dict[str, str]:
    """TINY_DOCS in tmp_path/docs, ingested by the CLI into tmp_path/ra (a session copy)."""
    ingested_copies.copy_into(tmp_path, cli_ingest_tiny_docs)
    return clean_env(RESEARCH_AGENT_DATA_DIR=str(tmp_path / "ra"))


def chat(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(RESEARCH_AGENT), "chat", "--thread", "t1", "--provider", "offline"],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_chat_thread_survives_sigkill_and_continues(env: dict[str, str], tmp_path: Path) -> None:
    first = chat(env, tmp_path)
    assert first.stdin is not None and first.stdout is not None
    first.stdin.write("Who makes the Zephyr drone?\n")
    first.stdin.flush()
    seen = []
    for line in first.stdout:  # wait for the answer's status line, then kill at the prompt
        seen.append(line)
        if line.startswith("status:"):
            break
    assert any("Acme Robotics" in line for line in seen), seen
    first.kill()  # SIGKILL: no clean shutdown
    first.wait(timeout=10)
    assert first.returncode == -9
    db = tmp_path / "ra" / "checkpoints.sqlite"
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from checkpoints where thread_id='t1'").fetchone()[0]
    second = chat(env, tmp_path)
    out, err = second.communicate("Where is its maker's office?\nexit\n", timeout=120)
    assert second.returncode == 0, err
    answer = out.split("/exit or Ctrl-D ends", 1)[1]  # after the resumed thread's last exchange
    assert "Oslo" in answer  # the follow-up knew what "its maker" meant: the thread continued


RUN_AND_HANG = """
import sys, time
sys.path.insert(0, sys.argv[2])
from langchain_core.messages import AIMessage
from langgraph.checkpoint.sqlite import SqliteSaver
import sqlite3
from agent.threads import checkpoint_serde
from graphs.research import build_graph
from tests.support.corpus import DOCS
from tests.support.fake_chat import FakeToolCallingModel, call
from tests.support.fake_tools import FakeCorpus

class Hangs(FakeToolCallingModel):
    def _generate(self, messages, *args, **kwargs):
        if self.calls:
            print("HANG", flush=True)
            time.sleep(120)
        return super()._generate(messages, *args, **kwargs)

search = AIMessage("", tool_calls=[call("milvus_search", "s1", query="Zephyr drone maker")])
conn = sqlite3.connect(sys.argv[1], check_same_thread=False)
graph = build_graph(Hangs(script=[search]), SqliteSaver(conn, serde=checkpoint_serde()),
                    tools=FakeCorpus(dict(DOCS)).tools())
graph.invoke({"question": "Who makes the Zephyr drone?"},
             {"configurable": {"thread_id": "killed"}}, durability="sync")
"""


def test_a_run_killed_mid_way_resumes_without_redoing_its_tool_calls(tmp_path: Path) -> None:
    from langchain_core.messages import AIMessage, ToolMessage
    from langgraph.checkpoint.sqlite import SqliteSaver

    from agent.threads import checkpoint_serde
    from graphs.research import build_graph
    from tests.support.corpus import DOCS
    from tests.support.fake_chat import FakeToolCallingModel
    from tests.support.fake_tools import FakeCorpus

    db = tmp_path / "checkpoints.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_AND_HANG, str(db), str(PROJECT_ROOT)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "HANG", proc.stderr.read() if proc.stderr else ""
    proc.kill()
    proc.wait(timeout=10)
    corpus = FakeCorpus(dict(DOCS))
    # calls=[...]: message ids go on from the killed process's (ai-1), as a real model's differ
    model = FakeToolCallingModel(
        script=[AIMessage("Acme Robotics makes it 【0†L1-L3】.")],
        calls=[{"messages": [], "tools": None}],
    )
    config = {"configurable": {"thread_id": "killed"}}
    with sqlite3.connect(db, check_same_thread=False) as conn:
        graph = build_graph(
            model, SqliteSaver(conn, serde=checkpoint_serde()), tools=corpus.tools()
        )
        saved = graph.get_state(config)
        assert saved.next == ("call_model",)
        kept = [m for m in saved.values["messages"] if isinstance(m, ToolMessage)]
        assert len(kept) == 1 and "Zephyr" in kept[0].text
        state = graph.invoke(None, config)
    assert corpus.searches == []  # the search made before the kill was not run again
    answer = state["answer"]
    assert answer.status == "answered", answer
    assert [(c.source, c.start_line, c.end_line) for c in answer.citations] == [
        ("drones/zephyr.md", 1, 3)
    ]
