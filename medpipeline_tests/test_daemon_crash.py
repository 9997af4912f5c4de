"""A SIGKILL of the whole daemon (`dagster-daemon run`, its code server and run workers) right
after the inbox sensor moved files out of the inbox loses nothing: every document reaches its
bundle once, its LLM spend counted once. A daemon of its own (not test_daemon.py's), so that
the suite's two processes run the two at once."""

import logging

import dagster as dg
import polars as pl

from medpipeline.definitions import warehouse_automation
from medpipeline_tests.daemon import BUNDLE_WAIT, drop, make_pdf, wait_for


def test_sigkill_right_after_the_sensor_took_the_files_loses_nothing(intake_session, tmp_path, llm):
    # No run in progress, for longer than the automation sensor's interval: a warehouse rebuild
    # launched just before the kill would stay STARTING until run monitoring's start timeout
    # (180 s) fails it, which is right but slow.
    intake_session.settle(warehouse_automation.minimum_interval_seconds + 5, timeout=BUNDLE_WAIT)
    documents = [make_pdf(tmp_path, f"scan {n}.pdf", f"crash batch {n}") for n in range(6)]
    for pdf, _ in documents:
        drop(intake_session, pdf)
    doc_ids = [doc_id for _, doc_id in documents]
    inbox_names = {pdf.name for pdf, _ in documents}
    wait_for(
        "the sensor to move the files out of the inbox",
        lambda: not inbox_names & {path.name for path in intake_session.layout.inbox.iterdir()},
        timeout=120,
        every=0.01,
    )
    intake_session.kill()

    stored = [d for d in doc_ids if intake_session.layout.source_pdf(d).exists()]
    with intake_session.instance() as instance:
        partitions = set(instance.get_dynamic_partitions("documents"))
        with_runs = {run.tags.get("dagster/partition") for run in intake_session.runs()}
    logging.getLogger(__name__).warning(
        f"at the kill: {len(stored)} stored, {len(partitions & set(doc_ids))} with a partition, "
        f"{len(with_runs & set(doc_ids))} with a run"
    )
    assert stored == doc_ids, "the sensor had stored every file"

    intake_session.start()
    wait_for("every bundle after the restart", lambda: intake_session.bundled(doc_ids), BUNDLE_WAIT)
    # Every run settles, a warehouse run the kill caught mid-flight too: run monitoring finds its
    # worker gone and fails it (run retries may run it again).
    wait_for("every run to settle", intake_session.quiet, timeout=600)

    for doc_id, marker in zip(doc_ids, (f"crash batch {n}" for n in range(6)), strict=True):
        runs = [run for run in intake_session.runs() if run.tags.get("dagster/partition") == doc_id]
        assert [(run.tags["dagster/run_key"], run.status) for run in runs] == [
            (doc_id, dg.DagsterRunStatus.SUCCESS)
        ]
        requests = [s for s in llm.served if marker in s.user_text]
        ledger = pl.read_parquet(intake_session.layout.ledger_file(doc_id))
        calls = ledger.filter(pl.col("outcome") == "ok").to_dicts()
        assert len(requests) >= 1 and len(calls) == len(requests), "each call once, counted once"
        assert len({row["chunk_id"] for row in calls}) == len(calls)
        assert sum(row["cost_usd"] for row in calls) > 0
