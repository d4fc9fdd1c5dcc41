"""Bad model output never crashes a run: recorded malformed cases and generated ones.

The real tools run over a real Milvus Lite collection. tests/unit/test_repair.py checks the
repairs as pure functions; here each malformed turn goes through a whole run: the call is
repaired and executed, or answered with a tool error the model can act on, and a model that
keeps failing ends at the budget with status budget_exhausted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, ToolMessage

from agent.llm.chat import GptOssChat, build_chat_model
from agent.llm.repair.message import repair_message
from agent.llm.servers.providers import PRESETS, ServerConfig
from agent.settings import Context, Settings
from graphs.research import build_graph
from tests.support import wire_path
from tests.support.fake_chat import FakeToolCallingModel
from tests.support.faults import answer_reply, chat_body, tiny_lite, tool_call
from tests.support.wire_server import Reply, WireServer
from tools.errors import ModelServerError
from tools.store import close_stores

pytestmark = pytest.mark.timeout(120)
KNOWN = ["milvus_search", "fetch_doc", "find_in_doc"]
QUESTION = "Who makes the Zephyr drone?"


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    store_settings = tiny_lite(tmp_path_factory.mktemp("bad_output"))
    yield {"milvus_uri": store_settings.milvus_uri, "collection": store_settings.collection}
    close_stores()


def check_run(state: dict[str, Any]) -> None:
    """Every call got an answer, errors say what to fix, and no control token got through."""
    messages = state["messages"]
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    for message in messages[:-1]:
        if isinstance(message, AIMessage):
            for call in [*message.tool_calls, *message.invalid_tool_calls]:
                assert call["id"] in results, f"unanswered call {call}"
    for result in results.values():
        assert "<|" not in result.text
        if result.status == "error":
            assert result.text.startswith(("Error", "Note: you already called")), result.text
            assert "Error" in result.text
            assert len(result.text) < 2000
    assert state["answer"] is not None and state["answer"].answer


# -- generated malformed turns ------------------------------------------------------------
DEBRIS = ["", "<|channel|>commentary", "<|channel|>analysis", " json", "<|constrain|>json"]
names = st.one_of(
    st.builds(lambda n, d: n + d, st.sampled_from(KNOWN), st.sampled_from(DEBRIS)),
    st.sampled_from(
        [
            "functions.milvus_search",
            " to=functions.fetch_doc",
            "Milvus Search",
            "FETCH-DOC",
            "shell",
            "write_file",
            "python",
            "browser.open",
            "",
            "milvus_search\u200b\u00a0",
        ]
    ),
    st.text(max_size=30),
)
absurd_ints = st.one_of(
    st.integers(-(10**6), 10**6), st.sampled_from([-1, 0, 2**31, 2**63, -(2**63), 10**30])
)
values = st.one_of(
    absurd_ints,
    st.text(max_size=40),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.just("x" * 20000),
    st.just("../../etc/passwd"),
    st.just('" or doc_id != "'),
)
arg_dicts = st.dictionaries(
    st.sampled_from(
        [
            "query",
            "k",
            "source",
            "cursor",
            "doc_id",
            "start_line",
            "num_lines",
            "state",
            "mode",
            "filter",
            "collection",
        ]
    ),
    values,
    max_size=5,
)
raw_args = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            '{"query": "zephyr"',
            '"{"fi',
            "{'query': 'zephyr', 'k': True,}",
            "[1, 2]",
            "null",
            '```json\n{"query": "acme"}\n```',
            '{"query": "a"} trailing',
            "import sys, subprocess",
            '{"cursor": 99999999999999999999999}',
            "{" * 500,
        ]
    ),
    arg_dicts.map(json.dumps),
)
contents = st.one_of(
    st.just(""),
    st.text(max_size=80),
    st.builds(
        lambda name, args: (
            f"<|channel|>commentary to=functions.{name} <|constrain|>json<|message|>{args}<|call|>"
        ),
        st.sampled_from([*KNOWN, "shell"]),
        raw_args,
    ),
    st.builds(lambda a: json.dumps({"name": "milvus_search", "arguments": a}), arg_dicts),
)


@st.composite
def malformed_turns(draw: st.DrawFn) -> AIMessage:
    calls = [
        {"name": draw(names), "args": draw(arg_dicts), "id": f"c{i}", "type": "tool_call"}
        for i in range(draw(st.integers(0, 3)))
    ]
    invalid = [
        {
            "name": draw(names),
            "args": draw(raw_args),
            "id": f"bad{i}",
            "error": None,
            "type": "invalid_tool_call",
        }
        for i in range(draw(st.integers(0, 2)))
    ]
    message = AIMessage(content=draw(contents), tool_calls=calls, invalid_tool_calls=invalid)
    return repair_message(message, KNOWN)  # what GptOssChat does to every finished turn


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(turn=malformed_turns())
def test_a_model_that_keeps_sending_garbage_ends_at_the_budget(
    lite: dict[str, Any], turn: AIMessage
) -> None:
    model = FakeToolCallingModel(script=[turn])  # the same garbage every turn
    graph = build_graph(model)
    state = graph.invoke(
        {"question": QUESTION}, context=Context(max_tool_calls=6, max_turns=3, **lite)
    )
    check_run(state)
    if turn.tool_calls or turn.invalid_tool_calls:
        assert state["answer"].status == "budget_exhausted"
        assert 2 <= state["answer"].steps.turns <= 3  # a tool-call or turn budget ended it
    else:
        assert state["answer"].steps.turns == 1
    assert all(m["tools"] in (KNOWN, None) for m in model.calls)  # only the three tools, ever


class GarbageThenAnswer(FakeToolCallingModel):
    """Searches once, then sends garbage until the tools are taken away, then answers."""

    final: str = ""

    def _generate(
        self,
        messages: Any,
        stop: Any = None,
        run_manager: Any = None,
        tool_names: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        from langchain_core.outputs import ChatGeneration, ChatResult

        if tool_names is None:
            self.calls.append({"messages": list(messages), "tools": None})
            return ChatResult(generations=[ChatGeneration(message=AIMessage(self.final))])
        return super()._generate(messages, stop, run_manager, tool_names, **kwargs)


def test_budget_exhausted_run_keeps_the_answer_the_evidence_supports(
    lite: dict[str, Any],
) -> None:
    search = AIMessage(
        "",
        tool_calls=[{"name": "milvus_search", "args": {"query": "Zephyr drone maker"}, "id": "s1"}],
    )
    garbage = repair_message(
        AIMessage(
            "",
            invalid_tool_calls=[
                {
                    "name": "fetch_doc<|channel|>commentary",
                    "args": '{"cursor": ',
                    "id": "g",
                    "error": None,
                    "type": "invalid_tool_call",
                }
            ],
        ),
        KNOWN,
    )
    model = GarbageThenAnswer(script=[search, garbage])
    model.final = "The Zephyr drone is made by Acme Robotics 【0†L3-L4】 and 【7†L1-L2】."
    state = build_graph(model).invoke(
        {"question": QUESTION}, context=Context(max_tool_calls=4, max_turns=8, **lite)
    )
    check_run(state)
    answer = state["answer"]
    assert answer.status == "budget_exhausted"
    assert [(c.source, c.start_line, c.end_line) for c in answer.citations] == [
        ("drones/zephyr.md", 3, 4)
    ]
    assert answer.dropped_citations == 1  # cursor 7 was never seen
    errors = [m for m in state["messages"] if isinstance(m, ToolMessage) and m.status == "error"]
    assert errors and all("could not be read" in m.text for m in errors)


# -- every malformed case recorded in tests/fixtures/wire/gptoss, through a whole run ----------
def issue(name: str) -> str:
    lines = wire_path("issues", name).read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.startswith("#")).strip()


def debris(name: str, tool: str) -> str:
    found = re.findall(rf"{tool}(<\|[^']*?)['\"]", issue(name))
    assert found, name
    return found[0]


def search_with_name(name: str, args: str = '{"query": "Zephyr drone maker"}') -> Reply:
    return Reply.json(chat_body(None, [tool_call(name, args)], reasoning="search"))


def content(text: str) -> Reply:
    return Reply.json(chat_body(text, reasoning=""))


def rust_string(text: str) -> str:
    value = re.search(r'String\("(.*)"\)', text)
    assert value
    return re.sub(
        r"\\u\{([0-9a-f]+)\}", lambda m: chr(int(m.group(1), 16)), value.group(1)
    ).replace("\\n", "\n")


# case -> (replies for turn 1, what must happen: repaired | tool_error | retried | fatal)
def cases() -> dict[str, tuple[Any, str]]:
    return {
        "vllm_32587 name<|channel|>commentary": (
            lambda: [
                search_with_name(
                    "milvus_search"
                    + debris(
                        "vllm_32587_streamed_toolnames_channel_commentary.partial.txt",
                        "query_dataset",
                    )
                )
            ],
            "repaired",
        ),
        "ollama_12132 name<|channel|>analysis": (
            lambda: [
                search_with_name(
                    "milvus_search"
                    + debris(
                        "ollama_12132_toolname_suffix_channel_analysis.partial.txt", "create_event"
                    )
                )
            ],
            "repaired",
        ),
        "llamacpp_15181 recipient leaked into content": (
            lambda: [
                content(rust_string(issue("llamacpp_15181_content_leak_to_functions.partial.txt")))
            ],
            "tool_error",
        ),
        "continue7491 arguments not JSON": (
            lambda: [search_with_name("milvus_search", '"{"fi')],
            "tool_error",
        ),
        "lmstudio_876 space in name, raw harmony": (
            lambda: [content(issue("lmstudio_876_toolcall_parse_error_space_in_name.txt"))],
            "tool_error",
        ),
        "lmstudio_873 raw harmony call in content": (
            lambda: [content(issue("lmstudio_873_raw_harmony_toolcall_in_content.txt"))],
            "tool_error",
        ),
        "imp1719 raw harmony capture": (
            lambda: [content(issue("raw_harmony_imp1719_toolcall_capture.txt"))],
            "tool_error",
        ),
        "odysseus5877 500 raw python as arguments": (
            lambda: [
                Reply.text(
                    issue("ollama_odysseus5877_error_parsing_tool_call_builtin_python.txt"),
                    500,
                    "text/plain",
                )
            ],
            "retried",
        ),
        "ollama_12064 500 error parsing tool call": (
            lambda: [
                Reply.json({"error": issue("ollama_12064_error_parsing_tool_call_500.txt")}, 500)
            ],
            "retried",
        ),
        "groq 400 tool_use_failed": (
            lambda: [
                Reply.from_file(
                    wire_path("bodies", "groq_120b_tool_use_failed_400.json")
                ).__class__(
                    400,
                    wire_path("bodies", "groq_120b_tool_use_failed_400.json").read_bytes(),
                    {"Content-Type": "application/json"},
                )
            ],
            "retried",
        ),
        "openrouter 400 Reasoning is mandatory": (
            lambda: [
                Reply.json(
                    {
                        "error": {
                            "message": issue(
                                "openrouter_cherry9051_reasoning_mandatory_400.txt"
                            ).split(" ", 1)[1]
                        }
                    },
                    400,
                )
            ],
            "retried",
        ),
        "vllm_41902 content and reasoning null": (
            lambda: [Reply.json(chat_body(None, reasoning=None))],
            "retried",
        ),
        "fireworks 400 out of tokens": (
            lambda: (
                [
                    Reply(
                        400,
                        wire_path(
                            "issues", "fireworks_chatterui435_out_of_tokens_error.json"
                        ).read_bytes(),
                        {"Content-Type": "application/json"},
                    )
                ]
                * 3
            ),
            "fatal",
        ),
        "lmstudio_1105 JSON answer, empty reasoning": (
            lambda: [
                content(
                    json.loads(
                        issue("lmstudio_1105_nonstream_reasoning_empty.partial.json.txt")
                        .split('"content": ', 1)[1]
                        .split(",\n", 1)[0]
                    )
                )
            ],
            "answer",
        ),
    }


CASES = list(cases())


def chat_for(url: str) -> GptOssChat:
    config = ServerConfig(url, "openai/gpt-oss-20b", "k", PRESETS["vllm"])
    return build_chat_model(
        Settings(request_timeout=5.0, max_retries=2),
        config,
        retry_backoff=0.001,
        retry_wait_cap=0.01,
    )


@pytest.mark.parametrize("case", CASES)
def test_recorded_malformed_case_in_a_whole_run(
    wire_server: WireServer, lite: dict[str, Any], case: str
) -> None:
    make, outcome = cases()[case]
    first = make()
    final = "The Zephyr drone is made by Acme Robotics 【0†L3-L4】."
    wire_server.script(*first, answer_reply(final), answer_reply(final))
    graph = build_graph(chat_for(wire_server.url))
    run = Context(max_tool_calls=6, max_turns=4, **lite)
    if outcome == "fatal":
        with pytest.raises(ModelServerError, match="rejected the request") as caught:
            graph.invoke({"question": QUESTION}, context=run)
        assert "\n" not in str(caught.value) and wire_server.url in str(caught.value)
        return
    state = graph.invoke({"question": QUESTION}, context=run)
    check_run(state)
    tool_messages = [m for m in wire_server.bodies[-1]["messages"] if m["role"] == "tool"]
    if outcome == "repaired":
        assert len(tool_messages) == 1 and "Search results for" in tool_messages[0]["content"]
        assert state["answer"].status == "answered"
    elif outcome == "tool_error":
        assert tool_messages and all(m["content"].startswith("Error") for m in tool_messages)
        assert len(wire_server.bodies) == 2
    elif outcome == "retried":
        assert not tool_messages and len(wire_server.bodies) == 1 + len(first)
        assert state["answer"].status == "insufficient_evidence"  # cursor 0 was never seen
    else:  # a plain answer stays an answer
        assert len(wire_server.bodies) == 1 and state["answer"].answer.startswith('{"joke"')


def test_recorded_cases_cover_every_malformed_issue_file() -> None:
    """A new malformed recording in the fixtures must get a case here."""
    root = wire_path("issues")
    files = {p.name for p in Path(root).iterdir()}
    well_formed = {
        "vllm_22403_nonstream_reasoning_content.partial.json.txt",  # a normal response
        "vllm_25514_stream_toolargs_leak_into_reasoning_content.partial.sse",  # see below
    }
    covered = {c.split(" ", 1)[0] for c in CASES}
    missing = [f for f in files - well_formed if not any(key in f for key in covered)]
    assert not missing, missing


def test_tool_arguments_leaked_into_reasoning_stream_are_an_empty_turn_retried(
    wire_server: WireServer, lite: dict[str, Any]
) -> None:
    leaked = Reply.from_file(
        wire_path("issues", "vllm_25514_stream_toolargs_leak_into_reasoning_content.partial.sse")
    )
    final = "The Zephyr drone is made by Acme Robotics."
    from tests.support.faults import sse_reply

    wire_server.script(leaked, sse_reply(chat_body(final)))
    model = chat_for(wire_server.url)
    model.streaming = True
    state = build_graph(model).invoke({"question": QUESTION}, context=Context(**lite))
    assert len(wire_server.bodies) == 2
    assert state["answer"].answer.startswith("The Zephyr drone is made by Acme Robotics")
