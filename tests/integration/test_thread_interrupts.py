"""A run on a thread stopped at any point is finished by `resume`, without redoing steps.

Each signal (SIGINT, SIGTERM, SIGKILL; for the Python API: Ctrl-C's KeyboardInterrupt,
asyncio cancellation, SIGKILL) at each point of a run: between steps (after the first
tool step's checkpoint), inside a tool call (the first fetch_doc), and while the model
streams (a wire server that stops after the first frames). tests/support/stall_run.py
holds the run at the point; the test signals it, lets go of the point, then resumes.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from agent import api
from agent.cli.stopping import GRACE_SECONDS
from agent.interruptions import UnfinishedRunError, interrupted, resumable
from agent.settings import Settings
from tests.support.faults import chat_body, sse_reply, tool_call
from tests.support.foundation import clean_env, run_cli
from tests.support.threads import (
    answered_once,
    assert_linear,
    stall_run,
    thread_history,
    wait_for_file,
)
from tests.support.wire_server import WireServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180), pytest.mark.serial]
QUESTION = "Who makes the Zephyr drone?"
POINTS = ["between", "tool", "stream"]
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
MODEL = "openai/gpt-oss-20b"


@pytest.fixture(scope="module")
def milvus(tiny_lite_server: str) -> str:
    """The session's `milvus-lite server` with the tiny corpus (these tests only read it)."""
    return tiny_lite_server


@contextmanager
def model_for(point: str) -> Iterator[tuple[list[str], WireServer | None, threading.Event]]:
    """CLI options for the run's model, the wire server when it streams, its release."""
    release = threading.Event()
    if point != "stream":
        yield ["--provider", "offline"], None, release
        return
    with WireServer() as wire:
        search = sse_reply(chat_body(None, [tool_call("milvus_search", {"query": "Zephyr"})]))
        stalled = sse_reply(chat_body("The Zephyr drone is made by Acme Robotics."))
        stalled.gate = (2, release, threading.Event())  # two frames, then silence
        final = sse_reply(chat_body("The Zephyr drone is made by Acme Robotics."))
        wire.script(search, stalled, final, final)
        try:
            yield ["--base-url", wire.url, "--model", MODEL], wire, release
        finally:
            release.set()


def wait_until_stalled(point: str, wire: WireServer | None, marker: Path, proc: Any) -> None:
    if wire is None:
        wait_for_file(marker, proc)
        return
    deadline = time.monotonic() + 60
    while len(wire.bodies) < 2:  # the second model turn is streaming (and stalls)
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.5)  # its first frames are read
    marker.write_text("stalled")


def env_for(tmp_path: Path, milvus: str, point: str) -> dict[str, str]:
    return clean_env(
        RESEARCH_AGENT_DATA_DIR=str(tmp_path / "ra"),
        RESEARCH_AGENT_MILVUS_URI=milvus,
        STALL_POINT=point if point != "stream" else "none",
        STALL_MARKER=str(tmp_path / "marker"),
        STALL_GO=str(tmp_path / "go"),
    )


def tool_ids(state: Any) -> list[str]:
    return [m.id for m in state.values["messages"] if isinstance(m, ToolMessage)]


def check_finished_once(settings: Settings, thread: str, before: Any) -> None:
    """The resumed thread: the steps done before the stop kept as they were, one answer."""
    checkpoints, after = thread_history(settings, thread)
    assert not resumable(after)
    assert after.values["answer"] is not None
    kept = before.values["messages"]
    assert [m.id for m in after.values["messages"][: len(kept)]] == [m.id for m in kept]
    assert tool_ids(after)[: len(tool_ids(before))] == tool_ids(before)
    assert answered_once(after.values["messages"]) == [QUESTION]
    assert_linear(checkpoints)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("signame", list(SIGNALS))
def test_cli_run_stopped_by_a_signal_is_finished_by_resume(
    signame: str, point: str, milvus: str, tmp_path: Path
) -> None:
    thread = f"cli-{signame}-{point}"
    env = env_for(tmp_path, milvus, point)
    settings = Settings(data_dir=tmp_path / "ra")
    with model_for(point) as (options, wire, release):
        proc = stall_run("cli", ["ask", "--thread", thread, *options, QUESTION], env, tmp_path)
        try:
            wait_until_stalled(point, wire, tmp_path / "marker", proc)
            started = time.monotonic()
            proc.send_signal(SIGNALS[signame])
            _, err = proc.communicate(timeout=30)
            took = time.monotonic() - started
        finally:
            (tmp_path / "go").write_text("go")
            release.set()
            if proc.poll() is None:
                proc.kill()
        if signame == "SIGKILL":
            assert proc.returncode == -signal.SIGKILL
        else:
            assert proc.returncode == 130, err
            assert err.strip().splitlines()[-1] == f"interrupted: {interrupted(thread)}"
            assert took < GRACE_SECONDS + 2  # a stalled node does not hold the exit
        _, before = thread_history(settings, thread)
        assert resumable(before)  # the thread knows its run is unfinished
        with pytest.raises(UnfinishedRunError, match=f"resume --thread {thread}`"):
            api.ask("Anything else?", thread_id=thread, data_dir=settings.data_dir)

        res = run_cli("resume", "--thread", thread, *options, env=env, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert "status: " in res.stdout  # an answer, whatever its verdict
    check_finished_once(settings, thread, before)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("how", ["KeyboardInterrupt", "cancel", "SIGKILL"])
def test_api_run_stopped_is_finished_by_resume(
    how: str, point: str, milvus: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread = f"api-{how}-{point}"
    env = env_for(tmp_path, milvus, point)
    settings = Settings(data_dir=tmp_path / "ra")
    with model_for(point) as (options, wire, release):
        flags = dict(zip(options[::2], options[1::2], strict=True))
        if "--provider" in flags:
            env["RESEARCH_AGENT_PROVIDER"] = "offline"
        else:
            env.update(RESEARCH_AGENT_BASE_URL=flags["--base-url"], RESEARCH_AGENT_MODEL=MODEL)
        mode = "cancel" if how == "cancel" else "api"
        proc = stall_run(mode, [thread, QUESTION], env, tmp_path)
        try:
            if how != "cancel":
                wait_until_stalled(point, wire, tmp_path / "marker", proc)
                proc.send_signal(signal.SIGINT if how == "KeyboardInterrupt" else signal.SIGKILL)
            elif wire is not None:
                wait_until_stalled(point, wire, tmp_path / "marker", proc)
            else:
                wait_for_file(tmp_path / "marker", proc)
            time.sleep(0.2)
            (tmp_path / "go").write_text("go")  # what waits in a worker thread may end now
            release.set()
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        if how == "KeyboardInterrupt":
            assert proc.returncode == 130, err
            assert out.strip() == f"RunInterrupted: {interrupted(thread)}"
        elif how == "cancel":
            assert proc.returncode == 0, err
            assert out.strip() == f"CancelledError: {interrupted(thread)}"
        else:
            assert proc.returncode == -signal.SIGKILL
        _, before = thread_history(settings, thread)
        assert resumable(before)

        monkeypatch.chdir(tmp_path)
        for key in ("RESEARCH_AGENT_PROVIDER", "RESEARCH_AGENT_BASE_URL", "RESEARCH_AGENT_MODEL"):
            if key in env:
                monkeypatch.setenv(key, env[key])
        answer = api.resume(thread, data_dir=tmp_path / "ra", milvus_uri=milvus)
        assert answer.answer
    check_finished_once(settings, thread, before)
