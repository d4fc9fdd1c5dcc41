"""How tools find their settings: the graph's runtime context, else the environment."""

from __future__ import annotations

from agent.settings import Context, Settings


def settings_from_runtime() -> Settings:
    """Settings for the running graph (Studio form / API options), or from the environment."""
    from langgraph.runtime import get_runtime

    try:
        runtime = get_runtime(Context)
    except RuntimeError:  # called outside a graph (CLI, scripts)
        return Settings()
    ctx = getattr(runtime, "context", None)
    if ctx is None:
        return Settings()
    if isinstance(ctx, dict):
        ctx = Context(**ctx)
    return ctx.settings()
