"""The budgets that end tool use, and the context size of the request they watch.

Tokens are counted exactly, offline: the request is rendered the way a gpt-oss server
renders it (harmony framing of the system prompt, tool definitions and every message) and
counted with o200k_harmony (agent/llm/servers/harmony_tokens.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from agent.llm.servers.harmony_tokens import count_request_tokens
from agent.settings import Context
from tools.render import counted

STEPS_FOR_LAST_TURN = 3  # call_model (this one) -> respond -> END, with a margin of one


def count_message_tokens(
    messages: Sequence[BaseMessage],
    tools: Sequence[Mapping[str, Any]] = (),
    effort: str = "medium",
) -> int:
    """Prompt tokens of a request as the server renders it, framing and tools included.

    Args:
        messages: The messages as they will be sent (system prompt first).
        tools: OpenAI-format function specs bound to the request.
        effort: The reasoning effort the server writes into its system message.

    Returns:
        The exact o200k_harmony token count of the rendered prompt.
    """
    return count_request_tokens(messages, tools, effort)


def spent_budget(
    *,
    context: Context,
    tool_calls: int,
    turns: int,
    context_tokens: int,
    remaining_steps: int,
    max_context_tokens: int | None = None,
    run_tokens: int = 0,
) -> str:
    """Which budget, if any, forbids tools on the model turn about to start.

    Args:
        context: The run's limits.
        tool_calls: Tool calls already requested in this run.
        turns: Model turns already made in this run.
        context_tokens: Tokens of the request about to be sent.
        remaining_steps: LangGraph supersteps left before its recursion limit.
        max_context_tokens: The context budget in force, when the server's own context
            window makes it smaller than the setting (see agent/llm/servers/context_window.py).
        run_tokens: Prompt tokens this run has already sent (exact counts).

    Returns:
        "" when tools are still allowed, else a short name of the spent budget.
    """
    limit = max_context_tokens or context.max_context_tokens
    if tool_calls >= context.max_tool_calls:
        return counted(context.max_tool_calls, "tool call")
    if turns + 1 >= context.max_turns:
        return counted(context.max_turns, "model turn")
    if context_tokens >= limit:
        return f"{limit} context tokens"
    if run_tokens_spent(context.max_run_tokens, run_tokens, context_tokens):
        return f"{context.max_run_tokens} run tokens"
    if remaining_steps <= STEPS_FOR_LAST_TURN + 2:
        return "graph steps"
    return ""


def run_tokens_spent(budget: int, sent: int, request: int) -> bool:
    """True when a tools turn would leave no room for the turn that must follow it.

    The request after a tools turn holds this one plus the reply and the tool results, so
    it is at least as large: tools are allowed only while two requests of this size fit.

    Args:
        budget: The run's prompt-token budget (0: no limit).
        sent: Prompt tokens already sent in this run.
        request: Tokens of the request about to be sent.
    """
    return budget > 0 and sent + 2 * request > budget


def fits_run_budget(budget: int, sent: int, request: int) -> bool:
    """True when a request of `request` tokens may still be sent (always, without a budget)."""
    return budget == 0 or sent + request <= budget
