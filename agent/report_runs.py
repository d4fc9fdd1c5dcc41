"""One report run's options, checked once, and its chat model, chosen once.

A report run is a research run (agent.runs.Run: thread, settings, wait, the chosen chat
model) plus the report's own options (agent.settings.ReportContext). The chosen model
travels in the graph's config under CHOSEN_KEY, as for `ask`, and the report's plan,
branches and write all use it (agent/reporting/model.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.runnables import RunnableConfig

from agent.reporting.schemas import MAX_QUESTIONS
from agent.runs import CONTEXT_FIELDS, EXTRA_OPTIONS, Run, from_options
from agent.settings import ReportContext, resolve
from tools.errors import ConfigError

FIELDS = frozenset(ReportContext.model_fields)
REPORT_ONLY = FIELDS - CONTEXT_FIELDS
"""The report's own options: they may come beside `run=`."""
VALID = FIELDS | EXTRA_OPTIONS | {"run"}
BRANCH_THREADS = 2 * MAX_QUESTIONS
"""Worker threads for a run's parallel tasks: every branch at once (LangGraph's default
pool has min(32, CPUs + 4) threads, 6 on a 2-core machine, so 8 branches ran in two waves)."""


@dataclass(frozen=True)
class ReportRun:
    """One report call's options, split up and checked, and (once asked for) its chat model."""

    run: Run
    """The research run's part: thread, settings, wait, and the chat model once chosen."""
    context: ReportContext

    @property
    def thread_id(self) -> str | None:
        """The thread, or None (no review, no resume)."""
        return self.run.thread_id

    def with_model(self) -> ReportRun:
        """This run with its chat model chosen and built (once: a chosen run is returned as is).

        Raises:
            ModelServerError: A configured server cannot be used.
        """
        return self if self.run.chosen is not None else replace(self, run=self.run.with_model())

    def on_a_thread(self) -> ReportRun:
        """This run, on a new thread unless it has one (a review needs a thread)."""
        if self.thread_id:
            return self
        return replace(self, run=self.run.on_thread(f"report-{uuid.uuid4().hex[:12]}"))

    def config(self) -> RunnableConfig:
        """The graph config: the thread and the chosen model, every branch at once."""
        return {**self.run.config(), "max_concurrency": BRANCH_THREADS}


def report_run(options: dict[str, Any], *, choose: bool = True) -> ReportRun:
    """Check a report call's options before anything runs; choose its model (once).

    Args:
        options: As for agent.report_api.report_stream: a research run's options and the
            report's own, or `run=` (a Run from agent.runs.prepare, its model chosen once)
            with only the report's own options and a thread id beside it.
        choose: Choose the chat model now (False: later, with `with_model`).

    Raises:
        ConfigError: An option is unknown or its value is not allowed.
        ModelServerError: A configured model server cannot be used (when choosing).
    """
    unknown = set(options) - VALID
    if unknown:
        valid = ", ".join(sorted(VALID - {"run"}))
        raise ConfigError(f"unknown option(s) {', '.join(sorted(unknown))}; valid: {valid}.")
    own = {k: v for k, v in options.items() if k in REPORT_ONLY and v is not None}
    run = from_options({k: v for k, v in options.items() if k not in REPORT_ONLY}, choose=False)
    given = {k: v for k, v in run.given.items() if k in CONTEXT_FIELDS}
    context = ReportContext(**given, **own)
    resolve(context, data_dir=run.given.get("data_dir"))  # the report's settings checked too
    if "milvus_uri" not in given:
        context = ReportContext(**given, **own, milvus_uri=run.context.milvus_uri)
    prepared = ReportRun(run, context)
    return prepared.with_model() if choose else prepared
