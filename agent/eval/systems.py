"""The two systems an eval compares: the agent's tools on a k schedule, and the single shot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool, StructuredTool

from agent.nodes.evidence import artifacts, run_start
from tools.context import settings_from_runtime
from tools.cursors import CursorRegistry
from tools.render import render_search
from tools.schemas import SearchResult
from tools.search import SearchArgs, make_filters, milvus_search, run_search
from tools.store import SearchMode


def search_tool(schedule: int | Sequence[int], mode: SearchMode) -> BaseTool:
    """milvus_search as the product has it, but the n-th search of a run returns schedule[n] hits.

    A single k means every search returns k hits; (10, 5) means the first search of a run
    returns 10 and every later one 5 (the last entry repeats). The model's own k is ignored,
    so that systems compare at the k the eval chose.
    """
    ks = [schedule] if isinstance(schedule, int) else list(schedule)

    def run(
        query: str,
        k: int | None = None,
        source: str | None = None,
        file_type: str | None = None,
        modified_after: date | None = None,
        modified_before: date | None = None,
        title_contains: str | None = None,
        tags: list[str] | None = None,
        state: Any = None,
    ) -> Any:
        messages = (state or {}).get("messages", [])
        registry = CursorRegistry.from_messages(messages)
        done = sum(isinstance(a, SearchResult) for a in artifacts(messages[run_start(messages) :]))
        hits = ks[min(done, len(ks) - 1)]
        filters = make_filters(file_type, modified_after, modified_before, title_contains, tags)
        result = run_search(settings_from_runtime(), query, hits, source, registry, mode, filters)
        return render_search(result), result

    return StructuredTool.from_function(
        run,
        name=milvus_search.name,
        description=milvus_search.description,
        args_schema=SearchArgs,
        response_format="content_and_artifact",
    )


class SingleShot(BaseChatModel):
    """The original recipe: one search with the question, then one answer without tools."""

    inner: BaseChatModel
    model_name: str = "single-shot"

    @property
    def _llm_type(self) -> str:
        return "single-shot"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        """Tools are bound only to know that the first turn may search."""
        return self.bind(tools_bound=True, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        tools_bound: bool = False,
        **kwargs: Any,
    ) -> ChatResult:
        start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        searched = any(isinstance(m, ToolMessage) for m in messages[start:])
        if tools_bound and not searched:
            query = messages[start].text
            call = {"name": "milvus_search", "args": {"query": query}, "id": "single_shot_0"}
            message: BaseMessage = AIMessage(content="", tool_calls=[call])
        else:
            message = self.inner.invoke(messages)
        return ChatResult(generations=[ChatGeneration(message=message)])
