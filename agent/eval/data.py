"""Eval datasets: read the JSONL, turn paragraphs into documents, index them once."""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from agent.settings import Settings
from tools.embeddings import get_embedder
from tools.errors import ResearchAgentError
from tools.ingest import ingest_documents
from tools.loaders import SourceDoc
from tools.store import open_store

Progress = Callable[[str, int, int], None]
"""Called with (phase, done, total): phase "index" counts chunks, "questions" questions."""


class Paragraph(BaseModel):
    """One paragraph of a question's context: a document of the corpus."""

    title: str
    text: str


class EvalItem(BaseModel):
    """One line of a dataset."""

    id: str = ""
    question: str
    answer: str
    answer_aliases: list[str] = Field(default_factory=list)
    supporting_titles: list[str]
    paragraphs: list[Paragraph]


def load_dataset(path: Path) -> list[EvalItem]:
    """Read a JSONL dataset; a malformed line is reported with its number."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = EvalItem.model_validate(json.loads(line))
        except (ValueError, ValidationError) as exc:
            raise ResearchAgentError(f"{path}:{number} is not a dataset line: {exc}") from exc
        items.append(item if item.id else item.model_copy(update={"id": str(number)}))
    return items


def _slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80] or "untitled"


def corpus_docs(items: Sequence[EvalItem]) -> list[SourceDoc]:
    """The paragraphs as documents, deduplicated on title + text, sources stable per file."""
    docs: dict[tuple[str, str], SourceDoc] = {}
    taken: set[str] = set()
    for item in items:
        for p in item.paragraphs:
            if (p.title, p.text) in docs:
                continue
            source = f"eval/{_slug(p.title)}"
            if source in taken:  # same title (or slug) with another text: keep both
                digest = hashlib.sha256(f"{p.title}\n{p.text}".encode()).hexdigest()[:8]
                source = f"{source}~{digest}"
            taken.add(source)
            docs[(p.title, p.text)] = SourceDoc(source, p.title, f"# {p.title}\n\n{p.text}\n")
    return list(docs.values())


def eval_settings(path: Path, base: Settings) -> Settings:
    """Settings for the dataset's own collection (name from content, embedder and chunking)."""
    h = hashlib.sha256(path.read_bytes())
    h.update(f"{base.embedder}:{base.embedding_model}:{base.chunk_tokens}".encode())
    name = f"eval_{h.hexdigest()[:8]}"
    # one Lite file per dataset: tools.store opens a Lite file once per process and collection
    uri = base.milvus_uri or str(base.data_dir / "eval" / f"{name}.db")
    return base.model_copy(update={"milvus_uri": uri, "collection": name})


def index_corpus(
    docs: Sequence[SourceDoc], settings: Settings, progress: Progress | None = None
) -> float:
    """Ingest the corpus (unchanged documents are skipped); returns the seconds it took."""
    t0 = time.perf_counter()
    report = ingest_documents(
        open_store(settings),
        get_embedder(settings),
        docs,
        settings,
        (lambda p: progress("index", p.chunks_done, p.chunks_total)) if progress else None,
    )
    return report.seconds if report.chunks_written else round(time.perf_counter() - t0, 3)
