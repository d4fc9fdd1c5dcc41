"""The hostile-server matrix: any reply shape ends in a clean answer or one error line.

Each reply goes over a real socket (tests/support/wire_server.py) through the real client
(GptOssChat on langchain-openai), streamed and not. The oracle (tests/support/hostile.py):
no traceback (only ModelServerError may escape), no harmony token in an answer or in the
streamed text, no lone surrogate or NUL anywhere, unique tool-call ids, and a stream that
was cut is never returned as an answer.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import HumanMessage

from agent.llm.chat import GptOssChat
from tests.support.faults import chat_body
from tests.support.hostile import DEEP, RAW, Shape, deep, judge, model_for, serialise, shapes
from tests.support.wire_server import Reply, WireServer
from tools.errors import ModelServerError

pytestmark = pytest.mark.timeout(300)
GENERATED = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SEEN: Counter[str] = Counter()
"""Outcomes of the generated shapes, printed at the end (the README's counts)."""


@pytest.fixture(scope="module")
def server() -> Iterator[WireServer]:
    with WireServer() as running:
        yield running


@pytest.fixture(scope="module")
def model(server: WireServer) -> GptOssChat:
    return model_for(server.url)


def message_body(**message: object) -> dict[str, object]:
    body = chat_body("")
    body["choices"][0]["message"] = {"role": "assistant", **message}  # type: ignore[index]
    return body


def call_body(*calls: object) -> dict[str, object]:
    body = message_body(content=None, tool_calls=list(calls))
    body["choices"][0]["finish_reason"] = "tool_calls"  # type: ignore[index]
    return body


SEARCH = {"name": "milvus_search", "arguments": '{"query": "zephyr"}'}
MATRIX: dict[str, tuple[object, str]] = {
    # name: (body, the outcome it must have)
    "arguments as an object": (
        call_body({"id": "a", "function": {**SEARCH, "arguments": {"query": "z"}}}),
        "answer",
    ),
    "arguments as a list": (
        call_body({"id": "a", "function": {**SEARCH, "arguments": ["q"]}}),
        "answer",
    ),
    "arguments as a number": (
        call_body({"id": "a", "function": {**SEARCH, "arguments": 7}}),
        "answer",
    ),
    "name null": (call_body({"id": "a", "function": {"name": None, "arguments": "{}"}}), "answer"),
    "name a number": (
        call_body({"id": "a", "function": {"name": 12, "arguments": "{}"}}),
        "answer",
    ),
    "function a string": (call_body({"id": "a", "function": "milvus_search"}), "answer"),
    "arguments 5000 deep (text)": (
        call_body({"id": "a", "function": {**SEARCH, "arguments": deep(5000)}}),
        "answer",
    ),
    "arguments 100 deep (JSON)": (
        call_body({"id": "a", "function": {**SEARCH, "arguments": json.loads(deep(100))}}),
        "answer",
    ),
    "arguments 5000 deep (JSON)": (
        call_body({"id": "a", "function": {**SEARCH, "arguments": DEEP}}),
        "error",
    ),
    "choices not a list": ({**chat_body("Hi"), "choices": {"0": "x"}}, "error"),
    "choices a string": ({**chat_body("Hi"), "choices": "Paris"}, "error"),
    "message a string": (
        message_body() | {"choices": [{"index": 0, "message": "Paris", "finish_reason": "stop"}]},
        "error",
    ),
    "content a number": (message_body(content=42), "answer"),
    "content a list of parts": (
        message_body(content=[{"type": "text", "text": "Paris"}]),
        "answer",
    ),
    "lone surrogate in content": (message_body(content="Paris \ud800 is"), "answer"),
    "lone surrogate in reasoning": (message_body(content="Paris", reasoning="\udfff"), "answer"),
    "lone surrogate in arguments": (
        call_body({"id": "a", "function": {**SEARCH, "arguments": '{"query": "\ud800"}'}}),
        "answer",
    ),
    "NUL in content": (message_body(content="Par\x00is"), "answer"),
    "invalid UTF-8 in content": (message_body(content=f"Paris {RAW}"), "answer"),
    "harmony tokens in content": (
        message_body(content="<|channel|>final<|message|>Paris<|end|>"),
        "answer",
    ),
    "50 calls sharing one id": (call_body(*[{"id": "same", "function": SEARCH}] * 50), "answer"),
    "calls without ids": (
        call_body({"function": SEARCH}, {"id": None, "function": SEARCH}),
        "answer",
    ),
    "body null": (None, "error"),
    "body a list": ([], "error"),
    "body a number": (5, "error"),
    "error object with status 200": ({"error": {"message": "overloaded <|end|>"}}, "error"),
    "no choices": ({**chat_body("Hi"), "choices": []}, "error"),
    "a 1 MB answer": (message_body(content="Paris is lovely. " * 62_000), "answer"),
}


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("name", list(MATRIX))
def test_matrix(server: WireServer, model: GptOssChat, name: str, streamed: bool) -> None:
    body, expected = MATRIX[name]
    assert judge(server, Shape(body, streamed, splits=[1, 3, 7, 20]), model) == expected


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_a_200_html_page_is_named_not_called_an_empty_message(
    server: WireServer, streamed: bool
) -> None:
    server.replies.clear()
    server.script(Reply.text("<html><body>Sign in to the proxy</body></html>"))
    model = model_for(server.url)
    with pytest.raises(ModelServerError) as exc:
        list(model.stream(QUESTION_)) if streamed else model.invoke(QUESTION_)
    assert "Sign in to the proxy" in str(exc.value)
    assert "empty message" not in str(exc.value)


def test_a_500_holding_harmony_tokens_is_not_echoed(server: WireServer) -> None:
    server.replies.clear()
    error = {"error": {"message": "bad <|end|><|start|>assistant<|channel|>final"}}
    server.script(Reply.json(error, 500))
    with pytest.raises(ModelServerError) as exc:
        model_for(server.url).invoke(QUESTION_)
    assert "HTTP 500" in str(exc.value) and "<|" not in str(exc.value)


@pytest.mark.parametrize("close_delimited", [False, True], ids=["chunked", "close-delimited"])
def test_a_stream_closed_mid_answer_is_not_an_answer(
    server: WireServer, close_delimited: bool
) -> None:
    shape = Shape(chat_body("The Zephyr drone is made by Acme"), True, [4, 10, 20], cut=True)
    shape.close_delimited = close_delimited
    assert judge(server, shape) == "error"


def test_a_cut_stream_before_any_answer_is_retried(server: WireServer) -> None:
    from tests.support.hostile import reply_of  # lazy: keeps the matrix imports short

    cut = reply_of(Shape(message_body(content="", reasoning="thinking"), True, cut=True))
    whole = reply_of(Shape(chat_body("Acme makes it."), True, [3]))
    server.replies.clear()
    server.script(cut, whole)
    text = "".join(str(c.content) for c in model_for(server.url, max_retries=1).stream(QUESTION_))
    assert text == "Acme makes it."


def test_an_async_stream_of_hostile_frames_ends_cleanly(server: WireServer) -> None:
    frames = [b"data: 5\n\n", b'data: {"choices": "x"}\n\n', b"data: [1, 2\n\n"]
    server.replies.clear()
    server.script(Reply(200, b"", {"Content-Type": "text/event-stream"}, frames))
    with pytest.raises(ModelServerError) as exc:
        asyncio.run(model_for(server.url).ainvoke(QUESTION_, stream=True))
    assert "cannot read" in str(exc.value)


def test_invalid_utf8_between_frames_is_replaced(server: WireServer) -> None:
    good = chat_body("Acme")
    frame = b"data: " + serialise(
        {
            **good,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": f"Acme {RAW}"}, "finish_reason": "stop"}],
        }
    )
    server.replies.clear()
    server.script(
        Reply(200, b"", {"Content-Type": "text/event-stream"}, [b": \xff\xfe\n\n", frame + b"\n\n"])
    )
    text = "".join(str(c.content) for c in model_for(server.url).stream(QUESTION_))
    assert text == "Acme \ufffd\ufffd\ufffd"


QUESTION_ = [HumanMessage("Who makes the Zephyr drone?")]


@pytest.mark.slow
@GENERATED
@given(shape=shapes(streamed=False))
def test_generated_whole_replies(server: WireServer, model: GptOssChat, shape: Shape) -> None:
    SEEN["whole " + judge(server, shape, model) + (" (cut)" if shape.cut else "")] += 1


@pytest.mark.slow
@GENERATED
@given(shape=shapes(streamed=True))
def test_generated_streamed_replies(server: WireServer, model: GptOssChat, shape: Shape) -> None:
    SEEN["streamed " + judge(server, shape, model) + (" (cut)" if shape.cut else "")] += 1


@pytest.mark.slow
@settings(GENERATED, max_examples=40)
@given(shape=st.one_of(shapes(streamed=True), shapes(streamed=False)))
def test_generated_replies_on_the_async_path(server: WireServer, shape: Shape) -> None:
    judge(server, shape, model_for(server.url), run_async=True)


@pytest.mark.slow
def test_generated_outcomes_were_both_kinds() -> None:
    """The generators reach answers and errors on each path they ran (in this process)."""
    if not SEEN:
        pytest.skip("run with the generated tests, in the same process")
    print(dict(SEEN))
    if any(key.startswith("whole") for key in SEEN):
        assert SEEN["whole answer"] and SEEN["whole error"]
    if any(key.startswith("streamed") for key in SEEN):
        assert SEEN["streamed answer"] and SEEN["streamed error (cut)"]
