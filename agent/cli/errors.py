"""Exceptions the commands raise for `main` to turn into one line and an exit code."""

from __future__ import annotations


class Interrupted(Exception):
    """Ctrl-C, with a command's own word on what was kept and how to go on (exit 130).

    Typer turns a bare KeyboardInterrupt into exit 130 before `main` sees it, so a command
    with something specific to say raises this instead.
    """
