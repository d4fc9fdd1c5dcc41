"""Cold start: wall time of fresh `research-agent` processes, and which heavy imports they load.

Each command runs in a new process, several times; the median is reported beside the
interpreter's own start (`python -c pass`, the floor). A tiny corpus is ingested into a
temporary data folder first, so `search` and `ask` have something to find.

`--compare DIR` times another checkout (its `DIR/.venv`) in the same run, alternating one
process of each, so that the machine's drift hits both alike, and prints the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = (
    "langchain_core",
    "langgraph",
    "langchain_openai",
    "langchain_milvus",
    "onnxruntime",
    "pymilvus",
    "quicktok",
)
PROBE = (
    "import sys, atexit\n"
    "atexit.register(lambda: print('HEAVY=' + ','.join(m for m in {heavy!r} if m in "
    "sys.modules), file=sys.stderr))\n"
    "sys.argv = ['research-agent', *sys.argv[1:]]\n"
    "from agent.cli.app import main\nmain()\n"
)
DOCS = {
    "zephyr.md": "# Zephyr drone\n\nThe Zephyr drone is a quadcopter made by Acme Robotics.\n",
    "acme.md": "# Acme Robotics\n\nAcme Robotics was founded by Jane Doe in 2011 in Oslo.\n",
}
QUESTION = "Who founded the company that makes the Zephyr drone?"
ARGV = {
    "research-agent --help": ["--help"],
    "research-agent search": ["search", "Zephyr drone"],
    "research-agent ask --provider offline": ["ask", "--provider", "offline", QUESTION],
}


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds, proc.stderr


def heavy_loaded(args: list[str], env: dict[str, str], cwd: Path) -> str:
    probe = PROBE.format(heavy=HEAVY)
    _, err = timed([sys.executable, "-c", probe, *args], env, cwd)
    line = next((ln for ln in err.splitlines() if ln.startswith("HEAVY=")), "HEAVY=?")
    return line.removeprefix("HEAVY=") or "none"


def corpus(root: Path) -> dict[str, str]:
    """Write the tiny corpus under root; the environment that keeps data in root/data."""
    (root / "docs").mkdir(exist_ok=True)
    for name, text in DOCS.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "RESEARCH_AGENT_DATA_DIR": str(root / "data")}
    env.pop("RESEARCH_AGENT_MILVUS_URI", None)
    return env


def compare(exe: str, other: Path, runs: int) -> None:
    """Median seconds of this checkout and another one, one process of each in turn."""
    if not other.is_file():
        raise SystemExit(f"{other} not found: run `make setup` in that checkout first")
    with (
        tempfile.TemporaryDirectory(prefix="ra-cold-") as a,
        tempfile.TemporaryDirectory(prefix="ra-cold-") as b,
    ):
        sides = [(exe, Path(a)), (str(other), Path(b))]
        envs = [corpus(root) for _, root in sides]
        for (program, root), env in zip(sides, envs, strict=True):
            timed([program, "ingest", "docs"], env, root)
        print(f"# {runs} alternating runs per command; other checkout: {other.parents[2]}")
        print("\n| command | this median s | other median s | this / other |\n|---|---:|---:|---:|")
        for label, argv in ARGV.items():
            times: list[list[float]] = [[], []]
            for _ in range(runs):
                for side, ((program, root), env) in enumerate(zip(sides, envs, strict=True)):
                    times[side].append(timed([program, *argv], env, root)[0])
            this, that = (statistics.median(t) for t in times)
            print(f"| {label} | {this:.3f} | {that:.3f} | {this / that:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="1 run per command (CI)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare", type=Path, help="another checkout with its own .venv")
    args = parser.parse_args()
    runs = 1 if args.smoke else args.runs
    exe = str(Path(sys.executable).with_name("research-agent"))
    if args.compare:
        compare(exe, args.compare.resolve() / ".venv" / "bin" / "research-agent", runs)
        return
    with tempfile.TemporaryDirectory(prefix="ra-cold-") as tmp:
        root = Path(tmp)
        env = corpus(root)
        ingest_s, _ = timed([exe, "ingest", "docs"], env, root)
        commands = {
            "python -c pass (floor)": ([sys.executable, "-c", "pass"], None),
            **{label: ([exe, *argv], argv) for label, argv in ARGV.items()},
        }
        print(f"# {runs} runs per command; first ingest of {len(DOCS)} files took {ingest_s:.2f} s")
        print("\n| command | median s | min s | heavy modules loaded |\n|---|---:|---:|---|")
        for label, (cmd, probe_args) in commands.items():
            times = [timed(cmd, env, root)[0] for _ in range(runs)]
            heavy = heavy_loaded(probe_args, env, root) if probe_args else "-"
            print(f"| {label} | {statistics.median(times):.3f} | {min(times):.3f} | {heavy} |")
    print("\n| goal | |\n|---|---|\n| research-agent --help | < 0.3 s |")


if __name__ == "__main__":
    main()
