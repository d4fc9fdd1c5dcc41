"""Every command line of README.md and docs/quickstart.md runs as written from the project folder.

Command lines are the lines of ```bash blocks and the `$ ` lines of ```console blocks, in
page order (so `ingest` runs before `search`). They run with bash in the project folder,
with the project's .venv/bin first on PATH, the offline provider and a temporary data
folder (the checkout's own .research-agent/ is left alone). Lines that cannot run here are
skipped, each with its reason below; everything else must exit 0.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.support.foundation import clean_env

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("README.md", "docs/quickstart.md")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SKIP: list[tuple[str, str]] = [
    (r"^make test\b", "runs this test suite itself"),
    (r"python -m pytest", "runs this test suite itself"),
    (r"-m venv \.venv|pip install", "rebuilds the checkout's .venv from a package registry"),
    (r"--provider (ollama|vllm|lmstudio|llamacpp|openrouter)\b", "needs a real gpt-oss server"),
    (r"--base-url http://gpu-box", "needs a real gpt-oss server"),
    (r"\blanggraph dev\b", "a server that runs until stopped (tests/e2e/test_langgraph_dev.py)"),
    (
        r"milvus-lite server",
        "a server that runs until stopped (tests/integration/test_lock_and_server.py)",
    ),
    (r"^export RESEARCH_AGENT_MILVUS_URI=http", "points at the Milvus server skipped above"),
    (
        r"\.ci/postgres\.sh",
        "starts or stops the PostgreSQL that .ci/run gives this very suite (stopping it here "
        "took the thread tests' database away)",
    ),
]


def command_lines(page: str) -> list[str]:
    """The page's command lines: ```bash block lines and ```console `$ ` lines."""
    lines: list[str] = []
    block = None
    for raw in (ROOT / page).read_text(encoding="utf-8").splitlines():
        if raw.startswith("```"):
            block = raw[3:].strip() if block is None else None
            continue
        line = raw.strip()
        if block == "bash" and line and not line.startswith("#"):
            lines.append(line)
        elif block == "console" and line.startswith("$ "):
            lines.append(line[2:])
    return lines


def skip_reason(line: str) -> str | None:
    return next((why for pattern, why in SKIP if re.search(pattern, line)), None)


CASES = [(page, line) for page in PAGES for line in command_lines(page)]


def command_key(line: str) -> tuple[str, ...]:
    """The command itself: its words without a trailing `# comment` or extra spaces."""
    return tuple(shlex.split(line, comments=True))


FIRST: dict[tuple[str, ...], str] = {}
for _page, _line in CASES:  # a command written on both pages runs once, where it comes first
    FIRST.setdefault(command_key(_line), f"{_page}: {_line}")


def test_the_pages_have_command_lines_and_most_run() -> None:
    assert len(CASES) >= 20
    ran = [line for _, line in CASES if skip_reason(line) is None]
    assert len(ran) >= 15 and any(line.startswith("research-agent docs list") for line in ran)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("doc-commands") / ".research-agent"
    return clean_env(
        PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        RESEARCH_AGENT_DATA_DIR=str(data),
        RESEARCH_AGENT_PROVIDER="offline",
        RESEARCH_AGENT_ENV_FILE="",
    )


@pytest.mark.parametrize(("page", "line"), CASES, ids=[f"{p}: {c}" for p, c in CASES])
def test_command_line_runs_as_written(page: str, line: str, env: dict[str, str]) -> None:
    why = skip_reason(line)
    if why:
        pytest.skip(why)
    first = FIRST[command_key(line)]
    if first != f"{page}: {line}":
        pytest.skip(f"the same command ran as `{first}` (each command runs once)")
    res = subprocess.run(
        ["bash", "-c", line],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert res.returncode == 0, f"{page}: `{line}` exited {res.returncode}\n{res.stderr[-2000:]}"
    assert "Traceback" not in res.stderr
