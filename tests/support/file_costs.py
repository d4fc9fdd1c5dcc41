"""Heaviest test files first, so two pytest-xdist workers finish together.

`make test` hands whole files to workers (`--dist loadfile`) in collection order
(`--no-loadscope-reorder`; xdist's own reorder sorts by number of tests, which sends a
file holding one two-minute test to a worker last, where it runs alone at the end).
tests/file_costs.json holds each file's measured seconds; files it does not name count
0.1 s per test. Regenerate it from a run's durations:

    .venv/bin/python -m pytest -n 2 --dist loadfile -m "not serial" --durations=0 > run.txt
    .venv/bin/python -m tests.support.file_costs run.txt
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

COSTS = Path(__file__).resolve().parents[1] / "file_costs.json"
DURATION = re.compile(r"^([0-9.]+)s (?:call|setup|teardown)\s+([^:\s]+)::")
UNKNOWN_SECONDS_PER_TEST = 0.1
"""A file the table does not name (new, or all its tests under 5 ms) counts this per test."""


def costs_from_durations(lines: Sequence[str]) -> dict[str, float]:
    """Seconds per test file from pytest's `--durations=0` report (setup, call, teardown)."""
    seconds: Counter[str] = Counter()
    for line in lines:
        if match := DURATION.match(line):
            seconds[match[2]] += float(match[1])
    return {path: round(total, 1) for path, total in sorted(seconds.items())}


def load_costs(path: Path = COSTS) -> dict[str, float]:
    """The recorded seconds per file ({} when the table is absent or unreadable)."""
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in table.items()} if isinstance(table, dict) else {}


def heaviest_first(items: list[pytest.Item], costs: dict[str, float]) -> list[pytest.Item]:
    """Items grouped by file, files by recorded cost (descending), each file's order kept."""
    counts = Counter(item.nodeid.split("::")[0] for item in items)
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(item.nodeid.split("::")[0], index)

    def key(item: pytest.Item) -> tuple[float, int]:
        path = item.nodeid.split("::")[0]
        cost = costs.get(path, UNKNOWN_SECONDS_PER_TEST * counts[path])
        return (-cost, first_seen[path])

    return sorted(items, key=key)  # stable: a file's tests keep their order


def main(argv: Sequence[str]) -> int:
    """Write tests/file_costs.json from a durations report (the path in argv[0])."""
    if len(argv) != 1:
        print("usage: python -m tests.support.file_costs DURATIONS.txt", file=sys.stderr)
        return 2
    costs = costs_from_durations(Path(argv[0]).read_text(encoding="utf-8").splitlines())
    if not costs:
        print(f"error: no durations in {argv[0]}; run pytest with --durations=0", file=sys.stderr)
        return 1
    COSTS.write_text(json.dumps(costs, indent=1) + "\n", encoding="utf-8")
    print(f"{COSTS}: {len(costs)} files, {sum(costs.values()):.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
