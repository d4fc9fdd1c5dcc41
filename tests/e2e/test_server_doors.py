"""A LangGraph server's doors: the deployment guide's token auth, ingest roots, and MCP.

One `langgraph dev` per module, started with the project's langgraph.json plus the `auth`
block of docs/deployment.md (read from the guide itself) and MCP turned back on, as an
operator who wants MCP would. The server's allowed ingest folder is the test's corpus.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_langgraph_dev import require_langgraph_dev
from tests.support.agent_e2e import agent_env, langgraph_dev, write_corpus
from tests.support.foundation import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TOKEN = "doors-test-token-4f1c9a"
GUIDE = PROJECT_ROOT / "docs" / "deployment.md"
MCP_ACCEPT = {"Accept": "application/json, text/event-stream"}
PASSWD = Path("/etc/passwd")


def guide_auth_block() -> dict[str, Any]:
    """The langgraph.json `auth` example of docs/deployment.md, parsed."""
    blocks = re.findall(r"```json\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    (auth,) = [json.loads(b) for b in blocks if '"auth"' in b]
    return dict(auth["auth"])


def server_config(folder: Path) -> Path:
    """langgraph.json with absolute paths, the guide's auth block, and MCP on."""
    config = json.loads((PROJECT_ROOT / "langgraph.json").read_text())
    config["dependencies"] = [str(PROJECT_ROOT)]
    config["graphs"] = {
        name: str(PROJECT_ROOT / path.removeprefix("./")) for name, path in config["graphs"].items()
    }
    auth = guide_auth_block()
    auth["path"] = str(PROJECT_ROOT / auth["path"].removeprefix("./"))
    config["auth"] = auth
    config["http"] = {**config["http"], "disable_mcp": False}
    path = folder / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    require_langgraph_dev()
    root = tmp_path_factory.mktemp("doors")
    corpus = write_corpus(root)
    env = agent_env(
        root / ".ra",
        collection="doors",
        RESEARCH_AGENT_PROVIDER="offline",
        RESEARCH_AGENT_INGEST_ROOTS=str(corpus),
        RESEARCH_AGENT_SERVER_TOKEN=TOKEN,
    )
    with langgraph_dev(env, root / "langgraph-dev.log", config=server_config(root)) as url:
        yield url, corpus


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mcp(url: str, method: str, params: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(
        f"{url}/mcp",
        json=body,
        headers={**MCP_ACCEPT, **headers},
        timeout=60,
        trust_env=False,
    )


def test_the_guide_names_the_project_auth_module_and_closes_the_studio_bypass() -> None:
    auth = guide_auth_block()
    assert auth == {"path": "./agent/server_auth.py:auth", "disable_studio_auth": True}


def test_requests_without_the_token_are_refused(server: tuple[str, Path]) -> None:
    url, _ = server
    search = f"{url}/assistants/search"
    refused = {
        "no header": {},
        "wrong token": bearer("not-the-token"),
        "not bearer": {"Authorization": TOKEN},
        "studio header": {"x-auth-scheme": "langsmith"},
    }
    for why, headers in refused.items():
        resp = httpx.post(search, json={}, headers=headers, timeout=10, trust_env=False)
        assert resp.status_code == 401, (why, resp.status_code, resp.text)
        assert mcp(url, "tools/list", {}, headers).status_code == 401, why
    ok = httpx.post(search, json={}, headers=bearer(), timeout=10, trust_env=False)
    graphs = {a["graph_id"] for a in ok.json()}
    assert ok.status_code == 200 and graphs == {"research", "report", "ingest"}


async def _sdk_ingests(url: str, corpus: Path) -> dict[str, Any]:
    from langgraph_sdk import get_client

    client = get_client(url=url, headers=bearer())
    out: dict[str, Any] = {}
    for name, paths in (
        ("etc", ["/etc"]),
        ("passwd", [str(PASSWD)]),
        ("dotdot", [str(corpus / ".." / ".." / ".." / "etc")]),
        ("one bad of two", [str(corpus), "/etc"]),
    ):
        try:
            out[name] = await client.runs.wait(None, "ingest", input={"paths": paths})
        except Exception as exc:  # the SDK raises with the server's message
            out[name] = str(exc)
    out["corpus"] = await client.runs.wait(None, "ingest", input={"paths": [str(corpus)]})
    return out


def test_ingest_outside_the_allowed_folder_is_refused(server: tuple[str, Path]) -> None:
    url, corpus = server
    out = asyncio.run(asyncio.wait_for(_sdk_ingests(url, corpus), timeout=120))
    for name in ("etc", "passwd", "dotdot", "one bad of two"):
        assert isinstance(out[name], str), (name, out[name])
        assert "IngestRefusedError" in out[name], out[name]
        assert "outside the folders this server may ingest" in out[name]
    report = out["corpus"]["report"]
    assert (report["new"] + report["unchanged"], report["skipped"]) == (2, [])


def test_mcp_offers_no_way_to_read_the_servers_files(server: tuple[str, Path]) -> None:
    url, corpus = server
    listed = mcp(url, "tools/list", {}, bearer())
    assert listed.status_code == 200, listed.text
    tools = {t["name"]: t for t in listed.json()["result"]["tools"]}
    assert set(tools) == {"research", "report", "ingest"}  # report: research loops, read-only
    # the tools' inputs: a question (and chat history), and paths bound by the allowed roots
    assert set(tools["research"]["inputSchema"]["properties"]) == {"question", "messages"}
    assert set(tools["report"]["inputSchema"]["properties"]) == {"topic", "review"}
    assert set(tools["ingest"]["inputSchema"]["properties"]) <= {
        "paths",
        "prune",
        "include",
        "exclude",
        "report",
    }

    for paths in (["/etc"], [str(PASSWD)], [str(corpus / ".." / ".." / "..")]):
        called = mcp(url, "tools/call", {"name": "ingest", "arguments": {"paths": paths}}, bearer())
        assert called.status_code == 200, called.text
        result = called.json()["result"]
        assert result.get("isError") is True, result
        assert result["content"][0]["text"] == "IngestRefusedError"  # MCP shows the type only

    ingested = mcp(
        url, "tools/call", {"name": "ingest", "arguments": {"paths": [str(corpus)]}}, bearer()
    )
    assert "isError" not in ingested.json()["result"], ingested.text
    asked = mcp(
        url,
        "tools/call",
        {"name": "research", "arguments": {"question": "What does /etc/passwd say about root?"}},
        bearer(),
    )
    assert asked.status_code == 200, asked.text
    text = asked.json()["result"]["content"][0]["text"]
    assert "heron.md" in text or "osprey.md" in text  # it answered from the indexed corpus
    assert "/etc/passwd" not in text.replace("What does /etc/passwd say about root?", "")
    if PASSWD.is_file():
        first = PASSWD.read_text(encoding="utf-8", errors="replace").splitlines()[0]
        assert first not in text
