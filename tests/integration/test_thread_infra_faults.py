"""What a run on a thread meets mid-way: PostgreSQL stopped, the Milvus server stopped,
the disk full, the data folder read-only. Each ends the run with one line and exit 1,
keeps what was written, and `resume` finishes the run once the fault is gone.

The run is held after its first tool step (tests/support/stall_run.py, `between`), the
fault is made, the run goes on and meets it. The disk and the read-only folder are a
small tmpfs mounted on the data folder (root with mount rights; skipped otherwise);
PostgreSQL is a server of this test's own (.ci/postgres.sh), stopped and started again.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent.interruptions import resumable
from agent.settings import Settings
from tests.support.foundation import PROJECT_ROOT, clean_env, free_port, run_cli, stop_process
from tests.support.servers import ingest_tiny_corpus, start_milvus_lite
from tests.support.threads import (
    answered_once,
    assert_linear,
    stall_run,
    thread_history,
    wait_for_file,
)
from tools.store import close_stores

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
QUESTION = "Who makes the Zephyr drone?"
THREAD = "t1"


@pytest.fixture
def milvus(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A Lite server with the tiny corpus, and functions that stop it and start it again."""
    port = free_port()
    procs = [start_milvus_lite(tmp_path / "lite", port)]
    uri = f"http://127.0.0.1:{port}"
    ingest_tiny_corpus(uri, tmp_path)

    def stop() -> None:
        stop_process(procs[-1])

    def start() -> None:
        procs.append(start_milvus_lite(tmp_path / "lite", port))

    try:
        yield uri, stop, start
    finally:
        close_stores()
        for proc in procs:
            stop_process(proc)


@contextmanager
def small_disk(folder: Path) -> Iterator[Path]:
    """A 2 MB tmpfs mounted on folder (skips the test where mounting is not allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def run_until_paused(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    env = {
        **env,
        "RESEARCH_AGENT_PROVIDER": "offline",
        "STALL_POINT": "between",
        "STALL_MARKER": str(cwd / "marker"),
        "STALL_GO": str(cwd / "go"),
    }
    proc = stall_run("cli", ["ask", "--thread", THREAD, QUESTION], env, cwd)
    wait_for_file(cwd / "marker", proc)
    return proc


def go_on(proc: subprocess.Popen[str], cwd: Path) -> str:
    """Let the held run go on; it must end with exit 1 and one error line: that line."""
    (cwd / "go").write_text("go")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    errors = [line for line in err.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: "), err
    assert errors[0].endswith(f"finish it with `research-agent resume --thread {THREAD}`."), err
    return errors[0]


def resume_finishes(env: dict[str, str], cwd: Path, settings: Settings, kept: int) -> None:
    """`resume` answers; the checkpoints written before the fault are all still there."""
    res = run_cli("resume", "--thread", THREAD, env={**env, "RESEARCH_AGENT_PROVIDER": "offline"})
    assert res.returncode == 0, res.stderr
    assert "status: answered" in res.stdout
    checkpoints, state = thread_history(settings, THREAD)
    assert not resumable(state)
    assert len(checkpoints) > kept
    assert_linear(checkpoints)
    assert answered_once(state.values["messages"]) == [QUESTION]


def test_milvus_server_stopped_mid_run(milvus: tuple, tmp_path: Path) -> None:
    uri, stop, start = milvus
    env = clean_env(RESEARCH_AGENT_MILVUS_URI=uri, RESEARCH_AGENT_DATA_DIR=str(tmp_path / "ra"))
    settings = Settings(data_dir=tmp_path / "ra")
    proc = run_until_paused(env, tmp_path)
    stop()
    line = go_on(proc, tmp_path)
    assert uri.removeprefix("http://") in line or "Milvus" in line, line
    kept = len(thread_history(settings, THREAD)[0])
    start()
    resume_finishes(env, tmp_path, settings, kept)


def test_disk_full_mid_run(milvus: tuple, tmp_path: Path) -> None:
    uri, _, _ = milvus
    with small_disk(tmp_path / "ra") as data:
        env = clean_env(RESEARCH_AGENT_MILVUS_URI=uri, RESEARCH_AGENT_DATA_DIR=str(data))
        settings = Settings(data_dir=data)
        proc = run_until_paused(env, tmp_path)
        kept = len(thread_history(settings, THREAD)[0])
        filler = data / "filler"
        with filler.open("wb") as out:
            try:
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()
            except OSError:
                pass  # ENOSPC: the disk is full, as wanted
        line = go_on(proc, tmp_path)
        assert line.startswith(f"error: Cannot write the thread to {data / 'checkpoints.sqlite'}")
        assert "free disk space or make the data folder writable" in line
        filler.unlink()
        resume_finishes(env, tmp_path, settings, kept)


def test_read_only_data_folder(milvus: tuple, tmp_path: Path) -> None:
    """A killed run's folder turned read-only: resume says so in one line, loses nothing."""
    uri, _, _ = milvus
    with small_disk(tmp_path / "ra") as data:
        env = clean_env(RESEARCH_AGENT_MILVUS_URI=uri, RESEARCH_AGENT_DATA_DIR=str(data))
        settings = Settings(data_dir=data)
        proc = run_until_paused(env, tmp_path)
        proc.kill()  # (a remount needs no file open for writing on it)
        proc.wait(timeout=10)
        kept = len(thread_history(settings, THREAD)[0])
        subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
        try:
            for command in (["resume"], ["ask", "Who founded Acme Robotics?"]):
                res = run_cli(*command, "--thread", THREAD, env=env, cwd=tmp_path)
                assert res.returncode == 1
                errors = res.stderr.strip().splitlines()
                assert len(errors) == 1, res.stderr
                assert errors[0].startswith(f"error: Cannot write the thread to {data}"), errors
                assert "make the data folder writable" in errors[0]
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(data)], check=True)
        assert len(thread_history(settings, THREAD)[0]) == kept
        resume_finishes(env, tmp_path, settings, kept)


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not found and shutil.which("pg_ctl"):
        return Path(str(shutil.which("pg_ctl"))).parent
    if not found:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql)")
    return found[-1]


