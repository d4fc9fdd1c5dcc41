"""The ingest graph's node: index paths inside the LangGraph server's own process.

Milvus Lite admits one process per database, so Studio users ingest through this graph
(the server already holds the database) instead of running the CLI beside it.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from typing_extensions import TypedDict  # typing.TypedDict hides the schema on 3.11

from agent.documents import ingest
from agent.settings import Context
from tools.schemas import IngestReport


class IngestState(TypedDict, total=False):
    """Input and output of the ingest graph."""

    paths: list[str]
    """Files or folders to index, as seen by the server process."""
    prune: bool
    """Remove documents whose files are gone."""
    include: list[str]
    """Index only files matching these gitignore-style patterns, e.g. "*.md"."""
    exclude: list[str]
    """Leave out files or folders matching these patterns, e.g. "drafts/"."""
    report: IngestReport | None
    """What the run did."""


def run_ingest(state: IngestState, *, runtime: Runtime[Context]) -> dict[str, Any]:
    """Index the given paths into the context's collection."""
    context = runtime.context or Context()
    report = ingest(
        state.get("paths") or [],
        context.settings(),
        bool(state.get("prune")),
        include=state.get("include") or (),
        exclude=state.get("exclude") or (),
    )
    return {"report": report}
