"""Quality: FAQ retrieval per fusion, and the agent vs single-shot on the multi-hop dev sets.

--faq: the labelled FAQ paraphrases (tests/fixtures/faq_labelled.jsonl) over the shared
Milvus FAQ corpus, hit@1 / hit@3 / MRR at each k for dense, BM25 and hybrid with each
fusion (minmax, rrf), side by side, from one index built in the same run.

Otherwise: for each dataset, search mode (dense, bm25, hybrid) and k (5, 10) it runs
`evaluate` with `baseline="single-shot"`: both systems answer every question in the same
process, over the same index, with the same k per search. The index is cached in the data
folder. RESEARCH_AGENT_FUSION chooses the hybrid fusion there.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
FAQ = ROOT.parent / "shared" / "corpora" / "milvus_faq"
LABELS = ROOT / "tests" / "fixtures" / "faq_labelled.jsonl"
FAQ_SYSTEMS = (("dense", "minmax"), ("bm25", "minmax"), ("hybrid", "rrf"), ("hybrid", "minmax"))
DATASETS = ("hotpotqa_train_100.jsonl", "musique_train_100.jsonl")
METRICS = (
    "evidence_recall",
    "all_gold",
    "docs_seen",
    "citation_precision",
    "f1",
    "answer_contained",
)


def shrink(path: Path, n: int, out: Path) -> Path:
    """The first n questions as a dataset of their own (a corpus small enough for CI)."""
    lines = path.read_text(encoding="utf-8").splitlines()[:n]
    target = out / path.name
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="3 questions per set, own corpus")
    parser.add_argument("--limit", type=int, default=None, help="questions per dataset")
    parser.add_argument("--modes", default="dense,bm25,hybrid")
    parser.add_argument("--ks", default="5,10", help="'' with --strategy: no single-shot rows")
    parser.add_argument(
        "--datasets", default="hotpotqa,musique", help="which dev sets, by name prefix"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="index cache folder")
    parser.add_argument("--json", type=Path, default=None, help="write all aggregates here")
    parser.add_argument("--faq", action="store_true", help="FAQ retrieval per fusion instead")
    parser.add_argument(
        "--strategy",
        action="store_true",
        help="hybrid only: single-shot at each --ks beside the agent on each --schedules",
    )
    parser.add_argument(
        "--schedules",
        default="5;10;10,5;10,3;15,5",
        help="agent k per search, e.g. '10,5' (first search 10, later ones 5); ';' between",
    )
    args = parser.parse_args()
    if args.faq:
        faq([int(k) for k in args.ks.split(",")])
        return
    if not EVAL.is_dir():
        raise SystemExit(f"{EVAL} not found (../shared beside the project?)")
    from agent.eval.harness import evaluate
    from agent.settings import Settings

    tmp = tempfile.TemporaryDirectory(prefix="ra-quality-")
    wanted = tuple(args.datasets.split(","))
    files = [EVAL / name for name in DATASETS if name.startswith(wanted)]
    if not files:
        raise SystemExit(f"error: --datasets names none of {', '.join(DATASETS)}")
    if args.smoke:
        files = [shrink(f, 3, Path(tmp.name)) for f in files]
    data_dir = Path(tmp.name) / "data" if args.smoke else args.data_dir
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    modes, ks = args.modes.split(","), [int(k) for k in args.ks.split(",") if k.strip()]
    if args.strategy:
        schedules = [[int(k) for k in s.split(",")] for s in args.schedules.split(";")]
        for path in files:
            strategy(path, settings, args.limit, ks, schedules)
        tmp.cleanup()
        return
    rows, dump = [], []
    for path in files:
        for mode in modes:
            for k in ks:
                t0 = time.perf_counter()
                report = evaluate(
                    path,
                    args.limit,
                    k,
                    mode,
                    "offline",
                    "single-shot",  # type: ignore[arg-type]
                    settings=settings,
                )
                base, agent = report.baseline, report.aggregate
                assert base is not None
                print(
                    f"# {path.name} {mode} k={k}: {agent.n} questions, index "
                    f"{report.index_seconds:.1f} s, total {time.perf_counter() - t0:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
                rows.append((path.name.split("_")[0], mode, k, base, agent))
                dump.append({"dataset": path.name, "mode": mode, "k": k})
                dump[-1].update(baseline=base.model_dump(), agent=agent.model_dump())
    head = " | ".join(f"{m} (1-shot / agent)" for m in METRICS)
    print(
        f"\n| dataset | mode | k | n | {head} | agent tools | agent s/q "
        "| agent - 1-shot: recall / all-gold |"
    )
    print("|---|---|---:|---:|" + "---:|" * len(METRICS) + "---:|---:|---|")
    for name, mode, k, base, agent in rows:
        cells = " | ".join(f"{_f(getattr(base, m))} / {_f(getattr(agent, m))}" for m in METRICS)
        gain = f"{_delta(agent.evidence_recall, base.evidence_recall)} / "
        gain += _delta(agent.all_gold, base.all_gold)
        print(
            f"| {name} | {mode} | {k} | {agent.n} | {cells} | {agent.tool_calls:.1f} | "
            f"{agent.seconds:.3f} | {gain} |"
        )
    equal_budget(rows)
    if args.json:
        args.json.write_text(json.dumps(dump, indent=2), encoding="utf-8")
    tmp.cleanup()


def strategy(
    path: Path, settings: Any, limit: int | None, ks: list[int], schedules: list[list[int]]
) -> None:
    """Single-shot at each k and the offline agent on each k schedule, hybrid, one index."""
    from agent.eval.harness import aggregate, make_graphs, prepare, run_question

    items, context, _ = prepare(path, 5, "hybrid", "offline", settings)
    items = items[:limit]
    systems: list[tuple[str, Any]] = []
    systems += [(f"single-shot k={k}", make_graphs(context, k, "hybrid", True)[1]) for k in ks]
    for schedule in schedules:
        name = "agent k=" + " then ".join(str(k) for k in schedule)
        systems.append((name, make_graphs(context, schedule[0], "hybrid", False, schedule)[0]))
    print(f"\n{path.name}: {len(items)} questions, hybrid\n")
    print("| system | docs seen | evidence recall | all gold | tool calls | s/q |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, graph in systems:
        t0 = time.perf_counter()
        runs = [
            run_question(
                graph, context, it.question, [it.answer, *it.answer_aliases], it.supporting_titles
            )
            for it in items
        ]
        agg = aggregate(runs)
        print(
            f"| {name} | {_f(agg.docs_seen)} | {_f(agg.evidence_recall)} | {_f(agg.all_gold)} "
            f"| {_f(agg.tool_calls)} | {(time.perf_counter() - t0) / len(items):.3f} |",
            flush=True,
        )


def faq(ks: list[int]) -> None:
    """FAQ hit@1 / hit@3 / MRR per search mode and fusion, at each k, from one index."""
    if not FAQ.is_dir():
        raise SystemExit(f"{FAQ} not found (../shared beside the project?)")
    from agent import documents
    from agent.eval.faq import faq_entries, figures, first_rank, load_labels
    from agent.settings import Settings

    tmp = tempfile.TemporaryDirectory(prefix="ra-faq-")
    base = Settings(milvus_uri=f"{tmp.name}/m.db", collection="faq", data_dir=Path(tmp.name))
    documents.ingest([FAQ], base)
    labels = load_labels(LABELS, faq_entries(FAQ))
    print(f"\nFAQ retrieval, {len(labels)} labelled questions (hit@1 / hit@3 / MRR)\n")
    print(
        "| k | " + " | ".join(f"{m} ({f})" if m == "hybrid" else m for m, f in FAQ_SYSTEMS) + " |"
    )
    print("|---:|" + "---|" * len(FAQ_SYSTEMS))
    for k in ks:
        cells = []
        for mode, fusion in FAQ_SYSTEMS:
            settings = base.model_copy(update={"fusion": fusion})
            t0 = time.perf_counter()
            ranks = [
                first_rank(documents.search(q, k, None, settings, mode).hits, wanted)  # type: ignore[arg-type]
                for q, wanted in labels
            ]
            ms = (time.perf_counter() - t0) / len(labels) * 1000
            f = figures(ranks)
            cells.append(f"{f['hit@1']:.2f} / {f['hit@3']:.2f} / {f['mrr']:.3f} ({ms:.0f} ms)")
        print(f"| {k} | " + " | ".join(cells) + " |")
    tmp.cleanup()


def equal_budget(rows: list[tuple[str, str, int, Any, Any]]) -> None:
    """The agent at k beside single-shot at 2k: about as many documents seen by each."""
    base_at = {(name, mode, k): base for name, mode, k, base, _ in rows}
    pairs = [
        (r, base_at[(r[0], r[1], 2 * r[2])]) for r in rows if (r[0], r[1], 2 * r[2]) in base_at
    ]
    if not pairs:
        return
    print(
        "\n| dataset | mode | agent k | 1-shot k | docs seen (1-shot / agent) "
        "| recall (1-shot / agent) | all_gold (1-shot / agent) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for (name, mode, k, _, agent), base in pairs:
        cells = " | ".join(
            f"{_f(getattr(base, m))} / {_f(getattr(agent, m))}"
            for m in ("docs_seen", "evidence_recall", "all_gold")
        )
        print(f"| {name} | {mode} | {k} | {2 * k} | {cells} |")


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _delta(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a - b:+.3f}"


if __name__ == "__main__":
    main()
