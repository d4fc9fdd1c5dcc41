"""Opening a Milvus client for the settings, with one clear error per way it fails.

pymilvus directly: langchain-milvus opens its own MilvusClient (and an AsyncMilvusClient)
per vector store object and reports none of these failures in words a user can act on.
pymilvus is imported inside the functions: it costs about 0.5 s (benchmarks/cold_start.py)
and `research-agent --help`, `doctor` without a store, and the graph's import need none of it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pymilvus import MilvusClient, MilvusException

from agent.settings import Settings
from tools.errors import StoreError
from tools.store.lite import lite_locked, lock_message

if TYPE_CHECKING:
    from pymilvus import MilvusClient

_NOISY_LOGGERS = ("milvus_lite", "pymilvus")

# pymilvus keeps pinging an idle channel (keepalive_permit_without_calls). A gRPC server left
# at its defaults, as `milvus-lite server` and the Lite file's own in-process server are,
# counts each ping on an idle connection as a strike and after the third sends GOAWAY
# "too_many_pings" (measured against `milvus-lite server`: after 130 s idle with pymilvus's
# options; none in 330 s with these).
# A long-lived process (Studio, the MCP server, a test session) could then fail its next
# call with "Too many pings". Pinging only while a call is open keeps the dead-peer check
# where it matters and sends nothing the server counts against us.
CHANNEL_OPTIONS: dict[str, int | bool] = {"grpc.keepalive_permit_without_calls": False}


class UnimplementedCallFilter(logging.Filter):
    """Drops gRPC's server-side traceback for a method Milvus Lite does not implement.

    Lite's server runs in this process; pymilvus calls AllocTimestamp while it waits for a new
    index and ignores the UNIMPLEMENTED answer, but gRPC's server logs the servicer's
    NotImplementedError with a traceback first (twice per new collection), which reaches the
    terminal wherever logging is configured (`langgraph dev`, the MCP server, a Python app).
    Only that record is dropped; every other server error still logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for the servicer's NotImplementedError; True for every other record."""
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, NotImplementedError) and str(exc) == "Method not implemented!")


def drop_unimplemented_tracebacks() -> None:
    """Install UnimplementedCallFilter on gRPC's server logger (once)."""
    server_log = logging.getLogger("grpc._server")
    if not any(isinstance(f, UnimplementedCallFilter) for f in server_log.filters):
        server_log.addFilter(UnimplementedCallFilter())


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence library loggers that print tracebacks meant for their own developers."""
    saved = [(lg, lg.level) for lg in map(logging.getLogger, _NOISY_LOGGERS)]
    for lg, _ in saved:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in saved:
            lg.setLevel(level)


@contextlib.contextmanager
def answering(uri: str) -> Iterator[None]:
    """A read on a Milvus that stops answering mid-run: one StoreError, quietly.

    pymilvus retries a lost server for seconds, logging a traceback each time, then
    raises; the user gets one line naming the server instead.
    """
    try:
        with quiet():
            yield
    except MilvusException as exc:
        raise StoreError(
            f"Milvus at {uri} failed ({exc.message}). Check that the server is running and "
            "answering (`research-agent doctor`)."
        ) from exc


def connect(settings: Settings) -> MilvusClient:
    """A client for the settings' Milvus (Lite file, server or Zilliz Cloud)."""
    # pymilvus sets its own logger level on import and then warns on every query_iterator
    # against Lite ("failed to get mvccTs"); users need none of it.
    logging.getLogger("pymilvus").setLevel(logging.ERROR)
    uri = settings.resolved_milvus_uri()
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    path = Path(uri)
    if settings.is_lite():
        drop_unimplemented_tracebacks()
        path.parent.mkdir(parents=True, exist_ok=True)
        if lite_locked(path):
            raise StoreError(lock_message(path))
    try:
        with quiet():
            return MilvusClient(
                uri=uri, token=token, timeout=10, grpc_options=dict(CHANNEL_OPTIONS)
            )
    except MilvusException as exc:
        if not settings.is_lite():
            raise StoreError(
                f"Milvus at {uri} does not answer ({exc.message}). Check that the "
                "server is running and the URI/token are right (RESEARCH_AGENT_MILVUS_URI)."
            ) from exc
        if lite_locked(path):
            raise StoreError(lock_message(path)) from exc
        raise StoreError(
            f"Milvus Lite could not open {path} ({exc.message}). If the folder is damaged, "
            "move it aside (nothing is deleted) and run `research-agent ingest` again."
        ) from exc
