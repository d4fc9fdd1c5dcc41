"""Load: `langgraph dev` with the offline policy serves 20 concurrent runs on 20 threads.

The server starts once for the module, from a langgraph.json in a temporary folder that
points at this project by absolute path (so `.langgraph_api/` is not written into the tree),
over a Milvus Lite database ingested beforehand by the CLI.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.faults import TINY_DOCS
from tests.support.foundation import (
    PROJECT_ROOT,
    VENV_BIN,
    clean_env,
    free_port,
    run_cli,
    stop_process,
    wait_for_port,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
CONCURRENT = 20
QUESTION = "Who makes the Zephyr drone?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("lgdev")
    for source, text in TINY_DOCS.items():
        (root / "docs" / source).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / source).write_text(text)
    env = clean_env(RESEARCH_AGENT_MILVUS_URI=str(root / "m.db"), RESEARCH_AGENT_PROVIDER="offline")
    done = run_cli("ingest", "docs", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    config = {
        "dependencies": [str(PROJECT_ROOT)],
        "graphs": {"research": f"{PROJECT_ROOT / 'graphs' / 'research.py'}:graph"},
        "python_version": "3.11",
    }
    (root / "langgraph.json").write_text(json.dumps(config))
    port = free_port()
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            str(VENV_BIN / "langgraph"),
            "dev",
            "--no-browser",
            "--no-reload",
            "--port",
            str(port),
            "--n-jobs-per-worker",
            str(CONCURRENT),
            "--config",
            str(root / "langgraph.json"),
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc, timeout=90)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
        log.close()


async def run_all(url: str) -> tuple[list[dict[str, Any]], list[float], float]:
    from langgraph_sdk import get_client

    client = get_client(url=url)
    threads = [await client.threads.create() for _ in range(CONCURRENT)]

    async def one(thread: dict[str, Any]) -> tuple[dict[str, Any], float]:
        started = time.monotonic()
        state = await client.runs.wait(
            thread["thread_id"], "research", input={"question": QUESTION}
        )
        return state, time.monotonic() - started

    started = time.monotonic()
    results = await asyncio.gather(*(one(t) for t in threads))
    wall = time.monotonic() - started
    return [r[0] for r in results], [r[1] for r in results], wall


def test_twenty_concurrent_runs_all_answer_correctly(server: str) -> None:
    states, latencies, wall = asyncio.run(run_all(server))
    assert len(states) == CONCURRENT
    for state in states:
        answer = state["answer"]
        assert answer["status"] == "answered", answer
        assert answer["provider"] == "offline"
        assert "Acme Robotics" in answer["answer"]
        assert any(c["source"].endswith("zephyr.md") for c in answer["citations"]), answer
    latencies.sort()
    print(
        f"\nlanggraph dev, {CONCURRENT} concurrent runs: wall {wall:.2f}s, "
        f"p50 {latencies[len(latencies) // 2]:.2f}s, max {latencies[-1]:.2f}s"
    )
    assert wall < 120


def test_the_same_threads_answer_a_follow_up(server: str) -> None:
    from langgraph_sdk import get_client

    async def follow_up() -> list[dict[str, Any]]:
        client = get_client(url=server)
        thread = await client.threads.create()
        thread_id = thread["thread_id"]
        first = await client.runs.wait(thread_id, "research", input={"question": QUESTION})
        second = await client.runs.wait(
            thread["thread_id"], "research", input={"question": "Where is its maker's office?"}
        )
        return [first, second]

    first, second = asyncio.run(follow_up())
    assert first["answer"]["status"] == "answered"
    assert "Oslo" in second["answer"]["answer"]
