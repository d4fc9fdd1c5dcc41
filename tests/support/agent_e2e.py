"""Helpers for the agent's integration and end-to-end tests: a tiny corpus, CLI env, servers."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.foundation import PROJECT_ROOT, RESEARCH_AGENT, VENV_BIN, clean_env, free_port

# Two short documents; line numbers matter (tests cite them), so keep them exact.
HERON = (
    "# Heron storage engine\n"  # L1
    "\n"  # L2
    "The Heron storage engine keeps every table in append-only segment files.\n"  # L3
    "Segments are sealed once they reach 512 megabytes.\n"  # L4
    "Sealed segments are compacted every night at 02:00 UTC.\n"  # L5
    "\n"  # L6
    "## Retention\n"  # L7
    "\n"  # L8
    "Heron keeps deleted rows for seven days before compaction removes them.\n"  # L9
)
OSPREY = (
    "# Osprey query planner\n"
    "\n"
    "The Osprey planner turns SQL into a tree of operators.\n"
    "It was written by the Heron storage team in 2019.\n"
    "Osprey caches plans for ten minutes.\n"
)
QUESTION = "When are Heron segments compacted?"


def write_corpus(folder: Path) -> Path:
    """Write the two-document corpus into folder/corpus and return that folder."""
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "heron.md").write_text(HERON, encoding="utf-8")
    (corpus / "osprey.md").write_text(OSPREY, encoding="utf-8")
    return corpus


def file_lines(path: Path, first: int, last: int) -> str:
    """Lines first..last (1-based, inclusive) of a file, joined by newlines."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return "\n".join(lines[first - 1 : last])


def agent_env(data_dir: Path, collection: str = "e2e", **extra: str) -> dict[str, str]:
    """Subprocess environment pointing the product at a tmp data folder and Lite database."""
    return clean_env(
        RESEARCH_AGENT_DATA_DIR=str(data_dir),
        RESEARCH_AGENT_MILVUS_URI=str(data_dir / "milvus.db"),
        RESEARCH_AGENT_COLLECTION=collection,
        NO_COLOR="1",
        **extra,
    )


def run_agent(
    *args: str, env: dict[str, str], cwd: Path, stdin: str = "", timeout: float = 90.0
) -> subprocess.CompletedProcess[str]:
    """Run the installed `research-agent` with text on stdin; capture stdout and stderr."""
    return subprocess.run(
        [str(RESEARCH_AGENT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def closed_port_url() -> str:
    """A /v1 base URL on 127.0.0.1 where nothing listens."""
    return f"http://127.0.0.1:{free_port()}/v1"


@contextmanager
def langgraph_dev(
    env: dict[str, str], log: Path, timeout: float = 90.0, config: Path | None = None
) -> Iterator[str]:
    """Run `langgraph dev` for the project in its own process group; yield its URL.

    `config` replaces the project's langgraph.json (e.g. a copy with more keys).

    The whole group is stopped at exit (the CLI starts a uvicorn child), even when the
    test body fails or the server never came up. The server keeps its state in the
    project's .langgraph_api/, so one runs at a time: `make test`'s parallel workers wait
    for each other here.
    """
    with _project_lock():
        yield from _serve(env, log, timeout, config)


@contextmanager
def _project_lock() -> Iterator[None]:
    """Hold an exclusive lock on .langgraph_api/tests.lock of the project (blocks until free)."""
    folder = PROJECT_ROOT / ".langgraph_api"
    folder.mkdir(exist_ok=True)
    with (folder / "tests.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _serve(env: dict[str, str], log: Path, timeout: float, config: Path | None) -> Iterator[str]:
    port = free_port()
    command = [
        str(VENV_BIN / "langgraph"),
        "dev",
        "--no-browser",
        "--no-reload",
        "--port",
        str(port),
        "--config",
        str(config or PROJECT_ROOT / "langgraph.json"),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ok(url, proc, log, timeout)
        yield url
    finally:
        _stop_group(proc)


def _wait_ok(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"langgraph dev exited with {proc.returncode}:\n{tail}")
        try:
            if httpx.get(f"{url}/ok", timeout=1.0, trust_env=False).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    tail = log.read_text(errors="replace")[-2000:]
    raise TimeoutError(f"langgraph dev did not answer /ok within {timeout} s:\n{tail}")


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group this helper started, then SIGKILL it if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    try:  # children (uvicorn workers) may outlive the leader
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
