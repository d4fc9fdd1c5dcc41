"""The eval harness end to end: real Milvus Lite, real MiniLM, offline policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from agent.cli.evaluate import register
from agent.eval.harness import EvalReport, corpus_docs, evaluate, load_dataset, make_graphs, prepare
from agent.evidence.seen import artifacts, run_start
from agent.settings import Settings
from tests.support import shared_path
from tools.schemas import SearchResult


def _p(title: str, text: str) -> dict[str, str]:
    return {"title": title, "text": text}


QUESTIONS: list[dict[str, Any]] = [
    {
        "question": "Who founded the company that makes the Zephyr quadcopter?",
        "answer": "Jane Doe",
        "supporting_titles": ["Zephyr drone", "Acme Robotics"],
        "paragraphs": [
            _p("Zephyr drone", "The Zephyr drone is a quadcopter made by Acme Robotics."),
            _p("Acme Robotics", "Acme Robotics was founded by Jane Doe in 2011 in Oslo."),
            _p("Boreas kite", "The Boreas kite is a toy sold at summer fairs."),
            _p("Oslo", "Oslo is the capital of Norway and sits on a fjord."),
        ],
    },
    {
        "question": "In which city was the composer of the Quillfeather Sonata born?",
        "answer": "Bergen",
        "answer_aliases": ["Bergen, Norway"],
        "supporting_titles": ["Quillfeather Sonata", "Marta Lindqvist"],
        "paragraphs": [
            _p("Quillfeather Sonata", "The Quillfeather Sonata was written by Marta Lindqvist."),
            _p("Marta Lindqvist", "Marta Lindqvist is a composer who was born in Bergen."),
            _p("Piano sonata", "A piano sonata is a sonata written for unaccompanied piano."),
            _p("Bergen", "Bergen is a city on the west coast of Norway."),
        ],
    },
    {
        "question": "Which river flows through the capital of Verdania?",
        "answer": "Silverrun",
        "supporting_titles": ["Verdania", "Tallon"],
        "paragraphs": [
            _p("Verdania", "Verdania is a small country whose capital is Tallon."),
            _p("Tallon", "Tallon is a city; the Silverrun river flows through Tallon."),
            _p("Oslo", "Oslo is the capital of Norway and sits on a fjord."),  # a duplicate
            _p("Tallon", "Tallon is also a surname common in Brittany."),  # same title, new text
        ],
    },
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("eval") / "tiny.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("data"))


def test_corpus_is_deduplicated_and_keeps_same_title_paragraphs(dataset: Path) -> None:
    docs = corpus_docs(load_dataset(dataset))
    assert len(docs) == 11  # 12 paragraphs, one exact duplicate
    tallon = [d for d in docs if d.title == "Tallon"]
    assert len({d.source for d in tallon}) == 2
    assert tallon[0].source == "eval/tallon" and tallon[1].source.startswith("eval/tallon~")
    assert tallon[0].text.startswith("# Tallon\n\n")


def test_report_and_hand_computed_recall(dataset: Path, settings: Settings) -> None:
    # BM25 with k=1: the single-shot baseline sees only the one paragraph naming "Zephyr",
    # so it has 1 of the 2 gold titles of question 1.
    report = evaluate(dataset, k=1, mode="bm25", baseline="single-shot", settings=settings)
    first = report.questions[0]
    assert first.baseline is not None
    assert first.baseline.seen_titles == ["Zephyr drone"]
    assert first.baseline.evidence_recall == 0.5
    assert first.baseline.all_gold == 0.0
    # the agent searches a second time for the bridge (Acme Robotics) and finds it
    assert first.agent.evidence_recall == 1.0
    assert report.aggregate.n == report.baseline.n == 3  # type: ignore[union-attr]
    for q in report.questions:
        assert q.baseline is not None
        assert q.baseline.tool_calls == 1 and q.baseline.turns == 2
        assert q.agent.tool_calls >= 1


def test_every_gold_title_is_found_when_k_covers_the_corpus(
    dataset: Path, settings: Settings
) -> None:
    report = evaluate(dataset, limit=2, k=20, mode="hybrid", settings=settings)
    assert report.aggregate.n == 2 and report.baseline is None
    assert report.aggregate.evidence_recall == 1.0
    assert report.aggregate.all_gold == 1.0
    assert report.paragraphs == 11


def test_cli_writes_the_documented_json(dataset: Path, settings: Settings, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps `eval` a subcommand
    out = tmp_path / "report.json"
    args = [
        "eval",
        "--dataset",
        str(dataset),
        "--k",
        "3",
        "--mode",
        "dense",
        "--baseline",
        "single-shot",
        "--json",
        str(out),
        "--data-dir",
        str(settings.data_dir),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "| evidence recall |" in result.stdout and "| single-shot | agent |" in result.stdout
    data = json.loads(out.read_text())
    keys = {"evidence_recall", "all_gold", "citation_precision", "exact_match", "f1"}
    keys |= {"tool_calls", "seconds", "n"}
    assert keys <= set(data["aggregate"]) and keys <= set(data["baseline"])
    assert len(data["questions"]) == 3 and data["questions"][0]["baseline"]["tool_calls"] == 1
    assert data["k"] == 3 and data["mode"] == "dense"
    EvalReport.model_validate(data)


def test_a_k_schedule_gives_each_search_of_a_run_its_own_k(
    dataset: Path, settings: Settings
) -> None:
    items, context, _ = prepare(dataset, 1, "hybrid", "offline", settings)
    agent, baseline = make_graphs(context, 1, "hybrid", True, [3, 1])
    for graph, expected in ((agent, [3, 1]), (baseline, [1])):
        state = graph.invoke({"question": items[0].question}, context=context)
        searches = [a for a in artifacts(state["messages"]) if isinstance(a, SearchResult)]
        assert [len(s.hits) for s in searches] == expected
    # the second question of a thread starts the schedule again
    again = agent.invoke(
        {"messages": state["messages"], "question": items[1].question}, context=context
    )
    runs = [a for a in artifacts(again["messages"][run_start(again["messages"]) :])]
    assert [len(a.hits) for a in runs if isinstance(a, SearchResult)] == [3, 1]


def test_cli_rejects_a_bad_schedule(dataset: Path) -> None:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    args = ["eval", "--dataset", str(dataset), "--schedule", "10,x"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert "--schedule must be k values from 1 to 20" in str(result.exception)


def test_cli_rejects_a_bad_mode(dataset: Path) -> None:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["eval", "--dataset", str(dataset), "--mode", "fuzzy"])
    assert result.exit_code != 0
    assert "--mode must be dense, bm25 or hybrid" in str(result.exception)


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "paragraphs"),
    [("hotpotqa_train_100.jsonl", 994), ("musique_train_100.jsonl", 1890)],
)
def test_shared_dev_sets_load(name: str, paragraphs: int) -> None:
    root = shared_path()
    if root is None:
        pytest.skip("../shared (eval data) is not beside the project")
    items = load_dataset(root / "eval" / name)
    docs = corpus_docs(items)
    assert len(items) == 100 and len(docs) == paragraphs
    assert len({d.source for d in docs}) == len(docs)
    titles = {t for item in items for t in item.supporting_titles}
    assert titles <= {d.title for d in docs}
