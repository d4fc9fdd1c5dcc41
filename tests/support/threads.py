"""Helpers for the thread tests: worker processes, and checks that a thread never forked."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.settings import Settings
from agent.threads import checkpoint_serde, open_checkpointer
from graphs.research import build_graph
from tests.support.foundation import (
    PROJECT_ROOT,
)

# Runs (thread, question) pairs in order through the Python API, one JSON line per answer.
# With STALL=N the N-th run stops inside `respond` (after its tool calls are checkpointed),
# prints "stalled" and sleeps, so that the test can kill it there.
WORKER = """
import json, os, sys, time
import graphs.research as research
from agent import api

stall_at = int(os.environ.get("STALL", "0"))
runs = {"n": 0}
real_respond = research.respond

def respond(state):
    if runs["n"] == stall_at:
        print("stalled", flush=True)
        time.sleep(600)
    return real_respond(state)

research.respond = respond
for thread, question in json.loads(sys.argv[1]):
    runs["n"] += 1
    answer = api.ask(question, thread_id=thread)
    print(json.dumps({"thread": thread, "question": question, "status": answer.status}),
          flush=True)
"""


def start_worker(
    tasks: Sequence[tuple[str, str]], env: dict[str, str], cwd: Path, stall_at: int = 0
) -> subprocess.Popen[str]:
    """A process that asks the questions on their threads, in order."""
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(list(tasks))],
        env={**env, "STALL": str(stall_at), "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_linear(checkpoints: Sequence[Any]) -> None:
    """Every checkpoint but the first has its predecessor as parent: one chain, no fork."""
    ids = [c.config["configurable"]["checkpoint_id"] for c in checkpoints]
    parents = [
        (c.parent_config or {}).get("configurable", {}).get("checkpoint_id") for c in checkpoints
    ]
    assert len(set(ids)) == len(ids)
    assert parents.count(None) == 1, "more than one chain starts in this thread"
    children: dict[str, int] = {}
    for parent in parents:
        if parent is not None:
            assert parent in ids, f"parent {parent} is missing"
            children[parent] = children.get(parent, 0) + 1
    forks = {p: n for p, n in children.items() if n > 1}
    assert not forks, f"the thread forked at {forks}"


def answered_once(messages: Sequence[Any]) -> list[str]:
    """The questions of a thread, in order, checking each got exactly one final answer."""
    questions: list[str] = []
    finals = 0
    for message in messages:
        if isinstance(message, HumanMessage):
            if questions:
                assert finals == 1, f"{questions[-1]!r} got {finals} final answers"
            questions.append(str(message.content))
            finals = 0
        elif isinstance(message, AIMessage) and not message.tool_calls:
            finals += 1
    assert finals == 1, f"{questions[-1]!r} got {finals} final answers"
    calls = [c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    results = [m.tool_call_id for m in messages if isinstance(m, ToolMessage)]
    assert sorted(results) == sorted(calls), "a tool call ran twice or never"
    return questions


def stall_run(
    mode: str, args: Sequence[str], env: dict[str, str], cwd: Path
) -> subprocess.Popen[str]:
    """tests/support/stall_run.py in a process of its own (see its docstring)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.stall_run", mode, *args],
        env={**env, "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_file(path: Path, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    """Block until path exists; fail early with the process's output if it ended first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"ended before {path.name} (code {proc.returncode}): {out}{err}")
        assert time.monotonic() < deadline, f"no {path.name} after {timeout} s"
        time.sleep(0.02)


def thread_history(settings: Settings, thread: str) -> tuple[list[Any], Any]:
    """The thread's root-namespace checkpoints (newest first) and its live state."""
    config: Any = {"configurable": {"thread_id": thread}}
    with open_checkpointer(settings, checkpoint_serde()) as saver:
        checkpoints = [
            c for c in saver.list(config) if c.config["configurable"]["checkpoint_ns"] == ""
        ]
        state = build_graph(checkpointer=saver).get_state(config)
    return checkpoints, state
