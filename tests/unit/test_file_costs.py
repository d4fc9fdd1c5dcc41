"""The heaviest-first order of test files that make test's two workers are given."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.support.file_costs import costs_from_durations, heaviest_first, load_costs, main

REPORT = """\
============================= slowest durations ==============================
95.70s call     tests/e2e/test_big.py::test_one
2.00s setup    tests/unit/test_small.py::test_a[x-y]
1.50s call     tests/unit/test_small.py::test_a[x-y]
0.01s teardown tests/unit/test_small.py::test_b
(59 durations < 0.005s hidden.  Use -vv to show these durations.)
"""


def items(*nodeids: str) -> list[pytest.Item]:
    return [cast(pytest.Item, SimpleNamespace(nodeid=n)) for n in nodeids]


def test_costs_add_setup_call_and_teardown_per_file() -> None:
    assert costs_from_durations(REPORT.splitlines()) == {
        "tests/e2e/test_big.py": 95.7,
        "tests/unit/test_small.py": 3.5,
    }


def test_heaviest_file_first_and_each_files_order_kept() -> None:
    given = items(
        "tests/a.py::t1", "tests/b.py::t1", "tests/a.py::t2", "tests/c.py::t1", "tests/b.py::t2"
    )
    ordered = heaviest_first(given, {"tests/b.py": 50.0, "tests/a.py": 2.0})
    assert [i.nodeid for i in ordered] == [
        "tests/b.py::t1",
        "tests/b.py::t2",
        "tests/a.py::t1",
        "tests/a.py::t2",
        "tests/c.py::t1",  # not in the table: 0.1 s per test
    ]


def test_an_unknown_file_with_many_tests_outranks_a_cheap_known_one() -> None:
    given = items("tests/cheap.py::t", *(f"tests/new.py::t{i}" for i in range(30)))
    ordered = heaviest_first(given, {"tests/cheap.py": 1.0})
    assert ordered[0].nodeid == "tests/new.py::t0" and ordered[-1].nodeid == "tests/cheap.py::t"


def test_the_table_round_trips_and_a_broken_one_is_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "run.txt"
    report.write_text(REPORT, encoding="utf-8")
    table = tmp_path / "costs.json"
    monkeypatch.setattr("tests.support.file_costs.COSTS", table)
    assert main([str(report)]) == 0
    assert load_costs(table) == json.loads(table.read_text(encoding="utf-8"))
    assert load_costs(table)["tests/e2e/test_big.py"] == 95.7
    table.write_text("{not json", encoding="utf-8")
    assert load_costs(table) == {}
    assert load_costs(tmp_path / "absent.json") == {}
    report.write_text("no durations here\n", encoding="utf-8")
    assert main([str(report)]) == 1
    assert "error: no durations" in capsys.readouterr().err


def test_the_recorded_table_names_the_known_heavy_files() -> None:
    costs: dict[str, Any] = load_costs()
    assert costs, "tests/file_costs.json is missing or empty"
    root = Path(__file__).resolve().parents[2]
    missing = [path for path in costs if not (root / path).is_file()]
    assert not missing, f"file_costs.json names files that are gone: {missing}"
