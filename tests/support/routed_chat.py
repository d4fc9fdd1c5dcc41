"""A scripted chat model whose script depends on the conversation: one per report turn.

Branches of a report run at the same time, so one shared script cannot say which turn
comes next; each route (a text that the first human message contains) has its own script.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr


class RoutedChatModel(BaseChatModel):
    """Returns `routes[key][i]` on the i-th call whose first human message contains `key`.

    Routes are tried in order. A route's script repeats its last message when it runs out.
    `hooks[key]` runs before each call of that route (to block or fail on purpose); `calls`
    records the requests that were answered, `tools` the tool specs bound to each.
    """

    routes: dict[str, list[AIMessage]]
    hooks: dict[str, Callable[[int], None]] = Field(default_factory=dict)
    model_name: str = "fake-gpt-oss"
    provider: str = "fake"
    calls: list[tuple[str, list[BaseMessage]]] = Field(default_factory=list)
    tools: list[list[dict[str, Any]]] = Field(default_factory=list)
    """The tool specs bound to each call in `calls` (empty when none were)."""
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "fake-routed"

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable | BaseTool], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def count(self, key: str) -> int:
        """Calls made on one route."""
        return sum(1 for k, _ in self.calls if k == key)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        first = next((m.text for m in messages if isinstance(m, HumanMessage)), "")
        key = next((k for k in self.routes if k in first), None)
        if key is None:
            raise AssertionError(f"no route for {first[:200]!r}")
        with self._lock:
            index = self.count(key)
        if key in self.hooks:  # a hook that raises is a failed request: not in `calls`
            self.hooks[key](index)
        with self._lock:
            self.calls.append((key, list(messages)))
            self.tools.append(list(kwargs.get("tools") or []))
        script = self.routes[key]
        message = script[min(index, len(script) - 1)]
        return ChatResult(generations=[ChatGeneration(message=message.model_copy())])
