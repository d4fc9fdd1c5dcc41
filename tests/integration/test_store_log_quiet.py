"""A new Lite collection logs no gRPC server traceback where logging is configured."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.faults import tiny_lite
from tools.store import close_stores
from tools.store.connect import UnimplementedCallFilter


def server_tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "grpc._server" and r.exc_info]


def test_a_new_collection_logs_no_unimplemented_method_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # as `langgraph dev` or an app's basicConfig would
    try:
        tiny_lite(tmp_path / "quiet")
    finally:
        close_stores()
    assert server_tracebacks(caplog) == []


def test_without_the_filter_the_same_ingest_logs_tracebacks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: Milvus Lite still lacks AllocTimestamp (else the filter can go)."""
    server_log = logging.getLogger("grpc._server")
    ours = [f for f in server_log.filters if isinstance(f, UnimplementedCallFilter)]
    monkeypatch.setattr("tools.store.connect.drop_unimplemented_tracebacks", lambda: None)
    caplog.set_level(logging.INFO)
    try:
        for f in ours:
            server_log.removeFilter(f)
        tiny_lite(tmp_path / "noisy")
    finally:
        close_stores()
        for f in ours:
            server_log.addFilter(f)
    found = server_tracebacks(caplog)
    assert found, "no traceback without the filter: Lite may implement AllocTimestamp now"
    assert all(r.exc_info and isinstance(r.exc_info[1], NotImplementedError) for r in found)
