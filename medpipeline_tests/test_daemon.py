"""Intake under the real daemon (`dagster-daemon run`, the local instance config, SQLite), as a
site runs it: an urgent document passes queued bulk work; a document rejected as encrypted is
processed again when re-dropped after its password was added, while a copy of a document with a
bundle stays a duplicate and costs nothing; and after all of it no file name, patient name or
identifier is anywhere in Dagster's storage or in the data folder outside the PHI stores, whose
files are owner-only.

One daemon session is shared by the module (tests run in file order; the PHI test, last, stops it
to search its storage). The SIGKILL test has a daemon of its own (`test_daemon_crash.py`), so
that the two run on the suite's two processes at once. LLM calls go over HTTP to the local fake
OpenAI server, so spend is real ledger rows with a price.
"""

import json
import shutil
import stat
import time
from pathlib import Path

import dagster as dg
import yaml

from medpipeline.failures import read_failures
from medpipeline.samples import render_text_pdf
from medpipeline.storage import read_json
from medpipeline_tests.daemon import (
    BUNDLE_WAIT,
    DaemonSession,
    clinical_note,
    doc_id_of,
    drop,
    make_pdf,
    wait_for,
)
from medpipeline_tests.fake_llm_server import OPENAI, Reply
from medpipeline_tests.helpers import encrypted_pdf
from medpipeline_tests.phi_search import canary_hits

LOCAL_INSTANCE = Path(__file__).resolve().parents[1] / "deploy" / "local" / "dagster.yaml"
MAX_CONCURRENT_RUNS = yaml.safe_load(LOCAL_INSTANCE.read_text())["concurrency"]["runs"][
    "max_concurrent_runs"
]
BULK_REPLY_SECONDS = 20
NAME, MRN = "Zzyzx Quuxington", "ZQ-99887766"
CANARIES = ("Zzyzx", "Quuxington", MRN)


def document_runs_of(session: DaemonSession) -> list[dg.DagsterRun]:
    """Runs of documents (the warehouse's automation runs come and go on their own)."""
    return [run for run in session.runs() if "dagster/partition" in run.tags]


def dequeue_times(session: DaemonSession, doc_ids: list[str]) -> dict[str, float]:
    """When the run coordinator took each document's run off the queue (its RUN_STARTING event,
    written by the daemon's one coordinator thread, so the times are in dequeue order)."""
    runs = {run.tags.get("dagster/partition"): run.run_id for run in session.runs()}
    with session.instance() as instance:
        return {
            doc_id: instance.get_records_for_run(
                runs[doc_id], of_type=dg.DagsterEventType.RUN_STARTING
            )
            .records[0]
            .timestamp
            for doc_id in doc_ids
        }


def test_an_urgent_document_starts_before_earlier_queued_bulk_documents(
    intake_session, tmp_path, llm
):
    # Warm runs take ~2 s; each bulk document's LLM reply is held, and there are three waves of
    # bulk runs, so that bulk work is still queued when the urgent file has passed the sensor's
    # two looks (10 s apart).
    bulk_count = 3 * MAX_CONCURRENT_RUNS
    llm.script(OPENAI, *(Reply(delay=BULK_REPLY_SECONDS) for _ in range(bulk_count)))
    bulk = [make_pdf(tmp_path, f"bulk-{n}.pdf", f"bulk {n}") for n in range(bulk_count)]
    for pdf, _ in bulk:
        drop(intake_session, pdf)
    bulk_ids = {doc_id for _, doc_id in bulk}
    wait_for(
        "the bulk documents' runs to be queued",
        lambda: bulk_ids <= {run.tags.get("dagster/partition") for run in intake_session.runs()},
        timeout=300,
    )
    urgent_pdf, urgent_id = make_pdf(tmp_path, "urgent.pdf", "urgent")
    drop(intake_session, urgent_pdf, lane="urgent")

    def urgent_run_and_queued_bulk():
        runs = {run.tags.get("dagster/partition"): run for run in intake_session.runs()}
        if urgent_id not in runs:
            return None
        return runs[urgent_id], {
            doc_id for doc_id in bulk_ids if runs[doc_id].status == dg.DagsterRunStatus.QUEUED
        }

    urgent_run, queued_bulk = wait_for(
        "the urgent document's run", urgent_run_and_queued_bulk, timeout=300, every=0.5
    )
    assert (
        urgent_run.tags["dagster/priority"] == "10"
        and urgent_run.tags["dagster/run_key"] == urgent_id
    )
    assert queued_bulk, "bulk documents were still queued when the urgent one arrived"
    wait_for("every bundle", lambda: intake_session.bundled([urgent_id, *bulk_ids]), BUNDLE_WAIT)

    dequeued = dequeue_times(intake_session, [urgent_id, *queued_bulk])
    passed = [doc_id for doc_id in queued_bulk if dequeued[urgent_id] < dequeued[doc_id]]
    # The coordinator takes the queue in priority order at each pass, so every pass after the
    # urgent run was queued takes it first; only the pass that had read the queue just before it
    # can still launch bulk runs, at most one per free slot. (Worker start times would not do:
    # runs launched in one pass start in any order.)
    assert passed and len(passed) >= len(queued_bulk) - MAX_CONCURRENT_RUNS, (
        f"urgent dequeued before {len(passed)} of {len(queued_bulk)} earlier-queued bulk runs"
    )
    assert {
        run.tags["dagster/priority"]
        for run in intake_session.runs()
        if run.tags.get("dagster/partition") in bulk_ids
    } == {"0"}


