"""Every test that starts another process is marked slow, so `make test-fast` leaves it out.

Read from the source by tests/support/process_scan.py: a test starts a process when it, a
helper of its module or of tests/support, or a fixture it takes calls subprocess/Popen/...
"""

from __future__ import annotations

import ast
import textwrap

from tests.support.foundation import PROJECT_ROOT
from tests.support.process_scan import support_starters, unmarked_starters

TESTS = PROJECT_ROOT / "tests"


def _unmarked(source: str, known: dict[str, set[str]] | None = None) -> list[str]:
    return unmarked_starters(ast.parse(textwrap.dedent(source)), known or {})


def test_every_test_that_starts_a_process_is_marked_slow() -> None:
    known = support_starters(TESTS / "support")
    missing = [
        f"{path.relative_to(PROJECT_ROOT)}::{name}"
        for path in sorted(TESTS.rglob("test_*.py"))
        for name in unmarked_starters(ast.parse(path.read_text(encoding="utf-8")), known)
    ]
    assert not missing, "start a process but are not marked @pytest.mark.slow:\n" + "\n".join(
        missing
    )


def test_the_support_helpers_that_start_processes_are_found() -> None:
    known = support_starters(TESTS / "support")
    assert {"run_cli", "wait_for_port"} & known["tests.support.foundation"] == {"run_cli"}
    assert {"run_agent", "langgraph_dev"} <= known["tests.support.agent_e2e"]
    assert {"start_milvus_lite", "milvus_lite_server", "tiny_lite_server"} <= known[
        "tests.support.servers"
    ]
    assert "stall_run" in known["tests.support.threads"]


def test_a_direct_call_through_a_helper_or_a_fixture_is_caught() -> None:
    source = """
        import subprocess
        import pytest

        def helper():
            return subprocess.run(["true"])

        @pytest.fixture
        def server():
            proc = subprocess.Popen(["sleep", "9"])
            yield proc

        @pytest.fixture
        def client(server):
            return server

        def test_direct():
            subprocess.run(["true"])

        def test_helper():
            helper()

        def test_fixture(client):
            pass

        def test_pure():
            assert 1 + 1 == 2

        @pytest.mark.slow
        def test_marked():
            helper()
        """
    assert _unmarked(source) == ["test_direct", "test_helper", "test_fixture"]


def test_support_imports_and_aliases_count_and_marks_clear() -> None:
    source = """
        from subprocess import Popen as P
        from tests.support.foundation import run_cli

        def test_alias():
            P(["true"])

        def test_support_helper():
            run_cli("--help")

        class TestGroup:
            def test_in_class(self):
                run_cli("ask")
        """
    known = {"tests.support.foundation": {"run_cli"}}
    assert _unmarked(source, known) == [
        "test_alias",
        "test_support_helper",
        "TestGroup.test_in_class",
    ]
    slow_module = "import pytest\npytestmark = [pytest.mark.slow]\n" + textwrap.dedent(source)
    assert _unmarked(slow_module, known) == []
    slow_class = textwrap.dedent(source).replace(
        "class TestGroup:", "import pytest\n@pytest.mark.slow\nclass TestGroup:"
    )
    assert _unmarked(slow_class, known) == ["test_alias", "test_support_helper"]
