"""A Dagster run launcher that starts each run in a process forked from a warm one.

Dagster's DefaultRunLauncher has the code server spawn a fresh interpreter for every run, which
imports Dagster, this code location and every library, then builds their caches on first use: about
7 s before a document run does ~1.5 s of work, paid again by every document. This launcher keeps a
forkserver per launching process (the daemon) whose preload imports the code location and runs
the whole pipeline once on fictional sample text (`medpipeline.run_zygote`); a run then starts in a
forked copy of that process with every import done and every cache built.

One run is still one process, as with the default launcher: a document's crash, memory or hang
stays in its own run, each document's materializations and metadata are its own, and a single
dropped file starts at once (no batch to fill). The run worker's host, pid and start time are a
run tag, which gives run monitoring a real health check: a worker that died with its host (or
was killed) fails its run at the next monitoring poll instead of staying STARTED until the
max-runtime limit, and run retries take it from there.

The launcher must run where the code location's Python environment is: the daemon of `dagster
dev`, or a daemon whose image holds the code. A run whose code origin names another interpreter
is refused at launch with an error saying so (use DefaultRunLauncher, K8sRunLauncher or Celery
there).
"""

import hashlib
import importlib.util
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster import Field
from dagster._cli.api import _execute_run_command_body
from dagster._core.errors import DagsterLaunchFailedError
from dagster._core.instance import DagsterInstance, InstanceRef
from dagster._core.launcher import (
    CheckRunHealthResult,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes import ConfigurableClass, ConfigurableClassData
from dagster._utils.interrupts import capture_interrupts

WORKER_TAG = "medpipeline/run_worker"  # "<host>:<pid>:<start ticks>", no document data
DEFAULT_PRELOAD = ("medpipeline.run_zygote",)
TERMINATE_GRACE_SECONDS = 10.0


class WarmRunLauncher(RunLauncher, ConfigurableClass):
    """Starts each run in a child of a forkserver preloaded with `preload_modules`."""

    def __init__(
        self,
        preload_modules: Sequence[str] = DEFAULT_PRELOAD,
        inst_data: ConfigurableClassData | None = None,
    ) -> None:
        self._inst_data = inst_data
        self._preload = list(preload_modules)
        self._workers: dict[str, Any] = {}  # run_id -> multiprocessing Process
        self._zygote_code: str | None = None  # fingerprint of the code the forkserver imported
        self._lock = threading.Lock()
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {
            "preload_modules": Field(
                [str],
                is_required=False,
                default_value=list(DEFAULT_PRELOAD),
                description="Modules the forkserver imports once; runs fork from it.",
            )
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> "WarmRunLauncher":
        return cls(inst_data=inst_data, **config_value)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        origin = run.job_code_origin
        if origin is None:
            raise DagsterLaunchFailedError(f"Run {run.run_id} has no code origin to execute.")
        if not _same_environment(origin.executable_path):
            raise DagsterLaunchFailedError(
                "WarmRunLauncher runs jobs in the launching process's own Python environment "
                f"({_environment(os.sys.executable)}), but this code location runs in "
                f"{_environment(origin.executable_path)}; configure DefaultRunLauncher for it."
            )
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload(self._preload)
        worker = forkserver.Process(
            target=execute_run_in_worker,
            args=(run.run_id, self._instance.get_ref()),
            name=f"dagster-run-{run.run_id[:8]}",
        )
        with self._lock:
            self._forget_finished_workers()
            self._restart_zygote_after_code_change(code_fingerprint(self._preload))
            worker.start()
            self._workers[run.run_id] = worker
        self._instance.report_engine_event(
            f"Forked run worker (pid {worker.pid}) from the warm forkserver.",
            run,
            cls=self.__class__,
        )

    def terminate(self, run_id: str) -> bool:
        """Interrupt the run worker, as Dagster's launchers do; one still running after
        `TERMINATE_GRACE_SECONDS` is killed and its run marked canceled. (A step with a
        RetryPolicy takes Dagster's interrupt as a reason to retry, so the run would go on.)"""
        run = self._instance.get_run_by_id(run_id)
        if not run or run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        worker = run.tags.get(WORKER_TAG)
        pid = _live_worker_pid(worker)
        if pid is None:
            self._instance.report_engine_event(
                "No live run worker on this host to interrupt.", run, cls=self.__class__
            )
            return False
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + TERMINATE_GRACE_SECONDS
        while _live_worker_pid(worker) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if _live_worker_pid(worker) is not None:
            os.kill(pid, signal.SIGKILL)
        run = self._instance.get_run_by_id(run_id)
        if run and not run.is_finished:
            self._instance.report_run_canceled(
                run,
                f"Run worker {worker} stopped by termination (killed if still running "
                f"{TERMINATE_GRACE_SECONDS:g} s after the interrupt).",
            )
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        worker = run.tags.get(WORKER_TAG)
        if worker is None:  # the worker tags the run before it starts it
            return CheckRunHealthResult(WorkerStatus.NOT_FOUND, "run has no worker tag")
        host = worker.split(":", 1)[0]
        if host != socket.gethostname():
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, f"run worker is on host {host}")
        if _live_worker_pid(worker) is None:
            return CheckRunHealthResult(
                WorkerStatus.FAILED, f"run worker {worker} is no longer running"
            )
        return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=worker)

    def join(self, timeout: int = 30) -> None:
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.join(timeout)

    def _restart_zygote_after_code_change(self, fingerprint: str) -> None:
        """Changed code on disk: the forkserver, which imported the old code, is stopped and the
        next run starts a fresh one. (Not a new code server: `dagster-daemon` starts one every
        60 s to refresh its workspace, and re-warming each time cost a cold start a minute.)"""
        if fingerprint == self._zygote_code:
            return
        if self._zygote_code is not None:
            multiprocessing.forkserver._forkserver._stop()  # running workers go on; it just exits
        self._zygote_code = fingerprint

    def _forget_finished_workers(self) -> None:
        for run_id, worker in list(self._workers.items()):
            if worker.exitcode is not None:
                worker.close()
                del self._workers[run_id]


