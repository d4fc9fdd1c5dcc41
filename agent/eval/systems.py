"""The two systems an eval compares: the agent's tools on a k schedule, and the single shot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool

from agent.evidence.seen import artifacts, run_start
from agent.offline.scripted import ScriptedChatModel
from tools.schemas import SearchResult
from tools.search import search_tool as milvus_search_tool
from tools.store import SearchMode


def search_tool(schedule: int | Sequence[int], mode: SearchMode) -> BaseTool:
    """milvus_search as the product has it, but the n-th search of a run returns schedule[n] hits.

    A single k means every search returns k hits; (10, 5) means the first search of a run
    returns 10 and every later one 5 (the last entry repeats). The model's own k is ignored,
    so that systems compare at the k the eval chose.
    """
    ks = [schedule] if isinstance(schedule, int) else list(schedule)

    def hit_count(messages: Sequence[Any], k: int) -> int:
        done = sum(isinstance(a, SearchResult) for a in artifacts(messages[run_start(messages) :]))
        return ks[min(done, len(ks) - 1)]

    return milvus_search_tool(hit_count, mode)


class SingleShot(ScriptedChatModel):
    """The original recipe: one search with the question, then one answer without tools."""

    inner: BaseChatModel
    model_name: str = "single-shot"

    @property
    def _llm_type(self) -> str:
        return "single-shot"

    def reply(self, messages: list[BaseMessage], tool_names: list[str] | None) -> AIMessage:
        """The first turn with tools bound searches with the question; later, `inner` answers."""
        start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        searched = any(isinstance(m, ToolMessage) for m in messages[start:])
        if tool_names is not None and not searched:
            query = messages[start].text
            call = {"name": "milvus_search", "args": {"query": query}, "id": "single_shot_0"}
            return AIMessage(content="", tool_calls=[call])
        return self.inner.invoke(messages)
