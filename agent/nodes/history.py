"""The history a model turn sends: the current run in full, earlier questions fitted to a budget.

A thread keeps every message in its checkpointed state; only the request is trimmed. The
current run (from the last question on) is always sent whole: its tool calls, results and
reasoning are what the model is working with. Earlier exchanges share at most
HISTORY_SHARE of the context budget, given up in this order (what matters least first):

1. the tool calls and results of earlier exchanges (oldest first): the question and its
   final answer stay (the brief form);
2. then whole exchanges, oldest first, which move into one deterministic summary message
   (question and the start of the answer, newest first while it fits);
3. then summary lines, oldest first ("N earlier exchanges not shown").

Reasoning is never sent for earlier exchanges (gpt-oss guidance: only tool-call turns
since the last final answer carry it). Token counts are exact o200k_harmony counts
(agent/llm/servers/harmony_tokens.py): harmony frames each message between special tokens, so a
request's count is its framing plus the sum of its messages' counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.evidence.seen import run_start
from agent.llm.servers.harmony_tokens import (
    count_request_tokens,
    count_segments,
    count_text,
    render_request,
)
from agent.schemas import REASONING_KEY

HISTORY_SHARE = 0.25
"""Share of the context budget that earlier exchanges may use (the current run keeps the rest)."""
SUMMARY_SHARE = 0.25
"""Share of the history room kept for the summary once earlier exchanges no longer fit."""
SUMMARY_ID = "history-summary"
SUMMARY_HEAD = "Earlier in this conversation (a summary; the documents are no longer shown):"
DAY = "2000-01-01"
QUESTION_CHARS = 300
ANSWER_CHARS = 300


@dataclass(frozen=True)
class Fitted:
    """A request fitted to its budget, and what was left out of it."""

    messages: list[BaseMessage]
    """The request: system prompt, summary (if any), earlier exchanges, the current run."""
    tokens: int
    """Exact prompt tokens of the request with its tools (as budget.count_message_tokens)."""
    full: int = 0
    """Earlier exchanges sent whole (tool calls and results included)."""
    brief: int = 0
    """Earlier exchanges sent as question and final answer only."""
    summarised: int = 0
    """Earlier exchanges that appear as a line of the summary."""
    omitted: int = 0
    """Earlier exchanges left out altogether (only counted in the summary)."""


def _tokens(messages: Sequence[BaseMessage]) -> int:
    """Tokens of messages inside a request (their harmony framing included).

    The date the server writes sits in its own framed message, so any fixed date gives
    the messages' share exactly.
    """
    return count_segments(render_request(messages, today=DAY)) - _empty_request()


@lru_cache(maxsize=1)
def _empty_request() -> int:
    """Tokens of a request with no messages: the server's framing alone."""
    return count_segments(render_request([], today=DAY))


def _without_reasoning(message: BaseMessage) -> BaseMessage:
    if isinstance(message, AIMessage) and REASONING_KEY in message.additional_kwargs:
        kwargs = {k: v for k, v in message.additional_kwargs.items() if k != REASONING_KEY}
        return message.model_copy(update={"additional_kwargs": kwargs})
    return message


def _answer(exchange: Sequence[BaseMessage]) -> AIMessage | None:
    """The exchange's final answer: its last model turn without tool calls."""
    for message in reversed(exchange):
        if isinstance(message, AIMessage) and not (
            message.tool_calls or message.invalid_tool_calls
        ):
            return message
    return None


def full_form(exchange: Sequence[BaseMessage]) -> list[BaseMessage]:
    """An earlier exchange as it happened, without reasoning."""
    return [_without_reasoning(m) for m in exchange]


def brief_form(exchange: Sequence[BaseMessage]) -> list[BaseMessage]:
    """An earlier exchange as its question and final answer (no tool calls, no results)."""
    kept: list[BaseMessage] = [m for m in exchange[:1] if isinstance(m, HumanMessage)]
    answer = _answer(exchange)
    if answer is not None:
        kept.append(_without_reasoning(answer))
    return kept


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"


def summary_line(exchange: Sequence[BaseMessage]) -> str:
    """One line of the summary: the question and the start of its answer."""
    question = exchange[0].text if isinstance(exchange[0], HumanMessage) else ""
    answer = _answer(exchange)
    said = _clip(answer.text, ANSWER_CHARS) if answer is not None and answer.text else "-"
    return f"- Q: {_clip(question, QUESTION_CHARS)}\n  A: {said}"


