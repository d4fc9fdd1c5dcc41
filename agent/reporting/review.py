"""The `review` node: an optional human review of the plan, then the fan-out to branches.

With `review` set, the run stops with `interrupt({"plan": ..., "error": ...})`; it goes on
with `Command(resume=...)` carrying one of:
`{"action": "accept"}`, `{"action": "edit", "plan": {...}}` (or `"sub_questions": [...]`,
keeping the title), `{"action": "reject", "reason": "..."}`. An edit that is not a valid
plan is refused and the plan is shown again with the reason.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command, Send, interrupt
from pydantic import ValidationError

from agent.reporting.budget import branch_share
from agent.reporting.planning import cap_plan, repair_plan
from agent.reporting.schemas import Plan, Report
from agent.reporting.state import BranchTask, ReportState
from agent.settings import ReportContext

ACTIONS = ("accept", "edit", "reject")


def branch_tasks(
    plan: Plan, state: ReportState, total_tool_calls: int, total_tokens: int
) -> list[Send]:
    """One `Send` per sub-question not yet researched, each with its share of the budgets.

    Shares depend on the plan only, so a resumed report gives a branch the same share.
    """
    done = {b.index for b in state.get("branches") or [] if b.status == "done"}
    share = max(1, total_tool_calls // len(plan.sub_questions))
    tokens = branch_share(total_tokens, state.get("planning_tokens", 0), len(plan.sub_questions))
    return [
        Send(
            "research_branch",
            BranchTask(index=i, question=question, tool_budget=share, token_budget=tokens),
        )
        for i, question in enumerate(plan.sub_questions)
        if i not in done
    ]


def read_decision(decision: Any, plan: Plan, max_branches: int) -> tuple[str, Plan, str]:
    """The reviewer's action, the plan it leaves, and an error when an edit is not valid."""
    if decision is None or decision is True or decision == "accept":
        return "accept", plan, ""
    if not isinstance(decision, dict):
        return "invalid", plan, f"send one of {ACTIONS} as {{'action': ...}}, not {decision!r}"
    action = str(decision.get("action") or ("edit" if "sub_questions" in decision else ""))
    if action not in ACTIONS:
        return "invalid", plan, f"unknown action {action!r}: use accept, edit or reject"
    if action != "edit":
        return action, plan, ""
    edited = decision.get("plan") or {"title": plan.title, **decision}
    if not isinstance(edited, dict):
        return "invalid", plan, "an edit sends the plan as an object"
    repaired, _ = repair_plan(edited, plan.title)
    try:
        return "edit", cap_plan(Plan.model_validate(repaired), max_branches), ""
    except ValidationError as exc:
        return "invalid", plan, "; ".join(e["msg"] for e in exc.errors())


def rejected(state: ReportState, plan: Plan, reason: str) -> Report:
    """The report of a rejected plan: nothing researched, and why."""
    why = "the plan was rejected at review" + (f": {reason}" if reason else "")
    return Report(
        topic=state["topic"],
        title=plan.title,
        plan=plan,
        status="partial",
        why=why,
        model=state.get("model_name", ""),
        provider=state.get("provider", ""),
    )


def review(state: ReportState, runtime: Runtime[ReportContext]) -> Command[Any]:
    """Ask for a review when asked to, then send each sub-question to its branch."""
    settings = (runtime.context or ReportContext()).settings()
    plan = state.get("plan")
    if plan is None:  # plan always sets it; this guards a state edited by hand
        raise ValueError("the report has no plan")
    if state.get("review"):
        decision = interrupt({"plan": plan.model_dump(), "error": state.get("review_error", "")})
        action, plan, error = read_decision(decision, plan, settings.max_branches)
        if action == "invalid":
            return Command(goto="review", update={"review_error": error})
        if action == "reject":
            reason = str(decision.get("reason") or "") if isinstance(decision, dict) else ""
            return Command(goto=END, update={"report": rejected(state, plan, reason)})
    left = settings.report_tool_calls - state.get("planning_tool_calls", 0)
    sends = branch_tasks(plan, state, left, settings.report_tokens)
    return Command(goto=sends or "write", update={"plan": plan, "review_error": ""})
