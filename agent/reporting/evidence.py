"""What the branches read, numbered for the whole report, and their findings for the writer.

Each branch is its own conversation with its own cursor numbers; the report gives every
document one number (its cursor in the report) and keeps the union of the lines that any
branch read of it. The writer cites those numbers; verification checks them against
those lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from agent.evidence.seen import SeenDoc, seen_documents
from agent.reporting.schemas import BranchResult, ReadDoc

DISPLAY_MARK = re.compile(r"\[(\d+)\]")


def read_docs(messages: Sequence[BaseMessage]) -> list[ReadDoc]:
    """The documents a branch's conversation read, with its own cursor numbers."""
    return [
        ReadDoc(
            cursor=d.cursor,
            doc_id=d.doc_id,
            source=d.source,
            title=d.title,
            lines=dict(d.lines),
            pages=dict(d.pages),
        )
        for d in seen_documents(messages).values()
    ]


def number_evidence(
    branches: Sequence[BranchResult],
) -> tuple[list[ReadDoc], dict[tuple[int, int], int]]:
    """Number every document the branches read, once for the whole report.

    Returns:
        (documents with report cursors and the union of lines read, a map from
        (branch index, branch cursor) to report cursor).
    """
    by_doc: dict[str, ReadDoc] = {}
    mapping: dict[tuple[int, int], int] = {}
    for branch in sorted(branches, key=lambda b: b.index):
        for doc in branch.read:
            merged = by_doc.get(doc.doc_id)
            if merged is None:
                merged = ReadDoc(
                    cursor=len(by_doc), doc_id=doc.doc_id, source=doc.source, title=doc.title
                )
                by_doc[doc.doc_id] = merged
            merged.lines.update(doc.lines)
            merged.pages.update(doc.pages)
            mapping[(branch.index, doc.cursor)] = merged.cursor
    return list(by_doc.values()), mapping


def as_seen(evidence: Sequence[ReadDoc]) -> dict[int, SeenDoc]:
    """The report's documents in the shape citation checks read."""
    return {
        d.cursor: SeenDoc(d.cursor, d.doc_id, d.source, d.title, dict(d.lines), True, dict(d.pages))
        for d in evidence
    }


def findings(branch: BranchResult, mapping: dict[tuple[int, int], int]) -> list[str]:
    """A branch's verified answer and its cited lines, in report numbers, one block each.

    The first block is the sub-question with the answer (its `[n]` marks turned back into
    report citations); each further block is one cited passage, its lines numbered.
    """
    answer = branch.answer
    if answer is None or not answer.citations:
        return []
    marks = {
        c.n: f"【{mapping.get((branch.index, c.cursor), -1)}†L{c.start_line}-L{c.end_line}】"
        for c in answer.citations
    }
    text = DISPLAY_MARK.sub(lambda m: marks.get(int(m.group(1)), m.group(0)), answer.answer)
    blocks = [f"Sub-question: {branch.question}\nAnswer found: {text}"]
    read = {d.cursor: d for d in branch.read}
    for c in answer.citations:
        cursor = mapping.get((branch.index, c.cursor), -1)
        lines = read[c.cursor].lines if c.cursor in read else {}
        numbered = "\n".join(
            f"L{n}: {lines[n]}" for n in range(c.start_line, c.end_line + 1) if n in lines
        )
        blocks.append(
            f"Evidence 【{cursor}†L{c.start_line}-L{c.end_line}】 ({c.source}):\n{numbered}"
        )
    return blocks
