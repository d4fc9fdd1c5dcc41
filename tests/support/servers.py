"""`milvus-lite server` for the tests: one way to start it, and one tiny-corpus server per session.

Starting a server and ingesting into it costs seconds on a loaded 2-core machine, so tests
that only read the tiny corpus share `tiny_lite_server` (session scope) instead of each
module starting its own.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent import documents
from agent.settings import Settings
from tests.support.faults import TINY_DOCS
from tests.support.foundation import MILVUS_LITE, clean_env, free_port, stop_process, wait_for_port
from tests.support.isolation import isolated
from tools.store import close_stores


def start_milvus_lite(data: Path, port: int, timeout: float = 30.0) -> subprocess.Popen[bytes]:
    """Start `milvus-lite server` on 127.0.0.1:port with its data in `data`; wait until it listens.

    Started again on the same folder, it serves the same data (the restart tests rely on it).
    """
    argv = ["server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [str(MILVUS_LITE), *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    try:
        wait_for_port(port, proc, timeout=timeout)
    except BaseException:
        stop_process(proc)
        raise
    return proc


@contextmanager
def milvus_lite_server(data: Path, port: int = 0, timeout: float = 30.0) -> Iterator[str]:
    """A running `milvus-lite server` with its data in `data`; yields its http:// URI.

    At exit this process's store clients are closed, then the server is stopped.
    """
    port = port or free_port()
    proc = start_milvus_lite(data, port, timeout)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        close_stores()
        stop_process(proc)


def ingest_tiny_corpus(uri: str, folder: Path) -> None:
    """Write TINY_DOCS under folder/docs and ingest them through `uri` (state in folder/ingest)."""
    docs = folder / "docs"
    for source, text in TINY_DOCS.items():
        (docs / source).parent.mkdir(parents=True, exist_ok=True)
        (docs / source).write_text(text, encoding="utf-8")
    report = documents.ingest([docs], Settings(milvus_uri=uri, data_dir=folder / "ingest"))
    assert report.new == len(TINY_DOCS), report
    close_stores()


@pytest.fixture(scope="session")
def tiny_lite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `milvus-lite server` holding TINY_DOCS in the default collection, for the session.

    For tests that only read it (ask, search); a test that writes starts its own server.
    """
    folder = tmp_path_factory.mktemp("tiny-lite")
    with milvus_lite_server(folder / "lite") as uri:
        with isolated():  # session fixtures run before each test's own isolation
            ingest_tiny_corpus(uri, folder)
        yield uri