def code_fingerprint(modules: Sequence[str]) -> str:
    """The code the forkserver imports, as files on disk: the path, size and modification time
    of every file of the modules' top-level packages (sources and the lexicon's data files). A
    run forked from it runs what Dagster's default launcher, which starts a fresh interpreter
    per run, would read."""
    digest = hashlib.sha256()
    for package in sorted({module.split(".")[0] for module in modules}):
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    status = path.stat()
                    digest.update(f"{path}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def execute_run_in_worker(run_id: str, instance_ref: InstanceRef) -> None:
    """The forked run worker: what `dagster api execute_run` does, minus the interpreter start."""
    with capture_interrupts(), DagsterInstance.from_ref(instance_ref) as instance:
        # tagged before the run can be STARTED, so a health check always finds its worker
        instance.add_run_tags(run_id, {WORKER_TAG: _worker_id(os.getpid())})
        _execute_run_command_body(
            run_id, instance, lambda _event: None, set_exit_code_on_failure=False
        )


def _environment(executable: str) -> Path:
    """A Python environment is its interpreter's folder (`python` and `python3.11` are one)."""
    return Path(os.path.dirname(os.path.abspath(executable))).resolve()


def _same_environment(executable: str) -> bool:
    return _environment(executable) == _environment(os.sys.executable)


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (tells a pid's reuse apart)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _worker_id(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def _live_worker_pid(worker: str | None) -> int | None:
    """The pid of the worker the tag names when that very process still runs on this host."""
    if not worker:
        return None
    host, pid, ticks = worker.rsplit(":", 2)
    if host != socket.gethostname():
        return None
    return int(pid) if _start_ticks(int(pid)) == ticks else None
