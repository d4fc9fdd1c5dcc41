"""Helpers shared by the document-side tests: shared corpora, Lite settings, ports, PDFs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from agent.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
RESEARCH_AGENT = VENV_BIN / "research-agent"
MILVUS_LITE = VENV_BIN / "milvus-lite"


def shared_dir() -> Path:
    """The ../shared folder beside the project; skips the test with a reason when absent."""
    path = (PROJECT_ROOT / ".." / "shared").resolve()
    if not path.is_dir():
        pytest.skip(f"needs the shared folder {path} beside the project (corpora, eval data)")
    return path


def shared_corpus(name: str) -> Path:
    """A corpus folder under ../shared/corpora; skips when it is missing."""
    path = shared_dir() / "corpora" / name
    if not path.is_dir():
        pytest.skip(f"needs the shared corpus {path}")
    return path


def lite_settings(folder: Path, collection: str = "research_agent", **extra: object) -> Settings:
    """Settings that point at a fresh Milvus Lite database inside folder."""
    return Settings(
        milvus_uri=str(folder / "m.db"), collection=collection, data_dir=folder / ".ra", **extra
    )


def word_count(texts: Sequence[str]) -> list[int]:
    """A cheap token counter for splitter tests: whitespace-separated words."""
    return [len(t.split()) for t in texts]


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment for a subprocess: no RESEARCH_AGENT_* leaking in from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESEARCH_AGENT_")}
    env.update(overrides)
    return env


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30.0
) -> None:
    """Block until 127.0.0.1:port accepts connections (or the process dies, or time runs out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process this test started (by its handle), then kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def minimal_pdf(lines: Sequence[str]) -> bytes:
    """A valid one-page PDF whose text layer holds the given lines (written byte by byte)."""
    return paged_pdf([lines])


def paged_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A valid PDF with one page per entry, each holding the given lines (byte by byte)."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    n = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for j, line in enumerate(lines):
            ops.append(("" if j == 0 else "T* ") + f"({esc(line)}) Tj")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for k, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run the installed `research-agent` console script and capture its output."""
    return subprocess.run(
        [str(RESEARCH_AGENT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else clean_env(),
        cwd=cwd,
    )
