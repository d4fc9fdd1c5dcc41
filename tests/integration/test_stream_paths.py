"""The streaming and the non-streaming path reach the same repaired turn for every recording.

Each recorded chat-completions reply (tests/fixtures/wire/gptoss: llama.cpp, Ollama /v1,
Cerebras, Groq bodies and pydantic-ai cassettes) is served by a local replay server to a
non-streaming request and to a streaming one, whatever shape it was recorded in (the chat
model converts an SSE reply to `"stream": false` and a JSON reply to `"stream": true`).
Both give the same answer, reasoning and tool calls, and no streamed chunk holds markup.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk

from agent.llm.chat import build_chat_model
from agent.llm.servers.providers import PRESETS, ServerConfig
from agent.settings import Settings
from tests.support import WIRE
from tests.support.wire_server import Reply, WireServer

pytestmark = [pytest.mark.timeout(60)]


def _replies() -> dict[str, Reply]:
    found: dict[str, Reply] = {}
    for path in sorted((WIRE / "bodies").iterdir()):
        if path.name.startswith(("llamacpp", "ollama_v1", "cerebras")):
            found[path.name] = Reply.from_file(path)
    for path in sorted((WIRE / "cassettes" / "pydantic_ai").glob("*.json")):
        for index, turn in enumerate(json.loads(path.read_text())["interactions"]):
            url = turn["request"].get("uri") or turn["request"].get("url") or ""
            failed = (
                "tool_use_failed" in path.name
            )  # error replies: tests/integration/test_llm_errors.py
            if (
                "chat/completions" in url
                and turn["response"]["status"]["code"] == 200
                and not failed
            ):
                found[f"{path.stem}#{index}"] = Reply.from_interaction(turn)
    return found


REPLIES = _replies()


def _model(server: WireServer) -> Any:
    config = ServerConfig(server.url, "gpt-oss-20b", "k", PRESETS["llamacpp"])
    return build_chat_model(Settings(max_retries=0), config, retry_backoff=0.001)


def _shape(message: AIMessage) -> tuple[Any, ...]:
    return (
        message.content,
        [(c["name"], c["args"]) for c in message.tool_calls],
        [c["name"] for c in message.invalid_tool_calls],
        str(message.additional_kwargs.get("reasoning_content") or "").strip(),
    )


def test_the_recordings_are_found() -> None:
    assert len(REPLIES) >= 10
    assert any(r.events for r in REPLIES.values()) and any(not r.events for r in REPLIES.values())


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_both_paths_reach_the_same_repaired_turn(name: str, wire_server: WireServer) -> None:
    reply = REPLIES[name]
    wire_server.script(reply, reply, reply)
    model = _model(wire_server)
    whole = model.invoke("What is the weather in Florence?")
    streamed = model.invoke("What is the weather in Florence?", stream=True)
    chunks = list(model.stream("What is the weather in Florence?"))
    assert [b["stream"] for b in wire_server.bodies] == [False, True, True]
    assert isinstance(whole, AIMessage) and isinstance(streamed, AIMessage)
    assert _shape(streamed) == _shape(whole)
    assert not any("<|" in str(c.content) for c in chunks)
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert isinstance(total, AIMessageChunk)
    assert total.content == whole.content
    assert [(c["name"], c["args"]) for c in total.tool_calls] == _shape(whole)[1]


def test_an_sse_reply_to_a_non_streaming_request_is_read(wire_server: WireServer) -> None:
    text = (WIRE / "bodies" / "llamacpp_b7010_tool_stream_turn0.sse").read_text()
    wire_server.script(Reply.sse(text))
    message = _model(wire_server).invoke("weather?")
    assert wire_server.bodies[0]["stream"] is False
    assert [c["name"] for c in message.tool_calls] == ["weather"]


def test_every_request_carries_the_output_cap(wire_server: WireServer) -> None:
    text = WIRE / "bodies" / "llamacpp_b7010_tool_nonstream_turn1.json"
    wire_server.script(Reply.from_file(text), Reply.from_file(text))
    config = ServerConfig(wire_server.url, "gpt-oss-20b", "k", PRESETS["llamacpp"])
    high = build_chat_model(Settings(effort="high"), config)
    capped = build_chat_model(Settings(max_output_tokens=300), config)
    high.invoke("x")
    capped.invoke("x", stream=True)
    assert [b.get("max_tokens") or b.get("max_completion_tokens") for b in wire_server.bodies] == [
        16384,
        300,
    ]


def test_a_turn_cut_by_the_output_cap_is_marked(wire_server: WireServer) -> None:
    data = json.loads((WIRE / "bodies" / "llamacpp_b7010_tool_nonstream_turn1.json").read_text())
    data["choices"][0]["finish_reason"] = "length"
    wire_server.script(Reply.json(data), Reply.json(data))
    model = _model(wire_server)
    assert model.invoke("x").additional_kwargs.get("cut_off") is True
    assert model.invoke("x", stream=True).additional_kwargs.get("cut_off") is True
