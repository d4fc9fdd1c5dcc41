"""The `write` node: section by section, from the branches' verified findings only.

Each request is sized with exact token counts (the request rendered as a gpt-oss server
renders it, agent/llm/servers/harmony_tokens.py): findings are added while the request stays
within the context budget, which is the setting lowered to the server's context window
minus the room kept for the answer, and within the section's part of the tokens the
report has left (agent/reporting/budget.py); what does not fit is left out and noted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent import prompts
from agent.llm.repair.message import CUT_KEY
from agent.llm.servers.context_window import context_budget
from agent.llm.servers.harmony_tokens import count_request_tokens
from agent.nodes.respond import clean_answer
from agent.reporting.budget import section_allowance, writer_allowance
from agent.reporting.evidence import as_seen, findings, number_evidence
from agent.reporting.model import is_offline, run_model
from agent.reporting.offline import extractive_section
from agent.reporting.schemas import BranchResult, OutlineSection, Plan, ReadDoc, SectionDraft
from agent.reporting.state import ReportState
from agent.settings import ReportContext, Settings


def section_request(
    plan: Plan, section: OutlineSection, blocks: Sequence[str]
) -> list[BaseMessage]:
    """The messages of one section's request, with the given findings blocks."""
    questions = [plan.sub_questions[n - 1] for n in section.covers] or plan.sub_questions
    brief = prompts.REPORT_SECTION_REQUEST.format(
        title=plan.title,
        heading=section.heading,
        questions=" / ".join(questions),
        findings="\n\n".join(blocks) or "(none)",
    )
    return [SystemMessage(prompts.REPORT_WRITER_PROMPT), HumanMessage(brief)]


def fit_blocks(
    plan: Plan, section: OutlineSection, blocks: Sequence[str], budget: int, effort: str
) -> tuple[list[BaseMessage], int, int]:
    """The largest prefix of the findings whose request fits the budget.

    Returns:
        (the request, its exact token count, number of blocks left out); the request is
        empty when not even the bare brief fits.
    """
    chosen: list[str] = []
    request = section_request(plan, section, chosen)
    tokens = count_request_tokens(request, (), effort)
    if tokens > budget:
        return [], tokens, len(blocks)
    for block in blocks:
        candidate = section_request(plan, section, [*chosen, block])
        size = count_request_tokens(candidate, (), effort)
        if size > budget:
            break
        chosen.append(block)
        request, tokens = candidate, size
    return request, tokens, len(blocks) - len(chosen)


def covered(section: OutlineSection, branches: Sequence[BranchResult]) -> list[BranchResult]:
    """The branches whose findings a section uses (all of them when it names none)."""
    wanted = set(section.covers)
    return [b for b in branches if not wanted or b.index + 1 in wanted]


def write_section(
    chat: BaseChatModel,
    settings: Settings,
    plan: Plan,
    section: OutlineSection,
    blocks: Sequence[str],
    allowance: int,
) -> SectionDraft:
    """One section written by the model from the findings that fit its request.

    The request fits both the context budget and `allowance`, this section's part of the
    report's token budget; a section whose bare brief does not fit is not written.
    """
    window = context_budget(chat, settings.max_context_tokens)
    budget = min(window, allowance)
    request, tokens, left_out = fit_blocks(plan, section, blocks, budget, str(settings.effort))
    if not request:
        cut = allowance < window
        what = "the report's token budget left" if cut else "the context budget"
        note = f"not written: its request does not fit {what} ({budget} tokens)"
        return SectionDraft(
            heading=section.heading, text="", covers=section.covers, note=note, cut=cut
        )
    response = chat.invoke(request)
    note = f"{left_out} findings left out to fit {budget} tokens" if left_out else ""
    if isinstance(response, AIMessage) and response.additional_kwargs.get(CUT_KEY):
        note = "; ".join(filter(None, [note, "cut off by the output cap"]))
    text = clean_answer(response.text)
    return SectionDraft(
        heading=section.heading, text=text, covers=section.covers, note=note, tokens=tokens
    )


def offline_section(
    plan: Plan,
    section: OutlineSection,
    branches: Sequence[BranchResult],
    evidence: Sequence[ReadDoc],
    mapping: dict[tuple[int, int], int],
    used: set[tuple[int, int]],
) -> SectionDraft:
    """One section extracted from what its branches read (no language model)."""
    cursors = {mapping[(b.index, d.cursor)] for b in branches for d in b.read}
    seen = as_seen([d for d in evidence if d.cursor in cursors])
    questions = [plan.sub_questions[n - 1] for n in section.covers] or plan.sub_questions
    text = extractive_section(list(seen.values()), questions, used)
    return SectionDraft(heading=section.heading, text=text, covers=section.covers)


def make_write(model: BaseChatModel | None) -> Callable[..., dict[str, Any]]:
    """Build the `write` node (the model given, or the run's choice)."""

    def write(state: ReportState, runtime: Runtime[ReportContext]) -> dict[str, Any]:
        context = runtime.context or ReportContext()
        settings = context.settings()
        serving = run_model(model, context)
        chat = serving.chat
        plan = state["plan"]
        assert plan is not None  # review only sends branches once a plan is set
        branches = state.get("branches") or []
        evidence, mapping = number_evidence(branches)
        emit = get_stream_writer()
        drafts: list[SectionDraft] = []
        used: set[tuple[int, int]] = set()
        left = writer_allowance(settings.report_tokens, state.get("planning_tokens", 0), branches)
        for number, section in enumerate(plan.outline):
            mine = covered(section, branches)
            if is_offline(chat):
                draft = offline_section(plan, section, mine, evidence, mapping, used)
            else:
                blocks = [block for b in mine for block in findings(b, mapping)]
                allowance = section_allowance(left, len(plan.outline) - number)
                draft = write_section(chat, settings, plan, section, blocks, allowance)
                left -= draft.tokens
            drafts.append(draft)
            emit({"kind": "section", "heading": draft.heading, "note": draft.note})
        return {
            "evidence": evidence,
            "drafts": drafts,
            "model_name": serving.choice.model,
            "provider": serving.choice.provider,
        }

    return write
