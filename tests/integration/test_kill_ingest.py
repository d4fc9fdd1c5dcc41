"""An ingest killed with SIGKILL at random points and re-run ends exactly like a clean ingest."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.foundation import RESEARCH_AGENT, clean_env, shared_corpus
from tools.discover import Walker
from tools.store import close_stores, open_store

pytestmark = [pytest.mark.shared, pytest.mark.slow]
SUBSET = 14  # 467 chunks at the default 200 tokens: two write batches of up to 256
SEED = 20240611


def copy_subset(root: Path, dest: Path, n: int) -> None:
    """Every len/n-th supported file of the corpus (sorted), same relative paths."""
    files = Walker().walk([root]).files
    step = len(files) / n
    for i in range(n):
        f = files[int(i * step)]
        target = dest / f.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)


def ingest_cmd(db: Path) -> list[str]:
    return [str(RESEARCH_AGENT), "ingest", "corpus", "--json", "--milvus-uri", str(db)]


def ids_and_count(db: Path) -> tuple[list[str], int]:
    from agent.settings import Settings

    store = open_store(Settings(milvus_uri=str(db)))
    ids = [i for doc_id in store.doc_states() for i in store.chunk_ids(doc_id)]
    return ids, store.count()


def test_killed_ingest_converges_to_the_clean_result(tmp_path: Path) -> None:
    """A deterministic subset of milvus_docs (14 of ~270 files, 467 chunks).

    The full corpus (~5,900 chunks) takes minutes to embed on 2 cores, so the subset keeps
    the test near a minute. One clean run (timed); then three runs into another database,
    each killed with SIGKILL and resumed by the next: early (start-up, collection creation,
    first batch), shortly after the first batch was flushed (its data file appears in the
    Lite folder), and early in a resumed run; then one run that completes.
    """
    copy_subset(shared_corpus("milvus_docs"), tmp_path / "corpus", SUBSET)
    env = clean_env()
    t0 = time.monotonic()
    clean = subprocess.run(
        ingest_cmd(tmp_path / "clean.db"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    clean_seconds = time.monotonic() - t0
    assert clean.returncode == 0, clean.stderr
    clean_report = json.loads(clean.stdout)
    assert clean_report["new"] == SUBSET

    rng = random.Random(SEED)
    db = tmp_path / "killed.db"
    killed, killed_after_flush = 0, False
    for point in ("early", "after-flush", "resumed"):
        proc = subprocess.Popen(
            ingest_cmd(db),
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if point == "after-flush":
            deadline = time.monotonic() + 1.5 * clean_seconds
            while proc.poll() is None and time.monotonic() < deadline:
                if any(db.rglob("*.parquet")):
                    killed_after_flush = True
                    break
                time.sleep(0.05)
            delay = rng.uniform(0.0, 0.5)
        else:
            delay = rng.uniform(0.1, 0.3) * clean_seconds
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        killed += proc.returncode == -signal.SIGKILL
    # a run may finish before its kill on a loaded machine; two real kills still mean something
    assert killed >= 2, "the runs must be killed mid-ingest for this test to mean anything"

    final = subprocess.run(
        ingest_cmd(tmp_path / "killed.db"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stderr
    report = json.loads(final.stdout)
    print(f"\nclean run {clean_seconds:.1f} s, {killed} runs killed, final run: {report}")
    if killed_after_flush:  # what a killed run had flushed for whole documents was kept
        assert report["unchanged"] > 0, report
    done = report["new"] + report["changed"] + report["unchanged"] + report["resumed"]
    assert done == SUBSET
    assert report["chunks_written"] <= clean_report["chunks_written"]

    try:
        clean_ids, clean_count = ids_and_count(tmp_path / "clean.db")
        killed_ids, killed_count = ids_and_count(tmp_path / "killed.db")
    finally:
        close_stores()
    assert clean_count == len(clean_ids) == len(set(clean_ids)) == clean_report["chunks_written"]
    assert killed_count == len(killed_ids) == len(set(killed_ids)), "duplicates after kills"
    assert set(killed_ids) == set(clean_ids)
    assert killed_count == clean_count
