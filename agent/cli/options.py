"""The command line's shared options, and settings from the flags that were given.

Flags map one to one onto fields of the one configuration model (agent.settings); a flag
left out is None, so the environment, `.env` or the default decides that field.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agent.settings import Context, Settings, resolve

Provider = Annotated[
    str | None,
    typer.Option(
        "--provider", help="vllm, ollama, lmstudio, llamacpp, openrouter, openai or offline."
    ),
]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="Any OpenAI-compatible URL.")]
Model = Annotated[str | None, typer.Option("--model", help="Model name on the server.")]
Effort = Annotated[str | None, typer.Option("--effort", help="low, medium or high.")]
K = Annotated[int | None, typer.Option("-k", "--k", help="Hits per search (1 to 20).")]
MaxCalls = Annotated[int | None, typer.Option("--max-tool-calls", help="Tool-call budget.")]
MaxTurns = Annotated[int | None, typer.Option("--max-turns", help="Model-turn budget.")]
MaxContext = Annotated[
    int | None, typer.Option("--max-context-tokens", help="Context budget in tokens.")
]
Collection = Annotated[str | None, typer.Option("--collection", "-c", help="Milvus collection.")]
Uri = Annotated[
    str | None, typer.Option("--milvus-uri", help="Milvus URI: a Lite file or http://host:port.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def given(**flags: Any) -> dict[str, Any]:
    """The flags the user gave (None means: not given)."""
    return {name: value for name, value in flags.items() if value is not None}


def settings_with(**flags: Any) -> Settings:
    """Settings with the given flags on top of the environment and .env, validated.

    Raises:
        ConfigError: A flag or a variable has a value that is not allowed (exit 2).
    """
    return resolve(Context(**given(**flags)))
