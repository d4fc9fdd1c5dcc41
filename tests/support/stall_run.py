"""A research-agent run (CLI or Python API) that stops at a chosen point until told to go on.

The interruption tests start this as a process, wait for its marker file, signal it (or,
for asyncio, let it cancel itself), then write the go file so that whatever still waits in
a worker thread can end:

    STALL_POINT=between  after the checkpoint of step 3 (the first tool step) is written
    STALL_POINT=tool     inside the first fetch_doc call
    STALL_POINT=none     no patch (the model server stalls instead: a gated wire reply)

    python -m tests.support.stall_run cli ARGS...          research-agent ARGS
    python -m tests.support.stall_run api THREAD QUESTION  agent.api.stream on the thread
    python -m tests.support.stall_run cancel THREAD QUESTION  agent.api.astream, cancelled
                                                           once the marker is written
Environment: STALL_MARKER, STALL_GO (paths); the API modes read RESEARCH_AGENT_* options.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

import tools.fetch
from agent import api
from agent.cli.app import main

MARKER = Path(os.environ.get("STALL_MARKER", "/nonexistent/marker"))
GO = Path(os.environ.get("STALL_GO", "/nonexistent/go"))
PAUSE_STEP = 3
state = {"fetches": 0}


def _mark_and_wait() -> None:
    MARKER.write_text("stalled")
    deadline = time.monotonic() + 60
    while not GO.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


async def _amark_and_wait() -> None:
    MARKER.write_text("stalled")
    deadline = time.monotonic() + 60
    while not GO.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


def _patch_between() -> None:
    real_put, real_aput = SqliteSaver.put, AsyncSqliteSaver.aput

    def put(self: Any, config: Any, checkpoint: Any, metadata: Any, versions: Any) -> Any:
        saved = real_put(self, config, checkpoint, metadata, versions)
        if metadata.get("step") == PAUSE_STEP:
            _mark_and_wait()
        return saved

    async def aput(self: Any, config: Any, checkpoint: Any, metadata: Any, versions: Any) -> Any:
        saved = await real_aput(self, config, checkpoint, metadata, versions)
        if metadata.get("step") == PAUSE_STEP:
            await _amark_and_wait()
        return saved

    SqliteSaver.put = put  # type: ignore[method-assign]
    AsyncSqliteSaver.aput = aput  # type: ignore[method-assign]
    try:
        # lazy: the optional [postgres] extra, patched when it is installed
        from langgraph.checkpoint.postgres import PostgresSaver
    except ImportError:
        return
    real_pg_put = PostgresSaver.put

    def pg_put(self: Any, config: Any, checkpoint: Any, metadata: Any, versions: Any) -> Any:
        saved = real_pg_put(self, config, checkpoint, metadata, versions)
        if metadata.get("step") == PAUSE_STEP:
            _mark_and_wait()
        return saved

    PostgresSaver.put = pg_put  # type: ignore[method-assign]


def _patch_tool() -> None:
    real = tools.fetch.run_fetch

    def run_fetch(*args: Any, **kwargs: Any) -> Any:
        state["fetches"] += 1
        if state["fetches"] == 1:
            _mark_and_wait()
        return real(*args, **kwargs)

    tools.fetch.run_fetch = run_fetch


def _run_api(thread: str, question: str) -> None:
    try:
        for _ in api.stream(question, thread_id=thread):
            pass
    except KeyboardInterrupt as exc:
        print(f"{type(exc).__name__}: {exc}", flush=True)
        sys.exit(130)
    print("finished", flush=True)


async def _consume(thread: str, question: str) -> None:
    async for _ in api.astream(question, thread_id=thread):
        pass


async def _run_cancelled(thread: str, question: str) -> None:
    task = asyncio.create_task(_consume(thread, question))
    while not MARKER.exists() and not task.done():
        await asyncio.sleep(0.02)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError as exc:
        print(f"CancelledError: {' '.join(getattr(exc, '__notes__', []))}", flush=True)
        return
    print("finished", flush=True)


def run(argv: list[str]) -> None:
    """Patch the chosen point and run the chosen front end."""
    point = os.environ.get("STALL_POINT", "none")
    if point == "between":
        _patch_between()
    elif point == "tool":
        _patch_tool()
    mode, rest = argv[0], argv[1:]
    if mode == "cli":
        sys.argv = ["research-agent", *rest]
        main()
    elif mode == "api":
        _run_api(*rest)
    else:
        asyncio.run(_run_cancelled(*rest))
        sys.stdout.flush()
        os._exit(0)  # a tool still waiting in a worker thread would hold the exit


if __name__ == "__main__":
    run(sys.argv[1:])
