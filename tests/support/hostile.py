"""Hostile gpt-oss server replies, built as bytes, and the oracle every outcome must pass.

A `Shape` is one reply at the wire level: a chat.completion body whose fields may hold any
JSON type, lone surrogates, NUL or raw invalid UTF-8, sent whole (`stream: false`) or as
SSE frames split at random places (`stream: true`), possibly cut. `judge` runs it through
the real client (GptOssChat over langchain-openai over a local socket) and returns what
happened: "answer", "error" (a ModelServerError) or raises for anything else (a traceback).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage

from agent.llm.chat import GptOssChat, build_chat_model
from agent.llm.servers.providers import PRESETS, ServerConfig
from agent.settings import Settings
from tests.support.wire_server import Reply, WireServer
from tools.errors import ModelServerError

RAW = "@@RAW_BYTES@@"
"""Marker in a string value replaced by invalid UTF-8 bytes when the body is serialised."""
DEEP = "@@DEEP_5000@@"
"""Marker value replaced by a JSON value nested 5000 levels deep (not a string)."""
TOKEN = re.compile(r"<\|[a-z_]{1,16}\|>")
QUESTION = [HumanMessage("Who makes the Zephyr drone?")]
NASTY = [
    "\ud800",
    "\udfff tail",
    "nul\x00byte",
    RAW,
    "<|end|>",
    "<|channel|>final<|message|>Visible",
    "<|start|>assistant<|channel|>analysis<|message|>thinking<|end|>",
    "The operator <||> joins lists",
    "to=functions.milvus_search json",
    '{"name": "milvus_search", "arguments": {"query": "x"}}',
    "\u200b\u00a0",
    "",
]


JUNK_EVENTS = [b"not json", b'{"choices": [', b": comment", b"\xff\xfe", b'{"error": 5}']


@dataclass
class Shape:
    """One reply: the body (any JSON), how it is sent, and whether it was cut."""

    body: Any
    streamed: bool
    splits: list[int] = field(default_factory=list)
    """Where the streamed content is split into deltas (positions in the content)."""
    cut: bool = False
    """The stream stops before its finish frame (a server closing mid-reply); a whole body
    is cut short."""
    close_delimited: bool = False
    junk: list[Any] = field(default_factory=list)
    """Extra stream events sent before the finish frame (any JSON; bytes are sent as is)."""


def serialise(value: Any) -> bytes:
    """JSON bytes; the RAW marker becomes raw invalid UTF-8."""
    data = json.dumps(value).encode().replace(RAW.encode(), b"\xff\xfe\xc3")
    return data.replace(f'"{DEEP}"'.encode(), deep(5000).encode())


def deep(depth: int) -> str:
    """JSON text nested `depth` lists deep."""
    return "[" * depth + "]" * depth


def frames_of(shape: Shape) -> list[bytes]:
    """The SSE frames of a streamed shape: content split at `splits`, then the finish."""
    body = shape.body if isinstance(shape.body, dict) else {}
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    choice = choice if isinstance(choice, dict) else {"junk": choice}
    message = choice.get("message", {})
    if not isinstance(message, dict):  # sent as the delta itself
        message = {"content": None, "junk": message}
    content = message.get("content")
    base = {k: v for k, v in body.items() if k != "choices"}
    deltas: list[dict[str, Any]] = []
    if isinstance(content, str):
        cuts = sorted({0, *[s for s in shape.splits if 0 < s < len(content)], len(content)})
        deltas += [{"content": content[a:b]} for a, b in itertools.pairwise(cuts)]
    elif content is not None:
        deltas.append({"content": content})
    rest = {k: v for k, v in message.items() if k not in ("content", "junk")}
    if rest:
        deltas.append(rest)
    if "junk" in message:
        deltas.append(message["junk"])
    frames = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
    ]
    if not shape.cut:
        finish = choice.get("finish_reason", "stop")
        frames.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    events = [b"data: " + serialise(f) + b"\n\n" for f in frames]
    for index, extra in enumerate(shape.junk):
        data = extra if isinstance(extra, bytes) else serialise(extra)
        events.insert(min(index, len(events)), b"data: " + data + b"\n\n")
    return events if shape.cut else [*events, b"data: [DONE]\n\n"]


def reply_of(shape: Shape) -> Reply:
    """The scripted reply for a shape."""
    if not shape.streamed:
        data = serialise(shape.body)
        if shape.cut:  # the body ends early (Content-Length says so: the client sees a short body)
            data = data[: (shape.splits[0] if shape.splits else 7) % len(data)]
        return Reply(200, data, {"Content-Type": "application/json"})
    events = frames_of(shape)
    kind = {"Content-Type": "text/event-stream"}
    if shape.close_delimited:
        return Reply(200, b"", kind, events, close_delimited=True)
    return Reply(200, b"", kind, events)


def model_for(url: str, **values: Any) -> GptOssChat:
    """The real chat model against a local server: no retries, short deadlines."""
    config = ServerConfig(url, "openai/gpt-oss-20b", "test-key", PRESETS["vllm"])
    settings = Settings(**{"request_timeout": 5.0, "max_retries": 0, **values})
    return build_chat_model(settings, config, retry_backoff=0.001, retry_wait_cap=0.01)


def _readable(text: str) -> None:
    text.encode("utf-8")  # raises on a lone surrogate
    assert "\x00" not in text


def check_answer(message: AIMessage, streamed_text: str | None) -> None:
    """An answer must be clean: no markup token, valid Unicode, unique call ids."""
    assert isinstance(message.content, str)
    for text in (message.content, streamed_text or ""):
        _readable(text)
        assert not TOKEN.search(text), text
    _readable(json.dumps(message.additional_kwargs, ensure_ascii=False))
    calls = [*message.tool_calls, *message.invalid_tool_calls]
    ids = [c["id"] for c in calls]
    assert all(ids) and len(set(ids)) == len(ids), ids
    for call in message.tool_calls:
        _readable(call["name"] + json.dumps(call["args"], ensure_ascii=False))


def check_error(exc: ModelServerError) -> None:
    """A failure must be one clean line."""
    text = str(exc)
    _readable(text)
    assert "\n" not in text and "<|" not in text and "Traceback" not in text


class Tokens(BaseCallbackHandler):
    """Collects the answer text a streamed turn emits, as the CLI would print it."""

    def __init__(self) -> None:
        self.text: list[str] = []

    def on_llm_new_token(self, token: str, **_: Any) -> None:
        """Keep one emitted piece."""
        self.text.append(token)


def judge(
    server: WireServer, shape: Shape, model: GptOssChat | None = None, run_async: bool = False
) -> str:
    """Send one shape through the real client; "answer" or "error" (anything else raises)."""
    server.replies.clear()
    server.script(reply_of(shape), reply_of(shape))  # the empty-turn retry sees it again
    model = model or model_for(server.url)
    tokens = Tokens()  # as a run streams: invoke, tokens through the callback
    config: Any = {"callbacks": [tokens]}
    try:
        if run_async:
            message = asyncio.run(model.ainvoke(QUESTION, stream=shape.streamed, config=config))
        else:
            message = model.invoke(QUESTION, stream=shape.streamed, config=config)
        check_answer(message, "".join(tokens.text) if shape.streamed else None)
    except ModelServerError as exc:
        check_error(exc)
        return "error"
    assert not shape.cut, "a cut stream was presented as an answer"
    return "answer"


# -- strategies -----------------------------------------------------------------------------
texts = st.one_of(
    st.sampled_from(NASTY), st.text(max_size=40), st.text(st.characters(), max_size=8)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, strategy, strategy, json_values)


def calls() -> st.SearchStrategy[Any]:
    """Tool calls with any type in any field."""
    arguments = st.one_of(
        st.sampled_from(['{"query": "zephyr"}', '{"cursor": 1}', "{'query': 'x',}", "{"]),
        st.builds(deep, st.integers(60, 5000)),
        json_values,
    )
    function = st.fixed_dictionaries(
        {
            "name": _maybe(st.sampled_from(["milvus_search", "fetch_doc", "shell"])),
            "arguments": arguments,
        }
    )
    call = st.fixed_dictionaries(
        {
            "id": _maybe(st.sampled_from(["call_1", "call_1", "call_2"])),
            "type": _maybe(st.just("function")),
            "function": _maybe(function),
        }
    )
    return _maybe(st.lists(call, max_size=4))


@st.composite
def shapes(draw: st.DrawFn, streamed: bool) -> Shape:
    """A whole reply with hostile values anywhere."""
    message = {
        "role": "assistant",
        "content": draw(_maybe(texts)),
        "reasoning": draw(_maybe(texts)),
        "tool_calls": draw(calls()),
    }
    choice = {"index": draw(_maybe(st.just(0))), "message": draw(_maybe(st.just(message)))}
    choice["finish_reason"] = draw(_maybe(st.sampled_from(["stop", "tool_calls", "length"])))
    body: Any = {
        "id": draw(_maybe(st.just("chatcmpl-1"))),
        "object": "chat.completion",
        "created": draw(_maybe(st.just(1755575051))),
        "model": draw(_maybe(st.just("openai/gpt-oss-20b"))),
        "choices": draw(_maybe(st.just([choice]))),
        "usage": draw(
            _maybe(st.just({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}))
        ),
    }
    body = draw(st.one_of(st.just(body), st.just(body), st.just(body), json_values))
    splits = draw(st.lists(st.integers(0, 60), max_size=6))
    cut = draw(st.booleans()) if streamed else draw(st.integers(0, 5)) == 0
    junk = draw(st.lists(st.one_of(json_values, st.sampled_from(JUNK_EVENTS)), max_size=2))
    return Shape(body, streamed, splits, cut, streamed and draw(st.booleans()), junk)


def every_split(text: str, pieces: list[int]) -> Iterator[str]:
    """`text` cut at the given positions (helper for split properties)."""
    cuts = sorted({0, *[p for p in pieces if 0 < p < len(text)], len(text)})
    for a, b in itertools.pairwise(cuts):
        yield text[a:b]
