"""The research graph's nodes: prepare the run, call the model, route, respond."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.config import get_config
from langgraph.runtime import Runtime

from agent import prompts
from agent.llm.servers.choose import (
    CHOSEN_KEY,
    ChosenModel,
    describe_model,
    select_chat_model,
)
from agent.llm.servers.context_window import context_budget
from agent.llm.servers.harmony_tokens import count_request_tokens
from agent.nodes.budget import fits_run_budget, spent_budget
from agent.nodes.history import fit_history
from agent.nodes.respond import respond
from agent.settings import Context
from agent.state import LAST_TURN_ID, State
from tools.errors import ResearchAgentError

__all__ = ["make_call_model", "prepare", "respond", "route_after_model"]


def prepare(state: State) -> dict[str, Any]:
    """Start a run: turn `question` into a human message and reset the run's counters.

    Raises:
        ResearchAgentError: There is no question to answer.
    """
    update: dict[str, Any] = {
        "question": "",
        "answer": None,
        "tool_calls": 0,
        "turns": 0,
        "prompt_tokens": None,
        "completion_tokens": None,
        "context_tokens": 0,
        "run_tokens": 0,
        "budget_spent": "",
    }
    question = (state.get("question") or "").strip()
    if question:
        update["messages"] = [HumanMessage(question)]
    elif not state["messages"] or not isinstance(state["messages"][-1], HumanMessage):
        raise ResearchAgentError('Nothing to answer: send {"question": "..."} or a human message.')
    return update


def _add(total: int | None, value: int | None) -> int | None:
    """Sum usage figures that some servers report and others do not."""
    return value if total is None else total if value is None else total + value


class ModelNode(Protocol):
    """The `call_model` node's signature, as LangGraph calls it."""

    def __call__(self, state: State, *, runtime: Runtime[Context]) -> dict[str, Any]:
        """Run the node on the state; return the state update."""
        ...


def make_call_model(
    model: BaseChatModel | None,
    tools: Sequence[BaseTool],
    select: Callable[[Context], tuple[BaseChatModel, str, str]] | None = None,
) -> ModelNode:
    """Build the `call_model` node.

    Args:
        model: A chat model to use for every run, or None: the model the API chose for the
            run (carried in its config), else one chosen from the run's context.
        tools: The tools to bind.
        select: How to choose a model from a context (default:
            agent.llm.servers.choose.select_chat_model).

    Returns:
        The node function.
    """
    chosen: dict[tuple[str | int | None, ...], tuple[BaseChatModel, str, str]] = {}
    specs = [convert_to_openai_tool(t) for t in tools]  # as the request will carry them

    def choose(context: Context, config: RunnableConfig) -> tuple[BaseChatModel, str, str]:
        if model is not None:
            return (model, *describe_model(model))
        given = (config.get("configurable") or {}).get(CHOSEN_KEY)
        if isinstance(given, ChosenModel):  # chosen and built once, by the API, for this run
            return given.chat, given.choice.model, given.choice.provider
        settings = context.settings()
        # k too: the offline policy plans its searches with the run's k
        key = (settings.provider, settings.model, settings.base_url, settings.effort, settings.k)
        if key in chosen:  # probing servers once per configuration, not once per turn
            return chosen[key]

        choice = (select or select_chat_model)(context)
        # An automatic fallback to the offline policy is not remembered: a long-running
        # server (langgraph dev) picks up a gpt-oss server started after it.
        if not (choice[2] == "offline" and settings.provider != "offline"):
            chosen[key] = choice
        return choice

    def call_model(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        context = runtime.context or Context()
        settings = context.settings()
        chat, name, provider = choose(context, get_config())
        limit = context_budget(chat, settings.max_context_tokens)
        # the thread keeps every message; the request carries what fits (agent/nodes/history.py)
        fitted = fit_history(
            prompts.SYSTEM_PROMPT, state["messages"], specs, settings.effort, limit
        )
        request, tokens = fitted.messages, fitted.tokens
        sent = state.get("run_tokens", 0)
        spent = spent_budget(
            context=settings,
            tool_calls=state.get("tool_calls", 0),
            turns=state.get("turns", 0),
            context_tokens=tokens,
            remaining_steps=state["remaining_steps"],
            max_context_tokens=limit,
            run_tokens=sent,
        )
        if spent:  # last turn: no tools, so the run ends with an answer
            last_turn = prompts.LAST_TURN_PROMPT.format(reason=spent)
            request = [*request, HumanMessage(last_turn, id=LAST_TURN_ID)]
            tokens = count_request_tokens(request, (), settings.effort)
            if not fits_run_budget(settings.max_run_tokens, sent, tokens):
                # not even the answer turn fits: nothing is sent, respond says why
                return {"budget_spent": f"{spent}; no room left for the answer turn"}
            response = chat.invoke(request)
        else:
            response = chat.bind_tools(list(tools)).invoke(request)
        usage = getattr(response, "usage_metadata", None) or {}
        return {
            "messages": [response],
            "turns": state.get("turns", 0) + 1,
            "context_tokens": tokens,
            "run_tokens": sent + tokens,
            "budget_spent": spent,
            "prompt_tokens": _add(state.get("prompt_tokens"), usage.get("input_tokens")),
            "completion_tokens": _add(state.get("completion_tokens"), usage.get("output_tokens")),
            "model_name": name,
            "provider": provider,
        }

    return call_model


def route_after_model(state: State) -> Literal["tools", "respond"]:
    """Tools when the model asked for them (valid or not) and tools are still allowed."""
    last = state["messages"][-1]
    if state.get("budget_spent") or not isinstance(last, AIMessage):
        return "respond"
    return "tools" if last.tool_calls or last.invalid_tool_calls else "respond"
