"""The whole research graph against recorded gpt-oss traffic replayed by a local server.

Real pieces only: graphs.research.build_graph with the product's milvus_search and fetch_doc
over a Milvus Lite collection ingested here, and the chat model chosen from the run's
Context (provider "llamacpp", base_url = the replay server), i.e. agent.llm.chat.build_chat_model's
GptOssChat. The replies are recorded llama.cpp bodies with only the tool call (name,
arguments, id), the reasoning text and the answer text replaced to fit the corpus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.documents import ingest
from agent.schemas import Answer
from agent.settings import Context
from graphs.research import build_graph
from tests.support import wire_path
from tests.support.agent_e2e import QUESTION, file_lines, write_corpus
from tests.support.foundation import lite_settings
from tests.support.wire_server import Reply, WireServer
from tools.loaders import source_name
from tools.schemas import SearchResult
from tools.store import close_stores

pytestmark = [pytest.mark.timeout(90)]

# Recorded llama.cpp b7010 non-streaming bodies (tests/fixtures/wire/gptoss/bodies/): turn 0 is a
# tool call with `reasoning_content`, turn 1 a final answer. Only message fields are replaced.
TOOL_TURN = ("bodies", "llamacpp_b7010_tool_nonstream_turn0.json")
FINAL_TURN = ("bodies", "llamacpp_b7010_tool_nonstream_turn1.json")

R_SEARCH = "The user asks when Heron compacts segments. I should search the documents first."
R_FETCH = "Result 0 is the Heron storage engine doc. Open it to read the exact lines."
R_FINAL = "Line 5 says compaction runs nightly at 02:00 UTC; cite it."
KESTREL_QUERY = '{"query": "kestrel scheduler job class rules"}'
R_FOLLOW = "A follow-up about retention. Search for deleted rows in Heron."

# A chunk longer than the search snippet (8 lines): only L1-L8 are shown to the model.
KESTREL = "# Kestrel scheduler\n" + "".join(
    f"Kestrel rule {n}: the kestrel scheduler runs job class {n} on queue {n}.\n"
    for n in range(2, 15)
)


@dataclass(frozen=True)
class Corpus:
    folder: Path
    milvus_uri: str
    collection: str
    sources: dict[str, str]
    """File name -> source as stored (named relative to the folder ingest ran in)."""

    def context(self, server: WireServer, **extra: Any) -> Context:
        return Context(
            provider="llamacpp",
            base_url=server.url,
            milvus_uri=self.milvus_uri,
            collection=self.collection,
            **extra,
        )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    root = tmp_path_factory.mktemp("graph_wire")
    folder = write_corpus(root)
    (folder / "kestrel.md").write_text(KESTREL, encoding="utf-8")
    settings = lite_settings(root, collection="graph_wire")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        report = ingest([folder], settings)
        sources = {p.name: source_name(p) for p in folder.iterdir()}
    assert report.new == 3
    yield Corpus(folder, settings.milvus_uri, settings.collection, sources)
    close_stores()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Context() reads RESEARCH_AGENT_* and ./.env: neither may leak in from the caller."""
    import os

    for key in [k for k in os.environ if k.startswith("RESEARCH_AGENT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RESEARCH_AGENT_MAX_RETRIES", "0")  # a missing reply fails at once
    monkeypatch.chdir(tmp_path)


def recorded(parts: tuple[str, str]) -> dict[str, Any]:
    return json.loads(wire_path(*parts).read_text(encoding="utf-8"))


def tool_turn(reasoning: str, name: str, arguments: str, call_id: str) -> Reply:
    """The recorded llama.cpp tool-call body with our call and reasoning in it."""
    body = recorded(TOOL_TURN)
    message = body["choices"][0]["message"]
    assert set(message) == {"role", "reasoning_content", "content", "tool_calls"}
    message["reasoning_content"] = reasoning
    (call,) = message["tool_calls"]
    call["function"] = {"name": name, "arguments": arguments}
    call["id"] = call_id
    return Reply.json(body)


def final_turn(content: str, reasoning: str | None = None) -> Reply:
    """The recorded llama.cpp final-answer body with our text (and reasoning) in it."""
    body = recorded(FINAL_TURN)
    message = body["choices"][0]["message"]
    assert message["role"] == "assistant" and body["choices"][0]["finish_reason"] == "stop"
    message["content"] = content
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return Reply.json(body)


def assistants(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m["role"] == "assistant"]


def test_graph_answers_with_verified_citations_and_replays_reasoning(
    corpus: Corpus, wire_server: WireServer
) -> None:
    wire_server.models = ["gpt-oss-20b"]
    wire_server.script(
        tool_turn(R_SEARCH, "milvus_search", json.dumps({"query": QUESTION, "k": 3}), "call_s1"),
        tool_turn(R_FETCH, "fetch_doc", '{"cursor":0,"start_line":1,"num_lines":20}', "call_f1"),
        final_turn(
            "Heron compacts sealed segments every night at 02:00 UTC 【0†L4-L5】, "
            "after sealing them at 512 MB 【7†L1-L2】.",
            reasoning=R_FINAL,
        ),
    )
    graph = build_graph(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "wire-1"}}

    state = graph.invoke({"question": QUESTION}, config, context=corpus.context(wire_server))

    heron = corpus.folder / "heron.md"
    answer: Answer = state["answer"]
    assert answer.status == "answered"
    assert (answer.model, answer.provider) == ("gpt-oss-20b", "llamacpp")
    assert answer.answer == (
        "Heron compacts sealed segments every night at 02:00 UTC [1], after sealing them at 512 MB."
    )
    assert answer.dropped_citations == 1
    assert [(c.n, c.cursor, c.source, c.start_line, c.end_line) for c in answer.citations] == [
        (1, 0, corpus.sources["heron.md"], 4, 5)
    ]
    assert answer.citations[0].quote == file_lines(heron, 4, 5)
    assert answer.citations[0].title == "Heron storage engine"
    assert [(r.tool, r.args) for r in answer.steps.records] == [
        ("milvus_search", {"query": QUESTION, "k": 3}),
        ("fetch_doc", {"cursor": 0, "start_line": 1, "num_lines": 20}),
    ]
    assert answer.steps.records[1].result == "lines 1-9 of 9"
    assert (answer.steps.tool_calls, answer.steps.turns) == (2, 3)
    # usage figures of the recorded bodies, summed over the three turns
    assert answer.steps.prompt_tokens == 139 * 2 + 213
    assert answer.steps.completion_tokens == 58 * 2 + 18

    # what went over the wire
    first, second, third = wire_server.bodies
    assert first["model"] == "gpt-oss-20b"
    names = sorted(t["function"]["name"] for t in first["tools"])
    assert names == ["fetch_doc", "find_in_doc", "milvus_search"]
    assert first["messages"][0]["role"] == "system"
    assert first["messages"][0]["content"].startswith("Reasoning: medium")  # llama.cpp: both
    assert first["reasoning_effort"] == "medium"
    assert first["messages"][-1] == {"role": "user", "content": QUESTION}

    (call_turn,) = assistants(second)
    assert call_turn["reasoning_content"] == R_SEARCH  # llama.cpp's field, not "reasoning"
    assert "reasoning" not in call_turn
    assert call_turn["tool_calls"][0]["function"]["name"] == "milvus_search"
    tool_msg = second["messages"][-1]
    assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"] == "call_s1"
    assert tool_msg["content"].startswith("<<<UNTRUSTED DATA from milvus_search")
    # heron.md's two chunks (L1-L6, L7-L9) both matched: one passage, their union
    assert f"【0†Heron storage engine†{corpus.sources['heron.md']}】 L1-L9" in tool_msg["content"]
    assert [m.get("reasoning_content") for m in assistants(third)] == [R_SEARCH, R_FETCH]
    assert (
        "L5: Sealed segments are compacted every night at 02:00 UTC."
        in (third["messages"][-1]["content"])
    )

    # a second question on the same thread: the first run ended in a final answer, so none
    # of its reasoning is sent again; the new tool-call turn's reasoning is
    wire_server.script(
        tool_turn(R_FOLLOW, "milvus_search", '{"query": "Heron deleted rows kept"}', "call_s2"),
        final_turn("Heron keeps deleted rows for seven days 【0†L9-L9】."),
    )
    follow_up = "How long does Heron keep deleted rows?"
    state = graph.invoke({"question": follow_up}, config, context=corpus.context(wire_server))

    answer = state["answer"]
    assert answer.status == "answered" and answer.dropped_citations == 0
    assert [(c.cursor, c.start_line, c.end_line, c.quote) for c in answer.citations] == [
        (0, 9, 9, file_lines(heron, 9, 9))
    ]
    assert (answer.steps.tool_calls, answer.steps.turns) == (1, 2)
    fourth, fifth = wire_server.bodies[3:]
    users = [m["content"] for m in fourth["messages"] if m["role"] == "user"]
    assert users == [QUESTION, follow_up]
    earlier = assistants(fourth)
    assert len(earlier) == 3  # two tool-call turns and the final answer of question 1
    assert all("reasoning_content" not in m and "reasoning" not in m for m in earlier)
    assert [m.get("reasoning_content") for m in assistants(fifth)] == [None, None, None, R_FOLLOW]


