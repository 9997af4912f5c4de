"""Dagster and Celery processes started the way a deployment starts them, for the tests and the
benches: each in a session of its own with its output in a file, stopped with its children."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CELERY_INSTANCE = REPO / "deploy" / "celery" / "dagster.yaml"
SESSION_GRACE_SECONDS = 5  # for a stopped process's children (code server, runs, celery)
DAEMON_COMMAND = [str(BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")]


def start_logged(command: list[str], env: dict[str, str], output: Path) -> subprocess.Popen:
    """Start `command` in the repository, in its own session, its output into `output`."""
    with output.open("wb") as sink:
        return subprocess.Popen(
            command,
            env=env,
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_session(process: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a process started by `start_logged` and every process of its session, also when the
    process itself has already exited (`dagster-celery worker start` starts `celery` and may
    return while it runs on): SIGTERM, up to `timeout` for the process and a few seconds more for
    the rest of its session, then SIGKILL for what is left."""
    if not session_alive(process.pid):
        process.poll()
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + SESSION_GRACE_SECONDS
    while session_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if session_alive(process.pid):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def session_alive(session_id: int) -> bool:
    """Some process of the session (process group) `session_id` still runs."""
    try:
        os.killpg(session_id, 0)
    except ProcessLookupError:
        return False
    return True


def write_celery_instance(home: Path, queue: str, max_concurrent_runs: int | None = None) -> Path:
    """`home`/dagster.yaml: deploy/celery/dagster.yaml on a queue of the caller's own."""
    config = yaml.safe_load(CELERY_INSTANCE.read_text())
    config["run_launcher"]["config"]["default_queue"] = queue
    if max_concurrent_runs is not None:
        config["concurrency"]["runs"]["max_concurrent_runs"] = max_concurrent_runs
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def celery_worker_command(queue: str, name: str, *celery_options: str) -> list[str]:
    """`dagster-celery worker start` on deploy/celery/worker.yaml, one task at a time."""
    return [
        str(BIN / "dagster-celery"),
        "worker",
        "start",
        "-A",
        "dagster_celery.app",
        "-y",
        str(REPO / "deploy" / "celery" / "worker.yaml"),
        "-q",
        queue,
        "-n",
        name,
        "-i",
        "medpipeline.definitions",
        "--",
        "--pool=solo",
        *celery_options,
    ]
