"""PDF text extraction in a worker process, with limits on pages, characters and time.

pypdf is pure Python: a hostile PDF (one content stream of 100,000 text operators) keeps it
busy for minutes, and nothing inside the process can stop it from another thread. The
worker is a child process that extracts one file at a time; past the time limit it is
killed (and a new one started for the next file), so a PDF bomb costs seconds and becomes
a skipped file with its reason.

Protocol: one JSON line per request on the worker's stdin ({"path", "max_pages",
"max_chars"}), one JSON line per answer on its stdout ({"text"} or {"error"}).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from tools.pages import PAGE_BREAK, plain_lines

STARTUP_SECONDS = 60  # starting Python and importing pypdf, not counted in the time limit


class ExtractError(Exception):
    """The PDF gives no text within the limits; the message says why."""


def extract(path: str, max_pages: int, max_chars: int) -> str:
    """The text layer, pages separated by a blank line ending in a form feed (PAGE_BREAK).

    The page of any line is then 1 + the form feeds before it, computed from the stored text
    alone (tools.pages). Empty pages keep their place, so page numbers stay the real ones.

    Raises:
        ExtractError: Corrupt, too many pages, too much text, or no text at all.
    """
    # lazy: pypdf costs +0.09 s; only the worker process extracts PDFs
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    # pypdf logs its own repair warnings ("EOF marker not found"); the skip line says enough.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    pages: list[str] = []
    try:
        reader = PdfReader(path)
        if max_pages and len(reader.pages) > max_pages:
            raise ExtractError(
                f"{len(reader.pages)} pages, over the limit of {max_pages} "
                "(RESEARCH_AGENT_MAX_PDF_PAGES)"
            )
        size = 0
        for page in reader.pages:
            pages.append(plain_lines(page.extract_text() or "").strip("\n"))
            size += len(pages[-1]) + 2
            if max_chars and size > max_chars:
                raise ExtractError(
                    f"more than {max_chars:,} characters of text "
                    "(RESEARCH_AGENT_MAX_EXTRACTED_CHARS)"
                )
    except (PyPdfError, ValueError, KeyError, OSError, RecursionError) as exc:
        raise ExtractError(f"corrupt or unreadable PDF ({exc})") from exc
    text = ("\n" + PAGE_BREAK).join(pages)
    if not text.strip():
        raise ExtractError("PDF has no extractable text (scanned images need OCR first)")
    return text + "\n"


class PdfWorker:
    """A child process extracting PDFs one at a time, killed when one takes too long."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        """The running worker, started if needed and ready (its imports done).

        The time limit counts extraction only: a loaded machine may take seconds to start
        Python and import pypdf, and a good file must not be skipped for that.
        """
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tools.pdftext"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the parent, which stops the worker
            )
            assert self._proc.stdout is not None
            try:
                ready = _read_line(self._proc.stdout, time.monotonic() + STARTUP_SECONDS)
            except BaseException:
                self.close()
                raise
            if ready is None:
                self.close()
                raise ExtractError(
                    f"the PDF reader did not start within {STARTUP_SECONDS} s "
                    f"(is pypdf installed for {sys.executable}?)"
                )
        return self._proc

    def extract(self, path: Path, max_pages: int, max_chars: int) -> str:
        """The PDF's text (see `extract`); raises ExtractError with the reason."""
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        request = {"path": str(path), "max_pages": max_pages, "max_chars": max_chars}
        try:
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
            line = _read_line(proc.stdout, time.monotonic() + self.seconds)
        except BrokenPipeError:
            line = None
        except BaseException:
            self.close()  # Ctrl-C or an error while waiting: the worker goes too
            raise
        if line is None:
            timed_out = proc.poll() is None
            self.close()
            if timed_out:
                raise ExtractError(
                    f"text extraction took longer than {self.seconds:g} s "
                    "(RESEARCH_AGENT_EXTRACT_SECONDS)"
                )
            raise ExtractError("the PDF reader stopped on this file (out of memory or crashed)")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise ExtractError(str(answer["error"]))
        return str(answer["text"])

    def close(self) -> None:
        """Stop the worker, if one runs."""
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    if pipe is not None:
                        pipe.close()

    def __enter__(self) -> PdfWorker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _read_line(out: IO[bytes], deadline: float) -> bytes | None:
    """One line from the worker before the deadline; None on a timeout or end of output."""
    fd = out.fileno()
    buf = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if not ready:
            continue
        block = os.read(fd, 1 << 20)
        if not block:
            return None
        buf += block
        if buf.endswith(b"\n"):
            return bytes(buf)


def serve() -> None:
    """The worker's loop: a ready line, then one answer line per request line until EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # lazy: imported before "ready", so no request pays for it
    import pypdf  # noqa: F401

    sys.stdout.buffer.write(b'{"ready": true}\n')
    sys.stdout.buffer.flush()
    for line in sys.stdin.buffer:
        req = json.loads(line)
        try:
            answer = {"text": extract(req["path"], req["max_pages"], req["max_chars"])}
        except ExtractError as exc:
            answer = {"error": str(exc)}
        except MemoryError:
            answer = {"error": "too large to extract (out of memory)"}
        sys.stdout.buffer.write(json.dumps(answer).encode() + b"\n")
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    serve()
