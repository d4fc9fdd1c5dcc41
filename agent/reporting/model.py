"""The chat model of a report's plan and write turns: the caller's, or the run's choice."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from agent.llm.servers.choose import describe_model, select_chat_model
from agent.offline.policy import OfflinePolicy
from agent.settings import Context

_CHOSEN: dict[tuple[str | None, ...], tuple[BaseChatModel, str, str]] = {}


def choose_model(model: BaseChatModel | None, context: Context) -> tuple[BaseChatModel, str, str]:
    """(chat model, name, provider) for a report turn.

    Args:
        model: A model given when the graph was built, used as is.
        context: The run's options (provider, base URL, model, effort).

    Returns:
        The model with its name and provider; servers are probed once per configuration.
    """
    if model is not None:
        return (model, *describe_model(model))
    settings = context.settings()
    key = (settings.provider, settings.model, settings.base_url, settings.effort)
    if key in _CHOSEN:
        return _CHOSEN[key]
    choice = select_chat_model(context)
    # a fallback to the offline policy is not kept: a server started later is picked up
    if not (choice[2] == "offline" and settings.provider != "offline"):
        _CHOSEN[key] = choice
    return choice


def is_offline(model: BaseChatModel) -> bool:
    """True for the offline policy: plan and write without a language model."""
    return isinstance(model, OfflinePolicy)
