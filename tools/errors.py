"""Exceptions shared by the whole product (a leaf module)."""

from __future__ import annotations

from typing import Any

from tools.redact import redact_text


class ResearchAgentError(RuntimeError):
    """An error meant for a user: its message says what happened and what to do next.

    The CLI prints it as one line, without a traceback, and exits non-zero. It is a
    RuntimeError so that LangGraph's server (langgraph dev, LangGraph Platform) passes
    its message to Studio and SDK users: langgraph-api shows the message of builtin
    exception types only and replaces any other with "An internal error occurred".

    The message is redacted where it is made (tools/redact.py): a URL's password, a key or
    a bearer token in it never reaches a terminal, a log or a server's client.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*(redact_text(a) if isinstance(a, str) else a for a in args))


class ConfigError(ResearchAgentError, ValueError):
    """A setting, flag, keyword argument or Studio field has a value that is not allowed.

    The message names the field, the value and what is allowed; the CLI exits 2.
    """


class StoreError(ResearchAgentError):
    """Milvus cannot be opened or used as configured (locked, missing, mismatched, down)."""


class EmbedderError(ResearchAgentError):
    """The embedder cannot load or its endpoint does not answer."""


class ModelServerError(ResearchAgentError):
    """The gpt-oss server is unreachable or keeps failing."""


class ToolInputError(ValueError):
    """A tool call the model can fix; the message says how ("Cursor 7 is unknown. Known: 0-4.")."""


class RunTimeoutError(ModelServerError):
    """A run used up its time (RESEARCH_AGENT_RUN_TIMEOUT); a thread can be resumed."""
