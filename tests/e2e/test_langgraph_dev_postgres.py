"""`langgraph dev` with the project's checkpointer: Studio's threads land in PostgreSQL.

langgraph.json's `checkpointer.path` (docs/deployment.md) names
agent.threads:server_checkpointer, which follows RESEARCH_AGENT_CHECKPOINT_URI. Needs
RESEARCH_AGENT_TEST_POSTGRES_URI (`.ci/run` provides it).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from agent.api import thread_state
from tests.support.agent_e2e import QUESTION, agent_env, langgraph_dev, write_corpus
from tests.support.foundation import PROJECT_ROOT

PG_URI = os.environ.get("RESEARCH_AGENT_TEST_POSTGRES_URI", "")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not PG_URI,
        reason="no PostgreSQL: set RESEARCH_AGENT_TEST_POSTGRES_URI "
        '(eval "$(.ci/postgres.sh start)" starts one)',
    ),
]


def config_with_checkpointer(folder: Path) -> Path:
    """The project's langgraph.json plus the documented `checkpointer` key, in `folder`."""
    config = json.loads((PROJECT_ROOT / "langgraph.json").read_text())
    config["dependencies"] = [str(PROJECT_ROOT)]
    config["graphs"] = {
        name: str(PROJECT_ROOT / path.removeprefix("./")) for name, path in config["graphs"].items()
    }
    config["checkpointer"] = {
        "path": f"{PROJECT_ROOT / 'agent' / 'threads.py'}:server_checkpointer"
    }
    path = folder / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


async def drive(url: str, corpus: Path) -> tuple[str, dict[str, Any]]:
    from langgraph_sdk import get_client

    client = get_client(url=url)
    await client.runs.wait(None, "ingest", input={"paths": [str(corpus)]})
    thread = await client.threads.create()
    final = await client.runs.wait(thread["thread_id"], "research", input={"question": QUESTION})
    assert isinstance(final, dict)
    return thread["thread_id"], final


def test_studio_threads_are_kept_in_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = agent_env(
        tmp_path / ".ra",
        RESEARCH_AGENT_CHECKPOINT_URI=PG_URI,
        RESEARCH_AGENT_PROVIDER="offline",
        RESEARCH_AGENT_INGEST_ROOTS=str(tmp_path),
    )
    corpus = write_corpus(tmp_path)
    config = config_with_checkpointer(tmp_path)
    with langgraph_dev(env, tmp_path / "server.log", config=config) as url:
        thread_id, final = asyncio.run(drive(url, corpus))
    assert final["answer"]["status"] == "answered"
    # read back from PostgreSQL by this process, with the server gone
    monkeypatch.setenv("RESEARCH_AGENT_CHECKPOINT_URI", PG_URI)
    state = thread_state(thread_id, data_dir=tmp_path / ".ra", milvus_uri=str(tmp_path / "x.db"))
    assert [m.content for m in state.values["messages"] if m.type == "human"] == [QUESTION]
    assert state.values["answer"].status == "answered"
