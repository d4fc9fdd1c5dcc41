"""research-agent: a gpt-oss research assistant over your own documents.

`import agent` stays cheap: the public API (and with it the graph) is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tools  # noqa: F401  # first: sets gRPC's verbosity before anything imports gRPC
from agent.schemas import Answer

if TYPE_CHECKING:
    from agent.api import aask, ask, astream, resume, stream
    from agent.report_api import areport, report
    from agent.retriever import as_retriever

__all__ = [
    "Answer",
    "aask",
    "areport",
    "as_retriever",
    "ask",
    "astream",
    "report",
    "resume",
    "stream",
]


def __getattr__(name: str) -> Any:
    if name in ("ask", "aask", "stream", "astream", "resume"):
        # lazy: `import agent` stays cheap (the CLI's `--help` imports this package); the
        # API loads langgraph and pymilvus (+1.3 s, benchmarks/cold_start.py)
        from agent import api

        return getattr(api, name)
    if name == "as_retriever":
        # lazy: as above; langchain-milvus and the embedder load only for a retriever
        from agent.retriever import as_retriever

        return as_retriever
    if name in ("report", "areport"):
        # lazy: as above, the report API loads the report graph
        from agent import report_api

        return getattr(report_api, name)
    raise AttributeError(f"module 'agent' has no attribute {name!r}")
