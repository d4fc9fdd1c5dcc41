"""The run flags are declared once (agent/cli/options.py) and every run command has them."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from agent.cli.app import app
from agent.cli.options import RUN_FLAGS, RunFlags, run_flags
from tests.support.foundation import PROJECT_ROOT

RUN_COMMANDS = {"ask": (), "resume": (), "chat": (), "report": ("max_tool_calls",), "mcp": ()}


def _options(command: str) -> set[str]:
    click_app: Any = get_command(app)
    return {opt for p in click_app.commands[command].params for opt in p.opts}


@pytest.mark.parametrize("command", sorted(RUN_COMMANDS))
def test_every_run_command_has_the_run_flags(command: str) -> None:
    flags = {
        "--" + name.replace("_", "-") for name in RUN_FLAGS if name not in RUN_COMMANDS[command]
    }
    assert flags <= _options(command), sorted(flags - _options(command))
    left_out = {"--" + n.replace("_", "-") for n in RUN_COMMANDS[command]}
    assert not left_out & _options(command)


def test_no_cli_module_declares_a_run_flag_of_its_own() -> None:
    declared = re.compile(r'typer\.Option\(\s*"(--provider|--base-url|--max-turns|--milvus-uri)"')
    found = [
        path.name
        for path in sorted((PROJECT_ROOT / "agent" / "cli").glob("*.py"))
        if declared.search(path.read_text(encoding="utf-8"))
    ]
    assert found == ["options.py"]


def test_a_command_gets_only_the_flags_that_were_given() -> None:
    seen: list[RunFlags] = []

    @run_flags(without=("k",))
    def command(name: str, *, flags: RunFlags, loud: bool = False) -> None:
        seen.append({**flags, "name": name, "loud": loud})

    probe = typer.Typer()
    probe.command()(command)
    probe.command("other")(lambda: None)  # a group, so the command is named on the line
    runner = CliRunner()
    done = runner.invoke(probe, ["command", "x", "--max-turns", "3", "--provider", "offline"])
    assert done.exit_code == 0, done.output
    assert seen == [{"max_turns": 3, "provider": "offline", "name": "x", "loud": False}]
    refused = runner.invoke(probe, ["command", "x", "-k", "3"])
    assert refused.exit_code == 2 and "No such option" in refused.output
