"""What agent/llm/chat.py puts on the wire and makes of failures (pure helpers, no client).

Kept apart from the ChatOpenAI subclass so the request shaping, the retry verdicts
and the user-facing error texts can be tested without langchain-openai internals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx
import openai
from langchain_core.messages import AIMessage, BaseMessage

from agent.llm.repair.args import HARMONY_TOKEN
from agent.llm.repair.reply_shape import UnreadableReply, clean_chunk, clean_text, decode
from agent.schemas import REASONING_KEY
from tools.redact import redact_text

Verdict = Literal["retry", "tool_use_failed", "reasoning_mandatory", "fatal"]


def reasoning_of(message: Mapping[str, Any]) -> str | None:
    """The reasoning text of a response message or stream delta, under either name."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def attach_reasoning(
    messages: Sequence[BaseMessage], wire: list[dict[str, Any]], field: str
) -> None:
    """Put reasoning back on tool-call turns made after the last final answer.

    OpenAI's gpt-oss guidance: the model needs its earlier chain of thought while it
    is still working through tool calls, and must not see it once it has answered.
    `wire` is the payload's message list, in the same order as `messages`.
    """
    finals = [i for i, m in enumerate(messages) if isinstance(m, AIMessage) and not _calls(m)]
    last_final = finals[-1] if finals else -1
    for index, (message, entry) in enumerate(zip(messages, wire, strict=True)):
        if not isinstance(message, AIMessage) or entry.get("role") != "assistant":
            continue
        entry.pop("reasoning", None)
        entry.pop("reasoning_content", None)
        text = message.additional_kwargs.get(REASONING_KEY)
        if index > last_final and _calls(message) and isinstance(text, str) and text:
            entry[field] = text


def _calls(message: AIMessage) -> bool:
    return bool(message.tool_calls or message.invalid_tool_calls)


def apply_effort(payload: dict[str, Any], effort: str | None, where: str) -> None:
    """Ask for reasoning effort as the preset says: a parameter, a system line, or both."""
    if not effort:
        return
    if where in ("param", "both"):
        payload.setdefault("reasoning_effort", effort)
    if where in ("system", "both"):
        line = f"Reasoning: {effort}"
        wire = payload.setdefault("messages", [])
        system = next((m for m in wire if m.get("role") in ("system", "developer")), None)
        if system is None:
            wire.insert(0, {"role": "system", "content": line})
        elif isinstance(system.get("content"), str) and "Reasoning:" not in system["content"]:
            system["content"] = f"{line}\n\n{system['content']}".rstrip()
        elif isinstance(system.get("content"), list):
            system["content"] = [{"type": "text", "text": line}, *system["content"]]


def force_reasoning(payload: dict[str, Any], effort: str | None) -> None:
    """Turn reasoning on explicitly, for OpenRouter upstreams that refuse otherwise."""
    extra = dict(payload.get("extra_body") or {})
    extra["reasoning"] = {"enabled": True, **({"effort": effort} if effort else {})}
    payload["extra_body"] = extra
    payload.pop("reasoning_effort", None)


def unreadable(exc: BaseException) -> UnreadableReply | None:
    """The UnreadableReply behind a failure (openai wraps what a transport raises)."""
    seen = 0
    while exc is not None and seen < 4:
        if isinstance(exc, UnreadableReply):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1  # type: ignore[assignment]
    return None


def verdict(exc: BaseException) -> Verdict:
    """Decide what a failed request deserves."""
    if (bad := unreadable(exc)) is not None:
        return "retry" if bad.retry else "fatal"
    if isinstance(exc, openai.APIStatusError):
        text = f"{exc.message} {json.dumps(exc.body, default=str)}".lower()
        if exc.status_code == 400 and "tool_use_failed" in text:
            return "tool_use_failed"
        if exc.status_code == 400 and "reasoning is mandatory" in text:
            return "reasoning_mandatory"
        return "retry" if exc.status_code in (408, 409, 429) or exc.status_code >= 500 else "fatal"
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return "retry"
    if isinstance(exc, openai.APIError) and "tool_use_failed" in json.dumps(exc.body, default=str):
        return "tool_use_failed"  # Groq reports it as an in-stream `event: error` frame
    return "fatal"


