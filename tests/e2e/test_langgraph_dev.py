"""`langgraph dev` serving langgraph.json, driven through langgraph_sdk as Studio would.

One server process (its own process group, stopped at teardown even on failure) holds a
tmp Milvus Lite database; the corpus is indexed through the `ingest` graph because the
server owns the database while it runs.
"""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from agent.schemas import Answer
from agent.settings import Context
from tests.support.agent_e2e import QUESTION, agent_env, file_lines, langgraph_dev, write_corpus
from tests.support.foundation import VENV_BIN

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def require_langgraph_dev() -> None:
    if not (VENV_BIN / "langgraph").is_file():
        pytest.skip(f"the langgraph CLI is not installed at {VENV_BIN / 'langgraph'}")
    for module in ("langgraph_sdk", "langgraph_api", "langgraph_runtime_inmem"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"`langgraph dev` needs {module} (pip install 'langgraph-cli[inmem]')")


async def drive(url: str, corpus: Path) -> dict[str, Any]:
    from langgraph_sdk import get_client

    client = get_client(url=url)
    out: dict[str, Any] = {}
    out["ingest"] = await client.runs.wait(None, "ingest", input={"paths": [str(corpus)]})

    thread = await client.threads.create()
    out["nodes"] = [
        node
        async for chunk in client.runs.stream(
            thread["thread_id"], "research", input={"question": QUESTION}, stream_mode="updates"
        )
        if chunk.event == "updates"
        for node in chunk.data
    ]
    out["state"] = await client.threads.get_state(thread["thread_id"])

    # the Studio form: a context value given with the run reaches the tools
    other = await client.threads.create()
    out["k1"] = await client.runs.wait(
        other["thread_id"], "research", input={"question": QUESTION}, context={"k": 1}
    )

    (assistant,) = await client.assistants.search(graph_id="research")
    out["schemas"] = await client.assistants.get_schemas(assistant["assistant_id"])
    return out


def test_langgraph_dev_ingests_answers_and_exposes_the_context_schema(tmp_path: Path) -> None:
    require_langgraph_dev()
    corpus = write_corpus(tmp_path)
    env = agent_env(tmp_path / ".ra", collection="studio", RESEARCH_AGENT_PROVIDER="offline")

    with langgraph_dev(env, tmp_path / "langgraph-dev.log") as url:
        out = asyncio.run(asyncio.wait_for(drive(url, corpus), timeout=120))

    report = out["ingest"]["report"]
    assert (report["new"], report["chunks_written"], report["skipped"]) == (2, 3, [])

    nodes = out["nodes"]
    assert nodes[:4] == ["prepare", "call_model", "tools", "call_model"]
    assert nodes[-1] == "respond"
    answer = Answer.model_validate(out["state"]["values"]["answer"])
    assert answer.status == "answered"
    assert (answer.model, answer.provider) == ("offline-extractive", "offline")
    assert answer.citations
    first = answer.citations[0]
    assert first.source.endswith("corpus/heron.md") and (first.start_line, first.end_line) == (5, 5)
    for c in answer.citations:
        assert c.quote == file_lines(tmp_path / c.source, c.start_line, c.end_line)
    assert answer.steps.records[0].tool == "milvus_search"

    k1 = Answer.model_validate(out["k1"]["answer"])
    assert k1.steps.records[0].result == "1 hit"

    schema = out["schemas"]["context_schema"]
    assert set(schema["properties"]) == {f.name for f in fields(Context)}
    assert {"provider", "effort", "k", "max_tool_calls"} <= set(schema["properties"])
    assert schema["properties"]["k"]["type"] == "integer"
    assert schema["properties"]["effort"]["default"] == "medium"
