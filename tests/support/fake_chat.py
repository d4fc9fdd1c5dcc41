"""A scripted chat model returning given messages turn by turn (as in langgraph's tests)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import Field


def call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    """A tool call as a model would make it."""
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


class FakeToolCallingModel(BaseChatModel):
    """Returns `script[i]` on its i-th call and records what it was sent.

    When the script runs out, it keeps returning its last message (a model stuck in a loop).
    """

    script: list[AIMessage]
    model_name: str = "fake-gpt-oss"
    provider: str = "fake"
    calls: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "fake-tool-calling"

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable | BaseTool], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        names = [t.name if isinstance(t, BaseTool) else str(t) for t in tools]
        return self.bind(tool_names=names, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        tool_names: list[str] | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        index = min(len(self.calls), len(self.script) - 1)
        self.calls.append({"messages": list(messages), "tools": tool_names})
        message = self.script[index].model_copy(update={"id": f"ai-{len(self.calls)}"})
        return ChatResult(generations=[ChatGeneration(message=message)])
