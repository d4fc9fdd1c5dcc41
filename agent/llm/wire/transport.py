"""HTTP transports: the reply in the shape asked for, clean, and within its deadline.

Every chat-completions reply passes through here before the OpenAI client reads it:
- its body must arrive before the request's deadline (agent/llm/wire/deadline.py);
- a 200 reply is rewritten into the documented Chat Completions shape
  (agent/llm/repair/reply_shape.py, agent/llm/wire/sse_clean.py), so no field of the wrong type, no
  deep nesting and no invalid Unicode reaches openai or langchain-openai;
- a reply in the other shape is converted: SSE frames to `"stream": false` (versions of
  `transformers serve`), one JSON body to `"stream": true` (servers that cannot stream).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from agent.llm.repair.reply_shape import UnreadableReply, clean_completion, decode
from agent.llm.wire.deadline import AsyncTimedStream, Deadline, TimedStream
from agent.llm.wire.protocol import completion_from_sse
from agent.llm.wire.sse_clean import EventCleaner

_LENGTH_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}


def _asked_stream(request: httpx.Request) -> bool | None:
    if not request.url.path.endswith("/chat/completions"):
        return None
    try:
        asked = json.loads(request.content or b"{}")
    except ValueError:
        return None
    return bool(asked.get("stream")) if isinstance(asked, dict) else None


def sse_from_completion(body: dict[str, Any]) -> bytes:
    """A clean chat.completion body as the SSE stream a streaming server would have sent."""
    frames: list[dict[str, Any]] = []
    for choice in body["choices"]:
        delta = dict(choice["message"])
        calls = delta.get("tool_calls") or []
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(calls)]
        frames.append(
            {
                "id": body["id"],
                "object": "chat.completion.chunk",
                "created": body["created"],
                "model": body["model"],
                "choices": [
                    {
                        "index": choice["index"],
                        "delta": delta,
                        "finish_reason": choice["finish_reason"] or "stop",  # a whole body
                    }
                ],
            }
        )
    if body.get("usage"):
        frames.append({**frames[-1], "choices": [], "usage": body["usage"]})
    text = "".join(f"data: {json.dumps(frame)}\n\n" for frame in frames)
    return (text + "data: [DONE]\n\n").encode()


def completion_body(kind: str, body: bytes) -> bytes:
    """A non-streamed 200 body as clean chat.completion JSON (or as text the client rejects).

    Raises:
        UnreadableReply: JSON, but no completion (an error, no choices, nested too deeply).
    """
    text = body.decode("utf-8", "replace")
    if "event-stream" in kind:
        completion: Any = completion_from_sse(text)
        if completion is None:
            return text.encode()
    else:
        try:
            completion = decode(body)
        except UnreadableReply:
            raise
        except ValueError:
            return text.encode()  # the client reports it as "not JSON"
    return json.dumps(clean_completion(completion)).encode()


def _rebuilt(
    response: httpx.Response, stream: Any, request: httpx.Request, kind: str | None = None
) -> httpx.Response:
    headers = {k: v for k, v in response.headers.items() if k.lower() not in _LENGTH_HEADERS}
    if kind:
        headers["content-type"] = kind
    return httpx.Response(
        response.status_code,
        headers=headers,
        stream=stream,
        extensions=response.extensions,
        request=request,
    )


class _CleanEvents(httpx.SyncByteStream):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        cleaner = EventCleaner()
        for piece in self._response.iter_bytes():
            if out := cleaner.feed(piece):
                yield out
        if out := cleaner.finish():
            yield out

    def close(self) -> None:
        self._response.close()


class _AsyncCleanEvents(httpx.AsyncByteStream):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        cleaner = EventCleaner()
        async for piece in self._response.aiter_bytes():
            if out := cleaner.feed(piece):
                yield out
        if out := cleaner.finish():
            yield out

    async def aclose(self) -> None:
        await self._response.aclose()


def _json_reply(
    response: httpx.Response, body: bytes, request: httpx.Request, streamed: bool
) -> httpx.Response:
    kind = response.headers.get("content-type", "")
    clean = completion_body(kind, body)
    if streamed:
        clean = sse_from_completion(json.loads(clean))
        return _rebuilt(response, httpx.ByteStream(clean), request, "text/event-stream")
    kind = "application/json" if clean[:1] == b"{" else None
    return _rebuilt(response, httpx.ByteStream(clean), request, kind)


class ShapeTransport(httpx.HTTPTransport):
    """httpx transport that bounds, cleans and shapes chat-completions replies."""

    def __init__(self, request_timeout: float = 120.0, **kwargs: Any) -> None:
        """Give each request `request_timeout` seconds, connect to last byte."""
        super().__init__(**kwargs)
        self.request_timeout = request_timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request; return its reply bounded by the deadline and cleaned."""
        deadline = Deadline.start(self.request_timeout)
        deadline.bound(request)
        raw = super().handle_request(request)
        timed = _rebuilt(raw, TimedStream(raw, deadline), request)
        timed.headers["content-encoding"] = raw.headers.get("content-encoding", "identity")
        asked = _asked_stream(request)
        if asked is None or raw.status_code != 200:
            return timed
        kind = raw.headers.get("content-type", "")
        if asked and "json" not in kind:
            return _rebuilt(timed, _CleanEvents(timed), request, "text/event-stream")
        try:
            body = timed.read()
        finally:
            timed.close()
        return _json_reply(timed, body, request, asked)


class AsyncShapeTransport(httpx.AsyncHTTPTransport):
    """Async form of ShapeTransport."""

    def __init__(self, request_timeout: float = 120.0, **kwargs: Any) -> None:
        """Give each request `request_timeout` seconds, connect to last byte."""
        super().__init__(**kwargs)
        self.request_timeout = request_timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request; return its reply bounded by the deadline and cleaned."""
        deadline = Deadline.start(self.request_timeout)
        deadline.bound(request)
        raw = await super().handle_async_request(request)
        timed = _rebuilt(raw, AsyncTimedStream(raw, deadline), request)
        timed.headers["content-encoding"] = raw.headers.get("content-encoding", "identity")
        asked = _asked_stream(request)
        if asked is None or raw.status_code != 200:
            return timed
        kind = raw.headers.get("content-type", "")
        if asked and "json" not in kind:
            return _rebuilt(timed, _AsyncCleanEvents(timed), request, "text/event-stream")
        try:
            body = await timed.aread()
        finally:
            await timed.aclose()
        return _json_reply(timed, body, request, asked)
