"""What a research report is made of: the plan, the branches, the sections, the Report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from agent.schemas import Answer, Citation

MIN_QUESTIONS = 2
MAX_QUESTIONS = 8
ReportStatus = Literal["complete", "partial", "budget_exhausted"]
BranchStatus = Literal["pending", "done"]


class OutlineSection(BaseModel):
    """One section of the planned report."""

    heading: str = Field(min_length=1, max_length=160, description="The section's heading.")
    covers: list[int] = Field(
        default_factory=list,
        description="Numbers (from 1) of the sub-questions whose findings this section uses.",
    )


class Plan(BaseModel):
    """A report's plan: its title, the sub-questions to research, the sections to write."""

    title: str = Field(min_length=3, max_length=200, description="The report's title.")
    sub_questions: list[str] = Field(
        min_length=MIN_QUESTIONS,
        max_length=MAX_QUESTIONS,
        description=f"{MIN_QUESTIONS} to {MAX_QUESTIONS} distinct questions, each answerable "
        "by searching the documents, that together cover the topic.",
    )
    outline: list[OutlineSection] = Field(
        default_factory=list,
        description="The report's sections in order; empty: one section per sub-question.",
    )

    @field_validator("sub_questions")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        cleaned = [" ".join(q.split()) for q in value]
        if any(len(q) < 3 for q in cleaned):
            raise ValueError("every sub-question needs words (at least 3 characters)")
        if len({q.lower() for q in cleaned}) != len(cleaned):
            raise ValueError("sub-questions must be distinct")
        return cleaned

    @model_validator(mode="after")
    def _outline(self) -> Plan:
        count = len(self.sub_questions)
        for section in self.outline:
            wrong = [n for n in section.covers if not 1 <= n <= count]
            if wrong:
                raise ValueError(
                    f"section {section.heading!r} covers {wrong}: sub-questions are 1-{count}"
                )
        if not self.outline:
            self.outline = [
                OutlineSection(heading=q, covers=[i + 1]) for i, q in enumerate(self.sub_questions)
            ]
        return self


class ReadDoc(BaseModel):
    """The lines of one document that the report's branches read (a search hit or a fetch)."""

    cursor: int = Field(description="The document's number in the report (its writer cites it).")
    doc_id: str
    source: str
    title: str
    lines: dict[int, str] = Field(default_factory=dict)
    pages: dict[int, int] = Field(default_factory=dict)


class BranchResult(BaseModel):
    """One sub-question's research loop: its verified answer, steps and what it read."""

    index: int = Field(description="Position of the sub-question in the plan, from 0.")
    question: str
    status: BranchStatus = "pending"
    answer: Answer | None = Field(None, description="The loop's verified answer, its steps.")
    read: list[ReadDoc] = Field(
        default_factory=list, description="What the loop read (its own cursor numbers)."
    )
    tool_budget: int = 0
    token_budget: int = Field(0, description="Prompt tokens this branch may send (its share).")
    tokens: int = Field(0, description="Prompt tokens it sent, counted exactly per request.")
    stopped_by: str = Field("", description="The budget that ended its research, if any.")

    @property
    def cut(self) -> bool:
        """True when its token share ended its research."""
        return "run tokens" in self.stopped_by


class SectionDraft(BaseModel):
    """A section as the writer wrote it, before verification."""

    heading: str
    text: str
    covers: list[int] = Field(default_factory=list)
    note: str = ""
    tokens: int = Field(0, description="Prompt tokens of its request (0: none was sent).")
    cut: bool = Field(False, description="Not written: its request did not fit the budget.")


class ReportBudget(BaseModel):
    """What the report could spend and what it spent (prompt tokens, counted exactly)."""

    total_tokens: int = 0
    planning_tokens: int = 0
    branch_share: int = Field(0, description="Each branch's share of the tokens.")
    branch_tokens: int = 0
    writer_tokens: int = 0
    total_tool_calls: int = 0
    tool_calls: int = 0
    cut_branches: list[int] = Field(
        default_factory=list, description="Branches (from 1) whose token share ran out."
    )
    cut_sections: list[str] = Field(
        default_factory=list, description="Sections not written for lack of tokens."
    )

    @property
    def spent_tokens(self) -> int:
        """Prompt tokens the whole report sent."""
        return self.planning_tokens + self.branch_tokens + self.writer_tokens


class ReportSection(BaseModel):
    """A verified section: its Markdown text with [n] citations, and those citations."""

    heading: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    dropped_claims: int = 0


class Report(BaseModel):
    """A research report on a topic, every cited sentence checked against lines read."""

    topic: str
    title: str
    plan: Plan
    sections: list[ReportSection] = Field(default_factory=list)
    sources: list[Citation] = Field(
        default_factory=list, description="Every citation of the report, numbered as [n]."
    )
    branches: list[BranchResult] = Field(default_factory=list)
    dropped_claims: int = Field(
        0, description="Sentences without a verified citation (removed, or marked)."
    )
    budget: ReportBudget = Field(default_factory=ReportBudget)
    status: ReportStatus = "complete"
    why: str = Field("", description="Why the report is partial or its budget ran out.")
    notes: list[str] = Field(default_factory=list)
    model: str = ""
    provider: str = ""

    def markdown(self) -> str:
        """The report as Markdown: title, sections, numbered sources."""
        parts = [f"# {self.title}", ""]
        for section in self.sections:
            parts += [f"## {section.heading}", "", section.text or "_No verified findings._", ""]
        if self.sources:
            parts += ["## Sources", ""]
            parts += [f"[{c.n}] {c.location()}" for c in self.sources]
            parts.append("")
        return "\n".join(parts)


class ReportEvent(BaseModel):
    """A progress event of a streamed report.

    Kinds: `plan` (the plan, in `plan`), `review` (the run waits for a review of `plan`;
    finish it with `resume_report(thread_id, decision)`), `branch_start`, `branch_step`
    (a tool call of branch `index` and what it returned, in `text`), `branch_done` (the
    branch's answer status in `text`), `section` (a section was written; `text` notes
    what was left out to fit the context window).
    """

    kind: Literal["plan", "review", "branch_start", "branch_step", "branch_done", "section"]
    index: int | None = Field(None, description="The branch (sub-question from 0).")
    text: str = ""
    plan: Plan | None = None
    thread_id: str = ""
