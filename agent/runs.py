"""One run's options, checked once: its Context, Settings and thread, and its chat model.

`prepare(**options)` splits and validates a run's options (with the environment and .env)
and chooses the chat model once: the server is probed and the model built here, and the
graph's `call_model` reuses it (carried in the run's config). A front end shows
`run.choice` (which model and provider, and why) before the run starts, then passes the
prepared run to `agent.api` (`stream(question, run=run)`), so nothing is chosen twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.runnables import RunnableConfig

from agent.llm.servers.choose import CHOSEN_KEY, ChosenModel, choose_chat_model
from agent.schemas import ModelChoice
from agent.settings import Context, Settings, resolve
from tools.errors import ConfigError

CONTEXT_FIELDS = frozenset(Context.model_fields)
EXTRA_OPTIONS = frozenset({"thread_id", "data_dir", "wait"})


@dataclass(frozen=True)
class Run:
    """One run's options, split up and checked, and (once asked for) its chat model."""

    context: Context
    thread_id: str | None
    settings: Settings
    wait: bool
    """False: raise ThreadBusyError rather than wait for another run on the thread."""
    given: dict[str, Any] = field(default_factory=dict)
    """The options as given (None left out), for APIs that take keywords (reports, MCP)."""
    chosen: ChosenModel | None = None

    @property
    def choice(self) -> ModelChoice | None:
        """Which model serves the run and why; None until the model is chosen."""
        return self.chosen.choice if self.chosen is not None else None

    def with_model(self) -> Run:
        """This run with its chat model chosen and built (once: a chosen run is returned as is).

        Raises:
            ModelServerError: A configured server cannot be used (see choose_chat_model).
        """
        if self.chosen is not None:
            return self
        return replace(self, chosen=choose_chat_model(self.context))

    def on_thread(self, thread_id: str) -> Run:
        """The same run on another thread."""
        return replace(self, thread_id=thread_id, given={**self.given, "thread_id": thread_id})

    def config(self) -> RunnableConfig:
        """The graph config: the thread, and the chosen model for `call_model` to reuse."""
        configurable: dict[str, Any] = {}
        if self.thread_id:
            configurable["thread_id"] = self.thread_id
        if self.chosen is not None:
            configurable[CHOSEN_KEY] = self.chosen
        return {"configurable": configurable} if configurable else {}


def split(options: dict[str, Any]) -> Run:
    """Split options into the run's Context, the thread id, the settings and `wait`.

    Settings are resolved and the Context built once, here; the model is not chosen.

    Raises:
        ConfigError: An option is unknown or its value is not allowed (checked before the
            run starts, with the environment and .env resolved too).
    """
    options = {k: v for k, v in options.items() if v is not None}
    given = dict(options)
    thread_id = options.pop("thread_id", None)
    data_dir = options.pop("data_dir", None)
    wait = bool(options.pop("wait", True))
    unknown = set(options) - CONTEXT_FIELDS
    if unknown:
        valid = ", ".join(sorted(CONTEXT_FIELDS | EXTRA_OPTIONS))
        raise ConfigError(f"unknown option(s) {', '.join(sorted(unknown))}; valid: {valid}.")
    context = Context(**options)  # a bad value is a ConfigError naming the flag
    settings = resolve(context, data_dir=data_dir)  # the environment's values checked too
    if "milvus_uri" not in options:
        context = context.model_copy(update={"milvus_uri": settings.resolved_milvus_uri()})
    return Run(context, thread_id, settings, wait, given)


def prepare(**options: Any) -> Run:
    """Check a run's options once and choose its chat model once.

    Args:
        **options: As for agent.api.ask: Context fields (provider, model, base_url, effort,
            k, max_tool_calls, max_turns, max_context_tokens, collection, milvus_uri), and
            thread_id, wait, data_dir.

    Returns:
        The run; `run.choice` says which model serves it and why. Pass it on as
        `agent.api.stream(question, run=run)` (or ask, resume_stream, ...).

    Raises:
        ConfigError: An option is unknown or its value is not allowed.
        ModelServerError: A configured model server cannot be used.
    """
    return split(options).with_model()


def from_options(options: dict[str, Any], *, choose: bool = True) -> Run:
    """The run of an API call: `run=` a prepared Run (alone), or options to split.

    Raises:
        ConfigError: `run` comes with other options, or an option is not allowed.
    """
    run = options.get("run")
    if run is None:
        run = split({k: v for k, v in options.items() if k != "run"})
    else:
        if not isinstance(run, Run):
            raise ConfigError("run= takes a Run from agent.runs.prepare(...).")
        extra = sorted(
            k for k, v in options.items() if k not in ("run", "thread_id") and v is not None
        )
        if extra:
            raise ConfigError(f"pass the options to prepare(), not beside run=: {extra}.")
        if options.get("thread_id") and options["thread_id"] != run.thread_id:
            run = run.on_thread(options["thread_id"])
    return run.with_model() if choose else run
