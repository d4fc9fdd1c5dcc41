"""`research-agent ask | chat | doctor` as a user runs them: real subprocesses, a tmp data dir.

The corpus is ingested once per module by the CLI itself into the tmp data folder; every
command below runs with RESEARCH_AGENT_DATA_DIR / RESEARCH_AGENT_MILVUS_URI pointing there
(Milvus Lite admits one process per database, and these run one after another).
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from agent.schemas import Answer
from tests.support.agent_e2e import (
    QUESTION,
    agent_env,
    closed_port_url,
    file_lines,
    run_agent,
    write_corpus,
)
from tests.support.wire_server import Reply, WireServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]  # CLI subprocesses
STEP_CALL = re.compile(r"^-> (milvus_search|fetch_doc)\((.*)\)$")
STEP_HITS = re.compile(r"^\s*<- (\d+) hits?$")


@dataclass(frozen=True)
class Workspace:
    root: Path
    corpus: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("cli_agent")
    corpus = write_corpus(root)
    env = agent_env(root / ".ra")
    done = run_agent("ingest", str(corpus), "--json", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new"] == 2
    yield Workspace(root, corpus, env)


def no_local_server() -> None:
    """`ask` with nothing configured probes the local presets; a real one would answer."""
    from agent.llm.servers.providers import LOCAL_PRESETS, PRESETS, probe

    for name in LOCAL_PRESETS:
        if probe(PRESETS[name].base_url):
            pytest.skip(f"a {name} server answers at {PRESETS[name].base_url} on this machine")


def assert_offline_banner(line: str) -> None:
    assert line.startswith("offline policy"), line
    assert "no model server configured or reachable" in line
    assert line.endswith("not written by gpt-oss.")


def test_ask_prints_banner_steps_answer_and_sources(workspace: Workspace) -> None:
    no_local_server()
    done = run_agent("ask", QUESTION, env=workspace.env, cwd=workspace.root)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert_offline_banner(lines[0])
    assert lines[1] == f"-> milvus_search(query={QUESTION!r}, k=10)"  # wide first: 2k
    calls = [m.group(1) for line in lines if (m := STEP_CALL.match(line))]
    assert calls[:2] == ["milvus_search", "fetch_doc"]
    hits = [int(m.group(1)) for line in lines if (m := STEP_HITS.match(line))]
    assert hits and all(n > 0 for n in hits)
    assert "- Sealed segments are compacted every night at 02:00 UTC. [1]" in lines
    sources = lines[lines.index("Sources:") + 1 :]
    # sources are named relative to the working folder the corpus was ingested from
    assert sources[0] == "  [1] corpus/heron.md L5-L5 (Heron storage engine)"
    assert lines[-1].startswith("status: answered; model: offline-extractive (offline); ")
    assert "Traceback" not in done.stderr


def test_ask_json_prints_only_the_answer(workspace: Workspace) -> None:
    no_local_server()
    done = run_agent("ask", "--json", QUESTION, env=workspace.env, cwd=workspace.root)

    assert done.returncode == 0, done.stderr
    answer = Answer.model_validate_json(done.stdout)  # nothing else on stdout
    assert done.stdout.lstrip().startswith("{") and done.stdout.rstrip().endswith("}")
    assert answer.status == "answered"
    assert (answer.model, answer.provider) == ("offline-extractive", "offline")
    assert answer.citations
    for c in answer.citations:
        assert c.quote == file_lines(workspace.root / c.source, c.start_line, c.end_line)
    assert answer.steps.records[0].tool == "milvus_search"
    # the banner and the steps went to stderr
    assert_offline_banner(done.stderr.splitlines()[0])
    assert f"-> milvus_search(query={QUESTION!r}, k=10)" in done.stderr.splitlines()


def test_ask_with_a_configured_server_that_is_down_is_an_error(workspace: Workspace) -> None:
    url = closed_port_url()
    done = run_agent(
        "ask",
        "--provider",
        "vllm",
        "--base-url",
        url,
        QUESTION,
        env=workspace.env,
        cwd=workspace.root,
    )

    assert done.returncode == 1
    assert done.stdout == ""  # no fallback answer, no offline banner
    err = done.stderr.strip().splitlines()
    assert len(err) == 1, done.stderr
    assert err[0].startswith("error: ") and url in err[0]
    assert "Traceback" not in done.stderr


def test_chat_thread_persists_across_processes(workspace: Workspace) -> None:
    thread = "e2e-thread"
    first = run_agent(
        "chat", "--thread", thread, env=workspace.env, cwd=workspace.root, stdin=f"{QUESTION}\n"
    )
    assert first.returncode == 0, first.stderr
    assert "Sealed segments are compacted every night at 02:00 UTC. [1]" in first.stdout

    follow_up = "How large do its segments get?"
    second = run_agent(
        "chat", "--thread", thread, env=workspace.env, cwd=workspace.root, stdin=f"{follow_up}\n"
    )
    assert second.returncode == 0, second.stderr
    # the offline policy resolves "its" with the previous question, which only the
    # checkpoint written by the first process can supply
    searches = [m.group(2) for line in second.stdout.splitlines() if (m := STEP_CALL.match(line))]
    assert searches[0] == f"query={f'{QUESTION} {follow_up}'!r}, k=10"
    assert "Segments are sealed once they reach 512 megabytes. [1]" in second.stdout

    state = checkpoint_state(Path(workspace.env["RESEARCH_AGENT_DATA_DIR"]), thread)
    questions = [m.text for m in state["messages"] if isinstance(m, HumanMessage)]
    assert questions == [QUESTION, follow_up]
    assert state["answer"].model == "offline-extractive"
    assert state["answer"].citations[0].quote == file_lines(workspace.corpus / "heron.md", 4, 4)


def checkpoint_state(data_dir: Path, thread: str) -> dict[str, object]:
    """The thread's latest state, read from the SQLite checkpoints the CLI wrote."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite import SqliteSaver

    from agent.threads import SCHEMA_TYPES
    from graphs.research import build_graph

    path = data_dir / "checkpoints.sqlite"
    assert path.is_file()
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        saver = SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=SCHEMA_TYPES))
        snapshot = build_graph(checkpointer=saver).get_state(
            {"configurable": {"thread_id": thread}}
        )
    finally:
        conn.close()
    return dict(snapshot.values)


