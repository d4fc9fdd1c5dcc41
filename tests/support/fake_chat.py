"""A scripted chat model returning given messages turn by turn (as in langgraph's tests)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from pydantic import Field

from agent.offline.scripted import ScriptedChatModel


def call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    """A tool call as a model would make it."""
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


class FakeToolCallingModel(ScriptedChatModel):
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

    def reply(self, messages: list[BaseMessage], tool_names: list[str] | None) -> AIMessage:
        """The script's next message, with a fresh id; the request is recorded."""
        index = min(len(self.calls), len(self.script) - 1)
        self.calls.append({"messages": list(messages), "tools": tool_names})
        return self.script[index].model_copy(update={"id": f"ai-{len(self.calls)}"})
