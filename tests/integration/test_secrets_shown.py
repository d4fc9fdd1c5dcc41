"""Secrets are never printed: URLs' passwords, secret query parameters, keys in server bodies.

Each command runs the CLI's `main` in this process against real local sockets (a replay
model server, closed ports) and everything it printed is searched for the secrets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli.app import main
from tests.support.faults import answer_reply
from tests.support.foundation import free_port
from tests.support.wire_server import Reply, WireServer
from tools.store import close_stores

pytestmark = pytest.mark.timeout(120)

SECRETS = ("sekret-url", "sekret-query", "sekret-milvus", "sekret-pg", "sekret-embed", "sk-live")
ECHOED_KEY = {
    "error": {
        "message": "Incorrect API key provided: sk-live-4f9a8b7c6d5e. Sent header "
        "Authorization: Bearer sk-live-4f9a8b7c6d5e",
        "type": "invalid_request_error",
    }
}


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["research-agent", *args])
    code = 0
    try:
        main()
    except SystemExit as stop:
        code = int(stop.code or 0)
    finally:
        close_stores()
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_no_secret(text: str) -> None:
    found = [s for s in SECRETS if s in text]
    assert not found, f"{found} printed in {text!r}"
    assert "Traceback" not in text


@pytest.fixture
def lite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RESEARCH_AGENT_MILVUS_URI", str(tmp_path / "milvus.db"))
    monkeypatch.setenv("RESEARCH_AGENT_DATA_DIR", str(tmp_path / ".ra"))
    return tmp_path


@pytest.mark.slow  # doctor waits for retries against closed ports (about 10 s)
def test_doctor_and_its_json_mask_every_url_password(
    lite: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = free_port()
    monkeypatch.setenv("RESEARCH_AGENT_PROVIDER", "vllm")
    monkeypatch.setenv(
        "RESEARCH_AGENT_BASE_URL",
        f"http://agent:sekret-url@127.0.0.1:{closed}/v1?api_key=sekret-query",
    )
    monkeypatch.setenv("RESEARCH_AGENT_EMBEDDER", "openai")
    monkeypatch.setenv(
        "RESEARCH_AGENT_EMBEDDING_BASE_URL", f"http://e:sekret-embed@127.0.0.1:{closed}/v1"
    )
    monkeypatch.setenv(
        "RESEARCH_AGENT_CHECKPOINT_URI",
        "postgresql://a:sekret-pg@127.0.0.1:1/db?password=sekret-pg",
    )
    code, out, err = cli(monkeypatch, capsys, "doctor")
    assert code == 1
    assert_no_secret(out + err)
    assert f"http://agent:***@127.0.0.1:{closed}/v1?api_key=***" in out
    assert f"http://e:***@127.0.0.1:{closed}/v1" in out

    code, out, err = cli(monkeypatch, capsys, "doctor", "--json")
    assert code == 1
    assert_no_secret(out + err)
    checks = {c["name"]: c for c in json.loads(out)}
    assert "agent:***@" in checks["model server"]["detail"]


def test_a_milvus_uri_password_is_masked_in_the_error(
    lite: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with WireServer() as server:  # answers HTTP, not gRPC: Milvus cannot talk to it
        port = server.url.split(":")[2].split("/")[0]
        monkeypatch.setenv(
            "RESEARCH_AGENT_MILVUS_URI", f"http://root:sekret-milvus@127.0.0.1:{port}"
        )
        code, out, err = cli(monkeypatch, capsys, "docs", "list")
    assert code == 1
    assert_no_secret(out + err)
    assert err.startswith("error: ") and "root:***@127.0.0.1" in err


def test_invalid_settings_do_not_echo_the_secret_bearing_value(
    lite: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RESEARCH_AGENT_CHECKPOINT_URI", "mysql://u:sekret-pg@db/x")
    code, out, err = cli(monkeypatch, capsys, "docs", "list")
    assert code == 2
    assert_no_secret(out + err)
    assert "invalid setting checkpoint_uri='mysql://u:***@db/x'" in err
    monkeypatch.delenv("RESEARCH_AGENT_CHECKPOINT_URI")
    code, out, err = cli(
        monkeypatch,
        capsys,
        "ask",
        "q",
        "--base-url",
        "ftp://u:sekret-url@h/v1?token=sekret-query",
    )
    assert code == 2
    assert_no_secret(out + err)
    assert "base_url='ftp://u:***@h/v1?token=***'" in err


def test_a_401_body_echoing_the_key_is_redacted(
    lite: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with WireServer() as server:
        server.script(Reply.json(ECHOED_KEY, 401))
        url = server.url.replace("http://", "http://me:sekret-url@")
        code, out, err = cli(
            monkeypatch, capsys, "ask", "q", "--provider", "vllm", "--base-url", url
        )
    assert code == 1
    assert_no_secret(out + err)
    (line,) = err.strip().splitlines()
    assert line.startswith("error: The vLLM server at http://me:***@127.0.0.1:")
    assert "refused the API key" in line and "Bearer ***" in line and "sk-***" in line


@pytest.mark.parametrize("command", ["ask", "doctor"])
def test_an_empty_api_key_is_no_key(
    lite: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    monkeypatch.setenv("RESEARCH_AGENT_API_KEY", "")
    with WireServer() as server:
        if command == "ask":
            server.script(answer_reply("No documents mention it."))
        else:  # a server that needs a key refuses doctor's tool-call check
            server.script(Reply.json(ECHOED_KEY, 401))
        flags = ["--provider", "vllm", "--base-url", server.url, "--model", "openai/gpt-oss-20b"]
        args = ["ask", "What is it?", *flags] if command == "ask" else ["doctor", *flags]
        code, out, err = cli(monkeypatch, capsys, *args)
        sent = [r.headers.get("authorization") for r in server.requests]
    assert "Traceback" not in out + err
    assert sent and all(h in (None, "Bearer not-needed") for h in sent)  # no empty bearer
    if command == "ask":
        assert code == 0, err
        assert "No documents mention it." in out
    else:  # one FAIL line, no crash
        assert "ok    model server: vLLM answers at" in out
        assert "FAIL  tool calls: The vLLM server at" in out and "refused the API key" in out
        assert_no_secret(out + err)
