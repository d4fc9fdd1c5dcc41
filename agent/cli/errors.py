"""Exceptions the commands raise for `main` to turn into one line and an exit code."""

from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn


class Interrupted(Exception):
    """Ctrl-C, with a command's own word on what was kept and how to go on (exit 130).

    Typer turns a bare KeyboardInterrupt into exit 130 before `main` sees it, so a command
    with something specific to say raises this instead.
    """


class IngestInterrupted(Interrupted):
    """Ctrl-C during an ingest: the process ends at once, after the exit handlers.

    Everything written is flushed batch by batch and Milvus Lite closes its file in its
    exit handler; what is skipped is finishing embedding requests nobody will write and
    collecting a large heap (seconds on 2 busy cores).
    """


def exit_now(code: int) -> NoReturn:
    """Run the exit handlers, flush the output and end the process without finalization."""
    atexit._run_exitfuncs()  # Milvus Lite's release_all: the database file is closed cleanly
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
