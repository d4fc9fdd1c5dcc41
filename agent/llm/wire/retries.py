"""Transport retries by the openai client, told which faults deserve one and how long to wait.

The client (openai's `max_retries`) resends a request after a connection error, a timeout
or a retryable status, before any of the reply reaches langchain-openai. Two of its
decisions are this project's own and replace the client's:
- which statuses deserve another attempt: 408, 409, 429 and 5xx (`retryable_status`), also
  when the server asks for a Retry-After longer than the client's two-minute ceiling (the
  wait is then cut to our cap instead of giving up at once);
- how long to wait: the server's Retry-After, else exponential backoff (tools/retry.py),
  never past the cap, and never past the run's deadline (RunTimeoutError instead).
What the client cannot retry (a 400 tool_use_failed, a reply that cannot be read, a stream
that broke before any answer went out) is retried by agent/llm/chat.py, which also counts
the client's attempts into its one-line messages (`client_attempts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import openai

from agent.llm.wire.deadline import check_run
from tools.retry import RetryPolicy, retry_after_headers


def retryable_status(status: int) -> bool:
    """Whether a server fault with this HTTP status may go away when the request is resent."""
    return status in (408, 409, 429) or status >= 500


_RETRIED = "research_agent_retried_by_client"


def client_attempts(exc: BaseException) -> int | None:
    """Requests the openai client's retry loop made before raising `exc`, else None.

    None also for a stream that broke after its reply began: openai raises the same
    APIConnectionError then, but has not retried it. langchain-openai re-raises the
    client's errors as its own subclasses (`from` the original), so the chain is read.
    """
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None or getattr(seen, _RETRIED, False):
            break
        seen = seen.__cause__
    if seen is None or not getattr(seen, _RETRIED, False):
        return None
    if isinstance(seen, openai.APIStatusError):
        request: Any = seen.response.request
    else:  # APIConnectionError, timeouts included
        request = getattr(seen, "request", None)
    try:
        return int(request.headers.get("x-stainless-retry-count", "0")) + 1
    except (AttributeError, ValueError):
        return 1


class _OurRetries:
    """The two retry decisions the openai client takes from this project."""

    policy: RetryPolicy = RetryPolicy()
    max_retries: int

    def _should_retry(self, response: Any) -> bool:  # an httpx or httpx2 Response
        return retryable_status(response.status_code)

    def _calculate_retry_timeout(
        self,
        remaining_retries: int,
        options: Any,
        response_headers: Mapping[str, str] | None = None,
    ) -> float:
        failed = options.get_max_retries(self.max_retries) - remaining_retries
        wait = self.policy.pause(failed, retry_after_headers(response_headers or {}))
        check_run(wait)  # the run's time is spent: its own error, not one more request
        return wait


class RetryingOpenAI(_OurRetries, openai.OpenAI):
    """openai.OpenAI whose transport retries follow `policy`."""

    def __init__(self, policy: RetryPolicy, **kwargs: Any) -> None:
        """Build the client (kwargs as for openai.OpenAI) with this retry policy."""
        super().__init__(**kwargs)
        self.policy = policy

    def request(self, *args: Any, **kwargs: Any) -> Any:
        """Openai's request with its retries; what it gives up on is marked as retried."""
        try:
            return super().request(*args, **kwargs)
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            setattr(exc, _RETRIED, True)
            raise


class AsyncRetryingOpenAI(_OurRetries, openai.AsyncOpenAI):
    """openai.AsyncOpenAI whose transport retries follow `policy`."""

    def __init__(self, policy: RetryPolicy, **kwargs: Any) -> None:
        """Build the client (kwargs as for openai.AsyncOpenAI) with this retry policy."""
        super().__init__(**kwargs)
        self.policy = policy

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        """Openai's request with its retries; what it gives up on is marked as retried."""
        try:
            return await super().request(*args, **kwargs)
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            setattr(exc, _RETRIED, True)
            raise
