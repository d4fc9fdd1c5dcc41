"""The `verify` node: every sentence that states a fact must cite lines a branch read.

A sentence is a claim when it has at least MIN_CLAIM_WORDS words (headings and blank lines
are not). A claim stays when one of its `【cursor†La-Lb】` citations points at lines that
a branch actually read; otherwise it is removed, or marked `[unverified]` when the setting
`unverified` says so, and counted. The citations left are then numbered `[n]` for the
whole report, each with the lines it quotes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langgraph.runtime import Runtime

from agent.evidence.citations import apply_citations, parse_markers, verify
from agent.evidence.seen import SeenDoc
from agent.reporting.budget import budget_why, tally
from agent.reporting.evidence import as_seen
from agent.reporting.schemas import (
    BranchResult,
    Report,
    ReportBudget,
    ReportSection,
    ReportStatus,
)
from agent.reporting.state import ReportState
from agent.settings import ReportContext

MIN_CLAIM_WORDS = 4
SENTENCE_END = re.compile(r"[.!?](?:\s*(?:【[^】]*】|\[\d+(?:†[^\]]*)?\]))*(?=\s|$)")
MARKERLESS = re.compile(r"【[^】]*】|\[\d+(?:†[^\]]*)?\]")
WORDS = re.compile(r"[^\W\d_]{2,}")
BULLET = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)")
SEPARATOR = "\n\n@@report-section@@\n\n"
UNVERIFIED = "[unverified] "


def split_sentences(line: str) -> list[str]:
    """A line's sentences, each with the citations that follow its full stop."""
    pieces, start = [], 0
    for match in SENTENCE_END.finditer(line):
        pieces.append(line[start : match.end()].strip())
        start = match.end()
    pieces.append(line[start:].strip())
    return [p for p in pieces if p]


def is_claim(sentence: str) -> bool:
    """True when a sentence says something (enough words, not a heading or a rule)."""
    if sentence.lstrip().startswith(("#", "|---", "---")):
        return False
    return len(WORDS.findall(MARKERLESS.sub(" ", sentence))) >= MIN_CLAIM_WORDS


def supported(sentence: str, seen: dict[int, SeenDoc]) -> bool:
    """True when one of the sentence's line citations points at lines that were read."""
    return any(
        m.first_line is not None and verify(m, seen) is not None for m in parse_markers(sentence)
    )


def verify_text(text: str, seen: dict[int, SeenDoc], mark: bool) -> tuple[str, int]:
    """The text with unsupported claims removed (or marked), and how many there were."""
    kept_lines: list[str] = []
    failed = 0
    for line in text.splitlines():
        bullet = BULLET.match(line)
        prefix = bullet.group(1) if bullet else ""
        kept: list[str] = []
        for sentence in split_sentences(line[len(prefix) :]):
            if not is_claim(sentence) or supported(sentence, seen):
                kept.append(sentence)
                continue
            failed += 1
            if mark:
                bare = re.sub(r"\s+([.,;:!?])", r"\1", MARKERLESS.sub("", sentence))
                kept.append(UNVERIFIED + bare.strip())
        if kept or not line.strip():
            kept_lines.append(prefix + " ".join(kept) if kept else "")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept_lines)).strip(), failed


def report_status(
    sections: Sequence[ReportSection],
    branches: Sequence[BranchResult],
    budget: ReportBudget | None = None,
) -> tuple[ReportStatus, str]:
    """Complete; or partial / budget exhausted, with why."""
    empty = [s.heading for s in sections if not s.citations]
    cut = budget_why(budget) if budget is not None else ""
    if cut:
        missing = "; no verified findings for: " + "; ".join(empty) if empty else ""
        return "budget_exhausted", cut + missing
    if not empty:
        return "complete", ""
    spent = [
        b.index + 1
        for b in branches
        if b.answer is not None and b.answer.status == "budget_exhausted" and not b.answer.citations
    ]
    why = "no verified findings for: " + "; ".join(empty)
    if spent:
        numbers = ", ".join(str(n) for n in spent)
        return "budget_exhausted", f"{why} (branches {numbers} spent their tool budget)"
    return "partial", why


def verify_report(state: ReportState, runtime: Runtime[ReportContext]) -> dict[str, Any]:
    """Check every section's sentences, number the citations, and build the Report."""
    settings = (runtime.context or ReportContext()).settings()
    plan = state["plan"]
    assert plan is not None  # write runs only after a plan is set
    seen = as_seen(state.get("evidence") or [])
    drafts = state.get("drafts") or []
    checked = [verify_text(d.text, seen, settings.unverified == "mark") for d in drafts]
    joined = SEPARATOR.join(text for text, _ in checked)
    numbered, citations, bad_marks = apply_citations(joined, seen)
    texts = [t.strip() for t in numbered.split(SEPARATOR.strip())]
    sections = []
    for draft, text, (_, failed) in zip(drafts, texts, checked, strict=True):
        mine = [c for c in citations if f"[{c.n}]" in text]
        sections.append(
            ReportSection(heading=draft.heading, text=text, citations=mine, dropped_claims=failed)
        )
    branches = state.get("branches") or []
    budget = tally(
        settings.report_tokens,
        settings.report_tool_calls,
        state.get("planning_tokens", 0),
        state.get("planning_tool_calls", 0),
        branches,
        drafts,
    )
    status, why = report_status(sections, branches, budget)
    notes = list(state.get("plan_notes") or [])
    notes += [f"{d.heading}: {d.note}" for d in drafts if d.note]
    if bad_marks:
        notes.append(f"{bad_marks} citations to lines no branch read were removed")
    report = Report(
        topic=state["topic"],
        title=plan.title,
        plan=plan,
        sections=sections,
        sources=citations,
        branches=branches,
        dropped_claims=sum(failed for _, failed in checked),
        budget=budget,
        status=status,
        why=why,
        notes=notes,
        model=state.get("model_name", ""),
        provider=state.get("provider", ""),
    )
    return {"report": report}
