"""Server presets, choosing a server from settings, and probing for a local one."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from agent.llm.servers import providers
from agent.llm.servers.providers import PRESETS, probe, resolve_server
from agent.settings import Settings
from tests.support.wire_server import WireServer
from tools.errors import ModelServerError


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENROUTER_API_KEY", "OPENAI_API_KEY", "RESEARCH_AGENT_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_presets_follow_each_server() -> None:
    assert {
        n: (p.base_url, p.default_model, p.reasoning_field, p.effort_in) for n, p in PRESETS.items()
    } == {
        "vllm": ("http://localhost:8000/v1", "openai/gpt-oss-20b", "reasoning", "param"),
        "ollama": ("http://localhost:11434/v1", "gpt-oss:20b", "reasoning", "both"),
        "lmstudio": ("http://localhost:1234/v1", "openai/gpt-oss-20b", "reasoning", "both"),
        "llamacpp": ("http://localhost:8080/v1", "gpt-oss-20b", "reasoning_content", "both"),
        "openrouter": ("https://openrouter.ai/api/v1", "openai/gpt-oss-120b", "reasoning", "param"),
        "openai": ("", "openai/gpt-oss-20b", "reasoning", "both"),
    }


def test_explicit_provider_uses_its_defaults() -> None:
    server = resolve_server(settings(provider="llamacpp"))
    assert server is not None
    assert (server.base_url, server.model, server.api_key, server.provider) == (
        "http://localhost:8080/v1",
        "gpt-oss-20b",
        "not-needed",
        "llamacpp",
    )
    assert "not-needed" not in repr(server)


@pytest.mark.parametrize(
    ("url", "preset"),
    [
        ("http://gpu-box:8000/v1/", "vllm"),
        ("http://127.0.0.1:11434/v1", "ollama"),
        ("https://openrouter.ai/api/v1", "openrouter"),
        ("https://llm.example.com/v1", "openai"),
    ],
)
def test_base_url_alone_picks_a_preset(
    url: str, preset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or")
    server = resolve_server(settings(base_url=url, model="my-oss"))
    assert server is not None
    assert (server.base_url, server.model, server.preset.name) == (
        url.rstrip("/"),
        "my-oss",
        preset,
    )


def test_keys_come_from_settings_then_the_provider_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(
        ModelServerError, match="OpenRouter needs an API key: set OPENROUTER_API_KEY"
    ):
        resolve_server(settings(provider="openrouter"))
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-env")
    assert resolve_server(settings(provider="openrouter")).api_key == "sk-env"  # type: ignore[union-attr]
    assert resolve_server(settings(provider="openrouter", api_key="sk-set")).api_key == "sk-set"  # type: ignore[union-attr]


def test_generic_provider_needs_a_url() -> None:
    with pytest.raises(ModelServerError) as exc:
        resolve_server(settings(provider="openai"))
    assert (
        str(exc.value)
        == "Provider 'openai' needs the server's URL: pass --base-url http://host:port/v1."
    )


def test_offline_and_autodetect(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_server(settings(provider="offline")) is None
    asked: list[str] = []
    monkeypatch.setattr(providers, "probe", lambda url, timeout=0.5: asked.append(url) or False)
    assert resolve_server(settings()) is None
    assert asked == [PRESETS[n].base_url for n in ("vllm", "ollama", "lmstudio", "llamacpp")]
    monkeypatch.setattr(
        providers, "probe", lambda url, timeout=0.5: url == PRESETS["lmstudio"].base_url
    )
    assert resolve_server(settings()).provider == "lmstudio"  # type: ignore[union-attr]


def test_probe_asks_for_models(wire_server: WireServer) -> None:
    assert probe(wire_server.url, 1.0)
    assert [(r.method, r.path) for r in wire_server.requests] == [("GET", "/v1/models")]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert not probe(f"http://127.0.0.1:{port}/v1", 0.2)
