"""Store faults not covered elsewhere: a damaged Lite folder, and store errors seen by `ask`.

Each is one line saying what to do, and nothing on disk is deleted or overwritten.
(Locks, a dead server URI, a missing collection and an embedder mismatch at the store
level are in test_lock_and_server.py and test_store_ingest.py.)
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.support.faults import TINY_DOCS
from tests.support.foundation import clean_env, run_cli
from tests.support.ingested import IngestedCopies

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]  # each test runs the CLI


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def ingest_flat_docs(folder: Path) -> None:
    """TINY_DOCS flat in folder/docs, ingested by the CLI into the Lite database folder/m.db."""
    (folder / "docs").mkdir()
    for name, text in TINY_DOCS.items():
        (folder / "docs" / Path(name).name).write_text(text)
    env = clean_env(RESEARCH_AGENT_MILVUS_URI=str(folder / "m.db"))
    done = run_cli("ingest", "docs", env=env, cwd=folder)
    assert done.returncode == 0, done.stderr


def ingested(tmp_path: Path, copies: IngestedCopies) -> tuple[Path, dict[str, str]]:
    """A Lite database built by another process (this one never holds its lock): a copy."""
    copies.copy_into(tmp_path, ingest_flat_docs)
    db = tmp_path / "m.db"
    return db, clean_env(RESEARCH_AGENT_MILVUS_URI=str(db))


def test_a_file_where_the_lite_folder_was_is_one_line_and_is_not_touched(
    tmp_path: Path, ingested_copies: IngestedCopies
) -> None:
    db, env = ingested(tmp_path, ingested_copies)
    shutil.rmtree(db)
    db.write_bytes(b"\x00not a milvus database\x00")
    before = hashlib.sha1(db.read_bytes()).hexdigest()
    done = run_cli("search", "zephyr", env=env, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert str(db) in line and ("move it aside" in line or "ingest" in line), line
    assert db.is_file() and hashlib.sha1(db.read_bytes()).hexdigest() == before


def test_ask_without_a_collection_says_to_ingest(tmp_path: Path) -> None:
    env = clean_env(RESEARCH_AGENT_DATA_DIR=str(tmp_path / "ra"))
    done = run_cli(
        "ask", "Who makes the Zephyr drone?", "--provider", "offline", env=env, cwd=tmp_path
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: No collection 'research_agent' at {tmp_path / 'ra' / 'milvus.db'}. "
        "Run `research-agent ingest PATH` first."
    ], done.stderr
    assert "Traceback" not in done.stderr


def test_search_with_another_embedder_names_the_one_that_built_it(
    tmp_path: Path, ingested_copies: IngestedCopies
) -> None:
    db, env = ingested(tmp_path, ingested_copies)
    before = snapshot(db)
    env = {
        **env,
        "RESEARCH_AGENT_EMBEDDER": "openai",
        "RESEARCH_AGENT_EMBEDDING_BASE_URL": "http://127.0.0.1:9/v1",
    }
    done = run_cli("search", "zephyr", env=env, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert "all-MiniLM-L6-v2" in line or "embeddings endpoint" in line, line
    assert set(snapshot(db)) >= set(before)  # no file of the database was removed
