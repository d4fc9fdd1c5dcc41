"""Presets for the servers that host gpt-oss, and choosing one from the settings.

Each preset records where the server usually listens, the model name it uses for
gpt-oss-20b/120b, which field carries reasoning, and how it accepts reasoning effort.
This module stays light (httpx only) so the CLI can import it without langchain.

Reasoning field sent back on tool-call turns:
- vLLM: `reasoning`. Its harmony input parser reads `reasoning` (recent builds also
  accept `reasoning_content`), and responses use `reasoning` since the field was
  renamed; the client reads both names in responses either way.
- llama.cpp: `reasoning_content` (the only name its chat parser knows).
- Ollama /v1, LM Studio, OpenRouter: `reasoning`.

Effort: vLLM and OpenRouter honour the `reasoning_effort` parameter. llama.cpp only
maps it into the gpt-oss template in newer builds, and Ollama / LM Studio versions
differ, so those presets also put `Reasoning: <effort>` in the system message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlparse

import httpx

from tools.errors import ModelServerError

if TYPE_CHECKING:
    from agent.settings import Settings

# Local servers ask for no key, but the OpenAI client refuses to start without one.
_NO_KEY = "not-needed"
_PROBE_TIMEOUT = 0.5


@dataclass(frozen=True)
class Preset:
    """How one kind of server serves gpt-oss."""

    name: str
    base_url: str
    default_model: str
    reasoning_field: Literal["reasoning_content", "reasoning"]
    effort_in: Literal["param", "system", "both"]
    api_key_env: str | None
    label: str = "OpenAI-compatible"
    """Human name used in error messages ("Is the vLLM server running at ...?")."""


@dataclass(frozen=True)
class ServerConfig:
    """The chat server one run talks to."""

    base_url: str
    model: str
    api_key: str = field(repr=False)
    preset: Preset

    @property
    def provider(self) -> str:
        """The preset's name (vllm, ollama, ...)."""
        return self.preset.name


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "vllm",
            "http://localhost:8000/v1",
            "openai/gpt-oss-20b",
            "reasoning",
            "param",
            None,
            "vLLM",
        ),
        Preset(
            "ollama",
            "http://localhost:11434/v1",
            "gpt-oss:20b",
            "reasoning",
            "both",
            None,
            "Ollama",
        ),
        Preset(
            "lmstudio",
            "http://localhost:1234/v1",
            "openai/gpt-oss-20b",
            "reasoning",
            "both",
            None,
            "LM Studio",
        ),
        Preset(
            "llamacpp",
            "http://localhost:8080/v1",
            "gpt-oss-20b",
            "reasoning_content",
            "both",
            None,
            "llama.cpp",
        ),
        Preset(
            "openrouter",
            "https://openrouter.ai/api/v1",
            "openai/gpt-oss-120b",
            "reasoning",
            "param",
            "OPENROUTER_API_KEY",
            "OpenRouter",
        ),
        Preset("openai", "", "openai/gpt-oss-20b", "reasoning", "both", "OPENAI_API_KEY"),
    )
}

LOCAL_PRESETS = ("vllm", "ollama", "lmstudio", "llamacpp")
"""Probed in this order when neither provider nor base_url is set."""


def probe(base_url: str, timeout: float = _PROBE_TIMEOUT) -> bool:
    """Tell whether an OpenAI-compatible server answers at base_url.

    Args:
        base_url: The server's /v1 base URL.
        timeout: Seconds to wait; keep it short, this runs before every session.

    Returns:
        True when GET {base_url}/models answers with a 2xx status.
    """
    try:
        # trust_env=False: a corporate proxy must not answer for localhost.
        response = httpx.get(f"{base_url.rstrip('/')}/models", timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.is_success


def preset_for_url(base_url: str) -> Preset:
    """Guess the preset from a URL's host and port (generic "openai" when unsure)."""
    url = urlparse(base_url)
    if url.hostname and url.hostname.endswith("openrouter.ai"):
        return PRESETS["openrouter"]
    for name in LOCAL_PRESETS:
        if url.port == urlparse(PRESETS[name].base_url).port:
            return PRESETS[name]
    return PRESETS["openai"]


def resolve_server(settings: Settings) -> ServerConfig | None:
    """Choose the chat server from settings.provider, settings.base_url, or a probe.

    Args:
        settings: provider, base_url, model and api_key are read.

    Returns:
        The server to use, or None when the offline policy should run (provider
        "offline", or nothing set and no local server answered).

    Raises:
        ModelServerError: The settings name a server that cannot work as given
            (generic provider without a URL, OpenRouter without a key).
    """
    if settings.provider == "offline":
        return None
    if settings.provider is not None:
        preset = PRESETS[settings.provider]
    elif settings.base_url:
        preset = preset_for_url(settings.base_url)
    else:
        found = next((n for n in LOCAL_PRESETS if probe(PRESETS[n].base_url)), None)
        if found is None:
            return None
        preset = PRESETS[found]
    base_url = (settings.base_url or preset.base_url).rstrip("/")
    if not base_url:
        raise ModelServerError(
            "Provider 'openai' needs the server's URL: pass --base-url http://host:port/v1."
        )
    return ServerConfig(
        base_url, settings.model or preset.default_model, _api_key(settings, preset), preset
    )


def _api_key(settings: Settings, preset: Preset) -> str:
    if settings.api_key is not None:
        return settings.api_key.get_secret_value()
    if preset.api_key_env and (value := os.environ.get(preset.api_key_env)):
        return value
    if preset.name == "openrouter":
        raise ModelServerError(
            "OpenRouter needs an API key: set OPENROUTER_API_KEY or RESEARCH_AGENT_API_KEY."
        )
    return _NO_KEY
