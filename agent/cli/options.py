"""The command line's shared options, and settings from the flags that were given.

Flags map one to one onto fields of the one configuration model (agent.settings); a flag
left out is None, so the environment, `.env` or the default decides that field. The run
flags (model server, budgets, store) are declared once, in RUN_FLAGS; `@run_flags` adds
them to a command (ask, resume, chat, report, mcp), which receives them as one dict.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
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

RUN_FLAGS: dict[str, Any] = {
    "provider": Provider,
    "base_url": BaseUrl,
    "model": Model,
    "effort": Effort,
    "k": K,
    "max_tool_calls": MaxCalls,
    "max_turns": MaxTurns,
    "max_context_tokens": MaxContext,
    "collection": Collection,
    "milvus_uri": Uri,
}
"""The flags of a research run, by the Context field each sets (declared here only)."""
RunFlags = dict[str, Any]
"""The run flags a user gave, by field name (flags left out are absent)."""


def run_flags(
    *, without: tuple[str, ...] = ()
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the run flags, in place of its parameter `flags: RunFlags`.

    Typer reads the returned function's signature: the command's own parameters, with the
    run flags (all but `without`) where `flags` stood. The command is called with the
    flags the user gave as one dict, `flags`.
    """
    names = [name for name in RUN_FLAGS if name not in without]

    def add(command: Callable[..., None]) -> Callable[..., None]:
        own = inspect.signature(command, eval_str=True)
        declared = [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=a)
            for n, a in RUN_FLAGS.items()
            if n in names
        ]
        params: list[inspect.Parameter] = []
        for param in own.parameters.values():
            if param.name == "flags":
                params.extend(declared)
            else:
                params.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(command)
        def command_with_flags(**values: Any) -> None:
            flags = given(**{n: values.pop(n) for n in names})
            command(**values, flags=flags)

        command_with_flags.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
        return command_with_flags

    return add


def given(**flags: Any) -> dict[str, Any]:
    """The flags the user gave (None means: not given)."""
    return {name: value for name, value in flags.items() if value is not None}


def settings_with(**flags: Any) -> Settings:
    """Settings with the given flags on top of the environment and .env, validated.

    Raises:
        ConfigError: A flag or a variable has a value that is not allowed (exit 2).
    """
    return resolve(Context(**given(**flags)))
