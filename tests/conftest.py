"""Fixtures shared by all tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from agent.llm.servers.providers import PRESETS
from agent.settings import ENV_FILE_VARIABLE
from tests.support.wire_server import wire_server  # noqa: F401

KEY_VARIABLES = {p.api_key_env for p in PRESETS.values() if p.api_key_env}
"""Provider API keys the product reads (OPENAI_API_KEY, OPENROUTER_API_KEY)."""


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sees built-in defaults: no RESEARCH_AGENT_* variable, key or .env of the user.

    Tests that need a setting set it themselves. Subprocesses inherit the cleaned
    environment, so the CLI and `langgraph dev` started by tests are isolated too.
    """
    for name in list(os.environ):
        if name.startswith("RESEARCH_AGENT_") or name in KEY_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.setenv(ENV_FILE_VARIABLE, "")  # read no .env (empty: none)
    yield
