"""Each benchmark runs with --smoke and prints its table (figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import shared_path

ROOT = Path(__file__).resolve().parents[2]
NEEDS_SHARED = {"ingest_throughput.py", "quality.py"}
EXPECTED = {
    "search_overhead.py": [
        "| milvus_search tool (hybrid) |",
        "| raw hybrid_search |",
        "| numpy dot product (floor) |",
        "| milvus_search tool (hybrid) / raw hybrid_search |",
    ],
    "ingest_throughput.py": [
        "| raw embedder, length-sorted (ceiling) |",
        "| research-agent ingest (pipeline) |",
        "| sorted / unsorted batching |",
        "| after ingest",
    ],
    "step_overhead.py": ["| graph |", "| hand loop |", "| graph overhead per step"],
    "cold_start.py": [
        "| python -c pass (floor) |",
        "| research-agent --help |",
        "| research-agent search |",
        "| research-agent ask --provider offline |",
    ],
    "quality.py": ["| hotpotqa | hybrid | 5 | 3 |", "| musique | dense | 10 | 3 |"],
}


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "script",
    [pytest.param(s, marks=[pytest.mark.shared] if s in NEEDS_SHARED else []) for s in EXPECTED],
)
def test_benchmark_smoke_prints_its_table(script: str) -> None:
    if script in NEEDS_SHARED and shared_path() is None:
        pytest.skip("../shared (corpora and eval sets) is not beside the project")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for row in EXPECTED[script]:
        assert row in proc.stdout, f"{row!r} missing from:\n{proc.stdout}"
