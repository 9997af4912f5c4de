"""The warm run launcher under the real daemon (`dagster-daemon run`, deploy/local/dagster.yaml):
each document run is a process forked from the warm forkserver, not from the daemon or the code
server; a run worker killed mid-run (as a host's OOM killer would) is found dead by run monitoring
and failed, and run retries re-run the document to its bundle; a run terminated from the instance
is interrupted (and killed when a step's RetryPolicy takes the interrupt for a retry) and ends
CANCELED without a bundle; a failed run that run retries marked `will_retry` and passed over is
retried by the inbox sensor.

The document's LLM call goes to a local fake OpenAI server whose first reply is held back, which
keeps the run in its clinical_extractions step while the test acts on it.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import dagster as dg
import psutil
import pytest
from dagster._core.launcher import WorkerStatus
from dagster._core.storage.dagster_run import make_new_run_id
from dagster._daemon.controller import RELOAD_WORKSPACE_INTERVAL as WORKSPACE_REFRESH_SECONDS

from medpipeline.defs.partitions import documents_partitions
from medpipeline.run_launcher import WORKER_TAG, WarmRunLauncher, code_fingerprint
from medpipeline_tests.daemon import DaemonSession, drop, make_pdf, wait_for
from medpipeline_tests.fake_llm_server import OPENAI, FakeLLMServer, Reply
from medpipeline_tests.helpers import store_copy

HELD_REPLY_SECONDS = 60  # keeps the run in its step while the test kills or terminates it
RUN_WAIT = 600  # seconds; a loaded 2-core machine


@pytest.fixture(scope="module")
def session(tmp_path_factory, llm):
    root = tmp_path_factory.mktemp("launcher")
    daemon = DaemonSession(
        root,
        {
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": llm.base_url + "/v1",
            "MEDPIPELINE_OPENAI_PROVIDER": "openai",
            "MEDPIPELINE_PATIENT_KEY_SECRET": "test-site-secret",
        },
    )
    config = daemon.home / "dagster.yaml"
    text = config.read_text()
    assert "poll_interval_seconds: 60" in text, "the local instance monitors runs"
    config.write_text(text.replace("poll_interval_seconds: 60", "poll_interval_seconds: 5"))
    daemon.start()
    yield daemon
    daemon.stop()


def started_run_of(session: DaemonSession, doc_id: str) -> dg.DagsterRun:
    def probe() -> dg.DagsterRun | None:
        for run in session.runs():
            if run.tags.get("dagster/partition") == doc_id and WORKER_TAG in run.tags:
                return run
        return None

    return wait_for(f"a run worker for {doc_id}", probe, RUN_WAIT)


def worker_pid(run: dg.DagsterRun) -> int:
    return int(run.tags[WORKER_TAG].split(":")[1])


def the_forkserver(session: DaemonSession, worker: psutil.Process) -> int:
    """The pid of the forkserver the module's first run worker was forked from. Runs later in
    the module, after `dagster-daemon` refreshed its workspace (a new code server every 60 s),
    must fork from the same one: the code on disk did not change."""
    if not hasattr(session, "forkserver_pid"):
        session.forkserver_pid = worker.ppid()
        return session.forkserver_pid
    wait_for(
        "the daemon's workspace refresh",
        lambda: time.monotonic() - session.started_at > WORKSPACE_REFRESH_SECONDS + 5,
        WORKSPACE_REFRESH_SECONDS + 10,
    )
    return session.forkserver_pid


def hold_next_reply(llm: FakeLLMServer) -> None:
    llm.script(OPENAI, Reply(delay=HELD_REPLY_SECONDS))


def wait_for_held_call(llm: FakeLLMServer) -> None:
    wait_for("the run's LLM call to be in flight", lambda: llm.max_in_flight >= 1, RUN_WAIT, 0.2)


def test_a_killed_run_worker_fails_its_run_and_the_retry_reaches_the_bundle(
    session, llm, tmp_path: Path
):
    hold_next_reply(llm)
    pdf, doc_id = make_pdf(tmp_path, "killed.pdf", "killed worker")
    drop(session, pdf)
    run = started_run_of(session, doc_id)
    wait_for_held_call(llm)

    pid = worker_pid(run)
    worker = psutil.Process(pid)
    daemon_tree = {session.process.pid} | {
        child.pid for child in psutil.Process(session.process.pid).children(recursive=True)
    }
    assert pid in daemon_tree, "the worker is a process of this daemon's session"
    assert worker.cmdline()[-1].startswith("from multiprocessing.forkserver import main")
    assert worker.ppid() != session.process.pid, "forked by the forkserver, not the daemon"
    assert worker.ppid() == the_forkserver(session, worker)
    os.kill(pid, signal.SIGKILL)

    failed = wait_for(
        "run monitoring to fail the run of the dead worker",
        lambda: (
            record
            if (record := session_run(session, run.run_id)).status == dg.DagsterRunStatus.FAILURE
            else None
        ),
        RUN_WAIT,
    )
    with session.instance() as instance:
        messages = [event.message for event in instance.all_logs(failed.run_id)]
    assert any("is no longer running" in (message or "") for message in messages)

    def retries() -> list[dg.DagsterRun]:
        return [r for r in session.runs() if r.tags.get("dagster/parent_run_id") == run.run_id]

    wait_for(
        "the retried run to finish",
        lambda: retries() and all(r.is_finished for r in retries()),
        RUN_WAIT,
    )
    assert [r.status for r in retries()] == [dg.DagsterRunStatus.SUCCESS]
    assert session.bundled([doc_id])


def test_terminating_a_run_interrupts_its_worker_and_cancels_it(session, llm, tmp_path: Path):
    llm.reset()
    hold_next_reply(llm)
    pdf, doc_id = make_pdf(tmp_path, "terminated.pdf", "terminated worker")
    drop(session, pdf)
    run = started_run_of(session, doc_id)
    pid = worker_pid(run)
    worker = psutil.Process(pid)
    assert worker.ppid() == the_forkserver(session, worker), (
        "a new forkserver: the daemon's workspace refresh made the launcher warm another"
    )
    with session.instance() as instance:
        wait_for(
            "the run to start its steps",
            lambda: instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED,
            RUN_WAIT,
            0.2,
        )
        assert instance.run_launcher.terminate(run.run_id)
    wait_for(
        "the run to end CANCELED",
        lambda: session_run(session, run.run_id).status == dg.DagsterRunStatus.CANCELED,
        RUN_WAIT,
    )
    wait_for("the worker to exit", lambda: not psutil.pid_exists(pid), 60)
    assert not session.layout.artifact(doc_id, "fhir_bundle").exists()


def test_a_failed_run_that_run_retries_passed_over_is_retried_by_the_inbox_sensor(
    session, llm, tmp_path: Path
):
    """The state Dagster's retry daemon leaves when it reads a failure event before the run's
    status (the race this backstop is for): a failed run marked will_retry, no retry run, the
    document stored without a bundle. The real daemon's inbox sensor retries it once."""
    llm.reset()
    pdf, doc_id = make_pdf(tmp_path, "passed over.pdf", "passed over")
    failed = dg.DagsterRun(
        job_name="document_pipeline",
        run_id=make_new_run_id(),
        status=dg.DagsterRunStatus.FAILURE,
        tags={"dagster/partition": doc_id, "dagster/run_key": doc_id, "dagster/will_retry": "true"},
    )
    with session.instance() as instance:
        instance.add_dynamic_partitions(documents_partitions.name, [doc_id])
        instance.add_run(failed)  # before the document is stored: the sensor sees a run for it
    store_copy(session.layout, pdf)

    def retry() -> dg.DagsterRun | None:
        for run in session.runs():
            if run.tags.get("dagster/parent_run_id") == failed.run_id and run.is_finished:
                return run
        return None

    retried = wait_for("the inbox sensor's retry run to finish", retry, RUN_WAIT)
    assert retried.status == dg.DagsterRunStatus.SUCCESS
    assert retried.tags["dagster/run_key"] == f"retry-of-{failed.run_id}"
    assert session.bundled([doc_id])
    assert [
        run.run_id for run in session.runs() if run.tags.get("dagster/partition") == doc_id
    ] == [
        retried.run_id,
        failed.run_id,
    ], "retried once"


