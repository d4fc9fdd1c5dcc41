"""A report killed (SIGKILL) during its fan-out, then `research-agent resume --thread`:
only the unfinished branch asks the model again; the plan and the finished branch do not.

A local chat server answers at once, except the second branch's answer, which hangs the
first time: the first branch finishes, the process is killed while the second waits.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent.reporting.schemas import Report
from tests.support.agent_e2e import agent_env, run_agent, write_corpus
from tests.support.foundation import RESEARCH_AGENT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240), pytest.mark.serial]
Q1 = "When are Heron segments compacted?"
Q2 = "Who wrote the Osprey planner?"
PLAN = {"title": "Heron", "sub_questions": [Q1, Q2]}
ANSWERS = {Q1: "Compaction runs nightly 【0†L5-L5】.", Q2: "The Heron team 【0†L4-L4】."}


class Server:
    """Counts requests by (kind, question); the second branch's first answer hangs."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.release = threading.Event()
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
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the killed client's hanging request

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json({"object": "list", "data": [{"id": "gpt-oss-20b"}]})
                else:
                    self._json({"error": "not found"}, 404)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                self._json(owner.reply(body))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        names = [t["function"]["name"] for t in body.get("tools") or []]
        question = next(m["content"] for m in body["messages"] if m["role"] == "user")
        read = any(m["role"] == "tool" for m in body["messages"])
        message: dict[str, Any] = {"role": "assistant", "content": ""}
        if "submit_plan" in names:
            kind, call = "plan", ("submit_plan", PLAN)
        elif names and not read:
            kind, call = "search", ("milvus_search", {"query": question})
        else:
            kind, call = ("answer" if names else "write"), None
            message["content"] = ANSWERS.get(question, "Heron compacts nightly 【0†L5-L5】.")
        key = (kind, question if kind in ("search", "answer") else "")
        self.counts[key] += 1
        if key == ("answer", Q2) and self.counts[key] == 1:
            self.release.wait(120)  # the process is killed while this branch waits
        if call is not None:
            function = {"name": call[0], "arguments": json.dumps(call[1])}
            message["tool_calls"] = [
                {"id": f"call_{kind}", "type": "function", "function": function}
            ]
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return {"id": "x", "object": "chat.completion", "model": "gpt-oss-20b", "choices": [choice]}


def test_kill_during_fan_out_then_resume_reruns_only_the_unfinished_branch(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path)
    env = agent_env(tmp_path / ".ra", RESEARCH_AGENT_MAX_RETRIES="0")
    assert run_agent("ingest", str(corpus), env=env, cwd=tmp_path).returncode == 0
    server = Server()
    model = ["--base-url", server.url, "--model", "gpt-oss-20b"]
    proc = subprocess.Popen(
        [str(RESEARCH_AGENT), "report", "Heron", "--thread", "k1", *model],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("[1] done:"):
                break
        assert seen and seen[-1].startswith("[1] done: answered"), "".join(seen)
        time.sleep(1.0)  # the finished branch's result is written as its task ends
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    before = dict(server.counts)
    assert before == {
        ("plan", ""): 1,
        ("search", Q1): 1,
        ("answer", Q1): 1,
        ("search", Q2): 1,
        ("answer", Q2): 1,
    }

    done = run_agent("resume", "--thread", "k1", *model, "--json", env=env, cwd=tmp_path)
    server.release.set()
    assert done.returncode == 0, done.stderr
    report = Report.model_validate_json(done.stdout)
    after = dict(server.counts)
    # nothing of the plan or the first branch ran again; the second branch finished
    assert after[("plan", "")] == 1
    assert (after[("search", Q1)], after[("answer", Q1)]) == (1, 1)
    assert after[("answer", Q2)] == 2
    assert [b.question for b in report.branches] == [Q1, Q2]
    assert all(b.status == "done" and b.answer is not None for b in report.branches)
    assert report.branches[1].answer.answer == "The Heron team [1]."
