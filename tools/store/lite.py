"""Milvus Lite's one-opener rule: who holds a database file's LOCK, and releasing ours.

pymilvus directly, and milvus_lite's server manager: langchain-milvus has no notion of a
Lite file's lock or of releasing the embedded server.

milvus_lite is imported inside the functions: it costs about 0.3 s, and only a Lite store
that is opened or closed needs it (benchmarks/cold_start.py counts such heavy imports).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path

from milvus_lite.server_manager import server_manager_instance


def _served_here(path: Path) -> bool:
    """Whether this process already runs the embedded Lite server for the database."""
    # milvus_lite keeps its servers in a private dict; there is no public way to ask.
    return os.path.abspath(path) in getattr(server_manager_instance, "_servers", {})


def lite_locked(path: Path) -> bool:
    """Whether another process holds the Lite database's LOCK (this process's own is fine)."""
    if _served_here(path):
        return False
    lock = path / "LOCK"
    if not lock.exists():
        return False
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def lock_message(path: Path) -> str:
    """The one-line message for a Lite database held by another process."""
    return (
        f"The Milvus Lite database {path} is in use by another process (Milvus Lite allows one). "
        f"Stop that process, or share it: run `milvus-lite server --data-dir {path} --host "
        "127.0.0.1 --port 19540` and set RESEARCH_AGENT_MILVUS_URI=http://127.0.0.1:19540."
    )


LARGE_INGEST_MB = 20.0
"""Text (MB) above which an ingest into a Lite file is told what it costs in memory."""


def large_ingest_note(path: Path, mb: float) -> str:
    """The one-line warning before ingesting `mb` MB of files into the Lite file `path`.

    Milvus Lite 3 runs inside the ingesting process and holds every segment it writes in
    that process (Arrow tables, a copy of the dense vectors, the primary keys as Python
    objects), so the process grows with the collection: benchmarks/ingest_large.py
    --in-process measures it (README, "One large file").
    """
    return (
        f"ingesting {mb:.0f} MB into the Milvus Lite file {path}: Milvus Lite keeps the "
        "collection in this process's memory (about 2 GB for 100 MB of text). For files "
        f"this large, run `milvus-lite server --data-dir {path} "
        "--host 127.0.0.1 --port 19540` and set RESEARCH_AGENT_MILVUS_URI="
        "http://127.0.0.1:19540 (or use a Milvus server)."
    )


def release(uris: Iterable[str]) -> None:
    """Stop this process's embedded Lite servers for these files, so their LOCKs are free."""
    for uri in uris:
        server_manager_instance.release_server(uri)
