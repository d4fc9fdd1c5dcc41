"""GptOssChat against recorded gpt-oss traffic replayed by a local server.

Each test replays bodies from tests/fixtures/wire/gptoss/ and asserts on what the client
made of them and on exactly what it sent back.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from agent.llm.chat import GptOssChat, build_chat_model
from agent.llm.servers.providers import PRESETS, ServerConfig
from agent.settings import Settings
from tests.support import wire_path
from tests.support.wire_server import Reply, WireServer

pytestmark = [pytest.mark.timeout(30)]
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather for a location.",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    },
}


def model_for(server: WireServer, preset: str, **settings: Any) -> GptOssChat:
    config = ServerConfig(server.url, PRESETS[preset].default_model, "test-key", PRESETS[preset])
    values = {"request_timeout": 5.0, "max_retries": 2, "effort": "medium", **settings}
    return build_chat_model(Settings(**values), config, retry_backoff=0.001)


def body(*parts: str) -> dict[str, Any]:
    return json.loads(wire_path(*parts).read_text())


def sse_deltas(path_parts: tuple[str, ...], key: str) -> str:
    text = wire_path(*path_parts).read_text()
    frames = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    return "".join(f["choices"][0]["delta"].get(key) or "" for f in frames if f.get("choices"))


def interactions(name: str) -> list[dict[str, Any]]:
    return body("cassettes", "pydantic_ai", name)["interactions"]


def merged(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def test_llamacpp_tool_turn_keeps_reasoning_and_sends_it_back(wire_server: WireServer) -> None:
    turn0 = body("bodies", "llamacpp_b7010_tool_nonstream_turn0.json")
    wire_server.script(
        Reply.json(turn0),
        Reply.from_file(wire_path("bodies", "llamacpp_b7010_tool_nonstream_turn1.json")),
    )
    model = model_for(wire_server, "llamacpp").bind_tools([WEATHER])
    question = HumanMessage("What's the weather in Florence, Italy?")

    first = model.invoke([question])
    reasoning = turn0["choices"][0]["message"]["reasoning_content"]
    assert first.additional_kwargs["reasoning_content"] == reasoning
    assert first.tool_calls == [
        {
            "name": "weather",
            "args": {"location": "Florence,Italy"},
            "id": "mvVq65j66dyGRizURhbdNCEnSO56GhXx",
            "type": "tool_call",
        }
    ]
    result = ToolMessage("40 C", tool_call_id=first.tool_calls[0]["id"])
    second = model.invoke([question, first, result])

    assert second.content == "The current weather in Florence, Italy is **40\u202f°C**."
    sent = wire_server.bodies[1]["messages"]
    assert sent[2]["role"] == "assistant"
    assert sent[2]["reasoning_content"] == reasoning
    assert "reasoning" not in sent[2]


def test_reasoning_is_dropped_once_a_final_answer_exists(wire_server: WireServer) -> None:
    turns = interactions("ollama_cloud_v1_reasoning_then_toolcall.json")
    wire_server.script(
        *(Reply.from_interaction(t) for t in turns[:2]), Reply.from_interaction(turns[0])
    )
    model = model_for(wire_server, "ollama")
    history: list[Any] = [HumanMessage("What is the capital of France?")]
    history.append(model.invoke(history))
    history.append(HumanMessage("Validation error: answer with final_result."))
    history.append(model.invoke(history))
    history.append(ToolMessage("ok", tool_call_id=history[-1].tool_calls[0]["id"]))
    model.invoke(history)

    sent = [m for m in wire_server.bodies[2]["messages"] if m["role"] == "assistant"]
    expected = turns[1]["response"]["body"]["choices"][0]["message"]["reasoning"]
    assert history[1].content == "Paris."
    assert history[1].additional_kwargs["reasoning_content"].startswith("We need to answer")
    assert "reasoning" not in sent[0] and "reasoning_content" not in sent[0]
    assert sent[1]["reasoning"] == expected
    assert "reasoning_content" not in sent[1]
    # once the tool-call turn is followed by a final answer, its reasoning goes too
    history += [AIMessage("Paris, France."), HumanMessage("Thanks")]
    wire_server.script(Reply.from_interaction(turns[0]))
    model.invoke(history)
    last = [m for m in wire_server.bodies[3]["messages"] if m["role"] == "assistant"]
    assert all("reasoning" not in m for m in last)


def test_stream_collects_llamacpp_reasoning_and_tool_call(wire_server: WireServer) -> None:
    parts = ("bodies", "llamacpp_b7010_tool_stream_turn0.sse")
    wire_server.script(Reply.from_file(wire_path(*parts)))
    model = model_for(wire_server, "llamacpp").bind_tools([WEATHER])

    total = merged(list(model.stream([HumanMessage("Weather in Florence?")])))

    assert total.additional_kwargs["reasoning_content"] == sse_deltas(parts, "reasoning_content")
    assert total.additional_kwargs["reasoning_content"].startswith("User wants weather")
    assert [(c["name"], c["args"]) for c in total.tool_calls] == [
        ("weather", {"location": "Florence, Italy"})
    ]


def test_astream_reads_groq_reasoning_field(wire_server: WireServer) -> None:
    turn = interactions("groq_tool_use_failed_error_streaming.json")[1]
    wire_server.script(Reply.from_interaction(turn))
    model = model_for(wire_server, "openrouter")

    async def collect() -> list[AIMessageChunk]:
        return [c async for c in model.astream([HumanMessage("call the tool")])]

    total = merged(asyncio.run(collect()))
    expected = "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("reasoning") or ""
        for line in turn["response"]["body_raw"].splitlines()
        if line.startswith("data: {") and json.loads(line[6:]).get("choices")
    )
    assert expected and total.additional_kwargs["reasoning_content"] == expected


def test_ainvoke_streaming_repairs_channel_debris_in_tool_name(wire_server: WireServer) -> None:
    # The llama.cpp stream with the name vLLM 0.13 sent (vllm_32587_...partial.txt).
    text = wire_path("bodies", "llamacpp_b7010_tool_stream_turn0.sse").read_text()
    text = text.replace('"name":"weather"', '"name":"weather<|channel|>commentary"', 1)
    assert "<|channel|>" in text
    wire_server.script(Reply.sse(text))
    model = model_for(wire_server, "vllm").bind_tools([WEATHER])

    message = asyncio.run(model.ainvoke([HumanMessage("Weather?")], stream=True))

    assert [c["name"] for c in message.tool_calls] == ["weather"]
    assert message.additional_kwargs["reasoning_content"].startswith("User wants weather")


@pytest.mark.parametrize(
    ("preset", "param", "system"),
    [
        ("vllm", True, None),
        ("openrouter", True, None),
        ("llamacpp", True, "Reasoning: high\n\nBe brief."),
    ],
)
def test_effort_is_sent_as_the_preset_says(
    wire_server: WireServer, preset: str, param: bool, system: str | None
) -> None:
    wire_server.script(Reply.from_file(wire_path("bodies", "cerebras_120b_reasoning_field.json")))
    model = model_for(wire_server, preset, effort="high")

    answer = model.invoke([SystemMessage("Be brief."), HumanMessage("Capital of France?")])

    sent = wire_server.bodies[0]
    assert answer.content == "The capital of France is **Paris**."
    assert answer.additional_kwargs["reasoning_content"] == (
        "User asks simple question: capital of France. Answer: Paris. Provide concise answer."
    )
    assert sent.get("reasoning_effort") == ("high" if param else None)
    assert sent["messages"][0] == {"role": "system", "content": system or "Be brief."}


def test_raw_harmony_call_in_content_becomes_a_tool_call(wire_server: WireServer) -> None:
    raw = "\n".join(
        line
        for line in wire_path("issues", "lmstudio_873_raw_harmony_toolcall_in_content.txt")
        .read_text()
        .splitlines()
        if not line.startswith("#")
    )
    wrapped = body("bodies", "cerebras_120b_reasoning_field.json")
    wrapped["choices"][0]["message"]["content"] = raw
    wire_server.script(Reply.json(wrapped))

    message = model_for(wire_server, "lmstudio").invoke([HumanMessage("Run some JS")])

    assert message.content == ""
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("run_javascript", {"javascript": "console.log('Hello, world!');", "timeout_seconds": 5})
    ]


def test_unparseable_arguments_become_an_invalid_call_the_model_can_fix(
    wire_server: WireServer,
) -> None:
    # llama.cpp's GPT-OSS parser logged these arguments (llamacpp_continue7491_...log).
    assert (
        "'\"{\"fi'"
        in wire_path("issues", "llamacpp_continue7491_failed_to_parse_arguments.log").read_text()
    )
    turn = body("bodies", "llamacpp_b7010_tool_nonstream_turn0.json")
    turn["choices"][0]["message"]["tool_calls"][0]["function"] = {
        "name": "milvus_search",
        "arguments": '"{"fi',
    }
    wire_server.script(Reply.json(turn))

    message = model_for(wire_server, "llamacpp").invoke([HumanMessage("Search")])

    assert message.tool_calls == []
    assert message.invalid_tool_calls == [
        {
            "type": "invalid_tool_call",
            "name": "milvus_search",
            "args": '"{"fi',
            "id": "mvVq65j66dyGRizURhbdNCEnSO56GhXx",
            "error": "Arguments were not valid JSON: '\"{\"fi'. "
            'Send a JSON object like {"query": "...", "k": 5}.',
        }
    ]
