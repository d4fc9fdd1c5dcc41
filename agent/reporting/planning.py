"""The plan turn: gpt-oss calls `submit_plan`; the plan is validated, repaired or re-asked.

A plan the model sends is first repaired where the intent is plain (sub-questions as one
string, numbering, duplicates, too many of them, an outline of bare headings); what still
fails validation goes back to the model as a tool error naming the problem, as for any
tool call. After MAX_ATTEMPTS the deterministic plan is used and the report says so.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import ValidationError

from agent import prompts
from agent.llm.servers.harmony_tokens import count_request_tokens
from agent.reporting.schemas import MAX_QUESTIONS, MIN_QUESTIONS, OutlineSection, Plan

PLAN_TOOL = "submit_plan"
MAX_ATTEMPTS = 3
NUMBERING = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|\(\d+\))\s*")


def plan_tool() -> dict[str, Any]:
    """The OpenAI function spec of `submit_plan` (its parameters are the Plan schema)."""
    return {
        "type": "function",
        "function": {
            "name": PLAN_TOOL,
            "description": "Submit the plan of the report: title, sub-questions, outline.",
            "parameters": Plan.model_json_schema(),
        },
    }


def _questions(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines() if "\n" in value else [value]
    if not isinstance(value, list):
        return []
    found: list[str] = []
    for item in value:
        text = item.get("question", "") if isinstance(item, dict) else str(item)
        text = NUMBERING.sub("", " ".join(text.split())).strip()
        if text and text.lower() not in {q.lower() for q in found}:
            found.append(text)
    return found


def _outline(value: Any, count: int) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    sections = []
    for item in value:
        if isinstance(item, str):
            item = {"heading": item}
        if not isinstance(item, dict) or not str(item.get("heading", "")).strip():
            continue
        covers = item.get("covers") or []
        covers = [c for c in covers if isinstance(c, int) and 1 <= c <= count]
        sections.append({"heading": str(item["heading"]).strip(), "covers": covers})
    return sections


def repair_plan(args: dict[str, Any], topic: str) -> tuple[dict[str, Any], list[str]]:
    """Fix what a plan gets wrong when the intent is plain; note each fix.

    Args:
        args: The arguments of the model's submit_plan call.
        topic: The report's topic (the title when none is given).

    Returns:
        (repaired arguments, notes on what was repaired).
    """
    notes: list[str] = []
    questions = _questions(args.get("sub_questions"))
    if len(questions) > MAX_QUESTIONS:
        notes.append(f"the plan had {len(questions)} sub-questions; the first {MAX_QUESTIONS} kept")
        questions = questions[:MAX_QUESTIONS]
    title = (str(args.get("title") or "").strip() or topic.strip().rstrip("?"))[:200]
    outline = _outline(args.get("outline"), len(questions))
    return {"title": title, "sub_questions": questions, "outline": outline}, notes


def parse_plan(message: AIMessage, topic: str) -> tuple[Plan | None, str, list[str]]:
    """The plan a model turn carries, or why it carries none.

    Returns:
        (plan or None, the error to send back, repair notes).
    """
    calls = [c for c in message.tool_calls if c["name"] == PLAN_TOOL]
    if calls:
        args: Any = calls[0]["args"]
    else:
        try:  # a plan written as JSON text instead of a call
            args = json.loads(message.text.strip().removeprefix("```json").strip("`\n "))
        except ValueError:
            return None, f"no {PLAN_TOOL} call was made.", []
    if not isinstance(args, dict):
        return None, "the arguments must be a JSON object.", []
    repaired, notes = repair_plan(args, topic)
    try:
        return Plan.model_validate(repaired), "", notes
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'plan'}: {e['msg']}" for e in exc.errors()
        )
        return None, problems + ".", notes


def model_plan(
    chat: BaseChatModel, topic: str, effort: str = "medium"
) -> tuple[Plan | None, list[str], int]:
    """Ask the model for a plan, re-asking with the error until it is valid.

    Returns:
        (the plan, or None after MAX_ATTEMPTS invalid ones; notes; prompt tokens sent,
        counted exactly per request).
    """
    system = prompts.REPORT_PLAN_PROMPT.format(low=MIN_QUESTIONS, high=MAX_QUESTIONS)
    messages: list[BaseMessage] = [
        SystemMessage(system),
        HumanMessage(prompts.REPORT_PLAN_REQUEST.format(topic=topic)),
    ]
    bound = chat.bind_tools([plan_tool()])
    notes: list[str] = []
    tokens = 0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        tokens += count_request_tokens(messages, [plan_tool()], effort)
        response = bound.invoke(messages)
        plan, error, fixed = parse_plan(response, topic)
        notes += fixed
        if plan is not None:
            if attempt > 1:
                notes.append(f"the plan was valid at attempt {attempt}")
            return plan, notes, tokens
        retry = prompts.REPORT_PLAN_RETRY.format(error=error, low=MIN_QUESTIONS, high=MAX_QUESTIONS)
        calls = response.tool_calls
        messages.append(response)
        if calls:  # answer the call it made, so that the conversation stays well formed
            messages += [
                ToolMessage(retry, tool_call_id=c["id"] or "", status="error") for c in calls
            ]
        else:
            messages.append(HumanMessage(retry))
    notes.append(f"the model gave no valid plan in {MAX_ATTEMPTS} attempts")
    return None, notes, tokens


def cap_plan(plan: Plan, max_branches: int) -> Plan:
    """The plan with at most `max_branches` sub-questions; sections left empty are dropped."""
    if len(plan.sub_questions) <= max_branches:
        return plan
    outline = []
    for section in plan.outline:
        covers = [n for n in section.covers if n <= max_branches]
        if covers or not section.covers:
            outline.append(OutlineSection(heading=section.heading, covers=covers))
    return Plan(title=plan.title, sub_questions=plan.sub_questions[:max_branches], outline=outline)
