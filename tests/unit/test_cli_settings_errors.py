"""A bad setting from the environment is one line on stderr, not a pydantic traceback."""

from __future__ import annotations

import pytest

from agent.cli.app import main


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        (
            "RESEARCH_AGENT_K",
            "30",
            "k='30': Input should be less than or equal to 20 (set with --k or RESEARCH_AGENT_K)",
        ),
        ("RESEARCH_AGENT_CHUNK_TOKENS", "lots", "chunk_tokens='lots': Input should be a valid"),
        (
            "RESEARCH_AGENT_EMBEDDER",
            "bert",
            "embedder='bert': Input should be 'minilm' or 'openai'",
        ),
    ],
)
def test_bad_setting_is_one_line_and_exit_2(
    env: str,
    value: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: object,
) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    monkeypatch.setenv(env, value)
    monkeypatch.setattr("sys.argv", ["research-agent", "search", "anything"])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: invalid setting ")
    assert expected in err and "Traceback" not in err
