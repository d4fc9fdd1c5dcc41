"""The gpt-oss server's context window, read from the server where it exposes it.

Local servers often run gpt-oss with a window far below a research run's context budget,
and a server silently truncates a prompt that does not fit (dropping the system prompt or
tool results). Each server kind tells its window differently (shapes from its docs):

- vLLM: `GET /v1/models` -> `data[].max_model_len`.
- llama.cpp: `GET /props` -> `default_generation_settings.n_ctx` (the per-slot context).
- Ollama: `GET /api/ps` -> `models[].context_length` of a loaded model; else
  `POST /api/show` -> a `num_ctx` line in `parameters`, else Ollama's own default
  (4096 on machines with under 24 GiB of VRAM) unless the server sets
  OLLAMA_CONTEXT_LENGTH, which no endpoint reports. The model's trained maximum is
  `model_info["<arch>.context_length"]`.
- LM Studio: `GET /api/v0/models/{model}` -> `loaded_context_length` of a loaded model
  (`max_context_length` is the trained maximum).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx

from agent.llm.servers.choose import LOCAL_HOSTS

OLLAMA_DEFAULT_CONTEXT = 4096
"""Ollama's default window below 24 GiB of VRAM (docs/context-length.mdx in ollama/ollama)."""
ANSWER_ROOM = 4096
"""Tokens kept free for the model's reply (reasoning and answer) when a window is known."""
PROBE_SECONDS = 2.0

FIXES = {
    "vllm": "restart vLLM with a larger --max-model-len (gpt-oss supports 131072)",
    "llamacpp": "restart llama-server with a larger -c/--ctx-size (per slot: divide by -np)",
    "ollama": "set OLLAMA_CONTEXT_LENGTH=32768 for `ollama serve`, or PARAMETER num_ctx "
    "32768 in a Modelfile",
    "lmstudio": "reload the model with a larger context length (`lms load MODEL "
    "--context-length 32768`, or the model's load settings in the app)",
}
LABELS = {"vLLM": "vllm", "llama.cpp": "llamacpp", "Ollama": "ollama", "LM Studio": "lmstudio"}


@dataclass(frozen=True)
class ContextWindow:
    """What a server said about its context window for the model."""

    tokens: int
    """The window in force: prompt and reply together must fit in it."""
    server: str
    """Server kind: vllm, llamacpp, ollama or lmstudio."""
    source: str
    """Where the figure came from, e.g. "llama.cpp /props n_ctx"."""
    model_max: int | None = None
    """The model's trained maximum, when the server reports it."""

    def fix(self) -> str:
        """How to raise the window on this kind of server."""
        return FIXES[self.server]


def _root(base_url: str) -> str:
    """The server root of an OpenAI-compatible base URL (…/v1 -> …)."""
    return re.sub(r"/v1/?$", "", base_url.rstrip("/"))


def _get(client: httpx.Client, url: str) -> Any:
    response = client.get(url)
    response.raise_for_status()  # a 404 means: not this kind of server
    return response.json()


def _vllm(client: httpx.Client, base_url: str, model: str) -> ContextWindow | None:
    for entry in _get(client, f"{base_url.rstrip('/')}/models").get("data") or []:
        if entry.get("id") == model and isinstance(entry.get("max_model_len"), int):
            return ContextWindow(entry["max_model_len"], "vllm", "vLLM /v1/models max_model_len")
    return None


def _llamacpp(client: httpx.Client, base_url: str, model: str) -> ContextWindow | None:
    props = _get(client, f"{_root(base_url)}/props")
    n_ctx = (props.get("default_generation_settings") or {}).get("n_ctx")
    if isinstance(n_ctx, int) and n_ctx > 0:
        return ContextWindow(n_ctx, "llamacpp", "llama.cpp /props n_ctx")
    return None


