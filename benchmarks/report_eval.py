"""Report mode vs the single question loop on the development multi-hop sets, same total budget.

Both systems get the same total per question: `--budget` tool calls and `--tokens` prompt
tokens (counted exactly per request; the report shares them among plan, branches and
writer). Prints, per dataset, the means of both systems (agent/eval/report_mode.py):
evidence recall, all-gold, gold answer in the output, tool calls, prompt tokens sent,
unsupported sentences left in the output, sentences the report's verifier removed,
seconds per question. With the offline provider (no gpt-oss) the writers only extract
cited sentences, so "unsupported sentences" is 0 by construction, not a finding.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agent.eval.report_mode import DEFAULT_TOKEN_BUDGET, compare

SETS = [
    Path("../shared/eval/hotpotqa_train_100.jsonl"),
    Path("../shared/eval/musique_train_100.jsonl"),
]
ROWS = [
    ("evidence recall", "evidence_recall"),
    ("all gold", "all_gold"),
    ("gold answer in output", "answer_contained"),
    ("tool calls", "tool_calls"),
    ("prompt tokens sent", "tokens"),
    ("unsupported sentences in output", "unsupported_in_output"),
    ("removed by the verifier", "removed_by_verifier"),
    ("seconds per question", "seconds"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=30, help="questions per set")
    parser.add_argument("--budget", type=int, default=12, help="tool calls per question")
    parser.add_argument(
        "--tokens", type=int, default=DEFAULT_TOKEN_BUDGET, help="prompt tokens per question"
    )
    parser.add_argument("--branches", type=int, default=3)
    parser.add_argument("--provider", default="offline")
    parser.add_argument("--smoke", action="store_true", help="3 questions of the first set")
    args = parser.parse_args()
    sets = SETS[:1] if args.smoke else SETS
    limit = 3 if args.smoke else args.limit
    for path in sets:
        if not path.is_file():
            print(f"skipped {path}: not found (run from the project root beside ../shared)")
            continue
        result = compare(
            path, limit, args.budget, args.branches, args.tokens, provider=args.provider
        )
        print(
            f"\n{path.name}: {result.questions} questions; each system gets, per question, "
            f"{result.budget} tool calls and {result.token_budget} prompt tokens in all; "
            f"report with at most {result.branches} branches; provider {args.provider}\n"
        )
        if args.provider == "offline":
            print(
                "offline: no gpt-oss; the writers extract cited sentences, so unsupported "
                "sentences are 0 by construction\n"
            )
        print("| figure | question loop | report | report / loop |")
        print("|---|---|---|---|")
        for label, name in ROWS:
            loop, report = result.loop[name], result.report[name]
            ratio = f"{report / loop:.2f}x" if loop else "-"
            print(f"| {label} | {loop:.3f} | {report:.3f} | {ratio} |")


if __name__ == "__main__":
    main()
