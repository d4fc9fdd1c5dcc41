"""Planning an ingest: which documents are new, changed, resumed or unchanged, and their chunks.

The first pass of tools/ingest.py: each document is streamed once to hash it and, when it
must be written, to count its chunks; nothing of its text is kept.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from tools.docplan import DocPlan, Fragments, chunk_id, doc_id_for, from_text, pieces_of, version_of
from tools.embeddings import Embedder
from tools.loaders import SourceDoc
from tools.loaders_code import OUTLINE_VERSION
from tools.metadata import metadata_of
from tools.progress import Tracker
from tools.schemas import Chunk, IngestReport
from tools.splitter import Outline
from tools.store import ChunkStore, DocState

TICK_CHARS = 1 << 20
"""Progress is reported at least every this many characters read of one file."""
HOLD_READING = "RESEARCH_AGENT_TEST_HOLD_READING"
"""Tests only: seconds to hold a file's first read at its first progress report, so a
signal sent while a file is being read lands there on any machine (0 or unset: never)."""


def doc_hash_for(doc: SourceDoc, max_tokens: int) -> str:
    """Content hash of a document as chunked: a new splitter or chunk size re-chunks it."""
    return version_of(
        from_text(doc.text)(), doc.title, max_tokens, chunker_tag(doc.outline)
    ).doc_hash


def chunker_tag(outline: Outline | None) -> str:
    """The outline's part of the chunker tag in a document's hash ("" for Markdown)."""
    return "" if outline is None else f":outline={OUTLINE_VERSION}"


def chunk_document(doc: SourceDoc, embedder: Embedder, max_tokens: int) -> list[Chunk]:
    """Split a document held in memory into chunks with deterministic ids."""
    plan = Planner.plan_for(doc_id_for(doc.source), doc, max_tokens, embedder)
    return list(chunks_of(plan, max_tokens, embedder))


def chunks_of(plan: DocPlan, max_tokens: int, embedder: Embedder) -> Iterator[Chunk]:
    """A planned document's chunks, streamed."""
    v = plan.version
    meta = metadata_of(plan.source, plan.fragments)  # modified time, front-matter tags
    for i, p in enumerate(
        pieces_of(plan.fragments, v.blank, max_tokens, embedder.count_tokens, plan.outline)
    ):
        yield Chunk(
            id=chunk_id(plan.doc_id, i, p.text),
            doc_id=plan.doc_id,
            source=plan.source,
            title=v.title,
            chunk_index=i,
            start_line=p.start_line,
            end_line=p.end_line,
            text=p.text,
            n_chunks=plan.n_chunks,
            doc_hash=v.doc_hash,
            heading=p.heading,
            **meta,
        )


def ticking(parts: Iterator[str], tracker: Tracker, name: str, size: int) -> Iterator[str]:
    """Fragments passed through, with a progress report every TICK_CHARS characters."""
    done = mark = 0
    for part in parts:
        done += len(part)
        if done - mark >= TICK_CHARS:
            if mark == 0 and tracker.state.files_done == 0:
                time.sleep(float(os.environ.get(HOLD_READING) or 0))
            mark = done
            tracker.reading(name, done, size)
        yield part


@dataclass
class Planner:
    """Decides per document: unchanged (skip), resumed, changed or new, and counts chunks."""

    store: ChunkStore
    states: dict[str, DocState]
    max_tokens: int
    embedder: Embedder
    tracker: Tracker
    plans: list[DocPlan] = field(default_factory=list)
    report: IngestReport = field(default_factory=IngestReport)
    moves: list[tuple[str, str, str, int]] = field(default_factory=list)
    """(old doc_id, doc_id, source, chunks) of unchanged documents stored under an old id."""

    @staticmethod
    def plan_for(doc_id: str, doc: SourceDoc, max_tokens: int, embedder: Embedder) -> DocPlan:
        """The plan of a document held in memory (chunk count included)."""
        fragments = from_text(doc.text)
        version = version_of(fragments(), doc.title, max_tokens, chunker_tag(doc.outline))
        plan = DocPlan(doc_id, doc.source, version, 0, fragments, outline=doc.outline)
        count = embedder.count_tokens
        plan.n_chunks = sum(
            1 for _ in pieces_of(fragments, version.blank, max_tokens, count, doc.outline)
        )
        return plan

    def add(
        self,
        doc_id: str,
        source: str,
        fragments: Fragments,
        title: str,
        size: int,
        legacy: str,
        outline: Outline | None = None,
    ) -> None:
        """Plan one document: `title` is the fallback; `legacy` its id in older indexes."""
        tick = lambda: ticking(fragments(), self.tracker, source, size)  # noqa: E731
        version = version_of(tick(), title, self.max_tokens, chunker_tag(outline))
        if version.blank:
            self.report.empty.append(source)
        state = self.states.get(doc_id)
        replaces = [legacy] if legacy != doc_id and legacy in self.states else []
        if replaces and state is None:
            old = self.states[legacy]
            if old.complete and old.doc_hash == version.doc_hash:  # stored before, unchanged
                self.moves.append((legacy, doc_id, source, old.n_chunks))
                self.report.unchanged += 1
                self.tracker.file_read(source, 0)
                return
        if replaces == [] and state is not None and state.complete:
            if state.doc_hash == version.doc_hash:
                self.report.unchanged += 1
                self.tracker.file_read(source, 0)
                return
        present: set[str] = set()
        if state is not None:
            present = set(self.store.chunk_ids(doc_id, version.doc_hash))
        if state is None and not replaces:
            self.report.new += 1
        elif present and state is not None and state.doc_hash == version.doc_hash:
            self.report.resumed += 1
        else:
            self.report.changed += 1
        count = self.embedder.count_tokens
        n = sum(1 for _ in pieces_of(tick, version.blank, self.max_tokens, count, outline))
        self.plans.append(
            DocPlan(
                doc_id, source, version, n, fragments, replaces, state is not None, present, outline
            )
        )
        self.tracker.file_read(source, n - len(present))
