"""The report's token budget: how it is split, and what was spent.

Prompt tokens are counted exactly, before each request is sent, as a gpt-oss server
renders it (agent/llm/servers/harmony_tokens.py); a request that would go over what is left is
not sent. The plan turns spend first. What they leave is cut into one share per branch
plus one for the writer; each branch runs its question loop with its share as the
loop's `max_run_tokens`. The writer gets whatever the plan and the branches did not
spend: its own share plus everything a finished branch left unused, split evenly over
the sections still to write. (Branches run at the same time, so a share is fixed when
the branch starts; handing one branch's savings to another would make the split depend
on which finished first.)
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.reporting.schemas import BranchResult, ReportBudget, SectionDraft


def branch_share(total: int, planning: int, branches: int) -> int:
    """Prompt tokens each branch may send: an equal part of what planning left.

    Args:
        total: The report's token budget.
        planning: Tokens the plan turns sent.
        branches: Sub-questions in the plan (the writer counts as one more part).

    Returns:
        The share, at least 1 (a share of 1 lets no request through: the branch is cut).
    """
    return max(1, (total - planning) // (branches + 1))


def writer_allowance(total: int, planning: int, branches: Sequence[BranchResult]) -> int:
    """Tokens left for the writer: the total less what planning and the branches sent."""
    return max(0, total - planning - sum(b.tokens for b in branches))


def section_allowance(left: int, sections_left: int) -> int:
    """An equal part of what the writer has left, for the next section."""
    return left // max(1, sections_left)


def tally(
    total_tokens: int,
    total_tool_calls: int,
    planning_tokens: int,
    planning_tool_calls: int,
    branches: Sequence[BranchResult],
    drafts: Sequence[SectionDraft],
) -> ReportBudget:
    """What the report had and spent, and which branches and sections the budget cut."""
    calls = sum(b.answer.steps.tool_calls for b in branches if b.answer is not None)
    return ReportBudget(
        total_tokens=total_tokens,
        planning_tokens=planning_tokens,
        branch_share=max((b.token_budget for b in branches), default=0),
        branch_tokens=sum(b.tokens for b in branches),
        writer_tokens=sum(d.tokens for d in drafts),
        total_tool_calls=total_tool_calls,
        tool_calls=planning_tool_calls + calls,
        cut_branches=[b.index + 1 for b in branches if b.cut],
        cut_sections=[d.heading for d in drafts if d.cut],
    )


def budget_why(budget: ReportBudget) -> str:
    """Why the token budget made the report incomplete ("" when it did not)."""
    parts = []
    if budget.cut_branches:
        numbers = ", ".join(str(n) for n in budget.cut_branches)
        parts.append(f"branches {numbers} cut at their share of {budget.branch_share} tokens")
    if budget.cut_sections:
        parts.append("sections not written: " + "; ".join(budget.cut_sections))
    if not parts:
        return ""
    spent = f"{budget.spent_tokens} of {budget.total_tokens} tokens spent"
    return f"token budget exhausted ({spent}): " + "; ".join(parts)
