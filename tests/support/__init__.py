"""Test doubles and helpers shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest


def shared_path() -> Path | None:
    """The `shared` folder beside the project root (../shared), or None when absent."""
    path = Path(__file__).parents[2].parent / "shared"
    return path if path.is_dir() else None


def wire_path(*parts: str) -> Path:
    """A file under ../shared/wire/gptoss/; skips the calling test when it is absent."""
    root = shared_path()
    if root is None:
        pytest.skip("../shared (recorded gpt-oss wire traffic) is not beside the project")
    path = root.joinpath("wire", "gptoss", *parts)
    if not path.exists():
        pytest.skip(f"recording {path} is missing from ../shared")
    return path
