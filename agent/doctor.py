"""Python API for `doctor`: check the model server, Milvus and the embedder.

Each check is a `Check` (name, ok, detail); front ends render them (the CLI one line each).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from agent.llm.chat import build_chat_model
from agent.llm.servers.choose import choice_reason
from agent.llm.servers.context_window import discover
from agent.llm.servers.providers import ServerConfig, resolve_server
from agent.settings import Context, Settings, resolve
from tools.embeddings import MINILM_NAME, get_embedder
from tools.errors import ResearchAgentError
from tools.fetch import fetch_doc
from tools.render import counted
from tools.search import milvus_search
from tools.store import open_store


@dataclass(frozen=True)
class Check:
    """One check's outcome; `detail` may hold URLs with secrets (mask them to show it)."""

    name: str
    ok: bool
    detail: str


def check_model(settings: Settings, timeout: float = 5.0) -> list[Check]:
    """Is the gpt-oss server reachable, is the model there, does it return tool calls?"""
    try:
        server = resolve_server(settings)
    except ResearchAgentError as exc:
        return [Check("model server", False, str(exc))]
    if server is None:
        return [
            Check(
                "model server",
                True,
                "none configured and none answers locally: `ask` will use "
                "the offline policy (extractive, not gpt-oss)",
            )
        ]
    headers = {"Authorization": f"Bearer {server.api_key}"} if server.api_key else {}
    try:
        resp = httpx.get(f"{server.base_url}/models", headers=headers, timeout=timeout)
        resp.raise_for_status()
        models = [str(m.get("id")) for m in resp.json().get("data", [])]
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return [
            Check(
                "model server",
                False,
                f"{server.preset.label} at {server.base_url} does not "
                f"answer ({exc.__class__.__name__}). Start it or fix --provider/--base-url.",
            )
        ]
    checks = [Check("model server", True, f"{server.preset.label} answers at {server.base_url}")]
    present = server.model in models
    checks.append(
        Check(
            "model",
            present,
            f"{server.model} is served"
            if present
            else f"{server.model} not among {', '.join(models[:5]) or 'no models'}; pass --model",
        )
    )
    if present:
        checks.append(check_context_window(settings, server))
        checks.append(_check_tool_calls(settings, server))
        # the reason `ask` gives for the same choice (agent.runs.prepare)
        checks.append(Check("model choice", True, choice_reason(settings, server)))
    return checks


def check_context_window(settings: Settings, server: ServerConfig) -> Check:
    """Does the server's context window hold a research run (its budget plus the answer)?"""
    window = discover(server.base_url, server.model, server.preset.name, server.api_key)
    if window is None:
        return Check(
            "context window",
            True,
            f"{server.preset.label} does not report it; make sure it holds "
            f"{settings.max_context_tokens + settings.output_cap()} tokens",
        )
    needed = settings.max_context_tokens + settings.output_cap()
    trained = f" (model maximum {window.model_max})" if window.model_max else ""
    detail = f"{window.tokens} tokens{trained}, from {window.source}"
    if window.tokens >= needed:
        return Check("context window", True, detail)
    budget = max(1, window.tokens - settings.output_cap())
    return Check(
        "context window",
        False,
        f"{detail}: a research run needs {needed} ({settings.max_context_tokens} of context "
        f"+ {settings.output_cap()} for the answer), so runs will stop using tools at "
        f"{budget} tokens. "
        f"To fix it, {window.fix()}.",
    )


def _check_tool_calls(settings: Settings, server: object) -> Check:
    try:
        model = build_chat_model(settings, server)  # type: ignore[arg-type]
        reply = model.bind_tools([milvus_search, fetch_doc]).invoke(
            "Use milvus_search to look up 'index types'. Call the tool; do not answer."
        )
    except ResearchAgentError as exc:
        return Check("tool calls", False, str(exc))
    names = [c["name"] for c in getattr(reply, "tool_calls", [])]
    if names:
        return Check("tool calls", True, f"the model called {', '.join(names)}")
    return Check(
        "tool calls",
        False,
        "the model answered without calling a tool; check the "
        "server's tool-call parser (e.g. vLLM --tool-call-parser openai)",
    )


def check_milvus(settings: Settings) -> list[Check]:
    """Does Milvus open, is the collection there, how many chunks, does the embedder match?"""
    uri = settings.resolved_milvus_uri()
    try:
        store = open_store(settings)
        if not store.exists():
            return [
                Check("milvus", True, f"opens at {uri}"),
                Check(
                    "collection",
                    False,
                    f"'{settings.collection}' does not exist: run `research-agent ingest PATH`",
                ),
            ]
        count = store.count()
        recorded = store.recorded_embedder()
    except ResearchAgentError as exc:
        return [Check("milvus", False, str(exc))]
    wanted = MINILM_NAME if settings.embedder == "minilm" else f"openai:{settings.embedding_model}"
    name, dim = recorded or ("?", 0)
    return [
        Check("milvus", True, f"opens at {uri}"),
        Check("collection", count > 0, f"'{settings.collection}' holds {counted(count, 'chunk')}"),
        Check(
            "embedder match",
            name == wanted,
            f"collection built with {name} (dim {dim}); settings select {wanted}",
        ),
    ]


def check_embedder(settings: Settings) -> list[Check]:
    """Does the embedder load (offline for MiniLM) and produce vectors?"""
    try:
        embedder = get_embedder(settings)
        vec = embedder.embed(["doctor check"])
    except ResearchAgentError as exc:
        return [Check("embedder", False, str(exc))]
    return [Check("embedder", True, f"{embedder.name} loads offline, dim {vec.shape[1]}")]


def run_checks(settings: Settings) -> list[Check]:
    """All checks, in the order the report prints them."""
    return [*check_model(settings), *check_milvus(settings), *check_embedder(settings)]


def doctor(**options: str | None) -> list[Check]:
    """Check the model server, the model, Milvus, the collection and the embedder.

    Args:
        **options: Run options as for agent.api.ask (provider, base_url, model, collection,
            milvus_uri, ...); None means not given.

    Returns:
        The checks in order; all `ok` when a research run can work as configured.

    Raises:
        ConfigError: An option or setting has a value that is not allowed.
    """
    given = {k: v for k, v in options.items() if v is not None}
    return run_checks(resolve(Context(**given)))
