"""The one retry policy: how long to wait before another attempt, and the loops that wait.

The policy sets the waits of the openai client's own transport retries (agent/llm/wire/
retries.py). The loops serve what that client cannot retry: the gpt-oss chat model's faults
seen after a reply arrived (agent/llm/chat.py, plain and streamed, sync and async) and the
OpenAI-compatible embedder's requests (tools/embeddings.py, plain httpx). Each caller
decides *whether* a failure deserves another attempt (its `on_error` returns the wait or
raises the user-facing error); how long to wait is decided here for all: the server's
Retry-After when it sent one, else exponential backoff, never more than the cap.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
OnError = Callable[[BaseException, int], float]
"""(the failure, attempts already failed - 1) -> seconds to wait; raises to give up."""


@dataclass(frozen=True)
class RetryPolicy:
    """Retries after a transient failure, with exponential backoff capped at `cap`."""

    retries: int = 3
    """Attempts after the first one."""
    backoff: float = 0.5
    """First wait in seconds; doubled on each further retry."""
    cap: float = 30.0
    """Longest wait, also when the server's Retry-After asks for more."""

    def wait(self, exc: BaseException, attempt: int) -> float | None:
        """Seconds to wait after failed attempt `attempt` (0-based); None: no retries left."""
        if attempt >= self.retries:
            return None
        return self.pause(attempt, retry_after(exc))

    def pause(self, attempt: int, asked: float | None) -> float:
        """The wait after failed attempt `attempt`: what the server `asked`, else backoff."""
        return min(self.backoff * 2**attempt if asked is None else asked, self.cap)


def retry_after(exc: BaseException, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, read from `exc.response.headers`.

    Both openai's and httpx's status errors carry the response.
    """
    response = getattr(exc, "response", None)
    return retry_after_headers(getattr(response, "headers", None) or {}, now)


def retry_after_headers(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds asked for by Retry-After (in seconds or as a date) or retry-after-ms."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):  # neither seconds nor an HTTP date
            return None
        return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def call(attempt: Callable[[], T], on_error: OnError, errors: tuple[type[BaseException], ...]) -> T:
    """`attempt()` until it returns; each failure in `errors` goes to `on_error`."""
    failed = 0
    while True:
        try:
            return attempt()
        except errors as exc:
            wait = on_error(exc, failed)
        time.sleep(wait)
        failed += 1


async def acall(
    attempt: Callable[[], Awaitable[T]], on_error: OnError, errors: tuple[type[BaseException], ...]
) -> T:
    """`call` for coroutines."""
    failed = 0
    while True:
        try:
            return await attempt()
        except errors as exc:
            wait = on_error(exc, failed)
        await asyncio.sleep(wait)
        failed += 1


def each(
    attempt: Callable[[], Iterator[T]], on_error: OnError, errors: tuple[type[BaseException], ...]
) -> Iterator[T]:
    """The items of `attempt()`, started again after a failure in `errors`.

    Items of a failed attempt were already passed on; `on_error` must raise when passing
    them again would be wrong (the streamed chat model checks whether answer text went out).
    """
    failed = 0
    while True:
        try:
            yield from attempt()
            return
        except errors as exc:
            wait = on_error(exc, failed)
        time.sleep(wait)
        failed += 1


async def aeach(
    attempt: Callable[[], AsyncIterator[T]],
    on_error: OnError,
    errors: tuple[type[BaseException], ...],
) -> AsyncIterator[T]:
    """`each` for async iterators."""
    failed = 0
    while True:
        try:
            async for item in attempt():
                yield item
            return
        except errors as exc:
            wait = on_error(exc, failed)
        await asyncio.sleep(wait)
        failed += 1
