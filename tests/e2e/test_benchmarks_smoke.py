"""What the benchmarks must show besides their timings, checked on their --smoke runs.

Timings are never asserted (they belong to the scripts' printed tables). What is asserted
is what a benchmark establishes that does not depend on the machine's speed:
- token_count: the budget's token count equals the exact count on every request;
- cold_start: `research-agent --help` loads none of the heavy libraries; `--compare`
  times both checkouts on every command;
- step_overhead: the graph and the hand-written loop both ran the scripted 5 tool calls;
- embed_server: ingest through a concurrent embedder stores every chunk once, whatever
  the concurrency.
The other benchmarks print only figures and run by hand (benchmarks/README.md).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def smoke(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_token_count_is_exact_on_every_request() -> None:
    out = smoke("token_count.py")
    row = re.search(
        r"^\| \*\*the budget's count\*\* \| (\d+) \| ([\d.]+)x \| ([\d.]+)% \|$", out, re.M
    )
    assert row is not None, out
    exact = int(re.search(r"(\d+) exact tokens in all", out)[1])  # type: ignore[index]
    assert (int(row[1]), row[2], row[3]) == (exact, "1.0000", "0.00")


def test_help_loads_no_heavy_library() -> None:
    out = smoke("cold_start.py")
    row = next(line for line in out.splitlines() if line.startswith("| research-agent --help |"))
    assert row.rstrip(" |").endswith("| none"), row


def test_cold_start_compares_two_checkouts_command_by_command() -> None:
    venv_checkout = Path(sys.prefix).parent  # the checkout owning the running .venv
    if not (venv_checkout / ".venv" / "bin" / "research-agent").is_file():
        pytest.skip("the tests do not run from a checkout's .venv (make test sets one up)")
    out = smoke("cold_start.py", "--compare", str(venv_checkout))
    rows = re.findall(
        r"^\| (research-agent [^|]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \|$", out, re.M
    )
    assert [r[0] for r in rows] == [
        "research-agent --help",
        "research-agent search",
        "research-agent ask --provider offline",
    ], out
    for _, this, other, ratio in rows:  # each side really ran: no zero times, ratio agrees
        assert float(this) > 0 and float(other) > 0
        assert abs(float(ratio) - float(this) / float(other)) < 0.01


def test_step_overhead_runs_the_same_five_tool_calls() -> None:
    out = smoke("step_overhead.py")  # the script stops unless the graph made 5 tool calls
    assert "6 model turns + 5 tool calls per run" in out and "| hand loop |" in out


def test_embed_server_stores_every_chunk_once_at_every_concurrency() -> None:
    out = smoke("embed_server.py")  # the script stops if a concurrency stored other chunks
    chunks = int(re.search(r"^# 40 documents, (\d+) chunks;", out, re.M)[1])  # type: ignore[index]
    stored = re.search(r"^(\d+) distinct chunks \((\d+) \+ (\d+) of the warm-up", out, re.M)
    assert stored is not None, out
    assert int(stored[2]) == chunks and int(stored[1]) == chunks + int(stored[3])
    assert "| ingest, concurrency 1 |" in out and "| ingest, concurrency 8 |" in out
    ratio = re.search(
        r"^\| ingest at the default concurrency / server capacity \| ([\d.]+)x", out, re.M
    )
    assert ratio is not None, out
