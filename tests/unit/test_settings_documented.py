"""Every setting a user can set is in docs/configuration.md's tables, under its env name."""

from __future__ import annotations

import re
from pathlib import Path

from agent.settings import Settings

CONFIGURATION = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def documented() -> set[str]:
    """The env names that head a row of a settings table."""
    text = CONFIGURATION.read_text(encoding="utf-8")
    return set(re.findall(r"^\| `(RESEARCH_AGENT_[A-Z0-9_]+)` \|", text, flags=re.MULTILINE))


def test_every_setting_has_a_row() -> None:
    names = {f"RESEARCH_AGENT_{field.upper()}" for field in Settings.model_fields}
    assert names - documented() == set()


def test_every_row_is_a_setting() -> None:
    names = {f"RESEARCH_AGENT_{field.upper()}" for field in Settings.model_fields}
    assert documented() - names == set()
