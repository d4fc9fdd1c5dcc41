"""The environment every test starts from: built-in settings, no user's variables, keys or .env."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent.llm.servers.providers import PRESETS
from agent.settings import ENV_FILE_VARIABLE

KEY_VARIABLES = {p.api_key_env for p in PRESETS.values() if p.api_key_env}
"""Provider API keys the product reads (OPENAI_API_KEY, OPENROUTER_API_KEY)."""


def isolate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every RESEARCH_AGENT_* variable and provider key; read no .env file."""
    for name in list(os.environ):
        if name.startswith("RESEARCH_AGENT_") or name in KEY_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.setenv(ENV_FILE_VARIABLE, "")  # read no .env (empty: none)


@contextmanager
def isolated() -> Iterator[None]:
    """`isolate` for code outside a test, such as a session fixture building shared data."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(monkeypatch)
        yield


@pytest.fixture
def data_dir_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The product's data folder (RESEARCH_AGENT_DATA_DIR) in the test's tmp_path."""
    monkeypatch.setenv("RESEARCH_AGENT_DATA_DIR", str(tmp_path))
