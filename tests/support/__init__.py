"""Test doubles and helpers shared by the tests."""

from __future__ import annotations

from pathlib import Path

WIRE = Path(__file__).parents[1] / "fixtures" / "wire" / "gptoss"
"""Recorded gpt-oss traffic, copied from ../shared/wire/gptoss (SOURCES.md names each file)."""


def shared_path() -> Path | None:
    """The `shared` folder beside the project root (../shared), or None when absent."""
    path = Path(__file__).parents[2].parent / "shared"
    return path if path.is_dir() else None


def wire_path(*parts: str) -> Path:
    """A recorded file under tests/fixtures/wire/gptoss/ (part of the repository)."""
    path = WIRE.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"recording {path} is missing; see {WIRE / 'SOURCES.md'}")
    return path
