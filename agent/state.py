"""The graph's state, its input schema, and the marks its nodes put on messages.

The marks are the graph's own vocabulary: the nodes set them, and the offline policy,
evidence summaries and the API's events read them here (never from a node module).
"""

from __future__ import annotations

from typing import Annotated, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from langgraph.managed import RemainingSteps
from typing_extensions import TypedDict

from agent.schemas import Answer

LAST_TURN_ID = "last-turn-prompt"
"""Id of the budget's last-turn prompt that call_model appends (ids are not sent)."""

NOT_RUN = "not_run"
"""response_metadata key of a ToolMessage answering a call that was refused, not run."""

DUPLICATE_OF = "duplicate_of"
"""response_metadata key of a ToolMessage answered from an earlier identical call (its id)."""


class InputState(TypedDict, total=False):
    """What a caller sends: a question, or messages (LangGraph Studio's chat), or both."""

    messages: Annotated[list[AnyMessage], add_messages]
    """Conversation so far; the last human message is the question when `question` is empty."""

    question: str
    """The question of this run; turned into a human message when the run starts."""


class State(TypedDict):
    """Everything the nodes share during a run (and across runs of a persistent thread)."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: questions, model turns, tool calls and their results (with artifacts)."""

    question: NotRequired[str]
    """Input only: consumed (and cleared) by `prepare`; the question is the last human message."""

    answer: NotRequired[Answer | None]
    """The verified answer of the current run, set by `respond`."""

    tool_calls: NotRequired[int]
    """Tool calls the model requested in this run (valid, invalid and repeated alike)."""

    turns: NotRequired[int]
    """Model calls made in this run."""

    prompt_tokens: NotRequired[int | None]
    """Prompt tokens summed over this run's turns, when the server reports usage."""

    completion_tokens: NotRequired[int | None]
    """Completion tokens summed over this run's turns, when the server reports usage."""

    context_tokens: NotRequired[int]
    """Estimated o200k tokens of the last request sent to the model."""

    run_tokens: NotRequired[int]
    """Prompt tokens this run sent (exact counts of each request), for `max_run_tokens`."""

    budget_spent: NotRequired[str]
    """Empty while tools are allowed; else which budget ended them ("tool calls", "turns", ...)."""

    model_name: NotRequired[str]
    """Name of the chat model that served this run."""

    provider: NotRequired[str]
    """Provider (server preset) of that model, or "offline"."""

    remaining_steps: RemainingSteps
    """Supersteps left before LangGraph's recursion limit; low values force the last turn."""