def doctor_down(workspace: Workspace) -> tuple[str, subprocess.CompletedProcess[str]]:
    env = {
        **workspace.env,
        "RESEARCH_AGENT_PROVIDER": "openai",
        "RESEARCH_AGENT_BASE_URL": closed_port_url(),
    }
    done = run_agent("doctor", env=env, cwd=workspace.root)
    return env["RESEARCH_AGENT_BASE_URL"], done


def test_doctor_reports_a_model_server_that_is_down(workspace: Workspace) -> None:
    url, done = doctor_down(workspace)

    lines = done.stdout.splitlines()
    (server,) = [line for line in lines if "model server:" in line]
    assert server.startswith("FAIL  model server: ") and url in server
    assert [line.split()[0] for line in lines[1:]] == ["ok"] * (len(lines) - 1)
    assert "Traceback" not in done.stderr


def test_doctor_exits_1_when_the_model_server_is_down(workspace: Workspace) -> None:
    _, done = doctor_down(workspace)

    assert "FAIL  model server: " in done.stdout
    assert done.returncode == 1


def test_doctor_with_the_server_up_checks_model_and_tool_calls(workspace: Workspace) -> None:
    from tests.support import wire_path

    recorded = wire_path("bodies", "llamacpp_b7010_tool_nonstream_turn0.json")
    with WireServer() as server:
        server.models = ["gpt-oss-20b"]
        server.script(Reply.from_file(recorded))
        env = {
            **workspace.env,
            "RESEARCH_AGENT_PROVIDER": "llamacpp",
            "RESEARCH_AGENT_BASE_URL": server.url,
        }
        done = run_agent("doctor", env=env, cwd=workspace.root)

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        f"ok    model server: llama.cpp answers at {server.url}",
        "ok    model: gpt-oss-20b is served",
        # the replay server has no /props: the window is unknown, and doctor says what to check
        "ok    context window: llama.cpp does not report it; make sure it holds 32192 tokens",
        "ok    tool calls: the model called weather",  # the recorded call, verbatim
    ]
    # why `ask` would use this server, as agent.runs.prepare says it
    assert lines[4] == "ok    model choice: configured: provider llamacpp"
    assert "ok    collection: 'e2e' holds 3 chunks" in lines
    assert all(line.startswith("ok ") for line in lines)
    (sent,) = server.bodies
    assert sent["model"] == "gpt-oss-20b"
    assert sorted(t["function"]["name"] for t in sent["tools"]) == ["fetch_doc", "milvus_search"]
    assert [r.method for r in server.requests].count("GET") >= 1
