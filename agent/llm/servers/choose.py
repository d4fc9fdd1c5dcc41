"""Which chat model serves a run.

A configured gpt-oss server, else a local one found by probing, else the offline policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from langchain_core.language_models import BaseChatModel

from agent.llm.servers.providers import ServerConfig, probe, resolve_server
from agent.offline.policy import MODEL_NAME, PROVIDER, OfflinePolicy
from agent.schemas import ModelChoice
from agent.settings import Context, Settings
from tools.errors import ModelServerError

PROBE_CONFIGURED_SECONDS = 3.0
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
CHOSEN_KEY = "research_agent_chosen_model"
"""The key of a run's `configurable` that carries the model the API chose for it (agent.runs);
`call_model` uses it instead of choosing again. Not a primitive, so never saved in checkpoints."""
OFFLINE_CHOSEN = "chosen"
OFFLINE_FALLBACK = "no model server configured or reachable"


@dataclass(frozen=True)
class ChosenModel:
    """A run's chat model, built once, and the choice it came from."""

    chat: BaseChatModel
    choice: ModelChoice


def describe_model(model: BaseChatModel) -> tuple[str, str]:
    """(model name, provider) of a chat model passed in by a caller."""
    if isinstance(model, OfflinePolicy):
        return MODEL_NAME, PROVIDER
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    return str(name or type(model).__name__), str(getattr(model, "provider", None) or "custom")


def select_chat_model(context: Context) -> tuple[BaseChatModel, str, str]:
    """(chat model, model name, provider) for a run: `choose_chat_model`, unpacked."""
    chosen = choose_chat_model(context)
    return chosen.chat, chosen.choice.model, chosen.choice.provider


def _offline(settings: Settings, reason: str) -> ChosenModel:
    choice = ModelChoice(provider=PROVIDER, model=MODEL_NAME, reason=reason)
    return ChosenModel(OfflinePolicy(k=settings.k), choice)


def choose_chat_model(context: Context) -> ChosenModel:
    """Choose and build the chat model for a run, and say why.

    Args:
        context: The run's configuration.

    Returns:
        The chat model and its ModelChoice (provider, model, base URL, reason).

    Raises:
        ModelServerError: A provider or base URL is configured but cannot be used (a local
            server that does not answer, a missing key). A configured server is never
            silently replaced by the offline policy.
    """
    settings = context.settings()
    if settings.provider == "offline":
        return _offline(settings, OFFLINE_CHOSEN)
    # lazy: offline runs never load langchain-openai and openai (about 0.2 s of a cold
    # `ask --provider offline`, benchmarks/cold_start.py --compare)
    from agent.llm.chat import build_chat_model

    server = resolve_server(settings)  # probes local presets when nothing is configured
    if server is None:
        return _offline(settings, OFFLINE_FALLBACK)
    configured = bool(settings.provider or settings.base_url)
    # Fail fast on a configured local server that is down; remote ones (maybe behind a
    # proxy the probe ignores) report failures through the chat model's own errors.
    if configured and urlparse(server.base_url).hostname in LOCAL_HOSTS:
        if not probe(server.base_url, PROBE_CONFIGURED_SECONDS):
            raise ModelServerError(
                f"No {server.preset.label} server answers at {server.base_url}. Start it, fix "
                "--provider/--base-url, or use --provider offline."
            )
    choice = ModelChoice(
        provider=server.provider,
        model=server.model,
        base_url=server.base_url,
        reason=choice_reason(settings, server),
    )
    return ChosenModel(build_chat_model(settings, server), choice)


def choice_reason(settings: Settings, server: ServerConfig) -> str:
    """Why this server serves the run: configured (how), or found by probing."""
    if settings.provider:
        return f"configured: provider {settings.provider}"
    if settings.base_url:
        return f"configured: base URL (a {server.preset.label} server by its address)"
    return f"found by probing the local servers: {server.preset.label} answers"
