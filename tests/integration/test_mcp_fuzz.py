"""Hostile and random arguments to the MCP server's tools: nothing but ingested documents ever
comes back, every failure is a one-line tool error, and the collection never changes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.types import TextContent

from agent.settings import Settings
from tests.support.faults import TINY_DOCS, tiny_lite
from tests.support.mcp_client import in_process
from tools.store import close_stores, open_store

SECRET = "TOP-SECRET-7f3a not an ingested document"
PASSWD_LINE = "root:x:0:0"


@pytest.fixture
def lite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.md").write_text(f"# Secret\n\n{SECRET}\n", encoding="utf-8")
    (tmp_path / "drones").mkdir()
    (tmp_path / "drones" / "notes.md").write_text(f"{SECRET}\n", encoding="utf-8")
    settings = tiny_lite(tmp_path)
    yield settings
    close_stores()


def _paths(root: Path) -> list[str]:
    """Names of files that exist but are not ingested, in the forms users and attackers type."""
    secret = root / "secret.md"
    return [
        "secret.md",
        "./secret.md",
        str(secret),
        f"{root}/drones/../secret.md",
        "drones/notes.md",
        "drones/../secret.md",
        "../" * 12 + "etc/passwd",
        "/etc/passwd",
        "file:///etc/passwd",
        "/proc/self/environ",
        "~/.bashrc",
        "m.db",
        str(root / "m.db"),
        "*",
        "%",
        "' or '1'='1",
        'companies/acme.md" or source like "%',
        "companies/acme.md\x00/../secret.md",
    ]


def _calls(root: Path) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    text = st.one_of(
        st.sampled_from(_paths(root)),
        st.text(max_size=40),
        st.text(alphabet="ab/.\\%*'\"\x00\n", max_size=30),
        st.builds(lambda c, n: c * n, st.sampled_from("x/é\n"), st.integers(1000, 200_000)),
        st.from_regex(r"[0-9a-f]{16,64}", fullmatch=True),
    )
    anything = st.one_of(
        text, st.integers(-(10**12), 10**12), st.none(), st.booleans(), st.lists(st.integers())
    )
    day = st.one_of(st.dates().map(str), anything)
    search = st.fixed_dictionaries(
        {"query": text},
        optional={
            "k": st.one_of(st.integers(-5, 40), anything),
            "source": text,
            "file_type": st.one_of(text, anything),
            "modified_after": day,
            "modified_before": day,
            "title_contains": st.one_of(text, anything),
            "tags": st.one_of(st.lists(text, max_size=3), anything),
        },
    )
    fetch = st.fixed_dictionaries(
        {"doc_id": text},
        optional={
            "start_line": st.one_of(st.integers(-3, 10), anything),
            "num_lines": st.one_of(st.integers(-3, 300), anything),
            "cursor": anything,
        },
    )
    junk = st.dictionaries(st.sampled_from(["path", "doc_id", "query", "sql"]), anything)
    return st.one_of(
        st.tuples(st.just("search"), search),
        st.tuples(st.just("fetch"), fetch),
        st.tuples(st.sampled_from(["ingest", "delete", "read_file", "search "]), junk),
    )


def _fingerprint(settings: Settings) -> tuple[int, str]:
    """Chunk count and a hash over every chunk of every document, in order."""
    store = open_store(settings)
    digest = hashlib.sha256()
    for doc_id in sorted(store.doc_states()):
        for chunk in store.get_chunks(doc_id):
            digest.update(chunk.model_dump_json().encode())
    return store.count(), digest.hexdigest()


def _check(result: Any, allowed: set[str]) -> None:
    text = "".join(c.text for c in result.content if isinstance(c, TextContent))
    assert SECRET not in text and PASSWD_LINE not in text
    if result.isError:
        assert "\n" not in text and "Traceback" not in text and len(text) <= 400
        return
    data = result.structuredContent
    sources = {h["source"] for h in data["hits"]} if "hits" in data else {data["source"]}
    assert sources <= allowed, sources
    assert json.loads(text) == data


def _fuzz(settings: Settings, calls: int, per_session: int) -> None:
    root = Path.cwd()
    allowed = set(TINY_DOCS)
    done: list[int] = []

    @settings_for(calls // per_session)
    @given(batch=st.lists(_calls(root), min_size=per_session, max_size=per_session))
    def run(batch: list[tuple[str, dict[str, Any]]]) -> None:
        async def go() -> None:
            async with in_process(settings) as session:
                for name, args in batch:
                    _check(await session.call_tool(name, args), allowed)

        asyncio.run(go())
        done.append(len(batch))

    run()
    assert sum(done) == calls


def settings_for(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def test_hostile_paths_never_read_a_file(lite: Settings) -> None:
    async def go() -> list[Any]:
        async with in_process(lite) as session:
            results = []
            for path in _paths(Path.cwd()):
                results.append(await session.call_tool("fetch", {"doc_id": path}))
                results.append(await session.call_tool("search", {"query": path, "source": path}))
            return results

    results = asyncio.run(go())
    for result in results:
        _check(result, set(TINY_DOCS))
    assert all(r.isError for r in results[::2])  # no path above names an ingested document
    assert os.path.exists("secret.md")


def test_ask_about_a_file_that_is_not_ingested_cites_only_ingested_ones(lite: Settings) -> None:
    run = {"provider": "offline", "milvus_uri": lite.milvus_uri, "collection": lite.collection}

    async def go() -> list[Any]:
        async with in_process(lite, run) as session:
            return [
                await session.call_tool("ask", {"question": f"What does {path} say?"})
                for path in ("secret.md", str(Path.cwd() / "secret.md"), "/etc/passwd")
            ]

    for result in asyncio.run(go()):
        text = "".join(c.text for c in result.content if isinstance(c, TextContent))
        assert not result.isError and SECRET not in text and PASSWD_LINE not in text
        cited = {c["source"] for c in result.structuredContent["citations"]}
        assert cited <= set(TINY_DOCS)


def test_random_calls_are_answered_or_refused_in_one_line(lite: Settings) -> None:
    _fuzz(lite, calls=100, per_session=20)


@pytest.mark.slow
def test_a_thousand_random_calls_leave_the_collection_unchanged(lite: Settings) -> None:
    before = _fingerprint(lite)
    _fuzz(lite, calls=1000, per_session=50)
    assert _fingerprint(lite) == before
    assert before[0] > 0
