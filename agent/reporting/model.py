"""The chat model of a report run: chosen and built once per run, shared by every node.

The API (agent.report_api) chooses it before the run and carries it in the run's config
under CHOSEN_KEY, as it does for `ask`; plan, each branch (its question loop gets the same
key) and write use that one. A run without it (`langgraph dev` / Studio, or the graph
invoked directly) chooses once, on first use, and keeps the choice for the rest of the run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from langchain_core.language_models import BaseChatModel
from langgraph.config import get_config
from langgraph.runtime import get_runtime

from agent.llm.servers.choose import CHOSEN_KEY, ChosenModel, choose_chat_model, describe_model
from agent.offline.policy import OfflinePolicy
from agent.schemas import ModelChoice
from agent.settings import Context

GIVEN = "given to the graph when it was built"
KEPT_RUNS = 64
"""Runs without a carried choice whose choice is kept (the oldest is forgotten first; a run
that outlives that many newer ones chooses again)."""

_RUNS: OrderedDict[int, tuple[object, ChosenModel]] = OrderedDict()
_LOCK = threading.Lock()  # parallel branches of one run must not all probe


def run_model(model: BaseChatModel | None, context: Context) -> ChosenModel:
    """The chat model of the current report run (called from inside a report node).

    Args:
        model: A model given when the graph was built, used as is.
        context: The run's options, to choose from when the run carries no choice.

    Returns:
        The given model, else the run's carried choice, else the one this run chose first.

    Raises:
        ModelServerError: A configured server cannot be used (see choose_chat_model).
    """
    if model is not None:
        name, provider = describe_model(model)
        return ChosenModel(model, ModelChoice(provider=provider, model=name, reason=GIVEN))
    carried = (get_config().get("configurable") or {}).get(CHOSEN_KEY)
    if isinstance(carried, ChosenModel):
        return carried
    # The run's RunControl: one per top-level run, shared by its nodes and subgraphs.
    control = get_runtime().control
    if control is None:
        return choose_chat_model(context)
    with _LOCK:
        kept = _RUNS.get(id(control))
        if kept is not None and kept[0] is control:
            return kept[1]
        chosen = choose_chat_model(context)
        _RUNS[id(control)] = (control, chosen)  # the control is held: its id is not reused
        while len(_RUNS) > KEPT_RUNS:
            _RUNS.popitem(last=False)
    return chosen


def is_offline(model: BaseChatModel) -> bool:
    """True for the offline policy: plan and write without a language model."""
    return isinstance(model, OfflinePolicy)
