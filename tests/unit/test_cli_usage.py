"""Usage and user errors: the usage line and/or one error line, a non-zero exit, no traceback.

Every case runs `main()` in-process with a patched argv (issue 9, items 1 and 2).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import app as cli_app
from agent.cli.app import INTERRUPTED, main


def run(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int | str | None, str, str]:
    """Exit code, stdout and stderr of `research-agent ARGV` run in this process."""
    monkeypatch.setattr("sys.argv", ["research-agent", *argv])
    code: int | str | None = 0
    try:
        main()
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "usage", "message"),
    [
        (["ask"], "Usage: research-agent ask", "error: Missing argument 'question'."),
        (["chat", "--jsn"], "Usage: research-agent chat", "error: No such option: --jsn"),
        (["nosuch"], "Usage: research-agent [OPTIONS] COMMAND", "error: No such command 'nosuch'."),
        (
            ["search", "x", "-k", "abc"],
            "Usage: research-agent search",
            "error: Invalid value for '-k'",
        ),
        (["ask", "q", "-k", "abc"], "Usage: research-agent ask", "error: Invalid value for '-k'"),
        (["chat", "-k", "abc"], "Usage: research-agent chat", "error: Invalid value for '-k'"),
        (["docs", "rm"], "Usage: research-agent docs rm", "error: Missing argument 'sources"),
        (["docs", "nosuch"], "Usage: research-agent docs", "error: No such command 'nosuch'."),
        (["collections", "rm"], "Usage: research-agent collections rm", "error: Missing argument"),
        (
            ["chat", "--json"],
            "Usage: research-agent chat",
            "error: Invalid value for '--json': --json goes with --list",
        ),
    ],
)
def test_usage_error_is_usage_line_and_one_error_line_exit_2(
    argv: list[str],
    usage: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(argv, monkeypatch, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith(usage) and lines[1].startswith(message), err
    assert "Traceback" not in err and out == ""


def test_version(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], monkeypatch, capsys)
    assert code == 0 and out.startswith("research-agent ") and out.count("\n") == 1


def test_shell_completion_is_offered(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["--help"], monkeypatch, capsys)
    assert code == 0 and "--install-completion" in out and "--show-completion" in out


@pytest.mark.parametrize(
    ("env", "argv", "path"),
    [
        ({"RESEARCH_AGENT_DATA_DIR": "README.md/data"}, ["search", "x"], "README.md/data"),
        ({}, ["search", "x", "--milvus-uri", "README.md/x.db"], "README.md"),
    ],
)
def test_unusable_path_is_one_error_line(
    env: dict[str, str],
    argv: list[str],
    path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("a file, not a folder\n", encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run(argv, monkeypatch, capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: cannot use '{path}': ")
    assert "RESEARCH_AGENT_DATA_DIR" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ingest", "x.md", "-c", ""], "error: invalid setting collection=''"),
        (["ingest", "x.md", "-c", "1bad"], "error: invalid setting collection='1bad'"),
        (["ask", "q", "--base-url", "notaurl"], "error: invalid setting base_url='notaurl'"),
    ],
)
def test_bad_name_or_url_refused_before_any_work(
    argv: list[str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.md").write_text("# x\n", encoding="utf-8")

    def no_request(*_: object, **__: object) -> None:
        raise AssertionError("a request was made for an invalid setting")

    monkeypatch.setattr("agent.llm.servers.providers.probe", no_request, raising=False)
    code, _, err = run(argv, monkeypatch, capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(expected), err
    assert not (tmp_path / ".research-agent").exists()  # refused before opening anything


def test_ctrl_c_inside_a_command_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("agent.documents.search", interrupted)
    code, out, err = run(["search", "x"], monkeypatch, capsys)
    assert code == 130 and out == ""
    assert err == INTERRUPTED + "\n"
    assert "kept" in err and "again" in err


def test_an_oserror_without_a_path_is_not_disguised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr("agent.documents.search", broken)
    monkeypatch.setattr("sys.argv", ["research-agent", "search", "x"])
    with pytest.raises(OSError, match="disk on fire"):
        cli_app.main()
