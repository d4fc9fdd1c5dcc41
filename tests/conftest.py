"""Fixtures shared by all tests."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.support.file_costs import heaviest_first, load_costs
from tests.support.ingested import faq_lite, ingested_copies  # noqa: F401
from tests.support.isolation import isolate
from tests.support.servers import tiny_lite_server  # noqa: F401
from tests.support.wire_server import wire_server  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C as a terminal gives it, whatever started the suite.

    A shell running a job in the background without job control starts it with SIGINT
    ignored, and an ignored signal stays ignored across exec: every CLI process the
    tests interrupt with SIGINT would then carry on instead of stopping (three signal
    tests failed so). A process that handles SIGINT passes SIG_DFL to its children
    instead, and Python turns that into KeyboardInterrupt.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a pytest-xdist worker, heaviest files first (tests/support/file_costs.py).

    Every worker collects the same order, as xdist requires; a run without workers keeps
    pytest's order.
    """
    if hasattr(config, "workerinput"):
        items[:] = heaviest_first(items, load_costs())


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sees built-in defaults: no RESEARCH_AGENT_* variable, key or .env of the user.

    Tests that need a setting set it themselves. Subprocesses inherit the cleaned
    environment, so the CLI and `langgraph dev` started by tests are isolated too.
    """
    isolate(monkeypatch)
    yield
