"""Deadlines: one per model request (connect + the whole reply) and one per run.

httpx's timeouts apply to each read, so a server that sends an SSE keep-alive comment
every few seconds, or trickles its body a byte at a time, never times out. Here every
request gets a deadline: its connect, write and header timeouts are cut to the time left,
and its body is read through `TimedStream`, which checks the clock after every piece and
shuts the socket when the deadline passes while a read is blocked (a watchdog timer), so a
silent server cannot hold the run either. The run's deadline is a context variable set by
the Python API (`run_deadline`) around a whole run; each request's deadline is the earlier
of the two, and agent/llm/chat.py stops retrying once the run's time is spent.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass

import httpx

from tools.errors import RunTimeoutError

_RUN_END: ContextVar[tuple[float, float] | None] = ContextVar("run_end", default=None)
"""(monotonic time the run must end by, the run timeout in seconds) of the current run."""


class run_deadline:
    """Give the model requests made inside this block (sync or async) `seconds` in all."""

    def __init__(self, seconds: float) -> None:
        """Remember the run's time; the clock starts when the block is entered."""
        self.seconds = seconds
        self._token: Token[tuple[float, float] | None] | None = None

    def __enter__(self) -> None:
        """Start the run's clock."""
        self._token = _RUN_END.set((time.monotonic() + self.seconds, self.seconds))

    def __exit__(self, *_: object) -> None:
        """Forget the run's deadline."""
        if self._token is not None:
            with contextlib.suppress(ValueError):  # an async run closed from another context
                _RUN_END.reset(self._token)

    async def __aenter__(self) -> None:
        """Start the run's clock (async form)."""
        self.__enter__()

    async def __aexit__(self, *_: object) -> None:
        """Forget the run's deadline (async form)."""
        self.__exit__()


def run_left() -> float | None:
    """Seconds left in the current run, or None outside a run with a deadline."""
    end = _RUN_END.get()
    return None if end is None else end[0] - time.monotonic()


def check_run(pending: float = 0.0) -> None:
    """Raise RunTimeoutError when the run has no time left for `pending` more seconds."""
    end = _RUN_END.get()
    if end is not None and time.monotonic() + pending >= end[0]:
        raise RunTimeoutError(
            f"The run did not finish within RESEARCH_AGENT_RUN_TIMEOUT={end[1]:g} s. "
            "Resume a thread with `research-agent resume --thread ID`, ask a narrower "
            "question, or raise RESEARCH_AGENT_RUN_TIMEOUT."
        )


@dataclass(frozen=True)
class Deadline:
    """When one request must be done, and how long it was given."""

    end: float
    seconds: float

    @classmethod
    def start(cls, request_timeout: float) -> Deadline:
        """A request's deadline: `request_timeout` from now, or the run's end if sooner."""
        left = run_left()
        seconds = request_timeout if left is None else max(min(request_timeout, left), 0.0)
        return cls(time.monotonic() + seconds, seconds)

    def left(self) -> float:
        """Seconds left (0 when passed)."""
        return max(self.end - time.monotonic(), 0.0)

    def bound(self, request: httpx.Request) -> None:
        """Cut the request's connect, write, pool and header-read timeouts to the time left."""
        left = max(self.left(), 0.001)
        given = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {
            key: left if given.get(key) is None else min(given[key], left)
            for key in ("connect", "read", "write", "pool")
        }

    def expired(self) -> httpx.ReadTimeout:
        """The error for a reply that did not finish in time."""
        return httpx.ReadTimeout(f"no complete reply within {self.seconds:g} s")


def _socket_of(response: httpx.Response) -> socket.socket | None:
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    return sock if isinstance(sock, socket.socket) else None


def _shut(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed by the reader
            sock.shutdown(socket.SHUT_RDWR)


class TimedStream(httpx.SyncByteStream):
    """A response body that must arrive before a deadline, however it trickles."""

    def __init__(self, response: httpx.Response, deadline: Deadline) -> None:
        self._inner = response.stream
        self._deadline = deadline
        self._fired = threading.Event()
        sock = _socket_of(response)
        self._watchdog = threading.Timer(deadline.left(), self._fire, (sock,))
        self._watchdog.daemon = True

    def _fire(self, sock: socket.socket | None) -> None:
        self._fired.set()
        _shut(sock)

    def __iter__(self) -> Iterator[bytes]:
        """The body's pieces; raises httpx.ReadTimeout once the deadline passes."""
        assert isinstance(self._inner, httpx.SyncByteStream)
        self._watchdog.start()
        try:
            for piece in self._inner:
                if self._fired.is_set() or self._deadline.left() <= 0:
                    raise self._deadline.expired()
                yield piece
        except httpx.TransportError:
            if self._fired.is_set():
                raise self._deadline.expired() from None
            raise
        finally:
            self._watchdog.cancel()
        if self._fired.is_set():  # a close-delimited body ends quietly when shut
            raise self._deadline.expired()

    def close(self) -> None:
        """Stop the watchdog and close the connection's stream."""
        self._watchdog.cancel()
        assert isinstance(self._inner, httpx.SyncByteStream)
        self._inner.close()


class AsyncTimedStream(httpx.AsyncByteStream):
    """Async form of TimedStream: each read waits at most the time left."""

    def __init__(self, response: httpx.Response, deadline: Deadline) -> None:
        self._inner = response.stream
        self._deadline = deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """The body's pieces; raises httpx.ReadTimeout once the deadline passes."""
        assert isinstance(self._inner, httpx.AsyncByteStream)
        pieces = self._inner.__aiter__()
        while True:
            try:
                async with asyncio.timeout(self._deadline.left()):
                    piece = await anext(pieces)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise self._deadline.expired() from None
            yield piece

    async def aclose(self) -> None:
        """Close the connection's stream."""
        assert isinstance(self._inner, httpx.AsyncByteStream)
        await self._inner.aclose()
