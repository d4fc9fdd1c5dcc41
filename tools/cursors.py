"""Cursor numbers: one per document, stable within a run, rebuilt from the tool results seen."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tools.artifacts import documents_named, message_artifact


class CursorRegistry:
    """Maps documents to the cursor numbers the model sees, numbered from 0 by first sight."""

    def __init__(self) -> None:
        self.by_doc: dict[str, int] = {}
        self.by_cursor: dict[int, str] = {}

    @classmethod
    def from_messages(cls, messages: Iterable[Any]) -> CursorRegistry:
        """Rebuild the registry from the artifacts of earlier tool messages."""
        reg = cls()
        for msg in messages:
            artifact = message_artifact(msg)
            for cursor, doc_id in documents_named(artifact) if artifact else ():
                reg.by_doc.setdefault(doc_id, cursor)
                reg.by_cursor.setdefault(cursor, doc_id)
        return reg

    def assign(self, doc_id: str) -> int:
        """The document's cursor, giving it the next free number on first sight."""
        if doc_id not in self.by_doc:
            cursor = max(self.by_cursor, default=-1) + 1
            self.by_doc[doc_id] = cursor
            self.by_cursor[cursor] = doc_id
        return self.by_doc[doc_id]

    def known(self) -> str:
        """The known cursors, for error messages."""
        if not self.by_cursor:
            return "none yet (run milvus_search first)"
        return ", ".join(str(c) for c in sorted(self.by_cursor))