def test_malformed_tool_calls_are_repaired_or_returned_to_the_model(
    corpus: Corpus, wire_server: WireServer
) -> None:
    wire_server.models = ["gpt-oss-20b"]
    # Tool name with harmony debris, as vLLM streamed it (issues/vllm_32587_streamed_toolnames_
    # channel_commentary.partial.txt: 'query_dataset<|channel|>commentary'). Arguments that
    # are not JSON, shaped like llama.cpp's GPT-OSS parse error in
    # issues/llamacpp_continue7491_failed_to_parse_arguments.log (last read: '"{"fi').
    bad_args = '{"{"cursor": 0, "start_line": 1}'
    osprey_query = '{"query": "Osprey planner written by"}'
    wire_server.script(
        tool_turn(R_SEARCH, "milvus_search<|channel|>commentary", osprey_query, "call_s1"),
        tool_turn(R_FETCH, "fetch_doc", bad_args, "call_f1"),
        final_turn("The Osprey planner was written by the Heron storage team in 2019 【0†L4-L4】."),
    )
    graph = build_graph()

    state = graph.invoke(
        {"question": "Who wrote the Osprey planner?"}, {}, context=corpus.context(wire_server)
    )

    messages = state["messages"]
    assert [type(m) for m in messages] == [
        HumanMessage,
        AIMessage,
        ToolMessage,
        AIMessage,
        ToolMessage,
        AIMessage,
    ]
    search_call, search_result = messages[1], messages[2]
    assert search_call.tool_calls[0]["name"] == "milvus_search"
    assert search_result.status == "success" and search_result.name == "milvus_search"
    assert isinstance(search_result.artifact, SearchResult)
    osprey = corpus.folder / "osprey.md"
    assert search_result.artifact.hits[0].source == corpus.sources["osprey.md"]
    assert search_result.artifact.hits[0].cursor == 0

    bad_call, error = messages[3], messages[4]
    assert bad_call.tool_calls == []
    (invalid,) = bad_call.invalid_tool_calls
    assert (invalid["name"], invalid["args"], invalid["id"]) == ("fetch_doc", bad_args, "call_f1")
    assert error.status == "error" and error.tool_call_id == "call_f1"
    assert "could not be read" in error.text and "not valid JSON" in error.text

    # the server got the cleaned name back, and the model saw the error for its call
    second, third = wire_server.bodies[1:]
    assert assistants(second)[0]["tool_calls"][0]["function"]["name"] == "milvus_search"
    sent_call = assistants(third)[1]["tool_calls"][0]
    assert (sent_call["id"], sent_call["function"]["name"]) == ("call_f1", "fetch_doc")
    tool_reply = third["messages"][-1]
    assert tool_reply["role"] == "tool" and tool_reply["tool_call_id"] == "call_f1"
    assert tool_reply["content"] == error.text

    answer: Answer = state["answer"]
    assert answer.status == "answered" and answer.dropped_citations == 0
    assert [(c.source, c.start_line, c.end_line, c.quote) for c in answer.citations] == [
        (corpus.sources["osprey.md"], 4, 4, file_lines(osprey, 4, 4))
    ]
    assert [(r.tool, r.result.split(":")[0]) for r in answer.steps.records] == [
        ("milvus_search", answer.steps.records[0].result),
        ("fetch_doc", "error"),
    ]
    assert answer.steps.records[0].result.endswith("hits")
    assert answer.steps.tool_calls == 2


