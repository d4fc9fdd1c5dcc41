"""Ctrl-C and SIGTERM stop a command the same way, and within a bounded time.

SIGTERM (what `docker stop` and systemd send) raises KeyboardInterrupt like Ctrl-C, so
every command's own Ctrl-C handling covers it. While a node runs in LangGraph's worker
thread (a streamed model turn, a tool call), the main thread, once interrupted, still waits
for that node to end, and a model server that stalls can make that wait long. So during a
run of the agent (`arm`), the first signal also starts a timer: if the process is still
alive `GRACE_SECONDS` later, it prints the run's interrupted line and ends at once. Every
step a run writes is a committed database transaction, so ending then is as safe as a
kill, which the thread resumes from. An ingest arms it with a shorter grace: every batch
it wrote is flushed and chunk ids are deterministic, so a kill loses nothing, and neither
a Milvus call that does not return nor Milvus Lite's own close (which waits for its
background compaction and index build) may hold Ctrl-C for more than a second.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

GRACE_SECONDS = 3.0
"""How long an interrupted command may take to wind down before it is ended."""
EXIT_CODE = 130

Line = str | Callable[[], str]
"""The interrupted line, or how to make it when the signal comes (what was done by then)."""

_state: dict[str, object] = {
    "line": "",
    "timer": None,
    "said": False,
    "armed": False,
    "grace": GRACE_SECONDS,
}


def install(default_line: str) -> tuple[Any, Any]:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt and arm the hard stop.

    Returns:
        The handlers it replaced, for `restore` (the CLI can run inside another program).
    """
    _state.update(line=default_line, timer=None, said=False, armed=False, grace=GRACE_SECONDS)
    if threading.current_thread() is not threading.main_thread():
        return (None, None)  # only the main thread may set handlers
    return (
        signal.signal(signal.SIGINT, _on_signal),
        signal.signal(signal.SIGTERM, _on_signal),
    )


def restore(previous: tuple[Any, Any]) -> None:
    """Put back the handlers `install` replaced, and disarm the hard stop."""
    timer = _state["timer"]
    if isinstance(timer, threading.Timer):
        timer.cancel()
    _state["timer"] = None
    for signum, handler in zip((signal.SIGINT, signal.SIGTERM), previous, strict=True):
        if handler is not None:
            signal.signal(signum, handler)


def arm(line: Line | None = None, grace: float = GRACE_SECONDS) -> None:
    """From now on a signal ends the process `grace` seconds later at the latest.

    Args:
        line: What to print then (or a function making it then); None keeps the line
            given to `install`.
        grace: Seconds the command has to wind down on its own.
    """
    _state["armed"] = True
    _state["grace"] = grace
    if line is not None:
        _state["line"] = line


def said() -> None:
    """The command printed its interrupted line itself: the hard stop stays silent."""
    _state["said"] = True


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _state["armed"] and _state["timer"] is None:
        timer = threading.Timer(float(_state["grace"]), _hard_stop)  # type: ignore[arg-type]
        timer.daemon = True
        timer.start()
        _state["timer"] = timer
    raise KeyboardInterrupt


def _hard_stop() -> None:
    if not _state["said"]:
        line = _state["line"]
        sys.stderr.write(f"{line() if callable(line) else line}\n")
        sys.stderr.flush()
    os._exit(EXIT_CODE)
