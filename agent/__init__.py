"""research-agent: a gpt-oss research assistant over your own documents.

`import agent` stays cheap: the public API is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.api import aask, ask, astream, resume, stream
    from agent.schemas import Answer

__all__ = ["Answer", "aask", "ask", "astream", "resume", "stream"]


def __getattr__(name: str) -> Any:
    if name == "Answer":
        # lazy: `import agent` stays cheap (the CLI's `--help` imports this package)
        from agent.schemas import Answer

        return Answer
    if name in ("ask", "aask", "stream", "astream", "resume"):
        # lazy: `import agent` stays cheap (the CLI's `--help` imports this package)
        from agent import api

        return getattr(api, name)
    raise AttributeError(f"module 'agent' has no attribute {name!r}")
