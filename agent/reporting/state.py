"""The report graph's state, its input, and the task each research branch receives."""

from __future__ import annotations

from typing import Annotated, NotRequired

from typing_extensions import TypedDict

from agent.reporting.schemas import BranchResult, Plan, ReadDoc, Report, SectionDraft


def merge_branches(
    current: list[BranchResult] | None, new: list[BranchResult] | None
) -> list[BranchResult]:
    """Reducer: a branch's newer result replaces the older one with the same index.

    An empty list resets the branches (a new report on the same thread).
    """
    if new == []:
        return []
    by_index = {b.index: b for b in current or []}
    by_index.update({b.index: b for b in new or []})
    return [by_index[i] for i in sorted(by_index)]


class ReportInput(TypedDict, total=False):
    """What a caller sends: the topic, and whether to stop for a review of the plan."""

    topic: str
    """The topic of the report."""

    review: bool
    """Interrupt after planning so that a person accepts, edits or rejects the plan."""


class ReportState(TypedDict):
    """Everything the report's nodes share."""

    topic: str
    """The topic of the report."""

    review: NotRequired[bool]
    """Interrupt after planning for a review of the plan."""

    plan: NotRequired[Plan | None]
    """The plan in force (the reviewed one after a review)."""

    plan_notes: NotRequired[list[str]]
    """What planning had to repair or replace."""

    planning_tool_calls: NotRequired[int]
    """Tool calls the planner made (its first search), out of the report's budget."""

    planning_tokens: NotRequired[int]
    """Prompt tokens the plan turns sent, out of the report's token budget."""

    review_error: NotRequired[str]
    """Why the last edit at review was refused (shown with the next review)."""

    branches: Annotated[list[BranchResult], merge_branches]
    """The research branches' results, by sub-question index."""

    evidence: NotRequired[list[ReadDoc]]
    """Every document the branches read, numbered for the whole report."""

    drafts: NotRequired[list[SectionDraft]]
    """The sections as written, before verification."""

    report: NotRequired[Report | None]
    """The verified report."""

    model_name: NotRequired[str]
    """Name of the chat model that planned and wrote."""

    provider: NotRequired[str]
    """Its provider, or "offline"."""


class BranchTask(TypedDict):
    """What `Send` gives one research branch."""

    index: int
    """Position of the sub-question in the plan, from 0."""

    question: str
    """The sub-question."""

    tool_budget: int
    """Tool calls this branch may make (its share of the report's budget)."""

    token_budget: int
    """Prompt tokens this branch may send (its share of the report's token budget)."""
