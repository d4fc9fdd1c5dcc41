"""HTTP transports that give the OpenAI client the reply shape it asked for.

Some servers answer in the other shape: SSE frames to `"stream": false` (versions of
`transformers serve`), or one JSON body to `"stream": true` (servers that cannot stream).
The reply is converted before the client reads it, so both paths get the same turn and
the same repairs (agent/llm/chat.py) instead of "not JSON" or an empty turn.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from agent.llm.wire import completion_from_sse


def _asked_stream(request: httpx.Request) -> bool | None:
    if not request.url.path.endswith("/chat/completions"):
        return None
    try:
        return bool(json.loads(request.content or b"{}").get("stream"))
    except ValueError:
        return None


def sse_from_completion(body: dict[str, Any]) -> bytes:
    """A chat.completion body as the SSE stream a streaming server would have sent."""
    frames: list[dict[str, Any]] = []
    for choice in body.get("choices") or []:
        delta = dict(choice.get("message") or {})
        calls = delta.get("tool_calls") or []
        if calls:
            delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(calls)]
        frames.append(
            {
                "id": body.get("id"),
                "object": "chat.completion.chunk",
                "model": body.get("model"),
                "choices": [
                    {
                        "index": choice.get("index", 0),
                        "delta": delta,
                        "finish_reason": choice.get("finish_reason"),
                    }
                ],
            }
        )
    if body.get("usage"):
        frames.append({"object": "chat.completion.chunk", "choices": [], "usage": body["usage"]})
    text = "".join(f"data: {json.dumps(frame)}\n\n" for frame in frames)
    return (text + "data: [DONE]\n\n").encode()


def _convert(
    asked: bool | None, request: httpx.Request, response: httpx.Response, body: bytes
) -> httpx.Response:
    kind = response.headers.get("content-type", "")
    headers = {k: v for k, v in response.headers.items() if k.lower() not in _LENGTH_HEADERS}
    if asked is False and "text/event-stream" in kind:
        completion = completion_from_sse(body.decode("utf-8", "replace"))
        if completion is not None:
            headers["content-type"] = "application/json"
            return httpx.Response(
                response.status_code,
                headers=headers,
                content=json.dumps(completion).encode(),
                request=request,
            )
    if asked is True and "json" in kind:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and parsed.get("choices"):
            headers["content-type"] = "text/event-stream"
            return httpx.Response(
                response.status_code,
                headers=headers,
                content=sse_from_completion(parsed),
                request=request,
            )
    return httpx.Response(response.status_code, headers=headers, content=body, request=request)


_LENGTH_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}


def _needs(asked: bool | None, response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "")
    if response.status_code != 200 or asked is None:
        return False
    return (asked is False and "text/event-stream" in kind) or (asked is True and "json" in kind)


class ShapeTransport(httpx.HTTPTransport):
    """httpx transport converting a reply to the shape the request asked for."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request; convert the reply when it came in the other shape."""
        response = super().handle_request(request)
        asked = _asked_stream(request)
        if not _needs(asked, response):
            return response
        body = response.read()
        response.close()
        return _convert(asked, request, response, body)


class AsyncShapeTransport(httpx.AsyncHTTPTransport):
    """Async form of ShapeTransport."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request; convert the reply when it came in the other shape."""
        response = await super().handle_async_request(request)
        asked = _asked_stream(request)
        if not _needs(asked, response):
            return response
        body = await response.aread()
        await response.aclose()
        return _convert(asked, request, response, body)