def _ollama(client: httpx.Client, base_url: str, model: str) -> ContextWindow | None:
    root = _root(base_url)
    # GET /api/ps first: only a server that answers it (Ollama) is sent the POST
    running = _get(client, f"{root}/api/ps").get("models") or []
    response = client.post(f"{root}/api/show", json={"model": model})
    response.raise_for_status()
    show = response.json()
    info = show.get("model_info") or {}
    model_max = next((v for k, v in info.items() if k.endswith(".context_length")), None)
    for entry in running:
        if model in (entry.get("model"), entry.get("name")) and entry.get("context_length"):
            return ContextWindow(
                int(entry["context_length"]), "ollama", "Ollama /api/ps context_length", model_max
            )
    found = re.search(r"^num_ctx\s+(\d+)", str(show.get("parameters") or ""), re.M)
    if found:
        return ContextWindow(int(found[1]), "ollama", "Ollama /api/show num_ctx", model_max)
    return ContextWindow(
        OLLAMA_DEFAULT_CONTEXT,
        "ollama",
        "Ollama's default (no num_ctx; model not loaded; OLLAMA_CONTEXT_LENGTH not visible)",
        model_max,
    )


def _lmstudio(client: httpx.Client, base_url: str, model: str) -> ContextWindow | None:
    entry = _get(client, f"{_root(base_url)}/api/v0/models/{model}")
    loaded = entry.get("loaded_context_length")
    if isinstance(loaded, int) and loaded > 0:
        model_max = entry.get("max_context_length")
        return ContextWindow(loaded, "lmstudio", "LM Studio loaded_context_length", model_max)
    return None


PROBES: dict[str, Callable[[httpx.Client, str, str], ContextWindow | None]] = {
    "vllm": _vllm,
    "llamacpp": _llamacpp,
    "ollama": _ollama,
    "lmstudio": _lmstudio,
}


def discover(
    base_url: str,
    model: str,
    kind: str | None = None,
    api_key: str = "",
    timeout: float = PROBE_SECONDS,
) -> ContextWindow | None:
    """Ask a server for its context window.

    Args:
        base_url: The OpenAI-compatible base URL (…/v1).
        model: The model name on that server.
        kind: vllm, llamacpp, ollama or lmstudio when known; else each shape is tried
            on a local server, and a remote one is not asked.
        api_key: Sent as a bearer token when given.
        timeout: Seconds per request.

    Returns:
        The window, or None when the server does not expose one in a known shape.
    """
    if kind not in PROBES and urlparse(base_url).hostname not in LOCAL_HOSTS:
        return None  # a remote service of unknown kind (OpenRouter, a proxy): nothing to ask
    kinds = [kind] if kind in PROBES else list(PROBES)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(timeout=timeout, headers=headers, trust_env=False) as client:
        for name in kinds:
            try:
                window = PROBES[name](client, base_url, model)
            except (httpx.HTTPError, ValueError, AttributeError, TypeError):
                continue  # not this kind of server, or it does not say
            if window is not None:
                return window
    return None


_CACHE: dict[tuple[str, str], ContextWindow | None] = {}


def window_of(chat: Any) -> ContextWindow | None:
    """The context window of the server behind a chat model, asked once per server+model."""
    base_url = getattr(chat, "openai_api_base", None)
    if not isinstance(base_url, str) or not base_url:
        return None  # the offline policy or a caller's own model: no server to ask
    model = str(getattr(chat, "model_name", "") or "")
    key = (base_url, model)
    if key not in _CACHE:
        kind = LABELS.get(str(getattr(chat, "server_label", "")))
        secret = getattr(chat, "openai_api_key", None)
        api_key = secret.get_secret_value() if secret is not None else ""
        _CACHE[key] = discover(base_url, model, kind, api_key)
    return _CACHE[key]


def context_budget(chat: Any, setting: int, answer_room: int | None = None) -> int:
    """The run's context budget: min(setting, window - room for the answer).

    The room for the answer is the chat model's output cap (`max_tokens`), else ANSWER_ROOM.
    """
    window = window_of(chat)
    if window is None:
        return setting
    if answer_room is None:
        cap = getattr(chat, "max_tokens", None)
        answer_room = cap if isinstance(cap, int) and cap > 0 else ANSWER_ROOM
    return max(1, min(setting, window.tokens - answer_room))
