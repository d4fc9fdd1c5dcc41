"""How tools find their settings: the graph's runtime context, else the environment."""

from __future__ import annotations

from langgraph.runtime import get_runtime

from agent.settings import Context, Settings, resolve


def settings_from_runtime() -> Settings:
    """Settings for the running graph (Studio form / API options), or from the environment."""
    try:
        runtime = get_runtime(Context)
    except RuntimeError:  # called outside a graph (CLI, scripts)
        return resolve()
    ctx = getattr(runtime, "context", None)
    if isinstance(ctx, dict):
        ctx = Context(**ctx)
    return resolve(ctx if isinstance(ctx, Context) else None)
