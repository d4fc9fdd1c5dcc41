"""CPU cost of repairing a streamed answer as it arrives, by reply size.

The product (agent.llm.repair.harmony.ContentStream) parses each character once. The
baseline, in the same run, is the previous method: re-parse all the text received so far
on every delta (split_harmony on the whole prefix, then the safe prefix of its answer),
which costs time in the square of the reply's size. Both get the same text in 4-character
deltas (about one token each): plain prose, and prose inside harmony markup (an analysis
message, then the final channel). Prints CPU seconds, seconds per MB and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.llm.repair.harmony import ContentStream, split_harmony

PROSE = "Milvus stores vectors in segments; the agent cites lines it read. "
HEAD = "<|channel|>analysis<|message|>Let me think.<|end|><|start|>assistant<|channel|>final"


def text_of(size: int, harmony: bool) -> str:
    """`size` characters of answer, bare or inside harmony markup."""
    body = (PROSE * (size // len(PROSE) + 1))[:size]
    return f"{HEAD}<|message|>{body}<|return|>" if harmony else body


def product(text: str) -> str:
    stream = ContentStream()
    for at in range(0, len(text), 4):
        stream.feed(text[at : at + 4])
    return stream.answer


def baseline(text: str) -> str:
    shown = ""
    for at in range(4, len(text) + 4, 4):
        answer = split_harmony(text[:at]).content.rstrip()
        if answer.startswith(shown):
            shown = answer
    return shown


def cpu(run: Callable[[str], str], text: str) -> float:
    started = time.process_time()
    run(text)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="8000,16000,32000,64000,1000000")
    parser.add_argument("--baseline-max", type=int, default=64_000, help="largest baseline size")
    parser.add_argument("--smoke", action="store_true", help="small sizes only")
    args = parser.parse_args()
    sizes = [2_000, 8_000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    print("| reply | size (chars) | product CPU s | product s/MB | baseline CPU s | ratio |")
    print("|---|---|---|---|---|---|")
    for harmony in (False, True):
        for size in sizes:
            text = text_of(size, harmony)
            ours = min(cpu(product, text) for _ in range(2))
            theirs = cpu(baseline, text) if size <= args.baseline_max else None
            per_mb = ours / size * 1_000_000
            old = f"{theirs:.2f}" if theirs is not None else "(not run)"
            ratio = f"{theirs / max(ours, 1e-6):.0f}x" if theirs is not None else "-"
            kind = "harmony" if harmony else "plain"
            print(f"| {kind} | {size:,} | {ours:.3f} | {per_mb:.2f} | {old} | {ratio} |")


if __name__ == "__main__":
    main()
