"""`research-agent mcp`: the loopback address check, the missing-extra hint, progress lines."""

from __future__ import annotations

import pytest

from agent.cli.mcp import loopback
from agent.mcp_errors import one_line
from agent.mcp_server import progress_line
from agent.schemas import StepEvent
from tests.unit.test_cli_usage import run
from tools.errors import ConfigError, StoreError


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:8765", ("127.0.0.1", 8765)),
        ("localhost:1", ("localhost", 1)),
        ("[::1]:9000", ("::1", 9000)),
        ("127.9.9.9:65535", ("127.9.9.9", 65535)),
    ],
)
def test_loopback_addresses_are_accepted(address: str, expected: tuple[str, int]) -> None:
    assert loopback(address) == expected


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("0.0.0.0:8765", "--http serves on loopback only (127.0.0.1, ::1 or localhost), not"),
        ("example.com:80", "--http serves on loopback only"),
        ("8765", "--http must be HOST:PORT"),
        ("127.0.0.1:0", "--http must be HOST:PORT"),
        ("127.0.0.1:70000", "--http must be HOST:PORT"),
        (":8765", "--http must be HOST:PORT"),
    ],
)
def test_other_addresses_are_refused(address: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        loopback(address)


def test_a_public_address_is_one_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["mcp", "--http", "0.0.0.0:8765"], monkeypatch, capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: --http serves on loopback only") and err.count("\n") == 1


def test_without_the_mcp_extra_the_command_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_import = __import__

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        if name == "agent.mcp_server":
            raise ModuleNotFoundError("No module named 'mcp'", name="mcp")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("builtins.__import__", fake_import)
    code, out, err = run(["mcp"], monkeypatch, capsys)
    assert code == 1 and out == ""
    assert err == (
        "error: the MCP server needs the mcp extra: pip install 'research-agent[mcp]', "
        "then run this again.\n"
    )


def test_progress_lines_show_steps_and_never_reasoning() -> None:
    call = StepEvent(kind="tool_call", tool="milvus_search", args={"query": "x"})
    assert progress_line(call) == '-> milvus_search({"query": "x"})'
    done = StepEvent(kind="tool_result", tool="milvus_search", result="3 hits")
    assert progress_line(done) == "<- milvus_search: 3 hits"
    refused = StepEvent(kind="refused", tool="fetch_doc", result="not run: budget spent")
    assert progress_line(refused) == "-x fetch_doc({}) not run: budget spent"
    assert progress_line(StepEvent(kind="reasoning", result="secret thoughts")) is None
    assert progress_line(StepEvent(kind="answer_token", result="Hi")) is None


def test_one_line_messages() -> None:
    assert one_line(StoreError("Milvus is\n  locked.")) == "Milvus is locked."
    assert len(one_line(ValueError("x" * 5000))) == 400
    unexpected = one_line(ZeroDivisionError("division by zero"))
    assert unexpected.startswith("internal error (ZeroDivisionError: division by zero); run")
