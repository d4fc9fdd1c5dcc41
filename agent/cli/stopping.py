"""Ctrl-C and SIGTERM stop a command the same way, and within a bounded time.

SIGTERM (what `docker stop` and systemd send) raises KeyboardInterrupt like Ctrl-C, so
every command's own Ctrl-C handling covers it. While a node runs in LangGraph's worker
thread (a streamed model turn, a tool call), the main thread, once interrupted, still waits
for that node to end, and a model server that stalls can make that wait long. So during a
run of the agent (`arm`), the first signal also starts a timer: if the process is still
alive `GRACE_SECONDS` later, it prints the run's interrupted line and ends at once. Every
step a run writes is a committed database transaction, so ending then is as safe as a
kill, which the thread resumes from.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

GRACE_SECONDS = 3.0
"""How long an interrupted command may take to wind down before it is ended."""
EXIT_CODE = 130

_state: dict[str, object] = {"line": "", "timer": None, "said": False, "armed": False}


def install(default_line: str) -> tuple[Any, Any]:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt and arm the hard stop.

    Returns:
        The handlers it replaced, for `restore` (the CLI can run inside another program).
    """
    _state.update(line=default_line, timer=None, said=False, armed=False)
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


def arm(line: str | None = None) -> None:
    """From now on a signal ends the process `GRACE_SECONDS` later at the latest.

    Args:
        line: What to print then; None keeps the line given to `install`.
    """
    _state["armed"] = True
    if line is not None:
        _state["line"] = line


def said() -> None:
    """The command printed its interrupted line itself: the hard stop stays silent."""
    _state["said"] = True


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _state["armed"] and _state["timer"] is None:
        timer = threading.Timer(GRACE_SECONDS, _hard_stop)
        timer.daemon = True
        timer.start()
        _state["timer"] = timer
    raise KeyboardInterrupt


def _hard_stop() -> None:
    if not _state["said"]:
        sys.stderr.write(f"{_state['line']}\n")
        sys.stderr.flush()
    os._exit(EXIT_CODE)