def failure_message(exc: BaseException, server: str, url: str, attempts: int) -> str:
    """One line for the user: what failed at which URL, and what to do next."""
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    if (bad := unreadable(exc)) is not None:
        return (
            f"The server at {url} sent a reply this client cannot read ({_short(bad)}) "
            f"{tries}. Is it an OpenAI-compatible /v1 endpoint serving gpt-oss? Check its log."
        )
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return (
            f"The {server} server at {url} did not answer in time ({tries}). "
            "Check that it is up and not overloaded, or raise RESEARCH_AGENT_REQUEST_TIMEOUT."
        )
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return (
            f"Is the {server} server running at {url}? No connection {tries} "
            f"({_short(exc)}). Start it or pass --base-url."
        )
    if isinstance(exc, ValueError):  # JSONDecodeError, or a text body where JSON was due
        return (
            f"The server at {url} sent a reply that is not JSON ({_short(exc)}). "
            "Is it an OpenAI-compatible /v1 endpoint? Check --base-url."
        )
    status = getattr(exc, "status_code", None)
    detail = f"HTTP {status}: {_short(exc)}" if status else _short(exc)
    if verdict(exc) == "tool_use_failed":
        return (
            f"The {server} server at {url} kept rejecting the model's tool calls "
            f"(tool_use_failed) {tries}. Ask again, or use another provider."
        )
    if status in (401, 403):
        return f"The {server} server at {url} refused the API key ({detail}). Check the key."
    if status == 404:
        return (
            f"The {server} server at {url} has no such model or path ({detail}). "
            "Check --model and --base-url."
        )
    if status == 429:
        return f"The {server} server at {url} is rate-limiting us ({tries}). Wait, then retry."
    if status and status >= 500:
        return f"The {server} server at {url} keeps failing ({detail}) {tries}. Check its log."
    return (
        f"The {server} server at {url} rejected the request ({detail}). "
        "Check --model and the server's gpt-oss options."
    )


def _short(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    text = redact_text(
        HARMONY_TOKEN.sub("", clean_text(str(text))).replace("<|", "<")
    )  # never echo markup or keys
    text = " ".join(text.split())  # before the cut below, after redaction
    return text if len(text) <= 160 else text[:157] + "..."


def broken_stream_message(exc: BaseException, server: str, url: str) -> str:
    """One line for a stream that failed after part of the answer was already shown."""
    return (
        f"The {server} server at {url} broke off its streamed reply ({_short(exc)}). "
        "Check its log, then ask again."
    )


def completion_from_sse(text: str) -> dict[str, Any] | None:
    """A chat.completion body built from an SSE stream, or None when text is not SSE.

    Some servers (versions of `transformers serve`) answer `"stream": false` with SSE
    frames; their deltas are merged as a streaming client would merge them.

    Raises:
        UnreadableReply: A frame cannot be read, or the stream ended without a finish reason
            (the server closed it mid-reply: what came is a fragment, not an answer).
    """
    frames = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    if not frames:
        return None
    content: list[str] = []
    reasoning: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    body: dict[str, Any] = {"object": "chat.completion", "choices": []}
    finish: str | None = None
    for frame in frames:
        if frame == "[DONE]":
            break
        try:
            chunk = clean_chunk(decode(frame.encode()))
        except UnreadableReply:
            raise
        except ValueError:
            raise UnreadableReply(f"a stream event is not JSON: {frame[:80]!r}") from None
        if chunk is None:
            continue
        if "error" in chunk:
            raise UnreadableReply(f"the server sent an error: {chunk['error']}"[:200])
        for key in ("id", "model", "created", "usage"):
            if chunk.get(key) is not None:
                body[key] = chunk[key]
        for choice in chunk["choices"]:
            delta = choice["delta"]
            content.append(delta.get("content") or "")
            reasoning.append(reasoning_of(delta) or "")
            for call in delta.get("tool_calls") or []:
                slot = calls.setdefault(
                    call["index"],
                    {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                )
                slot["id"] = slot["id"] or call.get("id")
                slot["function"]["name"] += call["function"]["name"]
                slot["function"]["arguments"] += call["function"]["arguments"]
            finish = choice["finish_reason"] or finish
    if finish is None:
        raise UnreadableReply("the streamed reply ended before it finished (no finish_reason)")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(content)}
    if "".join(reasoning):
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    body["choices"] = [{"index": 0, "message": message, "finish_reason": finish}]
    return body
