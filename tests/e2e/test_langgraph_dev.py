"""`langgraph dev` serving langgraph.json, driven through langgraph_sdk as Studio would.

One server process (its own process group, stopped at teardown even on failure) holds a
tmp Milvus Lite database; the corpus is indexed through the `ingest` graph because the
server owns the database while it runs.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.schemas import Answer
from agent.settings import Context
from tests.support.agent_e2e import QUESTION, agent_env, file_lines, langgraph_dev, write_corpus
from tests.support.foundation import VENV_BIN

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
MCP_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


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

    # an explicit value equal to the default (k=5) wins over the server's RESEARCH_AGENT_K=2
    out["k5"] = await client.runs.wait(
        None, "research", input={"question": QUESTION}, context={"k": 5}
    )

    # product errors reach SDK users with their own message
    out["errors"] = {}
    for name, graph, payload, context in (
        ("invalid context", "research", {"question": QUESTION}, {"k": 0}),
        ("model server", "research", {"question": QUESTION}, {"provider": "vllm"}),
        ("store", "ingest", {"paths": [str(corpus.parent / "nonexistent")]}, None),
        ("outside the roots", "ingest", {"paths": ["/etc"]}, None),
        ("out by ..", "ingest", {"paths": [str(corpus / ".." / ".." / "..")]}, None),
        ("collection", "research", {"question": QUESTION}, {"collection": "missing"}),
    ):
        try:
            await client.runs.wait(None, graph, input=payload, context=context)
            out["errors"][name] = "no error"
        except Exception as exc:  # the SDK raises with the server's message
            out["errors"][name] = str(exc)

    async with httpx.AsyncClient(base_url=url, trust_env=False) as http:
        mcp = await http.post("/mcp", json=MCP_LIST, headers=MCP_HEADERS)
        out["mcp"] = mcp.status_code

    (assistant,) = await client.assistants.search(graph_id="research")
    out["schemas"] = await client.assistants.get_schemas(assistant["assistant_id"])
    (ingest,) = await client.assistants.search(graph_id="ingest")
    out["ingest_schemas"] = await client.assistants.get_schemas(ingest["assistant_id"])
    return out


def test_langgraph_dev_ingests_answers_and_exposes_the_context_schema(tmp_path: Path) -> None:
    require_langgraph_dev()
    corpus = write_corpus(tmp_path)
    env = agent_env(
        tmp_path / ".ra",
        collection="studio",
        RESEARCH_AGENT_PROVIDER="offline",
        RESEARCH_AGENT_K="2",
        RESEARCH_AGENT_INGEST_ROOTS=str(tmp_path),
    )

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
    # the offline policy's first search is wide, 2k: 4 from RESEARCH_AGENT_K=2 of the server
    assert answer.steps.records[0].args["k"] == 4
    assert answer.steps.records[0].result == "2 hits"  # three chunks, two passages

    k1 = Answer.model_validate(out["k1"]["answer"])
    assert k1.steps.records[0].args["k"] == 2
    k5 = Answer.model_validate(out["k5"]["answer"])
    assert k5.steps.records[0].args["k"] == 10  # k=5 was not replaced by the server's 2

    errors = out["errors"]
    assert (
        "ConfigError: invalid setting k=0: Input should be greater than or equal to 1"
        in (errors["invalid context"])
    )
    assert (
        "ModelServerError: No vLLM server answers at http://localhost:8000/v1"
        in (errors["model server"])
    )
    assert "No such file or folder" in errors["store"] and "nonexistent" in errors["store"]
    assert "StoreError" in errors["collection"] and "missing" in errors["collection"]
    for refused in ("outside the roots", "out by .."):
        assert "IngestRefusedError" in errors[refused]
        assert "outside the folders this server may ingest" in errors[refused]
    assert out["mcp"] == 404  # langgraph.json turns the MCP endpoint off
    assert "internal error" not in " ".join(errors.values()).lower()

    schema = out["schemas"]["context_schema"]
    props = schema["properties"]
    assert set(props) == set(Context.model_fields)
    assert all(p.get("description") for p in props.values())
    assert (props["k"]["type"], props["k"]["minimum"], props["k"]["maximum"]) == ("integer", 1, 20)
    assert props["effort"]["enum"] == ["low", "medium", "high"]
    assert props["effort"]["default"] == "medium"
    assert "offline" in props["provider"]["anyOf"][0]["enum"]
    assert props["max_tool_calls"]["minimum"] == 1
    ingest_input = out["ingest_schemas"]["input_schema"]
    assert ingest_input is not None and set(ingest_input["properties"]) >= {"paths", "prune"}
