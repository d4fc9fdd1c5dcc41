"""The terminal obeys no document, file name or model: escapes are shown, never sent raw.

A document whose file name writes the clipboard (OSC 52), whose title sets the window title
and whose text clears the screen is ingested with the CLI; then every command that prints
it (ingest, docs list, search, fetch, ask offline and ask with a model whose answer carries
escapes; plain, --quiet and --json; piped and on a pseudo-terminal) is run and the bytes it
printed are checked: no control character but newline and tab, no C1 control, and the
hostile text is still there, written visibly (`\\x1b]52;...`), or escaped in JSON.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.cli.app import main
from tests.support.agent_e2e import agent_env
from tests.support.faults import answer_reply
from tests.support.foundation import RESEARCH_AGENT
from tests.support.wire_server import WireServer
from tools.store import close_stores

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"  # OSC 52: put "pwned" on the clipboard
TITLE = "\x1b]0;owned\x07"  # OSC 0: the window title
CLEAR = "\x1b[2J\x1b[H"  # CSI: clear the screen, cursor home
C1_CSI = "\x9b31m"  # the one-byte C1 CSI
NAME = f"vault{CLIPBOARD}.md"
DOC = (
    f"# Zebracorn vault {TITLE}manual\n"
    "\n"
    f"The zebracorn vault opens at dawn {CLEAR}every day.\n"
    f"Its guard {C1_CSI}sleeps at noon\x07 and wakes at one.\n"
)
ANSWER = f"The vault opens at dawn{CLEAR} {CLIPBOARD}and the guard{C1_CSI} sleeps."
QUESTION = "When does the zebracorn vault open?"
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SGR = re.compile(r"\x1b\[[0-9;]*m")  # rich's own colours on a terminal


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Workspace:
    root: Path
    env: dict[str, str]
    ingest: Run
    capsys: list[pytest.CaptureFixture[str]]
    """The running test's capsys (the commands run in this process, as `main` runs them)."""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("escapes")
    (root / "docs").mkdir()
    (root / "docs" / NAME).write_text(DOC, encoding="utf-8")
    env = agent_env(root / ".ra", collection="escapes", RESEARCH_AGENT_PROVIDER="offline")
    done = subprocess.run(
        [str(RESEARCH_AGENT), "ingest", "docs", "--verbose"],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    yield Workspace(root, env, Run(0, done.stdout, done.stderr), [])
    close_stores()


@pytest.fixture
def shell(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> Iterator[Workspace]:
    ws.capsys[:] = [capsys]
    yield ws
    ws.capsys.clear()


def assert_safe(text: str) -> None:
    """No control character but newline and tab, and no C1 control, anywhere."""
    bad = UNSAFE.findall(text)
    assert not bad, f"raw control characters {bad!r} in {text!r}"


def cli(ws: Workspace, *args: str, code: int = 0, **env: str) -> Run:
    """Run the CLI's `main` in this process and check that what it printed is safe."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.argv", ["research-agent", *args])
        patch.chdir(ws.root)
        for name, value in {**ws.env, **env}.items():
            if not name.startswith("RESEARCH_AGENT_"):
                continue
            patch.setenv(name, value)
        got = 0
        try:
            main()
        except SystemExit as stop:
            got = int(stop.code or 0)
    out = ws.capsys[0].readouterr()
    assert got == code, out.err
    assert_safe(out.out)
    assert_safe(out.err)
    return Run(got, out.out, out.err)


def test_ingest_and_docs_list_show_the_hostile_name_and_title_escaped(shell: Workspace) -> None:
    assert_safe(shell.ingest.stdout + shell.ingest.stderr)
    listed = cli(shell, "docs", "list").stdout
    assert "vault\\x1b]52;c;cHduZWQ=\\x07.md" in listed
    assert "Zebracorn vault \\x1b]0;owned\\x07manual" in listed
    rows = json.loads(cli(shell, "docs", "list", "--json").stdout)
    assert rows[0]["source"] == f"docs/{NAME}"  # JSON escapes them and keeps them exact


def test_search_and_fetch_print_no_raw_escapes(shell: Workspace) -> None:
    # search and fetch print what the model reads: there controls are spaces already
    found = cli(shell, "search", "zebracorn vault").stdout
    assert "docs/vault ]52;c;cHduZWQ= .md" in found and "dawn  [2J [Hevery" in found
    hits = json.loads(cli(shell, "search", "zebracorn vault", "--json").stdout)
    assert CLEAR in hits[0]["text"] and C1_CSI in hits[0]["text"]
    (row,) = json.loads(cli(shell, "docs", "list", "--json").stdout)
    shown = cli(shell, "fetch", row["doc_id"]).stdout
    assert "docs/vault ]52;c;cHduZWQ= .md" in shown and "guard  31msleeps" in shown
    window = json.loads(cli(shell, "fetch", row["doc_id"], "--json").stdout)
    assert any(CLEAR in line for line in window["lines"])
    by_name = cli(shell, "fetch", f"docs/{NAME}", code=1)
    assert by_name.stdout == ""
    assert by_name.stderr.startswith("error: No document 'docs/vault\\x1b]52;c;cHduZWQ=\\x07.md'")


def test_offline_answer_and_sources_are_escaped(shell: Workspace) -> None:
    out = cli(shell, "ask", QUESTION).stdout
    answer, _, sources = out.partition("Sources:")
    assert "\\x1b[2J\\x1b[H" in answer  # the quoted sentence, visible
    assert "vault\\x1b]52;c;cHduZWQ=\\x07.md" in sources
    assert "\\x1b]0;owned\\x07" in sources  # the title
    quiet = cli(shell, "ask", "--quiet", QUESTION).stdout
    assert "\\x1b[2J" in quiet
    data = json.loads(cli(shell, "ask", "--json", QUESTION).stdout)
    assert CLEAR in data["answer"] and data["citations"][0]["source"] == f"docs/{NAME}"


@pytest.mark.parametrize("mode", ["streamed", "--no-stream", "--quiet", "--json"])
def test_a_model_answer_with_escapes_is_shown_not_obeyed(shell: Workspace, mode: str) -> None:
    with WireServer() as server:
        server.script(answer_reply(ANSWER))
        flags = [] if mode == "streamed" else [mode]
        done = cli(
            shell,
            "ask",
            *flags,
            QUESTION,
            RESEARCH_AGENT_PROVIDER="vllm",
            RESEARCH_AGENT_BASE_URL=server.url,
            RESEARCH_AGENT_MODEL="openai/gpt-oss-20b",
        )
    if mode == "--json":
        assert json.loads(done.stdout)["answer"] == ANSWER
    else:
        assert "dawn\\x1b[2J\\x1b[H \\x1b]52;c;cHduZWQ=\\x07and the guard\\x9b31m" in done.stdout


def test_on_a_terminal_only_rich_colours_are_sent(shell: Workspace) -> None:
    """Rendered as Markdown on a pseudo-terminal: rich's SGR colours, nothing else."""
    close_stores()  # Milvus Lite admits one process: the terminal's `ask` is another
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [str(RESEARCH_AGENT), "ask", QUESTION],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**shell.env, "TERM": "xterm-256color", "COLUMNS": "200"},
        cwd=shell.root,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = b"".join(chunks).decode("utf-8")
    assert "\\x1b]52;c;cHduZWQ=\\x07" in text
    assert_safe(SGR.sub("", text).replace("\r", ""))  # a pty turns "\n" into "\r\n"
