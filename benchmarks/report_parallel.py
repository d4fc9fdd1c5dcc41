"""Report branches in parallel: wall time of the research phase vs the slowest branch and the sum.

A local OpenAI-compatible server answers every chat request after a fixed latency (plan:
a submit_plan call with N sub-questions; a branch's first turn: a milvus_search call; its
second: a cited answer; a section: a cited paragraph). The tools are canned and instant,
so the time is the server's latency plus orchestration. Each branch's start and end are
taken from the report's own `branch_start` / `branch_done` events, in the same run.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool

from agent.report_api import _items
from agent.report_runs import BRANCH_THREADS
from agent.settings import ReportContext
from graphs.report import build_report_graph
from tools.schemas import SearchHit, SearchResult

LINES = ["# Acme Robotics", "Acme Robotics was founded by Jane Doe in 2011.", "It is in Oslo."]


@tool("milvus_search", response_format="content_and_artifact")
def canned_search(query: str, k: int = 5) -> tuple[str, SearchResult]:
    """Search (canned, instant)."""
    hit = SearchHit(
        cursor=0,
        doc_id="d0",
        source="docs/acme.md",
        title="Acme Robotics",
        chunk_id="k0",
        chunk_index=0,
        start_line=1,
        end_line=3,
        score=1.0,
        text="\n".join(LINES) + "\n",
    )
    return "【0†Acme Robotics】 L1-L3\n" + "\n".join(LINES), SearchResult(
        query=query, k=k, hits=[hit]
    )


def _reply(body: dict[str, Any], branches: int) -> dict[str, Any]:
    names = [t["function"]["name"] for t in body.get("tools") or []]
    roles = [m.get("role") for m in body["messages"]]
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    if "submit_plan" in names:
        plan = {
            "title": "Acme",
            "sub_questions": [f"Question {i} about Acme?" for i in range(branches)],
        }
        message["tool_calls"] = [_call("submit_plan", plan)]
    elif names and "tool" not in roles:
        message["tool_calls"] = [_call("milvus_search", {"query": "Acme Robotics"})]
    else:
        message["content"] = "Acme Robotics was founded by Jane Doe in 2011 【0†L2-L2】."
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-oss-20b",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }


def _call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"call_{name}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }


def serve(latency: float, branches: int) -> ThreadingHTTPServer:
    """A chat server with a fixed latency per request, on a free loopback port."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"data": [{"id": "gpt-oss-20b", "object": "model"}]})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(latency)
            self._send(200, _reply(body, branches))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def measure(url: str, branches: int) -> dict[str, float]:
    """One report; the research phase's wall time, the slowest branch and the sum."""
    tools: list[BaseTool] = [canned_search]
    graph = build_report_graph(tools=tools)
    context = ReportContext(
        provider="openai",
        base_url=url,
        model="gpt-oss-20b",
        max_branches=branches,
        report_tool_calls=2 * branches,
    )
    started: dict[int, float] = {}
    ended: dict[int, float] = {}
    config: RunnableConfig = {"max_concurrency": BRANCH_THREADS}  # the API's: a thread per branch
    for chunk in graph.stream(
        {"topic": "Acme"}, config, context=context, stream_mode=["custom", "updates"]
    ):
        for item in _items(chunk, ""):
            index = getattr(item, "index", None)
            if getattr(item, "kind", "") == "branch_start" and index is not None:
                started[index] = time.perf_counter()
            elif getattr(item, "kind", "") == "branch_done" and index is not None:
                ended[index] = time.perf_counter()
    spans = [ended[i] - started[i] for i in started]
    return {
        "wall": max(ended.values()) - min(started.values()),
        "slowest": max(spans),
        "sum": sum(spans),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per request")
    parser.add_argument("--branches", default="2,4,8")
    parser.add_argument("--smoke", action="store_true", help="latency 0.1 s, 2 and 4 branches")
    args = parser.parse_args()
    latency = 0.1 if args.smoke else args.latency
    counts = [2, 4] if args.smoke else [int(n) for n in args.branches.split(",")]
    print(f"latency {latency:.2f} s per request; each branch makes 2 requests\n")
    print(
        "| branches | research wall (s) | slowest branch (s) | sum of branches (s) "
        "| wall / slowest | wall / sum |"
    )
    print("|---|---|---|---|---|---|")
    warm = serve(latency, 2)  # loads the tokenizer, the chat client: not a branch's cost
    try:
        measure(f"http://127.0.0.1:{warm.server_address[1]}/v1", 2)
    finally:
        warm.shutdown()
    for count in counts:
        server = serve(latency, count)
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/v1"
            r = measure(url, count)
        finally:
            server.shutdown()
        print(
            f"| {count} | {r['wall']:.2f} | {r['slowest']:.2f} | {r['sum']:.2f} | "
            f"{r['wall'] / r['slowest']:.2f}x | {r['wall'] / r['sum']:.2f}x |"
        )


if __name__ == "__main__":
    main()
