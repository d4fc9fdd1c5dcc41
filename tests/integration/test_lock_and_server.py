"""Milvus Lite's one-process lock, the shared `milvus-lite server` path, and a dead server URI."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import documents
from agent.settings import Settings
from tests.support.foundation import (
    clean_env,
    free_port,
    run_cli,
    stop_process,
)
from tests.support.servers import milvus_lite_server
from tools.errors import StoreError
from tools.store import open_store

pytestmark = pytest.mark.slow  # second processes and a milvus-lite server

HOLDER = """
import sys, time
from agent.settings import Settings
from tools.store import open_store
store = open_store(Settings(milvus_uri=sys.argv[1]))
store.exists()
print("ready", flush=True)
time.sleep(120)
"""


@pytest.fixture
def held_db(tmp_path: Path) -> Iterator[Path]:
    """A Lite database held open by another process that opened the store and sleeps."""
    db = tmp_path / "held.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        yield db
    finally:
        stop_process(proc)


@pytest.mark.parametrize(
    "argv", [["search", "anything"], ["ingest", "."], ["fetch", "some/doc.md"]]
)
def test_second_process_gets_one_line_pointing_to_the_server(
    held_db: Path, tmp_path: Path, argv: list[str]
) -> None:
    env = clean_env(RESEARCH_AGENT_MILVUS_URI=str(held_db))
    res = run_cli(*argv, env=env, cwd=tmp_path, timeout=60)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"error: The Milvus Lite database {held_db} is in use")
    assert "milvus-lite server" in lines[0]
    assert "Traceback" not in res.stderr and res.stdout == ""


# -- one shared server for several processes --------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with milvus_lite_server(tmp_path_factory.mktemp("server") / "lite") as uri:
        yield uri


def test_ingest_search_fetch_through_the_server(server: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hnsw.md").write_text(
        "# HNSW\n\nHNSW builds a layered proximity graph; M sets the degree.\n", encoding="utf-8"
    )
    (docs / "ivf.md").write_text(
        "# IVF\n\nIVF clusters vectors into nlist buckets and probes nprobe.\n", encoding="utf-8"
    )
    settings = Settings(milvus_uri=server, collection="served", data_dir=tmp_path / ".ra")
    assert not settings.is_lite()
    first = documents.ingest([docs], settings)
    assert (first.new, first.chunks_written, first.skipped) == (2, 2, [])

    result = documents.search("layered proximity graph degree", k=2, settings=settings)
    assert Path(result.hits[0].source).name == "hnsw.md"
    window = documents.fetch(result.hits[0].doc_id, start_line=3, num_lines=1, settings=settings)
    assert window.lines == ["HNSW builds a layered proximity graph; M sets the degree."]
    assert (window.start_line, window.end_line, window.total_lines) == (3, 3, 3)

    ids = set(open_store(settings).chunk_ids(result.hits[0].doc_id))
    again = documents.ingest([docs], settings)
    assert (again.new, again.changed, again.unchanged, again.chunks_written) == (0, 0, 2, 0)
    assert set(open_store(settings).chunk_ids(result.hits[0].doc_id)) == ids
    assert open_store(settings).count() == 2

    # the point of the server: another process uses the same data while this one is connected
    res = run_cli(
        "search", "nlist buckets", "--json", "-c", "served", "--milvus-uri", server, timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert '"source": "' in res.stdout and "ivf.md" in res.stdout


def test_a_uri_that_does_not_answer_is_one_line_error() -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(StoreError) as err:
        open_store(Settings(milvus_uri=uri))
    elapsed = time.monotonic() - t0
    msg = str(err.value)
    assert elapsed < 30, elapsed
    assert "\n" not in msg
    assert msg.startswith(f"Milvus at {uri} does not answer")
    assert "RESEARCH_AGENT_MILVUS_URI" in msg


def test_cli_with_a_dead_uri_exits_1_without_traceback(tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    res = run_cli("search", "x", "--milvus-uri", uri, cwd=tmp_path, timeout=60)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [res.stderr.strip()]
    assert res.stderr.startswith(f"error: Milvus at {uri} does not answer")
    assert "Traceback" not in res.stderr