def split_exchanges(
    messages: Sequence[BaseMessage],
) -> tuple[list[list[BaseMessage]], list[BaseMessage]]:
    """(earlier exchanges, current run): the thread cut before each human message."""
    start = run_start(messages)
    earlier: list[list[BaseMessage]] = []
    for message in messages[:start]:
        if isinstance(message, HumanMessage) or not earlier:
            earlier.append([])
        earlier[-1].append(message)
    return earlier, list(messages[start:])


def _summary(
    dropped: Sequence[Sequence[BaseMessage]], room: int
) -> tuple[list[BaseMessage], int, int]:
    """The summary message of dropped exchanges, newest lines first while it fits `room`.

    Returns:
        (the message or nothing, its exact tokens, how many exchanges have a line in it).
    """
    lines: list[str] = []
    estimate = _tokens([HumanMessage(SUMMARY_HEAD)]) + 12  # the "not shown" line
    for exchange in reversed(dropped):  # per-line counts add up to within a token or two
        line = summary_line(exchange)
        estimate += count_text(line) + 1
        if estimate > room:
            break
        lines.insert(0, line)
    while lines:  # the exact count decides
        left = len(dropped) - len(lines)
        head = SUMMARY_HEAD + (f"\n({left} earlier exchanges not shown.)" if left else "")
        message = HumanMessage("\n".join([head, *lines]), id=SUMMARY_ID)
        cost = _tokens([message])
        if cost <= room:
            return [message], cost, len(lines)
        lines.pop(0)
    return [], 0, 0


def fit_history(
    system: str,
    messages: Sequence[BaseMessage],
    tools: Sequence[Mapping[str, Any]],
    effort: str,
    limit: int,
) -> Fitted:
    """The request for a model turn, with earlier exchanges fitted into their share of `limit`.

    Args:
        system: The system prompt.
        messages: The thread's messages (the state keeps them all).
        tools: OpenAI-format function specs bound to the request.
        effort: The reasoning effort the server writes into its system message.
        limit: The context budget in force (tokens).

    Returns:
        The request and its exact token count; earlier exchanges take at most
        HISTORY_SHARE of `limit`, and less when the current run needs the room.
    """
    head = SystemMessage(system)
    earlier, current = split_exchanges(messages)
    base = count_request_tokens([head], tools, effort)
    room = max(0, min(int(limit * HISTORY_SHARE), limit - base - _tokens(current)))

    forms: list[list[BaseMessage]] = []
    used = 0
    for exchange in reversed(earlier):  # newest first, so a long thread is not counted whole
        forms.insert(0, full_form(exchange))
        used += _tokens(forms[0])
        if used > room:
            return _trimmed(head, earlier, current, room, tools, effort)
    request = [head, *[m for f in forms for m in f], *current]
    return Fitted(request, count_request_tokens(request, tools, effort), full=len(earlier))


def _trimmed(
    head: SystemMessage,
    earlier: list[list[BaseMessage]],
    current: list[BaseMessage],
    room: int,
    tools: Sequence[Mapping[str, Any]],
    effort: str,
) -> Fitted:
    """Briefs of the newest exchanges, a summary of older ones, whole ones where room is left."""
    briefs: list[list[BaseMessage]] = []
    used = 0
    for exchange in reversed(earlier):
        brief = brief_form(exchange)
        cost = _tokens(brief)
        if used + cost > room * (1 - SUMMARY_SHARE):
            break
        briefs.insert(0, brief)
        used += cost
    dropped = earlier[: len(earlier) - len(briefs)]
    summary, summary_cost, summarised = _summary(dropped, room - used) if dropped else ([], 0, 0)
    used += summary_cost
    kept = earlier[len(dropped) :]
    full = 0
    for index in range(len(kept) - 1, -1, -1):  # newest first, while the tool results fit
        whole = full_form(kept[index])
        extra = _tokens(whole) - _tokens(briefs[index])
        if used + extra > room:
            break
        briefs[index] = whole
        used += extra
        full += 1
    request = [head, *summary, *[m for b in briefs for m in b], *current]
    return Fitted(
        request,
        count_request_tokens(request, tools, effort),
        full=full,
        brief=len(kept) - full,
        summarised=summarised,
        omitted=len(dropped) - summarised,
    )
