"""tools/redact.py and where it is applied: settings errors, product errors, doctor lines."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agent.cli.doctor import as_dict, line
from agent.doctor import Check
from agent.settings import Context, Settings, shown_value
from tools.errors import ConfigError, ModelServerError
from tools.redact import is_secret_name, redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:pw@h:8000/v1", "http://u:***@h:8000/v1"),
        ("https://tok3n@h/x", "https://***@h/x"),
        (
            "postgresql://me:pw@db:5432/x?sslmode=require&password=pw2",
            "postgresql://me:***@db:5432/x?sslmode=require&password=***",
        ),
        ("http://h/v1?api_key=k&sig=s&model=m", "http://h/v1?api_key=***&sig=***&model=m"),
        ("http://localhost:8000/v1", "http://localhost:8000/v1"),
        ("http://u:p@ss@h/", "http://u:***@h/"),  # an @ inside the password
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "Milvus at http://root:Milvus1@h:19530 does not answer",
            "Milvus at http://root:***@h:19530 does not answer",
        ),
        (
            'HTTP 401: {"message": "Bearer sk-abcdef123456 bad"}',
            'HTTP 401: {"message": "Bearer *** bad"}',
        ),
        (
            "Incorrect API key provided: sk-proj-abc123def456.",
            "Incorrect API key provided: sk-***.",
        ),
        ("host=db password=pw user=me", "host=db password=*** user=me"),
        ('{"api_key": "abc123", "model": "x"}', '{"api_key": "***", "model": "x"}'),
        # prose with a colon or a variable's name is not a secret
        ("needs an API key: set OPENROUTER_API_KEY", "needs an API key: set OPENROUTER_API_KEY"),
        ("author: Smith, keyboard=3", "author: Smith, keyboard=3"),
    ],
)
def test_redact_text(text: str, shown: str) -> None:
    assert redact_text(text) == shown


def test_values_of_secret_variables_are_masked_wherever_they_appear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "plain-looking-value")
    monkeypatch.setenv("MY_SERVICE_HOST", "plain-host-value")
    text = redact_text("got plain-looking-value from plain-host-value")
    assert text == "got *** from plain-host-value"


def test_secret_names() -> None:
    secret = ["api_key", "RESEARCH_AGENT_API_KEY", "sslpassword", "pwd", "X-Auth", "apikey"]
    assert all(is_secret_name(n) for n in secret)
    assert not any(is_secret_name(n) for n in ["author", "monkey", "keyboard", "passage", "model"])


def test_product_errors_are_redacted_where_they_are_made() -> None:
    exc = ModelServerError("The server at http://u:pw@h/v1 said Bearer sk-abcdef123456")
    assert str(exc) == "The server at http://u:***@h/v1 said Bearer ***"


def test_settings_errors_mask_secrets_and_cut_long_values() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(checkpoint_uri="mysql://u:pw@h/db?password=x")
    assert "checkpoint_uri='mysql://u:***@h/db?password=***'" in str(caught.value)
    assert shown_value("api_key", "anything") == "'***'"
    long = shown_value("base_url", "ftp://" + "x" * 500)
    assert len(long) == 80 and long.endswith("...")
    with pytest.raises(ConfigError) as caught:
        Context(base_url="ftp://me:pw@h")
    assert "'ftp://me:***@h'" in str(caught.value)


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_key_or_token_is_none(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    for name in ("API_KEY", "EMBEDDING_API_KEY", "MILVUS_TOKEN", "SERVER_TOKEN"):
        monkeypatch.setenv(f"RESEARCH_AGENT_{name}", value)
    settings = Settings()
    assert (settings.api_key, settings.embedding_api_key) == (None, None)
    assert (settings.milvus_token, settings.server_token) == (None, None)
    assert Settings(api_key=SecretStr("k")).api_key == SecretStr("k")


def test_doctor_lines_and_json_are_redacted_and_escaped() -> None:
    check = Check("model", False, "at http://u:pw@h/v1 the model \x1b]0;t\x07 is missing")
    assert line(check) == "FAIL  model: at http://u:***@h/v1 the model \\x1b]0;t\\x07 is missing"
    assert as_dict(check)["detail"] == "at http://u:***@h/v1 the model \\x1b]0;t\\x07 is missing"
