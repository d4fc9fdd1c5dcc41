"""`research-agent chat` as a REPL over a persistent thread (issue 9, item 7), in-process.

The offline provider answers from a tiny Milvus Lite collection, so no model server is needed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cli.app import main
from agent.cli.chat import repl
from tests.support.faults import tiny_lite
from tools.errors import ModelServerError
from tools.store import close_stores

pytestmark = pytest.mark.timeout(120)


def test_a_failed_question_prints_its_error_and_the_session_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = iter(["first", "", "   ", "second", "third", "/exit", "never"])
    asked: list[str] = []

    def ask_one(question: str) -> None:
        asked.append(question)
        if question == "first":
            raise ModelServerError("The model server at http://x/v1 answered 500; try again.")
        if question == "second":
            raise ValueError("something unexpected")

    repl(ask_one, read=lambda _: next(lines))
    assert asked == ["first", "second", "third"]  # blank lines asked nothing and ended nothing
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: The model server at http://x/v1 answered 500; try again.",
        "error: ValueError: something unexpected",
    ]


@pytest.mark.parametrize("end", ["exit", "/exit", "EXIT", None])
def test_only_exit_or_ctrl_d_ends(end: str | None) -> None:
    script = ["a", "", *([end] if end else []), "b"]
    feed = iter(script)
    asked: list[str] = []

    def read(_: str) -> str:
        line = next(feed, None)
        if line is None:
            raise EOFError  # Ctrl-D
        return line

    repl(asked.append, read=read)
    assert asked == (["a"] if end else ["a", "b"])


def test_ctrl_c_at_the_prompt_says_the_thread_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    def interrupted(_: str) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("builtins.input", interrupted)
    monkeypatch.setattr(
        "sys.argv", ["research-agent", "chat", "--provider", "offline", "--thread", "t9"]
    )
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        "interrupted: thread t9 is kept up to its last answer; a question cut off is finished "
        "by `research-agent resume --thread t9`; go on with `research-agent chat --thread t9`."
    )


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    settings = tiny_lite(tmp_path)
    close_stores()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RESEARCH_AGENT_MILVUS_URI", settings.resolved_milvus_uri())
    monkeypatch.setenv("RESEARCH_AGENT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RESEARCH_AGENT_PROVIDER", "offline")
    yield settings.data_dir
    close_stores()


def cli(
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: str = "",
) -> tuple[int | str | None, str, str]:
    monkeypatch.setattr("sys.argv", ["research-agent", *argv])
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code: int | str | None = 0
    try:
        main()
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def test_threads_are_listed_resumed_and_deleted(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        ["chat", "--thread", "t1", "-k", "3", "--max-tool-calls", "4"],
        monkeypatch,
        capsys,
        stdin="Who founded Acme Robotics?\n\nWhat does the Zephyr drone do?\nexit\n",
    )
    assert code == 0, err
    assert out.startswith("thread t1 is new\nthread t1 (resume with --thread t1)")
    assert out.count("status: ") == 2  # both questions answered; the blank line did nothing
    # the offline policy's first search is wide: 2k of -k 3
    assert "milvus_search(query='Who founded Acme Robotics?', k=6)" in out
    assert out.count("4 tool calls") == 2  # --max-tool-calls 4 reached the runs

    code, out, _ = cli(["chat", "--list", "--json"], monkeypatch, capsys)
    rows = json.loads(out)
    assert [(r["thread_id"], r["first_question"]) for r in rows] == [
        ("t1", "Who founded Acme Robotics?")
    ]
    assert rows[0]["last_activity"][:2] == "20"
    code, out, _ = cli(["chat", "--list"], monkeypatch, capsys)
    assert out.startswith("t1  20") and out.rstrip().endswith("Who founded Acme Robotics?")

    code, out, err = cli(["chat", "--thread", "t1"], monkeypatch, capsys, stdin="")
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("thread t1, last active 20") and first.endswith("last exchange:")
    assert "you> What does the Zephyr drone do?" in out and "status: " in out

    code, out, _ = cli(["chat", "--delete", "t1"], monkeypatch, capsys)
    assert (code, out) == (0, "deleted thread t1\n")
    code, out, _ = cli(["chat", "--list"], monkeypatch, capsys)
    assert out.startswith("no threads in ")
    code, _, err = cli(["chat", "--delete", "t1"], monkeypatch, capsys)
    assert code == 1 and err == (
        f"error: No thread 't1' in {corpus / 'checkpoints.sqlite'}; "
        "`research-agent chat --list` shows them.\n"
    )


def test_ask_quiet_prints_the_answer_alone_and_piped_output_is_plain(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(["ask", "Who founded Acme Robotics?", "--quiet"], monkeypatch, capsys)
    assert code == 0, err
    assert out.startswith("Offline extractive answer:") and "Sources:" not in out
    assert "->" not in out and "status:" not in out
    assert err.startswith("offline policy (chosen)")  # the banner still reaches the user
    code, out, err = cli(["ask", "Who founded Acme Robotics?"], monkeypatch, capsys)
    assert "\nSources:\n  [1] " in out and "- Acme Robotics was founded by Jane Doe" in out
