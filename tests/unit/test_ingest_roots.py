"""The ingest graph reads only under the server's allowed roots (RESEARCH_AGENT_INGEST_ROOTS)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.nodes.ingest import IngestRefusedError, allowed_paths
from agent.settings import Context, Settings


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "sub" / "a.md").write_text("# A\n", encoding="utf-8")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "secret.md").write_text("# S\n", encoding="utf-8")
    (tmp_path / "docs" / "link").symlink_to(tmp_path / "private")
    return tmp_path


def roots(*paths: Path) -> Settings:
    return Settings(ingest_roots=os.pathsep.join(str(p) for p in paths))


def test_paths_under_a_root_pass_as_given(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    settings = roots(tree / "other", tree / "docs")
    given = [str(tree / "docs"), str(tree / "docs" / "sub" / "a.md"), "docs/sub"]
    assert allowed_paths(given, settings) == given


@pytest.mark.parametrize(
    "path",
    ["/etc", "/etc/passwd", "docs/../private", "docs/link", "docs/link/secret.md", ".", "docs2"],
)
def test_paths_outside_every_root_are_refused(
    tree: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.chdir(tree)
    (tree / "docs2").mkdir()
    with pytest.raises(IngestRefusedError) as caught:
        allowed_paths(["docs/sub", path], roots(tree / "docs"))
    message = str(caught.value)
    assert message.startswith(f"'{path}' is outside the folders this server may ingest")
    assert "RESEARCH_AGENT_INGEST_ROOTS" in message


def test_with_no_roots_the_server_ingests_nothing(tree: Path) -> None:
    with pytest.raises(IngestRefusedError, match="This server does not ingest: no folders"):
        allowed_paths([str(tree / "docs")], Settings())


def test_paths_must_be_a_list_of_strings(tree: Path) -> None:
    for bad in ("docs", [1], [["docs"]]):
        with pytest.raises(IngestRefusedError, match='"paths" must be a list'):
            allowed_paths(bad, roots(tree))


def test_the_ingest_graph_refuses_before_opening_anything(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphs.ingest import graph

    monkeypatch.chdir(tree)
    with pytest.raises(IngestRefusedError):
        graph.invoke({"paths": ["/etc"]}, context=Context(milvus_uri=str(tree / "m.db")))
    monkeypatch.setenv("RESEARCH_AGENT_INGEST_ROOTS", str(tree / "docs"))
    with pytest.raises(IngestRefusedError, match="'/etc' is outside"):
        graph.invoke({"paths": ["/etc"]}, context=Context(milvus_uri=str(tree / "m.db")))
    assert not (tree / "m.db").exists()  # refused before Milvus was opened


def test_a_run_context_cannot_widen_the_roots() -> None:
    with pytest.raises(Exception, match="ingest_roots is not a run option"):
        Context(ingest_roots="/")  # type: ignore[call-arg]
