"""A local /rerank server in the two shapes real servers document.

- "tei": text-embeddings-inference's POST /rerank, body {query, texts, raw_scores?,
  return_text?, truncate?}, answer [{index, score}] sorted by score, 422 when `texts` is
  missing (TEI's docs: docs/openapi.json, RerankRequest).
- "cohere": the Jina/Cohere shape that vLLM (/rerank, /v1/rerank), Infinity and
  llama.cpp (/rerank) serve, body {model?, query, documents, top_n?}, answer
  {"results": [{index, relevance_score}]}, 400 when `documents` is missing.
Scores are a stand-in cross-encoder: the share of the query's words found in the text.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Shape = Literal["tei", "cohere"]


def score(query: str, text: str) -> float:
    """The share of the query's words that occur in the text (case-insensitive)."""
    words = {w.strip("?.,").lower() for w in query.split()}
    found = {w.strip("?.,").lower() for w in text.split()}
    return len(words & found) / max(1, len(words))


class RerankServer:
    """Serves POST /rerank in one shape; `status` forces an error answer instead."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.status = 200
        self.bodies: list[Any] = []
        self.raw: bytes | None = None
        """A body to send as is instead of the answer (a broken server)."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The endpoint to configure as RESEARCH_AGENT_RERANK_URL."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/rerank"

    def answer(self, body: Any) -> tuple[int, Any]:
        """(status, JSON body) for a request body, as the server of this shape answers."""
        if self.status != 200:
            return self.status, {"error": "unavailable"}
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return 422, {"error": "missing field `query`"}
        key = "texts" if self.shape == "tei" else "documents"
        docs = body.get(key)
        if not isinstance(docs, list):
            return (422 if self.shape == "tei" else 400), {"error": f"missing field `{key}`"}
        ranked = sorted(range(len(docs)), key=lambda i: (-score(body["query"], docs[i]), i))[
            : body.get("top_n") or len(docs)
        ]
        if self.shape == "tei":
            return 200, [{"index": i, "score": score(body["query"], docs[i])} for i in ranked]
        results = [{"index": i, "relevance_score": score(body["query"], docs[i])} for i in ranked]
        return 200, {"id": "rerank-1", "results": results}

    def __enter__(self) -> RerankServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler(server: RerankServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw) if raw else None
            server.bodies.append(body)
            status, answer = server.answer(body)
            data = server.raw if server.raw is not None else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
