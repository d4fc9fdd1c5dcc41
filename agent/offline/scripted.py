"""The shape of a scripted chat model: Python code writes each turn; no LLM, no server.

The offline policy, the eval's single-shot system and the benchmarks' scripted models share
it: binding tools only records their names, and each call returns the one message `reply`
writes for the conversation so far.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool


class ScriptedChatModel(BaseChatModel):
    """A tool-calling chat model whose turns `reply` writes."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable | BaseTool], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Remember which tools are bound (their names reach `reply`); nothing else is sent."""
        names = [
            t.name if isinstance(t, BaseTool) else str(getattr(t, "__name__", t)) for t in tools
        ]
        return self.bind(tool_names=names, **kwargs)

    def reply(self, messages: list[BaseMessage], tool_names: list[str] | None) -> AIMessage:
        """The model's turn.

        Args:
            messages: The request: the conversation as the graph sends it.
            tool_names: The names of the bound tools; None when no tools are bound (the
                budget's last turn).

        Returns:
            The message of this turn: tool calls, or an answer.
        """
        raise NotImplementedError

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        tool_names: list[str] | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self.reply(messages, tool_names)
        return ChatResult(generations=[ChatGeneration(message=message)])
