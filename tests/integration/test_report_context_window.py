"""A server with an 8k context window (llama.cpp's /props says so) never gets a request over it.

The server counts every chat request it receives the way gpt-oss renders it (o200k_harmony,
framing and tool definitions included) and records prompt tokens + max_tokens. Four
branches read long lines, so the section that uses all four findings cannot take them all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.llm.servers import context_window
from agent.llm.servers.harmony_tokens import count_request_tokens
from agent.settings import ReportContext
from graphs.report import build_report_graph
from tests.support.fake_tools import FakeCorpus

pytestmark = [pytest.mark.timeout(120)]
WINDOW = 8192
LINE = " ".join(
    f"Heron rule {n} keeps sealed segment files for compaction windows" for n in range(12)
)
DOCS = {"heron": ("docs/heron.md", "Heron", [f"{LINE} ({n})." for n in range(1, 31)])}
QUESTIONS = [f"How does Heron rule set {n} work?" for n in range(1, 5)]
PLAN = {
    "title": "Heron rules",
    "sub_questions": QUESTIONS,
    "outline": [{"heading": "All rules", "covers": [1, 2, 3, 4]}],
}


def to_messages(body: dict[str, Any]) -> list[BaseMessage]:
    """The request's messages as the client built them (to count them as gpt-oss renders)."""
    out: list[BaseMessage] = []
    for m in body["messages"]:
        content = m.get("content") or ""
        if m["role"] in ("system", "developer"):
            out.append(SystemMessage(content))
        elif m["role"] == "user":
            out.append(HumanMessage(content))
        elif m["role"] == "tool":
            out.append(ToolMessage(content, tool_call_id=m["tool_call_id"]))
        else:
            calls = [
                {
                    "name": c["function"]["name"],
                    "args": json.loads(c["function"]["arguments"]),
                    "id": c["id"],
                }
                for c in m.get("tool_calls") or []
            ]
            out.append(AIMessage(content, tool_calls=calls))
    return out


def reply(body: dict[str, Any]) -> dict[str, Any]:
    names = [t["function"]["name"] for t in body.get("tools") or []]
    read = sum(1 for m in body["messages"] if m["role"] == "tool")
    question = next(m["content"] for m in body["messages"] if m["role"] == "user")
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    if "submit_plan" in names:
        call = ("submit_plan", PLAN)
    elif names and read == 0:
        call = ("milvus_search", {"query": question, "k": 2})
    elif names and read == 1:
        call = ("fetch_doc", {"cursor": 0, "start_line": 1, "num_lines": 10})
    else:
        call = None
        message["content"] = (
            "Heron keeps sealed segment files for compaction windows 【0†L1-L10】."
            if names
            else "Heron keeps sealed segment files for compaction windows 【0†L2-L2】."
        )
    if call is not None:
        function = {"name": call[0], "arguments": json.dumps(call[1])}
        message["tool_calls"] = [{"id": f"call_{read}", "type": "function", "function": function}]
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return {"id": "x", "object": "chat.completion", "model": "gpt-oss-20b", "choices": [choice]}


class EightK:
    """llama.cpp-shaped server with an 8k window that measures what it is sent."""

    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _json(self, payload: Any, status: int = 200) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/props":
                    self._json({"default_generation_settings": {"n_ctx": WINDOW}})
                elif self.path.rstrip("/").endswith("/models"):
                    self._json({"object": "list", "data": [{"id": "gpt-oss-20b"}]})
                else:
                    self._json({"error": "not found"}, 404)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = count_request_tokens(to_messages(body), body.get("tools") or [], "low")
                cap = body.get("max_tokens") or body.get("max_completion_tokens") or 0
                owner.sizes.append((prompt, int(cap)))
                self._json(reply(body))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


@pytest.fixture
def server() -> Iterator[EightK]:
    """The 8k-window server (conftest's isolated_settings has cleared the user's settings)."""
    context_window._CACHE.clear()
    fake = EightK()
    yield fake
    fake.httpd.shutdown()
    context_window._CACHE.clear()


def test_no_request_exceeds_an_8k_window(server: EightK) -> None:
    context = ReportContext(
        provider="llamacpp", base_url=server.url, effort="low", max_branches=4, report_tool_calls=12
    )
    graph = build_report_graph(tools=FakeCorpus(dict(DOCS)).tools())
    report = graph.invoke({"topic": "Heron rules"}, context=context)["report"]
    assert len(server.sizes) == 1 + 4 * 3 + 1  # plan, 3 turns per branch, one section
    over = [(p, m) for p, m in server.sizes if p + m > WINDOW]
    assert over == []
    prompt, room = server.sizes[-1]
    assert room == 4096  # effort low: the output cap, kept free in the window
    assert WINDOW - room - 2000 < prompt <= WINDOW - room  # filled up to the budget, not over
    assert any("findings left out to fit" in note for note in report.notes)
    assert report.sections[0].text.endswith("[1].") and report.status == "complete"
