"""The `respond` node: the model's last message becomes a verified Answer."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import AIMessage

from agent import prompts
from agent.evidence.citations import apply_citations
from agent.evidence.seen import run_start, seen_documents
from agent.evidence.summaries import tool_steps
from agent.llm.repair.message import CUT_KEY, split_harmony
from agent.schemas import Answer, Status, StepRecord, Steps
from agent.state import State

THINK = re.compile(r"<think>.*?</think>", re.DOTALL)


def clean_answer(text: str) -> str:
    """The final answer without raw reasoning or harmony tokens a server let through.

    Harmony text goes through the chat model's own parser (agent.llm.repair.message), so the answer
    keeps only what the final channel says, whichever model produced it.
    """
    if "<|" in text:
        text = split_harmony(text).content
    return THINK.sub("", text).strip()


def status_of(text: str, cited: int, budget_spent: str, cut_off: bool = False) -> Status:
    """Answered, or why not: budget spent, answer cut by the output cap, too little evidence."""
    if budget_spent:
        return "budget_exhausted"
    if cut_off:
        return "cut_off"
    if cited == 0 or text.lower().lstrip("*_ ").startswith("insufficient evidence"):
        return "insufficient_evidence"
    return "answered"


def respond(state: State) -> dict[str, Any]:
    """Build the Answer: verified citations, quotes from what was seen, status and steps."""
    messages = state["messages"]
    last = messages[-1]
    raw = clean_answer(last.text) if isinstance(last, AIMessage) else ""
    text, citations, dropped = apply_citations(raw, seen_documents(messages))
    if not isinstance(last, AIMessage) and state.get("budget_spent"):
        text = prompts.NO_ANSWER_TURN.format(reason=state["budget_spent"])
    text = text or prompts.EMPTY_ANSWER
    current = messages[run_start(messages) :]
    steps = Steps(
        tool_calls=state.get("tool_calls", 0),
        turns=state.get("turns", 0),
        prompt_tokens=state.get("prompt_tokens"),
        completion_tokens=state.get("completion_tokens"),
        run_tokens=state.get("run_tokens", 0),
        records=[StepRecord(tool=t, args=a, result=r) for t, a, r in tool_steps(current)],
    )
    answer = Answer(
        answer=text,
        citations=citations,
        dropped_citations=dropped,
        status=status_of(
            text,
            len(citations),
            state.get("budget_spent", ""),
            isinstance(last, AIMessage) and bool(last.additional_kwargs.get(CUT_KEY)),
        ),
        model=state.get("model_name", ""),
        provider=state.get("provider", ""),
        steps=steps,
    )
    update: dict[str, Any] = {"answer": answer}
    if isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls):
        # calls made on the tools-less last turn are never run; a later question in the same
        # thread must not send unanswered tool calls back to the server
        update["messages"] = [last.model_copy(update={"tool_calls": [], "invalid_tool_calls": []})]
    return update
