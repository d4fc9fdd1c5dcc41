"""No gRPC noise on the terminal: its verbosity is set before anything imports gRPC.

gRPC reads GRPC_VERBOSITY once, at its first import. A local gRPC server with a strict ping
policy and a client that pings every 100 ms make gRPC log the very line users saw during
ingest ("GOAWAY ... too_many_pings"); the same script, run after importing the CLI's entry
module, prints nothing. A real `ingest` through the CLI's entry point records the setting
at the moment gRPC is first imported.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.agent_e2e import agent_env, write_corpus
from tests.support.foundation import PROJECT_ROOT

pytestmark = pytest.mark.slow  # subprocesses; about 3 s each

PINGS = textwrap.dedent(
    """
    import time
    from concurrent import futures

    import grpc

    server = grpc.server(
        futures.ThreadPoolExecutor(1),
        options=[
            ("grpc.http2.min_recv_ping_interval_without_data_ms", 300000),
            ("grpc.http2.max_ping_strikes", 1),
            ("grpc.keepalive_permit_without_calls", 0),
        ],
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(
        f"127.0.0.1:{port}",
        options=[
            ("grpc.keepalive_time_ms", 100),
            ("grpc.keepalive_timeout_ms", 1000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
        ],
    )
    grpc.channel_ready_future(channel).result(timeout=5)
    states = []
    channel.subscribe(states.append)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and grpc.ChannelConnectivity.IDLE not in states:
        time.sleep(0.05)  # the server's GOAWAY drops the connection: READY -> IDLE
    time.sleep(0.2)
    print("done" if grpc.ChannelConnectivity.IDLE in states else "no goaway")
    """
)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = agent_env(PROJECT_ROOT / ".unused")
    for name in ("GRPC_VERBOSITY", "GRPC_TRACE", "GRPC_ENABLE_FORK_SUPPORT"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=PROJECT_ROOT,
    )


def test_grpc_keepalive_goaway_lines_are_silenced_by_importing_the_cli() -> None:
    loud = run_python(PINGS)
    assert loud.returncode == 0 and loud.stdout == "done\n", loud.stderr
    assert "too_many_pings" in loud.stderr  # the control: this script does make gRPC talk

    quiet = run_python("import agent.cli.app\n" + PINGS)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "done\n"
    assert quiet.stderr == ""


def test_ingest_imports_grpc_only_after_its_verbosity_is_set(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path)
    code = textwrap.dedent(
        f"""
        import os, sys

        seen = []

        def hook(event, args):
            if event == "import" and args[0] == "grpc" and not seen:
                seen.append(os.environ.get("GRPC_VERBOSITY"))

        sys.addaudithook(hook)
        sys.argv = ["research-agent", "ingest", {str(corpus)!r}]
        from agent.cli.app import main
        try:
            main()
        finally:
            print("grpc imported with GRPC_VERBOSITY=", seen, file=sys.stderr)
        """
    )
    env_dir = tmp_path / ".ra"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            k: v
            for k, v in agent_env(env_dir).items()
            if k not in ("GRPC_VERBOSITY", "GRPC_ENABLE_FORK_SUPPORT")
        },
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "grpc imported with GRPC_VERBOSITY= ['NONE']" in done.stderr
