"""Fixtures shared by all tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.ingested import faq_lite, ingested_copies  # noqa: F401
from tests.support.isolation import isolate
from tests.support.servers import tiny_lite_server  # noqa: F401
from tests.support.wire_server import wire_server  # noqa: F401


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sees built-in defaults: no RESEARCH_AGENT_* variable, key or .env of the user.

    Tests that need a setting set it themselves. Subprocesses inherit the cleaned
    environment, so the CLI and `langgraph dev` started by tests are isolated too.
    """
    isolate(monkeypatch)
    yield
