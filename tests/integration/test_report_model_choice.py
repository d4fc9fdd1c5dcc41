"""A report chooses its model once per run: one `/v1/models` probe, whatever the front end.

The CLI, the Python API and a resumed report choose (and build) the chat model once and
carry it to the report graph's plan, branches and write; the graph run as Studio runs it
(no choice in its config) chooses once per run itself. The replay server answers as
tests/integration/test_report_wire.py scripts it (llama.cpp bodies, two branches); with
llama.cpp the context window comes from `/props`, so every `/models` request is a probe.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent.documents import ingest
from agent.report_api import areport_stream, report, report_stream, resume_report_stream
from agent.reporting.schemas import Report, ReportEvent
from agent.settings import ReportContext
from graphs.report import build_report_graph
from tests.integration.test_report_wire import Q1, Q2, route
from tests.support.agent_e2e import write_corpus
from tests.support.foundation import lite_settings
from tests.support.wire_server import WireServer
from tools.store import close_stores

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]  # a corpus is ingested
TOPIC = "Heron"


@dataclass(frozen=True)
class Store:
    milvus_uri: str
    collection: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("report_choice")
    settings = lite_settings(root, collection="report_choice")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert ingest([write_corpus(root)], settings).new == 2
    yield Store(settings.milvus_uri, settings.collection)
    close_stores()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[WireServer]:
    for key in [k for k in os.environ if k.startswith("RESEARCH_AGENT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RESEARCH_AGENT_MAX_RETRIES", "0")
    monkeypatch.setenv("RESEARCH_AGENT_DATA_DIR", str(tmp_path / ".ra"))
    monkeypatch.chdir(tmp_path)
    with WireServer() as wire:
        wire.router = route
        yield wire


def options(store: Store, server: WireServer) -> dict[str, Any]:
    return {
        "provider": "llamacpp",
        "base_url": server.url,
        "milvus_uri": store.milvus_uri,
        "collection": store.collection,
    }


def flags(store: Store, server: WireServer) -> list[str]:
    return [
        "--provider",
        "llamacpp",
        "--base-url",
        server.url,
        "--milvus-uri",
        store.milvus_uri,
        "--collection",
        store.collection,
    ]


def probes(server: WireServer) -> list[str]:
    return [r.path for r in server.requests if r.path.rstrip("/").endswith("/models")]


def model_turns(server: WireServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/chat/completions"))


def check(result: Report) -> None:
    """The report went through the model's plan, both branches and the writer."""
    assert result.plan.sub_questions == [Q1, Q2]
    assert result.status == "complete" and result.model == "gpt-oss-20b"
    assert len(result.sections) == 2


def test_api_report_probes_once(store: Store, server: WireServer) -> None:
    server.models = ["gpt-oss-20b"]
    check(report(TOPIC, **options(store, server)))
    assert probes(server) == ["/v1/models"]
    assert model_turns(server) == 1 + 4 + 2  # plan, two turns per branch, two sections


def test_async_report_stream_probes_once(store: Store, server: WireServer) -> None:
    """The path of MCP's `report` tool: `astream` on the graph, no thread."""

    async def last() -> Any:
        items = [item async for item in areport_stream(TOPIC, **options(store, server))]
        return items[-1]

    server.models = ["gpt-oss-20b"]
    check(asyncio.run(last()))
    assert probes(server) == ["/v1/models"]
    assert model_turns(server) == 1 + 4 + 2


def test_api_report_with_a_review_probes_once(store: Store, server: WireServer) -> None:
    server.models = ["gpt-oss-20b"]
    shown: list[Any] = []
    check(
        report(TOPIC, review=lambda plan: shown.append(plan) or "accept", **options(store, server))
    )
    assert len(shown) == 1 and probes(server) == ["/v1/models"]


def test_cli_report_probes_once(
    store: Store, server: WireServer, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from agent.cli.app import main

    server.models = ["gpt-oss-20b"]
    monkeypatch.setattr("sys.argv", ["research-agent", "report", TOPIC, *flags(store, server)])
    main()
    assert "status: complete" in capsys.readouterr().out
    assert probes(server) == ["/v1/models"]
    assert model_turns(server) == 1 + 4 + 2


def stopped_for_review(store: Store, server: WireServer, thread: str) -> None:
    """A report on `thread` stopped at its review; the server's record cleared after it."""
    items = list(report_stream(TOPIC, review=True, thread_id=thread, **options(store, server)))
    assert isinstance(items[-1], ReportEvent) and items[-1].kind == "review"
    assert probes(server) == ["/v1/models"] and model_turns(server) == 1
    server.requests.clear()


def test_resumed_report_probes_once_api(store: Store, server: WireServer) -> None:
    server.models = ["gpt-oss-20b"]
    stopped_for_review(store, server, "choice-api")
    items = list(resume_report_stream("choice-api", "accept", **options(store, server)))
    assert isinstance(items[-1], Report)
    check(items[-1])
    assert probes(server) == ["/v1/models"] and model_turns(server) == 4 + 2


def test_resumed_report_probes_once_cli(
    store: Store, server: WireServer, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from agent.cli.app import main

    server.models = ["gpt-oss-20b"]
    stopped_for_review(store, server, "choice-cli")
    argv = ["research-agent", "resume", "--thread", "choice-cli", *flags(store, server)]
    monkeypatch.setattr("sys.argv", argv)
    main()
    assert "status: complete" in capsys.readouterr().out
    assert probes(server) == ["/v1/models"] and model_turns(server) == 4 + 2


@pytest.mark.parametrize("form", ["invoke", "ainvoke"])
def test_graph_without_a_choice_probes_once_per_run(
    store: Store, server: WireServer, form: str
) -> None:
    """As Studio runs it (async): the graph chooses once per run, not per node or branch."""
    server.models = ["gpt-oss-20b"]
    context = ReportContext(**options(store, server))
    graph = build_report_graph()
    for run in (1, 2):
        payload = {"topic": TOPIC}
        if form == "invoke":
            state = graph.invoke(payload, context=context)
        else:
            state = asyncio.run(graph.ainvoke(payload, context=context))
        check(state["report"])
        assert probes(server) == ["/v1/models"] * run


def test_graph_resumed_without_a_choice_probes_once(store: Store, server: WireServer) -> None:
    """Resumed after its review, the branches (started at once) are the first to need the
    model: one of them chooses, the others and the writer reuse the choice."""
    server.models = ["gpt-oss-20b"]
    context = ReportContext(**options(store, server))
    graph = build_report_graph(checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "studio"}}
    graph.invoke({"topic": TOPIC, "review": True}, config, context=context)
    assert probes(server) == ["/v1/models"] and model_turns(server) == 1
    server.requests.clear()
    check(graph.invoke(Command(resume="accept"), config, context=context)["report"])
    assert probes(server) == ["/v1/models"] and model_turns(server) == 4 + 2
