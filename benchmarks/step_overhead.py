"""Agent step overhead: the research graph vs a hand-written loop, same model, same tools.

The model is scripted and instant (search, fetch, search, fetch, search, answer) and the
tools return canned results with real artifacts at once, so every millisecond measured is
orchestration: LangGraph, the nodes (budget, duplicate detection, untrusted-data wrapping,
citation checking) and langchain's tool/model plumbing. The hand loop keeps only the last.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.tools import BaseTool, tool

from agent.offline.scripted import ScriptedChatModel
from tools.schemas import DocWindow, SearchHit, SearchResult

LINES = ["# Acme Robotics", "Acme Robotics was founded by Jane Doe in 2011.", "It is in Oslo."]


def _call(name: str, n: int, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"c{n}"}])


SCRIPT = [
    _call("milvus_search", 1, query="who makes the zephyr drone"),
    _call("fetch_doc", 2, cursor=0),
    _call("milvus_search", 3, query="acme robotics founder"),
    _call("fetch_doc", 4, cursor=1),
    _call("milvus_search", 5, query="acme robotics office"),
    AIMessage(content="Jane Doe founded Acme Robotics 【0†L2-L2】."),
]


class ScriptedModel(ScriptedChatModel):
    """Returns the script's next message (by the AI turns since the question), instantly."""

    def reply(self, messages: list[BaseMessage], tool_names: list[str] | None) -> AIMessage:
        """The script's message for this turn."""
        start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        turn = sum(isinstance(m, AIMessage) for m in messages[start:])
        return SCRIPT[min(turn, len(SCRIPT) - 1)]


def _hit(cursor: int) -> SearchHit:
    return SearchHit(
        cursor=cursor,
        doc_id=f"d{cursor}",
        source=f"docs/{cursor}.md",
        title=LINES[0][2:],
        chunk_id=f"k{cursor}",
        chunk_index=0,
        start_line=1,
        end_line=3,
        score=1.0,
        text="\n".join(LINES) + "\n",
    )


@tool("milvus_search", response_format="content_and_artifact")
def fake_search(query: str, k: int = 5) -> tuple[str, SearchResult]:
    """Search (canned)."""
    result = SearchResult(query=query, k=k, hits=[_hit(0), _hit(1)])
    return f"2 results for {query}", result


@tool("fetch_doc", response_format="content_and_artifact")
def fake_fetch(cursor: int, start_line: int = 1, num_lines: int = 60) -> tuple[str, DocWindow]:
    """Fetch (canned)."""
    window = DocWindow(
        cursor=cursor,
        doc_id=f"d{cursor}",
        source=f"docs/{cursor}.md",
        title="Acme Robotics",
        start_line=1,
        end_line=3,
        total_lines=3,
        lines=LINES,
    )
    return "\n".join(f"L{i + 1}: {line}" for i, line in enumerate(LINES)), window


TOOLS: list[BaseTool] = [fake_search, fake_fetch]


def hand_loop(question: str, tools: Sequence[BaseTool] = TOOLS, real: bool = False) -> str:
    """The minimal agent loop: model, tools, repeat."""
    from agent.prompts import SYSTEM_PROMPT

    model = ScriptedModel()
    bound = model.bind_tools(tools)
    by_name = {t.name: t for t in tools}
    messages: list[BaseMessage] = [SystemMessage(SYSTEM_PROMPT), HumanMessage(question)]
    while True:
        reply = bound.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return str(reply.content)
        for call in reply.tool_calls:
            # the real tools read earlier results (cursors) from the injected state
            args = {**call["args"], "state": {"messages": messages}} if real else call["args"]
            messages.append(
                by_name[call["name"]].invoke({**call, "args": args, "type": "tool_call"})
            )


def real_tools(folder: Path) -> tuple[list[BaseTool], Any]:
    """The product's milvus_search and fetch_doc over docs/ ingested into a fresh Lite file."""
    import os

    from agent.documents import ingest
    from agent.settings import Context, Settings
    from tools.fetch import fetch_doc
    from tools.search import milvus_search

    uri = str(folder / "milvus.db")
    os.environ["RESEARCH_AGENT_MILVUS_URI"] = uri  # the hand loop's tools read the environment
    ingest([Path(__file__).resolve().parents[1] / "docs"], Settings(milvus_uri=uri))
    return [milvus_search, fetch_doc], Context(provider="offline", milvus_uri=uri)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="20 runs (CI)")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument(
        "--real", action="store_true", help="the real tools over docs/ in Milvus Lite"
    )
    args = parser.parse_args()
    runs = 20 if args.smoke else args.runs
    from agent.settings import Context
    from graphs.research import build_graph

    context = Context(provider="offline")
    question = "Who founded the company that makes the Zephyr drone?"
    tools: list[BaseTool] = TOOLS
    if args.real:
        tools, context = real_tools(Path(tempfile.mkdtemp(prefix="ra-step-")))

    graph = build_graph(ScriptedModel(), tools=tools)

    def graph_run() -> Any:
        return graph.invoke({"question": question}, context=context)

    state = graph_run()
    updates = graph.stream({"question": question}, context=context, stream_mode="updates")
    steps = sum(1 for _ in updates)
    assert state["answer"].steps.tool_calls == 5, state["answer"]
    times: dict[str, list[float]] = {"graph": [], "hand loop": []}
    for i in range(runs + 5):
        pair = [("graph", graph_run), ("hand loop", lambda: hand_loop(question, tools, args.real))]
        for name, fn in pair[:: 1 - 2 * (i % 2)]:  # alternate which goes first
            t0 = time.perf_counter()
            fn()
            if i >= 5:
                times[name].append((time.perf_counter() - t0) * 1000)
    g, h = (statistics.median(times[n]) for n in ("graph", "hand loop"))
    kind = "real tools on Milvus Lite (docs/)" if args.real else "instant canned tools"
    print(f"# {runs} runs, 6 model turns + 5 tool calls per run ({kind}); graph steps: {steps}")
    print("\n| method | median ms / run | p95 ms / run |\n|---|---:|---:|")
    for name, values in times.items():
        p95 = sorted(values)[int(0.95 * len(values))]
        print(f"| {name} | {statistics.median(values):.2f} | {p95:.2f} |")
    print("\n| figure | value | goal |\n|---|---:|---|")
    print(
        f"| graph overhead per step (graph - loop) / {steps} | {(g - h) / steps:.2f} ms | < 3 ms |"
    )
    print(f"| graph / hand loop | {g / h:.2f}x | - |")


if __name__ == "__main__":
    main()
