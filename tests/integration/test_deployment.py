"""The LangGraph server image: `langgraph dockerfile` installs this project at its pinned versions.

docs/deployment.md builds the server with `langgraph build`; this checks the Dockerfile it
is made of (generated offline), not a Docker build, which needs a network.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from agent.settings import Settings
from tests.support.foundation import PROJECT_ROOT, VENV_BIN, clean_env

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==\S+$")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(specs: list[str]) -> set[str]:
    return {norm(re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0]) for spec in specs}


@pytest.mark.slow  # runs `langgraph dockerfile`
def test_generated_dockerfile_installs_the_project_with_its_constraints(tmp_path: Path) -> None:
    out = tmp_path / "Dockerfile"
    res = subprocess.run(
        [str(VENV_BIN / "langgraph"), "dockerfile", "-c", "langgraph.json", str(out)],
        cwd=PROJECT_ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    lines = out.read_text().splitlines()
    add = lines.index("ADD . /tmp/research-agent")
    install = next(i for i, line in enumerate(lines) if "/tmp/research-agent[postgres]" in line)
    assert "-c /tmp/research-agent/constraints.txt" in lines[install]
    assert lines[install].startswith("RUN ") and "uv pip install --system" in lines[install]
    # before the generic step that installs the project against the server's own constraints
    generic = lines.index("# -- Installing all local dependencies --")
    assert add < install < generic
    graphs = next(line for line in lines if line.startswith("ENV LANGSERVE_GRAPHS="))
    assert "graphs/research.py:graph" in graphs and "graphs/ingest.py:graph" in graphs
    # the image's server serves no MCP or A2A endpoint (langgraph.json's "http" block)
    http = next(line for line in lines if line.startswith("ENV LANGGRAPH_HTTP="))
    assert '"disable_mcp": true' in http and '"disable_a2a": true' in http

    # and the constraints pin every requirement of the project and of its postgres extra
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = requirement_names(
        project["dependencies"] + project["optional-dependencies"]["postgres"]
    )
    constraints = (PROJECT_ROOT / "constraints.txt").read_text().splitlines()
    pinned = {norm(m.group(1)) for line in constraints if (m := PIN.match(line.strip()))}
    assert wanted - pinned == set()
    assert "psycopg-binary" in pinned  # the [binary] part of psycopg: no libpq needed


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".venv/", ".git/", ".research-agent/", ".env"):
        assert entry in ignored


def test_every_deployment_setting_is_in_the_readme_table() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    guide = (PROJECT_ROOT / "docs" / "deployment.md").read_text()
    named = set(re.findall(r"RESEARCH_AGENT_[A-Z_]+", guide))
    assert "RESEARCH_AGENT_CHECKPOINT_URI" in named
    settings = {f"RESEARCH_AGENT_{name.upper()}" for name in Settings.model_fields}
    assert named <= settings, named - settings  # the guide names only real settings
    table = {
        line.split("|")[1].strip(" `") for line in readme.splitlines() if "| `RESEARCH" in line
    }
    assert named - table == set()
