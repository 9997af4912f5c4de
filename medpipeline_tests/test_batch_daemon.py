"""Batch mode under the real daemon (issue 13 point 5): a run tagged for batch submits the
document's chunks and ends; `dagster-daemon run` on the project's workspace evaluates
`llm_batch_sensor` (interval from MEDPIPELINE_BATCH_POLL_SECONDS), which polls the fake server's
Message Batches API through the official SDK, collects the ended batch and launches the run that
materializes the extraction and the FHIR bundle from the response cache, with no live LLM call;
the ledger carries the batch's calls with their batch id, and no file name reaches run tags."""

import os
import shutil
import time
from pathlib import Path

import dagster as dg
import polars as pl

from medpipeline import samples
from medpipeline.definitions import document_assets
from medpipeline.defs.extraction.assets import BATCH_MODE, LLM_MODE_TAG
from medpipeline.defs.extraction.sensors import BATCH_ID_TAG
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import LLMResource
from medpipeline.extraction.batches import pending_batches
from medpipeline.ledger import read_ledger
from medpipeline.storage import DataLayout
from medpipeline_tests.fake_llm_server import ANTHROPIC
from medpipeline_tests.helpers import resources_for, store_copy
from medpipeline_tests.processes import DAEMON_COMMAND, start_logged, stop_session

REPO = Path(__file__).resolve().parents[1]
DONE = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def batch_runs(home: Path, batch_id: str) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(instance.get_runs(filters=dg.RunsFilter(tags={BATCH_ID_TAG: batch_id})))


def test_the_daemon_polls_the_batch_and_launches_the_run_that_completes_the_document(
    tmp_path, samples_dir, llm_server
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
    layout = DataLayout(tmp_path / "data").ensure()
    doc_id = store_copy(layout, samples_dir / samples.DISCHARGE_FILE)
    llm = LLMResource(
        anthropic_api_key="k",
        anthropic_base_url=llm_server.base_url,
        fallback_order=["anthropic", "offline"],
    )
    llm_server.batches.polls_before_end = 2  # the sensor sees it in progress first
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(documents_partitions.name, [doc_id])
        submitted = dg.materialize(
            document_assets,
            partition_key=doc_id,
            instance=instance,
            resources=resources_for(layout, llm),
            tags={LLM_MODE_TAG: BATCH_MODE},
        )
    assert submitted.success
    assert submitted.asset_materializations_for_node("fhir_bundle") == []
    (pending,) = pending_batches(layout)
    batch_requests = len(llm_server.served)

    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DAGSTER_HOME": str(home),
        "MEDPIPELINE_DATA_DIR": str(layout.root),
        "ANTHROPIC_API_KEY": "k",
        "ANTHROPIC_BASE_URL": llm_server.base_url,
        "MEDPIPELINE_FALLBACK_ORDER": "anthropic,offline",
        "MEDPIPELINE_BATCH_POLL_SECONDS": "2",
    }
    # its own session: stopped with its code server and runs
    daemon = start_logged(DAEMON_COMMAND, env, tmp_path / "daemon.log")
    try:
        deadline = time.monotonic() + 300
        runs: list[dg.DagsterRun] = []
        while time.monotonic() < deadline:
            runs = batch_runs(home, pending.batch_id)
            if runs and runs[0].status in DONE:
                break
            time.sleep(2)
    finally:
        stop_session(daemon, timeout=60)
    (run,) = runs
    assert run.status == dg.DagsterRunStatus.SUCCESS, (tmp_path / "daemon.log").read_text()[-3000:]
    assert run.tags["dagster/partition"] == doc_id
    assert not any(samples.DISCHARGE_FILE in value for value in run.tags.values())
    assert pending_batches(layout) == [], "collected"
    polls = llm_server.batches.batches[pending.batch_id]["polls"]
    # two ticks found it in progress; the third saw it ended and collected it (the SDK's
    # results() retrieves the batch once more for its results URL); no poll after that
    assert polls == 4
    assert layout.artifact(doc_id, "fhir_bundle").exists()
    live = [s for s in llm_server.served[batch_requests:] if s.api == ANTHROPIC]
    assert live == [], "the answers came from the batch: no live call"
    ledger = read_ledger(layout)
    batch_rows = ledger.filter(pl.col("batch_id") == pending.batch_id)
    assert batch_rows.height == len(pending.items)
    assert batch_rows["cost_usd"].sum() > 0
