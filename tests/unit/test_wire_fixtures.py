"""The recorded gpt-oss traffic the chat model's tests replay lives in this repository."""

from __future__ import annotations

import re

import pytest

from tests.support import WIRE, shared_path


def test_every_recording_names_its_source() -> None:
    listed = set(re.findall(r"^- `([^`]+)`: \S", (WIRE / "SOURCES.md").read_text(), re.M))
    files = {p.relative_to(WIRE).as_posix() for p in WIRE.rglob("*") if p.is_file()}
    assert listed == files - {"SOURCES.md"}


@pytest.mark.shared
def test_the_copy_matches_shared() -> None:
    """A recording added to or changed in ../shared/wire/gptoss must be copied here too."""
    shared = shared_path()
    if shared is None:
        pytest.skip("../shared is not beside the project (the copy here is what tests use)")
    origin = shared / "wire" / "gptoss"
    for path in origin.rglob("*"):
        if path.is_file():
            copy = WIRE / path.relative_to(origin)
            assert copy.read_bytes() == path.read_bytes(), copy
