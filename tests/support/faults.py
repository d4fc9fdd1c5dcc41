"""Fault injection helpers for the reliability, security and load tests.

- `chat_body` / `tool_call_body`: Chat Completions bodies as gpt-oss servers send them.
- `stalled`: a reply that sends its headers and part of its body, then goes silent (a
  server that hangs mid-response), built on the replaying `WireServer`.
- `rss_mb`: this process's resident memory, read from /proc (psutil is not a dependency).
- `tiny_lite`: a small Milvus Lite collection ingested in-process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agent.settings import Settings
from tests.support.foundation import lite_settings
from tests.support.wire_server import Reply

TINY_DOCS = {
    "drones/zephyr.md": (
        "# Zephyr drone\n\nThe Zephyr drone is a quadcopter.\n"
        "The Zephyr drone is made by Acme Robotics.\nIt flies for 40 minutes.\n"
    ),
    "companies/acme.md": (
        "# Acme Robotics\n\nAcme Robotics was founded by Jane Doe in 2011.\n"
        "Acme Robotics has its office in Oslo.\n"
    ),
}


def chat_body(
    content: str | None = "",
    tool_calls: list[dict[str, Any]] | None = None,
    reasoning: str | None = None,
    finish: str | None = None,
) -> dict[str, Any]:
    """A non-streaming chat.completion body (the shape vLLM / Ollama /v1 return)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if reasoning is not None:
        message["reasoning"] = reasoning
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": 1755575051,
        "model": "openai/gpt-oss-20b",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish or ("tool_calls" if tool_calls else "stop"),
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def tool_call(name: str, arguments: str | dict[str, Any], call_id: str = "call_1") -> dict:
    """One wire tool call; `arguments` is sent verbatim when it is a string."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def tool_call_reply(name: str, arguments: str | dict[str, Any], call_id: str = "call_1") -> Reply:
    """A reply holding one tool call."""
    return Reply.json(chat_body(None, [tool_call(name, arguments, call_id)], "Let me look."))


def answer_reply(text: str) -> Reply:
    """A reply holding a final answer."""
    return Reply.json(chat_body(text, reasoning="I can answer now."))


class _Stall:
    """SSE/chunk frames that go silent after `frames`, as a hung server does.

    WireServer writes each item of `Reply.events` as one HTTP chunk; iterating this object
    blocks after the given frames, so the client sees a response that stops mid-way.
    """

    def __init__(self, frames: Iterable[bytes], seconds: float) -> None:
        self.frames = list(frames)
        self.seconds = seconds

    def __iter__(self) -> Iterator[bytes]:
        yield from self.frames
        time.sleep(self.seconds)


def stalled(body: dict[str, Any], seconds: float = 3.0) -> Reply:
    """Headers and the first half of a JSON body, then silence for `seconds`."""
    raw = json.dumps(body).encode()
    reply = Reply(200, b"", {"Content-Type": "application/json"}, [], truncate=True)
    reply.events = _Stall([raw[: len(raw) // 2]], seconds)  # type: ignore[assignment]
    return reply


def sse_reply(body: dict[str, Any], keep: int | None = None, truncate: bool = False) -> Reply:
    """A body re-sent as an SSE stream of chunk frames (optionally cut short)."""
    message = body["choices"][0]["message"]
    base = {"id": body["id"], "object": "chat.completion.chunk", "model": body["model"]}
    frames = []
    for word in (message.get("content") or "").split(" ") if message.get("content") else []:
        delta = {"content": word + " "}
        frames.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    for index, call in enumerate(message.get("tool_calls") or []):
        delta = {"tool_calls": [{"index": index, **call}]}
        frames.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    finish = body["choices"][0]["finish_reason"]
    frames.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    text = "\n\n".join(f"data: {json.dumps(f)}" for f in frames) + "\n\ndata: [DONE]\n\n"
    return Reply.sse(text, keep=keep, truncate=truncate)


def rss_mb() -> float:
    """Resident set size of this process in MiB (VmRSS from /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def tiny_lite(folder: Path, docs: dict[str, str] | None = None, **extra: Any) -> Settings:
    """Ingest `docs` (source -> text; default TINY_DOCS) into a fresh Lite database."""
    from tools.embeddings import get_embedder
    from tools.ingest import ingest_documents
    from tools.loaders import SourceDoc
    from tools.store import open_store

    settings = lite_settings(folder, **extra)
    items = [
        SourceDoc(src, text.splitlines()[0].lstrip("# ") or src, text)
        for src, text in (docs or TINY_DOCS).items()
    ]
    ingest_documents(open_store(settings), get_embedder(settings), items, settings)
    return settings


@pytest.fixture(name="lite")
def tiny_lite_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """TINY_DOCS in a fresh Lite database under tmp_path, which is the working folder."""
    from tools.store import close_stores

    monkeypatch.chdir(tmp_path)
    settings = tiny_lite(tmp_path)
    yield settings
    close_stores()


def slow_second_search() -> list[Reply]:
    """Three searches and an answer, the second turn 1 s slow: when cancellation tests cancel."""
    search = {"query": "Acme founder"}
    return [
        tool_call_reply("milvus_search", search, "c1"),
        replace(tool_call_reply("milvus_search", search, "c2"), delay=1.0),
        tool_call_reply("milvus_search", search, "c3"),
        answer_reply("Jane Doe founded it."),
    ]
