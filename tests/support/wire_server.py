"""A local OpenAI-compatible server that replays scripted (recorded) responses.

Real sockets: a ThreadingHTTPServer on 127.0.0.1, port 0. Each POST takes the next
scripted `Reply` (a JSON body, an SSE stream sent with chunked transfer, an error
status with headers, a truncated stream, a non-JSON body, a delay) and every request
is recorded so tests can assert on exactly what the client sent.

    def test_x(wire_server):
        wire_server.script(Reply.from_file(wire_path("bodies", "x.json")))
        model = build_chat_model(settings, ServerConfig(wire_server.url, ...))
        ...
        assert wire_server.bodies[0]["reasoning_effort"] == "medium"
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Reply:
    """One scripted response."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    events: list[bytes] | None = None
    """SSE frames; each is written as one HTTP chunk. None: a plain body."""
    truncate: bool = False
    """Drop the connection after the frames, without the final chunk (a cut-off stream)."""
    delay: float = 0.0
    """Seconds to wait before answering (for client timeouts)."""
    close_delimited: bool = False
    """Send the frames (or body) with neither Content-Length nor chunked encoding, then close:
    the end of the body is the end of the connection, so a cut is not a protocol error."""
    pace: float = 0.0
    """Seconds between frames (a keep-alive every few seconds, a body trickled byte by byte)."""
    gate: tuple[int, threading.Event, threading.Event] | None = None
    """(n, release, finished): send n frames, wait for `release` (at most 30 s), send the
    rest, then set `finished` (a slow server, driven by the test instead of by a clock)."""

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        """A JSON body."""
        return cls(
            status,
            json.dumps(obj).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/html") -> Reply:
        """A body that is not JSON (a proxy's HTML page, a bare error line)."""
        return cls(status, text.encode(), {"Content-Type": content_type})

    @classmethod
    def sse(cls, text: str, *, keep: int | None = None, truncate: bool = False) -> Reply:
        """An SSE stream from recorded text; `keep` frames only, when given."""
        lines = [line for line in text.splitlines() if not line.startswith("#")]
        frames = [f + "\n\n" for f in "\n".join(lines).split("\n\n") if f.strip()]
        frames = frames if keep is None else frames[:keep]
        return cls(
            200, b"", {"Content-Type": "text/event-stream"}, [f.encode() for f in frames], truncate
        )

    @classmethod
    def from_file(cls, path: Path, **sse_options: Any) -> Reply:
        """A recorded body: `.sse` as a stream, anything else as JSON (`#` lines dropped)."""
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".sse":
            return cls.sse(text, **sse_options)
        lines = [line for line in text.splitlines() if not line.startswith("#")]
        return cls.json(json.loads("\n".join(lines)))

    @classmethod
    def from_interaction(cls, interaction: dict[str, Any]) -> Reply:
        """A response of a recorded cassette interaction (pydantic-ai JSON conversion)."""
        response = interaction["response"]
        status = response["status"]["code"]
        if "body_raw" in response:
            return cls.sse(response["body_raw"])
        return cls.json(response["body"], status)


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    """The parsed JSON body (or the raw text when it was not JSON, None when empty)."""


class WireServer:
    """The server; use the `wire_server` fixture, or `with WireServer() as server:`."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self.models: list[str] = ["openai/gpt-oss-20b"]
        self.router: Callable[[Any], Reply | None] | None = None
        """Picks a reply from the request body (concurrent requests); None: the script."""
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The /v1 base URL to give the client."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def bodies(self) -> list[Any]:
        """Bodies of the chat-completion requests, in order."""
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    def script(self, *replies: Reply) -> None:
        """Queue replies; POSTs take them in order (a 500 when none is left)."""
        self.replies.extend(replies)

    def start(self) -> WireServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (delayed replies are abandoned)."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> WireServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _next(self, body: Any = None) -> Reply:
        routed = self.router(body) if self.router is not None else None
        if routed is not None:
            return routed
        if self.replies:
            return self.replies.popleft()
        return Reply.json({"error": {"message": "wire_server: no scripted reply left"}}, 500)


def _handler_for(server: WireServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive and chunked transfer, like real servers

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._record(None)
            if self.path.rstrip("/").endswith("/models"):
                data = [{"id": m, "object": "model"} for m in server.models]
                self._send(Reply.json({"object": "list", "data": data}))
            else:
                self._send(Reply.json({"error": {"message": "not found"}}, 404))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            self._record(body)
            self._send(server._next(body))

        def _record(self, body: Any) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.requests.append(Recorded(self.command, self.path, headers, body))

        def _send(self, reply: Reply) -> None:
            if reply.delay and server._stopping.wait(reply.delay):
                return
            try:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.close_delimited:
                    self._send_close_delimited(reply)
                    return
                if reply.events is None:
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for index, frame in enumerate(reply.events):
                    if reply.gate is not None and index == reply.gate[0]:
                        reply.gate[1].wait(30)
                    if reply.pace and index and server._stopping.wait(reply.pace):
                        return
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                    self.wfile.flush()
                if reply.gate is not None:
                    reply.gate[2].set()
                if reply.truncate:
                    self.close_connection = True
                    return
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout test)

        def _send_close_delimited(self, reply: Reply) -> None:
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for index, frame in enumerate(reply.events or [reply.body]):
                if reply.pace and index and server._stopping.wait(reply.pace):
                    return
                self.wfile.write(frame)
                self.wfile.flush()

    return Handler


@pytest.fixture
def wire_server() -> Iterator[WireServer]:
    """A started WireServer, stopped at teardown."""
    with WireServer() as server:
        yield server
