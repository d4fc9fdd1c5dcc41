"""Quality: the agent (offline policy) vs the single-shot baseline on the multi-hop dev sets.

For each dataset, search mode (dense, bm25, hybrid) and k (5, 10) it runs `evaluate` with
`baseline="single-shot"`: both systems answer every question in the same process, over the
same index, with the same k per search. The index is cached in the data folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
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
    parser.add_argument("--ks", default="5,10")
    parser.add_argument("--data-dir", type=Path, default=None, help="index cache folder")
    parser.add_argument("--json", type=Path, default=None, help="write all aggregates here")
    args = parser.parse_args()
    if not EVAL.is_dir():
        raise SystemExit(f"{EVAL} not found (../shared beside the project?)")
    from agent.eval.harness import evaluate
    from agent.settings import Settings

    tmp = tempfile.TemporaryDirectory(prefix="ra-quality-")
    files = [EVAL / name for name in DATASETS]
    if args.smoke:
        files = [shrink(f, 3, Path(tmp.name)) for f in files]
    data_dir = Path(tmp.name) / "data" if args.smoke else args.data_dir
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    modes, ks = args.modes.split(","), [int(k) for k in args.ks.split(",")]
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
