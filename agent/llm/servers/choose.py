"""Which chat model serves a run.

A configured gpt-oss server, else a local one found by probing, else the offline policy.
"""

from __future__ import annotations

from urllib.parse import urlparse

from langchain_core.language_models import BaseChatModel

from agent.llm.servers.providers import probe, resolve_server
from agent.offline.policy import MODEL_NAME, PROVIDER, OfflinePolicy
from agent.settings import Context
from tools.errors import ModelServerError

PROBE_CONFIGURED_SECONDS = 3.0
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def describe_model(model: BaseChatModel) -> tuple[str, str]:
    """(model name, provider) of a chat model passed in by a caller."""
    if isinstance(model, OfflinePolicy):
        return MODEL_NAME, PROVIDER
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    return str(name or type(model).__name__), str(getattr(model, "provider", None) or "custom")


def select_chat_model(context: Context) -> tuple[BaseChatModel, str, str]:
    """Choose the chat model for a run.

    Args:
        context: The run's configuration.

    Returns:
        (chat model, model name, provider).

    Raises:
        ModelServerError: A provider or base URL is configured but cannot be used (a local
            server that does not answer, a missing key). A configured server is never
            silently replaced by the offline policy.
    """
    settings = context.settings()
    if settings.provider == "offline":
        return OfflinePolicy(k=settings.k), MODEL_NAME, PROVIDER
    # lazy: offline runs never load langchain-openai and openai (about 0.2 s of a cold
    # `ask --provider offline`, benchmarks/cold_start.py --compare)
    from agent.llm.chat import build_chat_model

    server = resolve_server(settings)  # probes local presets when nothing is configured
    if server is None:
        return OfflinePolicy(k=settings.k), MODEL_NAME, PROVIDER
    configured = bool(settings.provider or settings.base_url)
    # Fail fast on a configured local server that is down; remote ones (maybe behind a
    # proxy the probe ignores) report failures through the chat model's own errors.
    if configured and urlparse(server.base_url).hostname in LOCAL_HOSTS:
        if not probe(server.base_url, PROBE_CONFIGURED_SECONDS):
            raise ModelServerError(
                f"No {server.preset.label} server answers at {server.base_url}. Start it, fix "
                "--provider/--base-url, or use --provider offline."
            )
    return build_chat_model(settings, server), server.model, server.provider