def test_citation_to_a_line_the_search_snippet_did_not_show_is_dropped(
    corpus: Corpus, wire_server: WireServer
) -> None:
    wire_server.models = ["gpt-oss-20b"]
    wire_server.script(
        tool_turn(R_SEARCH, "milvus_search", KESTREL_QUERY, "call_s1"),
        final_turn("Job class 10 runs on queue 10 【0†L10-L10】; job class 3 on queue 3 【0†L3】."),
    )
    state = build_graph().invoke(
        {"question": "Which queue runs kestrel job class 10?"},
        {},
        context=corpus.context(wire_server),
    )

    hits = state["messages"][2].artifact.hits
    first = next(h for h in hits if h.start_line == 1)
    assert first.source.endswith("kestrel.md") and first.cursor == 0
    assert first.end_line >= 10  # line 10 is in the chunk ...
    shown = wire_server.bodies[1]["messages"][-1]["content"]
    assert "L8: Kestrel rule 8" in shown and "L10: " not in shown  # ... but was never shown
    answer: Answer = state["answer"]
    assert [(c.cursor, c.start_line, c.end_line) for c in answer.citations] == [(0, 3, 3)]
    assert answer.dropped_citations == 1
    assert answer.answer == "Job class 10 runs on queue 10; job class 3 on queue 3 [1]."


