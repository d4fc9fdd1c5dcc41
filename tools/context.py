"""How tools find their settings: the graph's runtime context, else the environment."""

from __future__ import annotations

import os
from dataclasses import astuple
from pathlib import Path

from agent.settings import Context, Settings

_CACHE: dict[tuple[object, ...], Settings] = {}


def _cached(context: Context | None) -> Settings:
    """Settings for a context, rebuilt only when the context, environment or .env change.

    Building Settings reads the environment and .env (about 0.7 ms); a tool call needs it
    every time, so it is kept for as long as nothing it reads has changed.
    """
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("RESEARCH_AGENT_")))
    dotenv = Path(".env")
    stamp = dotenv.stat().st_mtime_ns if dotenv.is_file() else 0
    key = (astuple(context) if context else None, env, stamp, os.getcwd())
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = context.settings() if context else Settings()
    return _CACHE[key]


def settings_from_runtime() -> Settings:
    """Settings for the running graph (Studio form / API options), or from the environment."""
    from langgraph.runtime import get_runtime

    try:
        runtime = get_runtime(Context)
    except RuntimeError:  # called outside a graph (CLI, scripts)
        return _cached(None)
    ctx = getattr(runtime, "context", None)
    if isinstance(ctx, dict):
        ctx = Context(**ctx)
    return _cached(ctx)
