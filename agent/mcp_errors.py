"""One line for any failure of an MCP tool call: what went wrong and what to do next."""

from __future__ import annotations

import logging

from mcp.server.fastmcp.exceptions import ToolError
from pydantic import ValidationError

from tools.errors import ResearchAgentError

MAX_CHARS = 400
"""A message longer than this is cut (a huge argument echoed back is no help)."""

log = logging.getLogger("research_agent.mcp")


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_CHARS else flat[: MAX_CHARS - 1] + "…"


def _invalid(exc: ValidationError) -> str:
    """`k: Input should be a valid integer` for the first bad argument, and how many more."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0] if errors else {"loc": (), "msg": str(exc)}
    where = ".".join(str(part) for part in first["loc"]) or "arguments"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid argument {where}: {first['msg']}{more}"


def one_line(exc: BaseException) -> str:
    """The message an MCP client gets for a failed call, on one line.

    A ResearchAgentError or a tool input error carries a message written for the user; a bad
    argument names the argument; anything else is unexpected: its type and message are
    shown, and its traceback goes to the server's log (stderr), not to the client.
    """
    if isinstance(exc, ResearchAgentError | ToolError):
        return _clip(str(exc))
    if isinstance(exc, ValidationError):
        return _clip(_invalid(exc))
    if isinstance(exc, ValueError | LookupError) and str(exc):
        return _clip(str(exc))
    log.error("unexpected error in an MCP tool call", exc_info=exc)
    return _clip(
        f"internal error ({type(exc).__name__}: {exc}); run `research-agent doctor`, and report "
        "it if doctor finds nothing"
    )