@pytest.mark.parametrize("show", [True, False])
def test_cli_ask_shows_reasoning_only_when_asked(
    corpus: Corpus,
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    show: bool,
) -> None:
    from agent.cli.app import main

    wire_server.models = ["gpt-oss-20b"]
    wire_server.script(
        tool_turn(R_SEARCH, "milvus_search", json.dumps({"query": QUESTION, "k": 3}), "call_s1"),
        final_turn("Heron compacts sealed segments nightly 【0†L4-L5】.", reasoning=R_FINAL),
    )
    argv = [
        "research-agent",
        "ask",
        QUESTION,
        "--provider",
        "llamacpp",
        "--base-url",
        wire_server.url,
        "--milvus-uri",
        corpus.milvus_uri,
        "--collection",
        corpus.collection,
    ]
    monkeypatch.setattr("sys.argv", [*argv, *(["--show-reasoning"] if show else [])])
    main()
    out = capsys.readouterr().out
    assert "-> milvus_search(" in out and "Sources:" in out and "model: gpt-oss-20b" in out
    assert (R_SEARCH in out, R_FINAL in out) == (show, show)


def as_sse(reply: Reply, gate: Any = None) -> Reply:
    """A JSON reply sent as SSE frames, one token of its answer per frame."""
    from agent.llm.wire.transport import sse_from_completion

    data = json.loads(reply.body)
    message = data["choices"][0]["message"]
    content = message.pop("content") or ""
    words = [w + " " for w in content.split(" ")]
    words[-1] = words[-1][:-1]
    frames = [
        f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': w}}]})}\n\n".encode()
        for w in words
        if w
    ]
    head = sse_from_completion(data).decode().split("\n\n")[0] + "\n\n"
    events = [head.encode(), *frames, b"data: [DONE]\n\n"]
    return Reply(200, b"", {"Content-Type": "text/event-stream"}, events, gate=gate)


def cli(corpus: Corpus, server: WireServer, *extra: str) -> list[str]:
    return [
        "research-agent",
        "ask",
        QUESTION,
        "--provider",
        "llamacpp",
        "--base-url",
        server.url,
        "--milvus-uri",
        corpus.milvus_uri,
        "--collection",
        corpus.collection,
        *extra,
    ]


SEARCH = {"query": QUESTION, "k": 3}
ANSWER = "Heron compacts sealed segments nightly 【0†L4-L5】."


@pytest.mark.parametrize(
    ("shape", "name", "arguments", "flags"),
    [
        ("sse to stream:false", "milvus_search", json.dumps(SEARCH), ["--no-stream"]),
        ("debris-only name", "<|channel|>commentary", json.dumps(SEARCH), []),
        ("missing closing brace", "milvus_search", json.dumps(SEARCH)[:-1], []),
        (
            "missing closing brace, no stream",
            "milvus_search",
            json.dumps(SEARCH)[:-1],
            ["--no-stream"],
        ),
    ],
)
def test_server_shapes_complete_the_run_with_the_tool_executed(
    corpus: Corpus,
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    shape: str,
    name: str,
    arguments: str,
    flags: list[str],
) -> None:
    from agent.cli.app import main

    wire_server.models = ["gpt-oss-20b"]
    first, last = tool_turn(R_SEARCH, name, arguments, "call_s1"), final_turn(ANSWER)
    if shape.startswith("sse"):
        first, last = as_sse(first), as_sse(last)
    wire_server.script(first, last)
    monkeypatch.setattr("sys.argv", cli(corpus, wire_server, *flags))
    main()
    out = capsys.readouterr().out
    assert f"-> milvus_search(query={QUESTION!r}, k=3)" in out
    assert "   <- " in out and "error" not in out.split("   <- ")[1].splitlines()[0]
    assert "status: answered" in out and "Heron compacts sealed segments nightly" in out
    sent_back = assistants(wire_server.bodies[1])[0]["tool_calls"][0]["function"]
    assert json.loads(sent_back["arguments"]) == SEARCH  # valid JSON goes back to the server
    assert sent_back["name"] == "milvus_search"
    assert [b["stream"] for b in wire_server.bodies] == [not flags] * 2
    if shape == "debris-only name":
        assert "the one tool the arguments fit" in out


