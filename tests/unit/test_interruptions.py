"""A run on a thread stopped part-way: recognised, named, refused a new question; bounded
waits for a busy thread; SIGTERM as Ctrl-C in the CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.cli import stopping
from agent.interruptions import (
    RunInterrupted,
    UnfinishedRunError,
    athread_guard,
    check_finished,
    resumable,
    thread_guard,
)
from agent.settings import Context, Settings
from agent.thread_locks import thread_lock
from agent.threads import CheckpointStoreError, ThreadBusyError
from graphs.research import build_graph
from tests.support.corpus import DOCS
from tests.support.fake_chat import FakeToolCallingModel, call
from tests.support.fake_tools import FakeCorpus
from tools.errors import ConfigError, StoreError

CONFIG = {"configurable": {"thread_id": "t1"}}
HINT = "finish it with `research-agent resume --thread t1`"


def test_a_run_that_failed_mid_way_is_resumable_and_refuses_a_new_question() -> None:
    corpus = FakeCorpus(dict(DOCS), down=True)
    model = FakeToolCallingModel(
        script=[
            AIMessage("", tool_calls=[call("milvus_search", "c1", query="Zephyr")]),
            AIMessage("A quadcopter 【0†L2-L2】."),
        ]
    )
    graph = build_graph(model, InMemorySaver(), tools=corpus.tools())
    with pytest.raises(StoreError):
        graph.invoke({"question": "What is the Zephyr?"}, CONFIG, context=Context())
    assert resumable(graph.get_state(CONFIG))
    with pytest.raises(UnfinishedRunError, match=f"stopped before its answer; {HINT}"):
        check_finished(graph, CONFIG, "t1")

    corpus.down = False
    state = graph.invoke(None, CONFIG, context=Context())  # what `resume` runs
    assert state["answer"].answer
    assert not resumable(graph.get_state(CONFIG))
    check_finished(graph, CONFIG, "t1")  # a finished thread takes new questions
    assert len(model.calls) == 2  # the model's first turn was not asked again


def test_ctrl_c_in_a_run_on_a_thread_is_run_interrupted_naming_resume() -> None:
    with pytest.raises(RunInterrupted) as info, thread_guard(Settings(), "t1"):
        raise KeyboardInterrupt
    assert isinstance(info.value, KeyboardInterrupt)  # code that stops on Ctrl-C still does
    assert str(info.value) == (
        f"the run on thread t1 stopped before its answer; the steps it finished are kept: "
        f"{HINT} (agent.resume('t1') in Python)."
    )
    with pytest.raises(KeyboardInterrupt) as bare, thread_guard(Settings(), None):
        raise KeyboardInterrupt
    assert type(bare.value) is KeyboardInterrupt  # no thread: nothing to resume


def test_failures_mid_run_say_how_to_finish_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(CheckpointStoreError) as full, thread_guard(settings, "t1"):
        raise sqlite3.OperationalError("database or disk is full")
    assert str(full.value) == (
        f"Cannot write the thread to {tmp_path / 'checkpoints.sqlite'} (database or disk is "
        f"full); free disk space or make the data folder writable; then {HINT}."
    )
    with pytest.raises(StoreError) as down, thread_guard(settings, "t1"):
        raise StoreError("Milvus at http://h:19530 failed (gone). Check that it runs.")
    assert str(down.value) == (
        f"Milvus at http://h:19530 failed (gone). Check that it runs. The run is kept: {HINT}."
    )
    with pytest.raises(ConfigError) as config, thread_guard(settings, "t1"):
        raise ConfigError("k=30: too big")
    assert str(config.value) == "k=30: too big"  # nothing ran: nothing to resume


def test_a_cancelled_async_run_stays_cancelled_with_the_resume_note() -> None:
    async def cancelled() -> None:
        async with athread_guard(Settings(), "t1"):
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError) as info:
        asyncio.run(cancelled())
    assert any(HINT in note for note in info.value.__notes__)


def test_waiting_for_a_busy_thread_is_bounded(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, thread_wait=0.3)
    with thread_lock(settings, "t1"):
        started = time.monotonic()
        with pytest.raises(ThreadBusyError) as info:
            with thread_lock(settings, "t1"):
                pass
        assert time.monotonic() - started >= 0.3
        with thread_lock(settings, "t2", wait=False):  # other threads are free
            pass
    assert str(info.value) == (
        "Thread t1 is still busy after 0.3 s: another run is using it; run the command again "
        "when it ends, or wait longer with RESEARCH_AGENT_THREAD_WAIT."
    )
    with thread_lock(settings, "t1", wait=False):  # given back
        pass


def test_sigterm_is_ctrl_c_in_the_cli_and_the_handlers_are_put_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    previous = stopping.install("interrupted: test")
    try:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises in the main thread before this ends
    finally:
        stopping.restore(previous)
    assert signal.getsignal(signal.SIGTERM) == before


# A command stuck after Ctrl-C (here: a wait that swallows KeyboardInterrupt, as a call
# that never returns would) is ended by the hard stop, with its line made at that moment.
STUCK = """
import os, signal, time
from agent.cli import stopping
stopping.install("interrupted: default line")
done = [0]
stopping.arm(lambda: f"interrupted: {done[0]} batches kept", grace=0.3)
done[0] = 7
try:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)
except KeyboardInterrupt:
    pass
while True:
    try:
        time.sleep(30)
    except KeyboardInterrupt:
        pass
"""


@pytest.mark.slow
def test_the_hard_stop_ends_a_stuck_command_with_its_line_of_the_moment() -> None:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", STUCK], capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 30  # the 30 s sleep was cut short
    assert proc.returncode == stopping.EXIT_CODE
    assert proc.stderr.strip() == "interrupted: 7 batches kept"
