"""The document commands of the real `research-agent` console script, run as subprocesses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.foundation import clean_env, run_cli
from tools.render import render_search
from tools.schemas import SearchHit, SearchResult

pytestmark = pytest.mark.slow  # the console script in subprocesses

GUIDE = "# Index guide\n\n" + "".join(
    f"Step {n}: HNSW index tuning note number {n} about efConstruction.\n" for n in range(3, 41)
)
FAQ = "# FAQ\n\n## Where is data stored?\n\nInserted data goes to object storage as binlogs.\n"


@dataclass
class Cli:
    root: Path
    env: dict[str, str]
    ingest_stdout: str

    def run(self, *args: str) -> tuple[int, str, str]:
        res = run_cli(*args, env=self.env, cwd=self.root)
        return res.returncode, res.stdout, res.stderr


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("cli")
    (root / "docs").mkdir()
    (root / "docs" / "guide.md").write_text(GUIDE, encoding="utf-8")
    (root / "docs" / "faq.md").write_text(FAQ, encoding="utf-8")
    env = clean_env(RESEARCH_AGENT_MILVUS_URI=str(root / "m.db"))
    res = run_cli("ingest", "docs", "--json", env=env, cwd=root)
    assert res.returncode == 0, res.stderr
    yield Cli(root, env, res.stdout)


def test_ingest_json_is_one_object_with_the_counts(cli: Cli) -> None:
    lines = cli.ingest_stdout.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert {"new", "changed", "unchanged", "removed", "chunks_written", "seconds"} <= set(data)
    assert (data["new"], data["changed"], data["unchanged"], data["removed"]) == (2, 0, 0, 0)
    assert data["chunks_written"] >= 2 and data["seconds"] >= 0
    code, out, err = cli.run("ingest", "docs", "--json")
    assert code == 0, err
    again = json.loads(out)
    assert (again["new"], again["unchanged"], again["chunks_written"]) == (0, 2, 0)


def test_ingest_text_summary(cli: Cli) -> None:
    code, out, err = cli.run("ingest", "docs")
    assert code == 0, err
    assert out.startswith("files: 0 new, 0 changed, 2 unchanged, 0 removed, 0 skipped;")
    assert f"-> {cli.root / 'm.db'} [research_agent]" in out


def test_search_json_lists_hits_with_their_fields(cli: Cli) -> None:
    code, out, err = cli.run("search", "where is inserted data stored", "-k", "3", "--json")
    assert code == 0, err
    hits = json.loads(out)
    assert isinstance(hits, list) and 1 <= len(hits) <= 3
    fields = {"cursor", "doc_id", "source", "title", "start_line", "end_line", "score", "text"}
    for h in hits:
        assert fields <= set(h)
    top = hits[0]
    assert (top["source"], top["title"], top["cursor"]) == ("docs/faq.md", "FAQ", 0)
    lines = FAQ.splitlines(keepends=True)
    assert top["text"] == "".join(lines[top["start_line"] - 1 : top["end_line"]])


@pytest.mark.parametrize("mode", ["hybrid", "bm25"])
def test_search_text_is_what_the_model_reads(cli: Cli, mode: str) -> None:
    query = ["HNSW efConstruction tuning", "-k", "4", "--source", "docs/", "--mode", mode]
    code, text, err = cli.run("search", *query)
    assert code == 0, err
    code, js, err = cli.run("search", *query, "--json")
    assert code == 0, err
    hits = [SearchHit(**h) for h in json.loads(js)]
    result = SearchResult(
        query="HNSW efConstruction tuning", k=4, source_prefix="docs/", mode=mode, hits=hits
    )
    assert text == render_search(result) + "\n"
    assert text.startswith("Search results for \"HNSW efConstruction tuning\" under 'docs/' (")


def test_fetch_prints_numbered_lines(cli: Cli) -> None:
    code, out, err = cli.run("fetch", "docs/guide.md", "--start-line", "5", "--num-lines", "3")
    assert code == 0, err
    lines = GUIDE.splitlines()
    assert out.splitlines() == [
        f"【0†Index guide†docs/guide.md】 viewing lines [5 - 7] of {len(lines)}",
        f"L5: {lines[4]}",
        f"L6: {lines[5]}",
        f"L7: {lines[6]}",
        "(more: fetch_doc cursor=0, start_line=8)",
    ]
    code, out, err = cli.run("fetch", "docs/guide.md", "--start-line", "39", "--json")
    assert code == 0, err
    window = json.loads(out)
    assert (window["start_line"], window["end_line"], window["total_lines"]) == (39, 40, 40)
    assert window["lines"] == lines[38:40]
    code, out, err = cli.run("fetch", "docs/guide.md", "--start-line", "5", "--char-offset", "8")
    assert code == 0, err
    assert out.splitlines()[1] == f"L5: [… 8 characters before] {lines[4][8:]}"


def one_error_line(code: int, out: str, err: str, expected: int = 1) -> str:
    assert code == expected, (out, err)
    assert "Traceback" not in err and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_errors_are_one_line_and_exit_1(cli: Cli, tmp_path: Path) -> None:
    line = one_error_line(*cli.run("fetch", "docs/nope.md"))
    assert line == (
        "error: No document 'docs/nope.md' in collection 'research_agent'. "
        "Use a doc_id or source from `research-agent search --json`."
    )
    line = one_error_line(*cli.run("fetch", "docs/guide.md", "--start-line", "99"))
    assert "it has lines 1-40" in line
    line = one_error_line(*cli.run("fetch", "docs/guide.md", "--char-offset", "500"))
    assert line == (
        "error: char_offset 500 is past the end of line 1: it has 13 characters. "
        "Use a char_offset between 0 and 12, or start_line=2 for the next line."
    )
    line = one_error_line(*cli.run("search", "x", "--mode", "fuzzy"), expected=2)  # a usage error
    assert line == "error: --mode must be hybrid, dense or bm25, not 'fuzzy'."
    line = one_error_line(*cli.run("ingest", "missing-folder"))
    assert line.startswith("error: No such file or folder: missing-folder")

    empty = clean_env(RESEARCH_AGENT_MILVUS_URI=str(tmp_path / "empty.db"))
    res = run_cli("search", "anything", env=empty, cwd=tmp_path)
    line = one_error_line(res.returncode, res.stdout, res.stderr)
    assert line == (
        f"error: No collection 'research_agent' at {tmp_path / 'empty.db'}. "
        "Run `research-agent ingest PATH` first."
    )
    res = run_cli("fetch", "docs/guide.md", env=empty, cwd=tmp_path)
    assert "Run `research-agent ingest PATH` first." in one_error_line(
        res.returncode, res.stdout, res.stderr
    )


def test_help_lists_the_document_commands() -> None:
    from agent.cli.app import app

    res = CliRunner().invoke(app, ["--help"])
    assert res.exit_code == 0
    commands = {ln.split()[1] for ln in res.output.splitlines() if ln.startswith("│ ")}
    assert {"ingest", "search", "fetch"} <= commands
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in ("ingest", "search", "fetch"):
        assert f"│ {name} " in proc.stdout