def test_a_call_on_the_last_turn_is_shown_as_not_run(
    corpus: Corpus,
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from agent.cli.app import main

    wire_server.models = ["gpt-oss-20b"]
    wire_server.script(
        tool_turn(R_SEARCH, "milvus_search", json.dumps(SEARCH), "call_s1"),
        tool_turn(R_FETCH, "milvus_search", '{"query": "again"}', "call_s2"),
    )
    monkeypatch.setattr("sys.argv", cli(corpus, wire_server, "--max-turns", "2"))
    main()
    out = capsys.readouterr().out
    assert f"-> milvus_search(query={QUESTION!r}, k=3)" in out
    assert "-> milvus_search(query='again')" not in out
    assert "-x milvus_search(query='again') not run: the budget is spent" in out


def test_an_unreadable_call_is_shown_as_refused_with_its_reason(
    corpus: Corpus,
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from agent.cli.app import main

    wire_server.models = ["gpt-oss-20b"]
    wire_server.script(
        tool_turn(R_SEARCH, "fetch_doc", '{"cursor": 0, oops', "call_f"),
        final_turn("Insufficient evidence."),
    )
    monkeypatch.setattr("sys.argv", cli(corpus, wire_server))
    main()
    out = capsys.readouterr().out
    assert "-> fetch_doc" not in out
    assert "-x fetch_doc() not run:" in out and "not valid JSON" in out


def test_ask_prints_the_first_words_before_the_server_sent_the_last(
    corpus: Corpus, wire_server: WireServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys
    import threading

    from agent.cli.app import main

    release, finished = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    class Terminal(io.StringIO):
        def write(self, text: str) -> int:
            if "Heron compacts" in self.getvalue() + text and "first" not in seen:
                seen["first"] = not finished.is_set()  # the server still holds the rest back
                release.set()
            return super().write(text)

    wire_server.models = ["gpt-oss-20b"]
    wire_server.script(as_sse(final_turn(ANSWER), gate=(3, release, finished)))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr("sys.argv", cli(corpus, wire_server))
    main()
    assert seen == {"first": True}
    assert finished.is_set() and "nightly" in terminal.getvalue()


def test_messages_mode_streams_repaired_tokens(corpus: Corpus, wire_server: WireServer) -> None:
    # what `langgraph dev` / Studio shows in messages mode: the chat model's own chunks
    from langchain_core.messages import AIMessageChunk

    raw = (
        "<|channel|>analysis<|message|>Secret plan: cite line 5.<|end|><|start|>assistant"
        f"<|channel|>final<|message|>{ANSWER}<|return|>"
    )
    wire_server.models = ["gpt-oss-20b"]
    wire_server.script(as_sse(final_turn(raw)))
    graph = build_graph()
    texts: list[str] = []
    reasoning: list[str] = []
    for chunk, meta in graph.stream(
        {"question": QUESTION}, context=corpus.context(wire_server), stream_mode="messages"
    ):
        if isinstance(chunk, AIMessageChunk) and meta.get("langgraph_node") == "call_model":
            texts.append(str(chunk.content))
            reasoning.append(str(chunk.additional_kwargs.get("reasoning_content") or ""))
    assert not any("<|" in t for t in texts)
    assert "".join(texts) == ANSWER
    assert "Secret plan" in "".join(reasoning) and "Secret plan" not in "".join(texts)


def test_cli_ask_chooses_and_probes_the_model_once(
    corpus: Corpus,
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The model is chosen once per run: one `/v1/models` probe, by the API, reused by the graph.

    llama.cpp's context window comes from `/props`, so every `/models` request is a choice probe.
    """
    from agent.cli.app import main

    wire_server.models = ["gpt-oss-20b"]
    wire_server.script(
        tool_turn(R_SEARCH, "milvus_search", json.dumps(SEARCH), "call_s1"),
        final_turn(ANSWER, reasoning=R_FINAL),
    )
    monkeypatch.setattr("sys.argv", cli(corpus, wire_server, "--no-stream"))
    main()

    out = capsys.readouterr().out
    assert "-> milvus_search(" in out and "model: gpt-oss-20b" in out
    paths = [r.path for r in wire_server.requests]
    assert [p for p in paths if p.rstrip("/").endswith("/models")] == ["/v1/models"]
    assert [p for p in paths if p.endswith("/chat/completions")] == ["/v1/chat/completions"] * 2
