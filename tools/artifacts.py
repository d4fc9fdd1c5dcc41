"""The one parser of tool artifacts: a ToolMessage's artifact as a tools.schemas model.

Artifacts are pydantic objects in a live run and plain dicts after a checkpoint round
trip; both are accepted. Tools (cursor numbers) and the agent (evidence, summaries, events)
read artifacts through this module only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from tools.schemas import DocWindow, FindResult, SearchResult

Artifact = SearchResult | DocWindow | FindResult


def parse_artifact(artifact: Any) -> Artifact | None:
    """The artifact as a tools.schemas model, whatever shape the checkpoint left it in.

    Args:
        artifact: A ToolMessage artifact (model, dict or None).

    Returns:
        The SearchResult, DocWindow or FindResult, or None for anything else.
    """
    if isinstance(artifact, SearchResult | DocWindow | FindResult):
        return artifact
    if not isinstance(artifact, dict):
        return None
    model: type[SearchResult] | type[DocWindow] | type[FindResult] = DocWindow
    if "hits" in artifact:
        model = SearchResult
    elif "windows" in artifact:
        model = FindResult
    try:
        return model.model_validate(artifact)
    except ValidationError:
        return None


def message_artifact(message: Any) -> Artifact | None:
    """The parsed artifact of a message object or of a message as a dict (None if it has none)."""
    artifact = getattr(message, "artifact", None)
    if artifact is None and isinstance(message, dict):
        artifact = message.get("artifact")
    return parse_artifact(artifact)


def documents_named(artifact: Artifact) -> Iterator[tuple[int, str]]:
    """(cursor, doc_id) of every document an artifact names, in the order it names them."""
    if isinstance(artifact, SearchResult):
        for hit in artifact.hits:
            yield hit.cursor, hit.doc_id
    else:
        yield artifact.cursor, artifact.doc_id
