"""An idle store client sends no keepalive pings, so the server never cuts it off.

pymilvus's own channel options ping an idle connection; `milvus-lite server` (a gRPC server at
its defaults) counts each as a strike (its gRPC trace shows `transport_idle=1 ...
ping_strikes=N`) and after the third sends GOAWAY "too_many_pings"; the next call of a
long-lived process could then fail with "Too many pings" (it failed a CI run). The real timers
are a ping a minute, so the test speeds them up in a child process and counts the pings gRPC's
own trace says it sent while the client sat idle: none with the options tools/store/connect.py
gives; several with pymilvus's (so the count can fail).
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from tests.support.foundation import clean_env

pytestmark = pytest.mark.slow

PING_SENT = re.compile(r"Ping \d+ sent")
FAST_TIMERS = {"grpc.keepalive_time_ms": 200, "grpc.http2.max_pings_without_data": 0}

CLIENT = textwrap.dedent(
    """
    import sys, time
    from agent.settings import Settings
    from tools.store import connect as connect_module

    permit = sys.argv[2] == "pymilvus"
    connect_module.CHANNEL_OPTIONS = {
        **connect_module.CHANNEL_OPTIONS,
        **FAST_TIMERS,
        **({"grpc.keepalive_permit_without_calls": True} if permit else {}),
    }
    client = connect_module.connect(Settings(milvus_uri=sys.argv[1]))
    before = client.list_collections()
    time.sleep(0.5)  # the call's own flow-control ping goes out first
    print("idle from here", file=sys.stderr, flush=True)
    time.sleep(3)
    print("idle until here", file=sys.stderr, flush=True)
    print(client.list_collections() == before)
    """
).replace("FAST_TIMERS", repr(FAST_TIMERS))


def idle_client(uri: str, options: str) -> subprocess.CompletedProcess[str]:
    """A client that calls, idles 3 s with fast keepalive timers, then calls again."""
    return subprocess.run(
        [sys.executable, "-c", CLIENT, uri, options],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(GRPC_VERBOSITY="debug", GRPC_TRACE="http_keepalive"),
        check=False,
    )


def idle_pings(stderr: str) -> int:
    """How many pings the client's gRPC trace says it sent between the two idle markers."""
    idle = stderr.split("idle from here", 1)[1].split("idle until here", 1)[0]
    return len(PING_SENT.findall(idle))


def test_idle_client_sends_no_keepalive_pings(tiny_lite_server: str) -> None:
    ours = idle_client(tiny_lite_server, "ours")
    assert ours.returncode == 0, ours.stderr[-2000:]
    assert ours.stdout.strip() == "True"
    assert idle_pings(ours.stderr) == 0

    theirs = idle_client(tiny_lite_server, "pymilvus")
    assert theirs.returncode == 0, theirs.stderr[-2000:]
    assert idle_pings(theirs.stderr) >= 2  # the same timers with pymilvus's options ping
