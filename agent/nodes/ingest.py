"""The ingest graph's node: index paths inside the LangGraph server's own process.

Milvus Lite admits one process per database, so Studio users ingest through this graph
(the server already holds the database) instead of running the CLI beside it.

Whoever reaches the server's port can run this graph, so it reads only under the folders
the server's operator allowed (`RESEARCH_AGENT_INGEST_ROOTS`, read from the server's
environment, never from a run's context); with none allowed it refuses every request.
The CLI's `research-agent ingest` runs as its user and is not limited.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from typing_extensions import TypedDict  # typing.TypedDict hides the schema on 3.11

from agent.documents import ingest
from agent.settings import Context, Settings
from tools.errors import ResearchAgentError
from tools.schemas import IngestReport
from tools.terminal import safe_line

ROOTS_VARIABLE = "RESEARCH_AGENT_INGEST_ROOTS"


class IngestRefusedError(ResearchAgentError):
    """The server will not read a path a client asked it to ingest."""


class IngestState(TypedDict, total=False):
    """Input and output of the ingest graph."""

    paths: list[str]
    """Files or folders to index, as seen by the server process (under its allowed roots)."""
    prune: bool
    """Remove documents whose files are gone."""
    include: list[str]
    """Index only files matching these gitignore-style patterns, e.g. "*.md"."""
    exclude: list[str]
    """Leave out files or folders matching these patterns, e.g. "drafts/"."""
    report: IngestReport | None
    """What the run did."""


def allowed_paths(paths: object, settings: Settings) -> list[str]:
    """The requested paths, each checked to lie under one of the server's allowed roots.

    A path is resolved as the server sees it (relative to its working folder, `..` and
    symlinks followed) before the check, so neither `root/../etc` nor a link out passes.

    Raises:
        IngestRefusedError: No roots are allowed, or a path lies outside all of them.
    """
    roots = settings.allowed_ingest_roots()
    if not roots:
        raise IngestRefusedError(
            "This server does not ingest: no folders are allowed. The operator sets "
            f"{ROOTS_VARIABLE} (folders separated by '{os.pathsep}') in the server's "
            "environment, or indexes with `research-agent ingest PATH` on its machine."
        )
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise IngestRefusedError('"paths" must be a list of file or folder paths (strings).')
    for given in paths:
        resolved = Path(given).resolve()
        if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
            allowed = ", ".join(str(r) for r in roots)
            raise IngestRefusedError(
                f"'{safe_line(given)}' is outside the folders this server may ingest "
                f"({allowed}). Put the files there, or ask the operator to add a folder to "
                f"{ROOTS_VARIABLE}."
            )
    return list(paths)


def run_ingest(state: IngestState, *, runtime: Runtime[Context]) -> dict[str, Any]:
    """Index the given paths (under the allowed roots) into the context's collection."""
    context = runtime.context or Context()
    settings = context.settings()
    report = ingest(
        allowed_paths(state.get("paths") or [], settings),
        settings,
        bool(state.get("prune")),
        include=state.get("include") or (),
        exclude=state.get("exclude") or (),
    )
    return {"report": report}
