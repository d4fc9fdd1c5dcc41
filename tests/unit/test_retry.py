"""The one retry policy (tools/retry.py): waits, Retry-After, and the four loops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from tools import retry
from tools.retry import RetryPolicy, retry_after


class Failed(Exception):
    def __init__(self, headers: dict[str, str] | None = None) -> None:
        super().__init__("failed")
        self.response = type("R", (), {"headers": headers or {}})()


def test_retry_after_forms() -> None:
    assert retry_after(Failed({"retry-after": "2"})) == 2.0
    assert retry_after(Failed({"retry-after-ms": "250"})) == 0.25
    date = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert retry_after(Failed({"retry-after": date}), now=1445412480.0) == 10.0
    assert retry_after(Failed({"retry-after": "soon"})) is None
    assert retry_after(Failed({})) is None
    assert retry_after(ValueError("no response at all")) is None


def test_policy_backs_off_exponentially_then_gives_up() -> None:
    policy = RetryPolicy(retries=3, backoff=0.5, cap=1.5)
    waits = [policy.wait(Failed(), attempt) for attempt in range(4)]
    assert waits == [0.5, 1.0, 1.5, None]  # doubled, capped, then no retries left


def test_policy_honours_retry_after_up_to_the_cap() -> None:
    policy = RetryPolicy(retries=2, backoff=0.5, cap=30.0)
    assert policy.wait(Failed({"retry-after": "7"}), 0) == 7.0
    assert policy.wait(Failed({"retry-after": "300"}), 0) == 30.0
    assert policy.wait(Failed({"retry-after": "7"}), 2) is None


def _flaky(failures: int) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(len(calls))
        if len(calls) <= failures:
            raise Failed()
        return "done"

    return calls, attempt


def test_call_retries_until_success_and_passes_the_failure_count() -> None:
    seen: list[int] = []

    def on_error(exc: BaseException, failed: int) -> float:
        assert isinstance(exc, Failed)
        seen.append(failed)
        return 0.0

    calls, attempt = _flaky(2)
    assert retry.call(attempt, on_error, (Failed,)) == "done"
    assert len(calls) == 3 and seen == [0, 1]


def test_call_stops_when_on_error_raises_and_lets_other_errors_through() -> None:
    def give_up(exc: BaseException, failed: int) -> float:
        raise RuntimeError(f"gave up after {failed + 1}")

    calls, attempt = _flaky(5)
    with pytest.raises(RuntimeError, match="gave up after 1"):
        retry.call(attempt, give_up, (Failed,))
    assert len(calls) == 1

    def broken() -> str:
        raise KeyError("a bug, not a wire failure")

    with pytest.raises(KeyError):
        retry.call(broken, give_up, (Failed,))


def test_acall_retries_coroutines() -> None:
    calls: list[int] = []

    async def attempt() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise Failed()
        return len(calls)

    assert asyncio.run(retry.acall(attempt, lambda exc, n: 0.0, (Failed,))) == 3


def test_each_starts_the_iteration_again_after_a_failure() -> None:
    starts: list[int] = []

    def attempt() -> Iterator[str]:
        starts.append(1)
        yield f"start {len(starts)}"
        if len(starts) == 1:
            raise Failed()
        yield "end"

    items = list(retry.each(attempt, lambda exc, n: 0.0, (Failed,)))
    assert items == ["start 1", "start 2", "end"]  # the failed attempt's items went out


def test_aeach_gives_up_when_told() -> None:
    async def attempt() -> AsyncIterator[str]:
        yield "partial"
        raise Failed()

    def shown_already(exc: BaseException, failed: int) -> float:
        raise RuntimeError("answer text already went out")

    async def collect() -> list[str]:
        return [item async for item in retry.aeach(attempt, shown_already, (Failed,))]

    with pytest.raises(RuntimeError, match="already went out"):
        asyncio.run(collect())
