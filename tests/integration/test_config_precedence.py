"""One configuration model: what a user gives explicitly wins, bad values stop the run first.

Precedence, field by field: a flag / keyword argument / context field > RESEARCH_AGENT_*
> .env > default, also when the given value equals the built-in default (issue: an
explicit `-c research_agent`, `-k 5` or `--effort medium` used to lose to the
environment). Invalid values are refused before anything runs, with one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.api import ask
from agent.cli.app import main
from agent.documents import ingest
from agent.settings import Context, resolve
from tests.support.agent_e2e import QUESTION, write_corpus
from tests.support.foundation import lite_settings
from tests.support.wire_server import Reply, WireServer
from tools.errors import ConfigError, ResearchAgentError
from tools.store import close_stores

DEFAULT_COLLECTION = "research_agent"


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("precedence")
    settings = lite_settings(root, collection=DEFAULT_COLLECTION)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert ingest([write_corpus(root)], settings).chunks_written == 3
    yield settings.milvus_uri
    close_stores()


@pytest.fixture
def hostile_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment whose every value differs from the built-in default."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RESEARCH_AGENT_COLLECTION", "other")
    monkeypatch.setenv("RESEARCH_AGENT_K", "1")
    monkeypatch.setenv("RESEARCH_AGENT_EFFORT", "high")
    monkeypatch.setenv("RESEARCH_AGENT_MAX_RETRIES", "0")


def cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.argv", ["research-agent", *args])
    try:
        main()
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def completion(message: dict[str, object], finish: str = "stop") -> Reply:
    return Reply.json(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-oss-20b",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        }
    )


@pytest.mark.usefixtures("hostile_env")
def test_cli_explicit_values_equal_to_the_defaults_win(
    uri: str,
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wire_server.models = ["gpt-oss-20b"]
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "milvus_search", "arguments": json.dumps({"query": QUESTION})},
    }
    wire_server.script(
        completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"),
        completion({"role": "assistant", "content": "Nightly at 02:00 UTC."}),
    )
    code = cli(
        monkeypatch,
        "ask",
        QUESTION,
        "--provider",
        "vllm",
        "--base-url",
        wire_server.url,
        "--milvus-uri",
        uri,
        "-c",
        DEFAULT_COLLECTION,
        "-k",
        "5",
        "--effort",
        "medium",
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert [b["reasoning_effort"] for b in wire_server.bodies] == ["medium", "medium"]
    # k=5 over three chunks, two of them one passage; RESEARCH_AGENT_K=1 would give 1
    assert "<- 2 hits" in out.out


@pytest.mark.usefixtures("hostile_env")
def test_api_explicit_values_equal_to_the_defaults_win(uri: str) -> None:
    answer = ask(QUESTION, provider="offline", milvus_uri=uri, collection=DEFAULT_COLLECTION, k=5)
    # the offline policy's first search is wide, 2k: RESEARCH_AGENT_K=1 would ask for 2
    assert answer.steps.records[0].args["k"] == 10
    assert answer.steps.records[0].result == "2 hits"
    assert answer.status == "answered"


@pytest.mark.usefixtures("hostile_env")
def test_values_left_out_come_from_the_environment(uri: str) -> None:
    settings = Context(milvus_uri=uri).settings()
    assert (settings.collection, settings.k, settings.effort) == ("other", 1, "high")
    with pytest.raises(ResearchAgentError, match="other"):  # no such collection: said so
        ask(QUESTION, provider="offline", milvus_uri=uri)


def test_environment_beats_dotenv_beats_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dotenv = tmp_path / "my.env"
    dotenv.write_text("RESEARCH_AGENT_K=3\nRESEARCH_AGENT_EFFORT=low\n")
    assert resolve().k == 5  # the test fixture reads no .env
    monkeypatch.setenv("RESEARCH_AGENT_ENV_FILE", str(dotenv))
    assert (resolve().k, resolve().effort) == (3, "low")
    monkeypatch.setenv("RESEARCH_AGENT_K", "4")
    assert (resolve().k, resolve().effort) == (4, "low")
    assert resolve(Context(k=5)).k == 5
    monkeypatch.delenv("RESEARCH_AGENT_ENV_FILE")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("RESEARCH_AGENT_MAX_TURNS=6\n")
    assert resolve().max_turns == 6  # .env of the current folder by default


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-k", "0"], "invalid setting k=0: Input should be greater than or equal to 1"),
        (["-k", "1000"], "invalid setting k=1000: Input should be less than or equal to 20"),
        (["--effort", "extreme"], "invalid setting effort='extreme': Input should be 'low'"),
        (["--max-tool-calls", "0"], "invalid setting max_tool_calls=0"),
        (["--base-url", "notaurl"], "invalid setting base_url='notaurl': must be an http"),
        (["-c", ""], "invalid setting collection='': must start with a letter"),
    ],
)
def test_cli_refuses_bad_values_before_the_run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code = cli(monkeypatch, "ask", QUESTION, "--provider", "offline", *args)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert not (tmp_path / ".research-agent").exists()  # nothing was opened or created


@pytest.mark.parametrize(
    "options",
    [{"k": 1000}, {"k": 0}, {"effort": "extreme"}, {"provider": "bogus"}, {"max_turns": 0}],
)
def test_api_refuses_bad_values_with_a_typed_error(
    tmp_path: Path, options: dict[str, object]
) -> None:
    with pytest.raises(ConfigError) as raised:
        ask(QUESTION, **{"provider": "offline", "data_dir": str(tmp_path / "d"), **options})
    assert isinstance(raised.value, ValueError)
    name = next(iter(options))
    assert str(raised.value).startswith(f"invalid setting {name}=")
    assert not (tmp_path / "d").exists()


def test_api_unknown_option_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown option.*top_k.*valid: base_url"):
        ask(QUESTION, top_k=3)


def test_a_bad_environment_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEARCH_AGENT_EFFORT", "extreme")
    with pytest.raises(ConfigError, match=r"effort='extreme'.*RESEARCH_AGENT_EFFORT"):
        resolve()