@contextmanager
def own_postgres() -> Iterator[tuple[str, Callable[[str], None]]]:
    """A PostgreSQL server of this test's own, and a function to stop / start it."""
    _pg_bin()
    started = subprocess.run(
        [str(PROJECT_ROOT / ".ci" / "postgres.sh"), "start"], capture_output=True, text=True
    )
    assert started.returncode == 0, started.stderr
    found = dict(re.findall(r"export (\w+)=(\S+)", started.stdout))
    folder, uri = Path(found["RA_PG_DIR"]), found["RESEARCH_AGENT_TEST_POSTGRES_URI"]
    port = uri.rsplit(":", 1)[1].split("/")[0]
    runner = ["runuser", "-u", "nobody", "--"] if shutil.which("runuser") else []

    def control(action: str) -> None:
        pg_ctl = [*runner, str(_pg_bin() / "pg_ctl"), "-D", str(folder / "data"), "-w"]
        if action == "stop":
            subprocess.run([*pg_ctl, "-m", "immediate", "stop"], check=True, capture_output=True)
        else:
            options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off"
            log = ["-l", str(folder / "server.log")]
            subprocess.run([*pg_ctl, *log, "-o", options, "start"], check=True, capture_output=True)

    try:
        yield uri, control
    finally:
        subprocess.run([str(PROJECT_ROOT / ".ci" / "postgres.sh"), "stop", str(folder)])


def test_postgres_stopped_mid_run(milvus: tuple, tmp_path: Path) -> None:
    uri, _, _ = milvus
    with own_postgres() as (pg_uri, control):
        env = clean_env(
            RESEARCH_AGENT_MILVUS_URI=uri,
            RESEARCH_AGENT_DATA_DIR=str(tmp_path / "ra"),
            RESEARCH_AGENT_CHECKPOINT_URI=pg_uri,
        )
        settings = Settings(checkpoint_uri=pg_uri)
        proc = run_until_paused(env, tmp_path)
        kept = len(thread_history(settings, THREAD)[0])
        control("stop")
        line = go_on(proc, tmp_path)
        host = pg_uri.split("@", 1)[1]
        assert line.startswith(f"error: Cannot reach the checkpoint database postgresql://{host}")
        control("start")
        resume_finishes(env, tmp_path, settings, kept)
