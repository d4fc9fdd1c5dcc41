"""Exceptions shared by the whole product (a leaf module)."""

from __future__ import annotations


class ResearchAgentError(Exception):
    """An error meant for a user: its message says what happened and what to do next.

    The CLI prints it as one line, without a traceback, and exits non-zero.
    """


class StoreError(ResearchAgentError):
    """Milvus cannot be opened or used as configured (locked, missing, mismatched, down)."""


class EmbedderError(ResearchAgentError):
    """The embedder cannot load or its endpoint does not answer."""


class ModelServerError(ResearchAgentError):
    """The gpt-oss server is unreachable or keeps failing."""


class ToolInputError(ValueError):
    """A tool call the model can fix; the message says how ("Cursor 7 is unknown. Known: 0-4.")."""