def test_a_rejected_document_is_processed_again_after_the_fix_and_a_copy_stays_a_duplicate(
    intake_session, tmp_path, llm
):
    locked = encrypted_pdf(
        tmp_path, "referral (locked).pdf", clinical_note("encrypted referral"), "s3cret"
    )
    doc_id = doc_id_of(locked)
    drop(intake_session, locked)
    reason_file = intake_session.layout.quarantine / f"{locked.name}.reason.json"
    wait_for("the encrypted PDF in quarantine", reason_file.exists, BUNDLE_WAIT)
    assert read_json(reason_file)["reason"] == "encrypted"
    wait_for(
        "the failure record",
        lambda: [f for f in read_failures(intake_session.layout) if f.doc_id == doc_id],
        timeout=180,
    )

    # The site adds the password and drops the same file again.
    intake_session.passwords.write_text(json.dumps({doc_id: "s3cret"}))
    reason_file.unlink()
    drop(intake_session, intake_session.layout.quarantine / locked.name)
    (intake_session.layout.quarantine / locked.name).unlink()
    wait_for(
        "the re-dropped document's bundle", lambda: intake_session.bundled([doc_id]), BUNDLE_WAIT
    )

    # A copy of a document that has its bundle: duplicate, no run, no LLM call.
    wait_for("quiet", intake_session.quiet, timeout=300)
    served, runs = len(llm.served), len(document_runs_of(intake_session))
    copy = tmp_path / "copy of referral.pdf"
    shutil.copyfile(locked, copy)
    drop(intake_session, copy)
    copy_reason = intake_session.layout.quarantine / f"{copy.name}.reason.json"
    wait_for("the copy in quarantine", copy_reason.exists, timeout=120)
    assert read_json(copy_reason)["reason"] == "duplicate"
    time.sleep(12)  # one more sensor tick: nothing may follow
    assert (len(llm.served), len(document_runs_of(intake_session))) == (served, runs)

    document_runs = [r for r in intake_session.runs() if r.tags.get("dagster/partition") == doc_id]
    assert sorted(run.status.value for run in document_runs) == [
        "FAILURE",
        "SUCCESS",
    ], "one rejected run, one successful run: the rejection was not retried"
    keys = {run.tags["dagster/run_key"] for run in document_runs}
    assert doc_id in keys and len(keys) == 2, "the re-drop has a run key of its own"
    assert not any("dagster/retry_number" in run.tags for run in document_runs)
    (failure,) = [f for f in read_failures(intake_session.layout) if f.doc_id == doc_id]
    assert (failure.step, failure.reason) == ("raw_document", "encrypted")
    wait_for(
        "the warehouse to show the document and not as failed",
        lambda: (
            intake_session.warehouse_rows(
                f"SELECT (SELECT count(*) FROM documents WHERE doc_id = '{doc_id}'), "
                f"(SELECT count(*) FROM failed_documents WHERE doc_id = '{doc_id}')"
            )
            == [(1, 0)]
        ),
        timeout=300,
        every=3,
    )


def test_no_phi_in_dagster_storage_or_outside_the_phi_stores(intake_session, tmp_path, llm):
    named = render_text_pdf(
        tmp_path / f"{NAME} MRN {MRN}.pdf", [clinical_note("canary", NAME, MRN)]
    )
    doc_id = doc_id_of(named)
    drop(intake_session, named)
    (intake_session.layout.inbox / f"{NAME} notes.txt").write_text(f"{NAME} {MRN}")
    wait_for("the canary's bundle", lambda: intake_session.bundled([doc_id]), BUNDLE_WAIT)
    wait_for(
        "the canary document in the warehouse",
        lambda: (
            intake_session.warehouse_rows(
                f"SELECT count(*) FROM documents WHERE doc_id = '{doc_id}'"
            )
            == [(1,)]
        ),
        timeout=300,
        every=3,
    )
    wait_for("quiet", intake_session.quiet, timeout=300)
    intake_session.stop()

    layout = intake_session.layout
    # the test is live: the canary went through the pipeline and reached the PHI store
    assert MRN in layout.artifact(doc_id, "document_text").read_text()
    assert any(MRN in served.user_text for served in llm.served), "and the LLM provider"
    assert NAME in (layout.document_dir(doc_id) / "intake.json").read_text()
    assert any(NAME in path.name for path in layout.quarantine.iterdir()), "non-PDF quarantined"

    searched = [intake_session.home, intake_session.log_path] + [
        path for path in layout.root.iterdir() if path not in layout.phi_stores
    ]
    hits = canary_hits(searched, CANARIES)
    assert any(path.suffix == ".db" for path in intake_session.home.rglob("*")), (
        "SQLite was searched"
    )
    assert hits == []

    for store in layout.phi_stores:
        for path in [store, *store.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            expected = 0o700 if path.is_dir() else 0o600
            assert mode == expected, f"{path.relative_to(layout.root)} is {oct(mode)}"
