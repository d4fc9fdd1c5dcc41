"""`docs list|rm` and `collections [rm]` over a real Milvus Lite database (issue 9, item 5)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cli.app import main
from tests.support.faults import TINY_DOCS, tiny_lite
from tools.store import close_stores

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def lite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    settings = tiny_lite(tmp_path)
    close_stores()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RESEARCH_AGENT_MILVUS_URI", settings.resolved_milvus_uri())
    yield tmp_path
    close_stores()


def cli(
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: str = "",
) -> tuple[int | str | None, str, str]:
    monkeypatch.setattr("sys.argv", ["research-agent", *argv])
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code: int | str | None = 0
    try:
        main()
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def test_docs_list_and_rm(
    lite: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(["docs", "list", "--json"], monkeypatch, capsys)
    assert code == 0, err
    docs = json.loads(out)
    assert [(d["source"], d["title"], d["ingested"]) for d in docs] == [
        ("companies/acme.md", "Acme Robotics", "unknown"),
        ("drones/zephyr.md", "Zephyr drone", "unknown"),
    ]
    assert all(d["chunks"] >= 1 for d in docs) and len(docs) == len(TINY_DOCS)
    code, out, _ = cli(["docs", "list"], monkeypatch, capsys)
    assert out.splitlines()[0].startswith("companies/acme.md  ")
    assert out.splitlines()[-1] == f"2 documents, {sum(d['chunks'] for d in docs)} chunks"

    acme = docs[0]["chunks"]
    code, out, err = cli(["docs", "rm", "companies/acme.md", "--json"], monkeypatch, capsys)
    assert code == 0, err
    assert json.loads(out) == {"removed": {"companies/acme.md": acme}, "chunks": acme}
    code, out, _ = cli(["docs", "list", "--json"], monkeypatch, capsys)
    assert [d["source"] for d in json.loads(out)] == ["drones/zephyr.md"]
    code, out, _ = cli(["search", "founded", "--json"], monkeypatch, capsys)
    assert {h["source"] for h in json.loads(out)} == {"drones/zephyr.md"}

    code, out, err = cli(["docs", "rm", "drones/zephyr.md", "nope.md"], monkeypatch, capsys)
    assert code == 1 and out == ""
    assert err.startswith("error: No document 'nope.md' in collection 'research_agent'; nothing")
    code, out, _ = cli(["docs", "list", "--json"], monkeypatch, capsys)
    assert len(json.loads(out)) == 1  # nothing removed when one name is unknown


def test_collections_list_and_rm_asks_first(
    lite: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(["collections", "--json"], monkeypatch, capsys)
    assert code == 0, err
    (info,) = json.loads(out)
    assert info["name"] == "research_agent" and info["chunks"] >= 2
    assert info["embedder"].startswith("all-MiniLM-L6-v2")
    assert info["index"] == "dense:HNSW, sparse:SPARSE_INVERTED_INDEX"

    code, out, err = cli(["collections", "rm", "research_agent"], monkeypatch, capsys, "n\n")
    assert code == 1 and "kept; nothing removed" in err
    code, out, err = cli(["collections", "rm", "research_agent"], monkeypatch, capsys, "")
    assert code == 1 and "kept; nothing removed" in err  # no answer (stdin closed) keeps it
    code, out, _ = cli(["collections"], monkeypatch, capsys)
    assert out.startswith("research_agent  ")

    code, out, err = cli(["collections", "rm", "research_agent", "--yes"], monkeypatch, capsys)
    assert (code, out) == (0, f"removed collection research_agent ({info['chunks']} chunks)\n")
    code, out, _ = cli(["collections"], monkeypatch, capsys)
    assert out.startswith("no collections yet")
    code, out, err = cli(["collections", "rm", "research_agent", "-y"], monkeypatch, capsys)
    assert code == 1 and err.startswith("error: No collection 'research_agent' at ")


def test_ingest_time_is_kept_for_documents_ingested_from_now_on(
    lite: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The two tiny docs were indexed without times (as by an older version): "unknown".
    (lite / "new.md").write_text("# New\n\nA note written today.\n", encoding="utf-8")
    code, _, err = cli(["ingest", "new.md"], monkeypatch, capsys)
    assert code == 0, err
    code, out, _ = cli(["docs", "list", "--json"], monkeypatch, capsys)
    when = {d["source"]: d["ingested"] for d in json.loads(out)}
    assert when["companies/acme.md"] == when["drones/zephyr.md"] == "unknown"
    stamped = when["new.md"]
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", stamped)

    code, _, _ = cli(["ingest", "new.md"], monkeypatch, capsys)  # unchanged: same time
    code, out, _ = cli(["docs", "list", "--json"], monkeypatch, capsys)
    assert {d["source"]: d["ingested"] for d in json.loads(out)}["new.md"] == stamped
    code, out, _ = cli(["docs", "list"], monkeypatch, capsys)
    assert f"new.md  1 chunk  ingested {stamped}  New" in out.splitlines()
