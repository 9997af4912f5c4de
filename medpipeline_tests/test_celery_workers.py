"""Document runs execute on Celery workers (dagster-celery's CeleryRunLauncher) over the real
RabbitMQ broker, with the PostgreSQL instance and a shared data folder: two worker processes,
started as other machines would start them, both take runs from the daemon's queue, and every
document dropped into the inbox reaches its bundle exactly once."""

import os
import re
import shutil
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml

from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.storage import DataLayout
from medpipeline_tests.processes import (
    BIN,
    DAEMON_COMMAND,
    REPO,
    celery_worker_command,
    start_logged,
    stop_session,
    write_celery_instance,
)
from medpipeline_tests.services import ensure_rabbitmq, ensure_redis

CELERY_TASK_ID_TAG = "dagster-celery/task_id"
WAIT_SECONDS = 600


WORKER_SLOTS = 2  # two workers, `--pool=solo`: one run at a time each


def _instance_home(folder: Path, queue: str) -> Path:
    """A $DAGSTER_HOME with deploy/celery/dagster.yaml, on a queue of this test's own.

    As deploy/celery/dagster.yaml says, the daemon launches no more runs than the workers have
    slots: a run launched beyond them waits in the broker, and on a slow machine run monitoring's
    start timeout fails it (seen in CI: the fifth of six runs failed after waiting for two)."""
    folder.mkdir()
    return write_celery_instance(folder, queue, max_concurrent_runs=WORKER_SLOTS)


def _document_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(job_name="document_pipeline")))


@pytest.fixture
def broker_queue():
    """A queue name of this test on the local RabbitMQ, deleted afterwards."""
    from kombu import Connection

    broker = ensure_rabbitmq()
    queue = f"medpipeline-test-{uuid.uuid4().hex[:8]}"
    yield broker, queue
    with Connection(broker) as connection:
        connection.default_channel.queue_delete(queue)


def test_two_celery_workers_share_the_documents_and_each_reaches_its_bundle_once(
    postgres_url, broker_queue, tmp_path, samples_dir, monkeypatch
):
    broker, queue = broker_queue
    backend = ensure_redis() + "/0"
    layout = DataLayout(tmp_path / "shared_data").ensure()
    for name, value in {
        "DAGSTER_PG_URL": postgres_url,
        "DAGSTER_CELERY_BROKER_URL": broker,
        "DAGSTER_CELERY_BACKEND_URL": backend,
        "MEDPIPELINE_DATA_DIR": str(layout.root),
        # `dagster-celery worker start` runs `celery` from PATH, as in an activated virtualenv
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }.items():
        monkeypatch.setenv(name, value)
    env = dict(os.environ)
    worker_logs = [tmp_path / f"worker{index}.log" for index in (1, 2)]
    workers = [
        start_logged(
            celery_worker_command(queue, f"worker{index}", f"--logfile={log}"),
            {**env, "DAGSTER_HOME": str(_instance_home(tmp_path / f"worker{index}_home", queue))},
            tmp_path / f"worker{index}.out",
        )
        for index, log in zip((1, 2), worker_logs, strict=True)
    ]
    daemon = None
    try:
        deadline = time.monotonic() + 180
        while not all(log.exists() and "ready." in log.read_text() for log in worker_logs):
            assert time.monotonic() < deadline, "the Celery workers did not become ready"
            for worker, index in zip(workers, (1, 2), strict=True):
                output = (tmp_path / f"worker{index}.out").read_text()[-2000:]
                assert worker.poll() is None, f"Celery worker {index} exited:\n{output}"
            time.sleep(1)

        home = _instance_home(tmp_path / "daemon_home", queue)
        daemon = start_logged(
            DAEMON_COMMAND,
            {**env, "DAGSTER_HOME": str(home)},
            tmp_path / "daemon.out",
        )
        samples = sorted(samples_dir.glob("*.pdf"))
        doc_ids = {doc_id_from_sha256(file_digests(pdf)[0]) for pdf in samples}
        for pdf in samples:
            shutil.copyfile(pdf, layout.inbox / pdf.name)

        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                runs = _document_runs(instance)
                partitions = {run.tags["dagster/partition"] for run in runs}
                if partitions == doc_ids and all(run.is_finished for run in runs):
                    break
                assert time.monotonic() < deadline, (
                    f"{len(runs)} runs, statuses {[run.status.value for run in runs]}"
                )
                time.sleep(2)

            assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS] * len(doc_ids)
            for doc_id in doc_ids:
                materializations = instance.fetch_materializations(
                    dg.AssetRecordsFilter(
                        asset_key=dg.AssetKey("fhir_bundle"), asset_partitions=[doc_id]
                    ),
                    limit=10,
                ).records
                assert len(materializations) == 1
                assert (layout.documents / doc_id / "fhir_bundle.json").is_file()

            # Each run was one Celery task, executed (and finished) by exactly one of the workers.
            succeeded = [
                set(re.findall(r"Task execute_job\[([0-9a-f-]+)\] succeeded", log.read_text()))
                for log in worker_logs
            ]
            task_ids = {run.tags[CELERY_TASK_ID_TAG] for run in runs}
            assert all(task_ids & done for done in succeeded), "a worker took no document run"
            assert not succeeded[0] & succeeded[1]
            assert task_ids <= succeeded[0] | succeeded[1]
    finally:
        if daemon is not None:
            stop_session(daemon)
        for worker in workers:
            stop_session(worker)


def test_the_celery_instance_is_the_production_instance_plus_its_run_launcher():
    production = yaml.safe_load((REPO / "dagster.yaml").read_text())
    celery = yaml.safe_load((REPO / "deploy" / "celery" / "dagster.yaml").read_text())
    assert celery.pop("run_launcher")["class"] == "CeleryRunLauncher"
    assert celery == production
