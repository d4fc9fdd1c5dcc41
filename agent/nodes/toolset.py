"""The tools the research model can call, imported only when a run first needs them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from langchain_core.tools import BaseTool

from tools.fetch import fetch_doc
from tools.search import milvus_search

Tools = Sequence[BaseTool] | Callable[[], Sequence[BaseTool]]
"""The tools, or a function returning them on first use (keeps pymilvus off import time)."""


def default_tools() -> list[BaseTool]:
    """The product's tools: milvus_search and fetch_doc."""
    return [milvus_search, fetch_doc]


def resolve_tools(tools: Tools) -> list[BaseTool]:
    """The tool list, calling the loader if `tools` is one."""
    return list(tools() if callable(tools) else tools)