def session_run(session: DaemonSession, run_id: str) -> dg.DagsterRun:
    with session.instance() as instance:
        return instance.get_run_by_id(run_id)


def _run_with_worker(worker: str | None) -> dg.DagsterRun:
    return dg.DagsterRun(job_name="document_pipeline", tags={WORKER_TAG: worker} if worker else {})


def test_the_health_check_tells_a_live_worker_from_a_dead_or_reused_pid():
    launcher = WarmRunLauncher()
    child = subprocess.Popen(["sleep", "60"])
    try:
        live = f"{socket.gethostname()}:{child.pid}:{start_ticks(child.pid)}"
        reused = f"{socket.gethostname()}:{child.pid}:1"  # same pid, another process's start
        other_host = f"{socket.gethostname()}-elsewhere:{child.pid}:1"
        statuses = {
            "live": launcher.check_run_worker_health(_run_with_worker(live)).status,
            "reused": launcher.check_run_worker_health(_run_with_worker(reused)).status,
            "other host": launcher.check_run_worker_health(_run_with_worker(other_host)).status,
            "untagged": launcher.check_run_worker_health(_run_with_worker(None)).status,
        }
    finally:
        child.kill()
        child.wait()
    dead = launcher.check_run_worker_health(_run_with_worker(live)).status
    assert statuses == {
        "live": WorkerStatus.RUNNING,
        "reused": WorkerStatus.FAILED,
        "other host": WorkerStatus.UNKNOWN,
        "untagged": WorkerStatus.NOT_FOUND,
    }
    assert dead == WorkerStatus.FAILED


def start_ticks(pid: int) -> str:
    """/proc/<pid>/stat field 22 (start time in clock ticks), read here independently."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return fields[19]


def test_the_code_fingerprint_changes_with_the_files_the_forkserver_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    package = tmp_path / "warm_code"
    package.mkdir()
    (package / "__init__.py").write_text("RULE = 1\n")
    (package / "rules.csv").write_text("literal\nno\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = code_fingerprint(["warm_code.zygote"])
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert code_fingerprint(["warm_code"]) == first, "the same files: keep the warm forkserver"
    (package / "rules.csv").write_text("literal\nno\ndenies\n")
    assert code_fingerprint(["warm_code"]) != first, "an edited lexicon is new code"
