"""Intake under the real daemon (`dagster-daemon run`, the local instance config, SQLite), as a
site runs it: an urgent document passes queued bulk work; a document rejected as encrypted is
processed again when re-dropped after its password was added, while a copy of a document with a
bundle stays a duplicate and costs nothing; a SIGKILL of the whole daemon right after the sensor
moved files out of the inbox loses nothing (every document reaches its bundle once, its LLM spend
counted once); and after all of it no file name, patient name or identifier is anywhere in
Dagster's storage or in the data folder outside the PHI stores, whose files are owner-only.

One daemon session is shared by the module (tests run in file order; the PHI test stops it to
search its storage; the SIGKILL test, last, starts it, kills it and starts it again). LLM calls go
over HTTP to the local fake OpenAI server, so spend is real ledger rows with a price.
"""

import json
import logging
import shutil
import stat
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from medpipeline.definitions import warehouse_automation
from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.failures import read_failures
from medpipeline.samples import render_text_pdf
from medpipeline.storage import read_json
from medpipeline_tests.daemon import DaemonSession, wait_for
from medpipeline_tests.fake_llm_server import OPENAI, Reply
from medpipeline_tests.helpers import encrypted_pdf
from medpipeline_tests.phi_search import canary_hits

LOCAL_INSTANCE = Path(__file__).resolve().parents[1] / "deploy" / "local" / "dagster.yaml"
MAX_CONCURRENT_RUNS = yaml.safe_load(LOCAL_INSTANCE.read_text())["concurrency"]["runs"][
    "max_concurrent_runs"
]
BULK_REPLY_SECONDS = 20
BUNDLE_WAIT = 900  # seconds; a loaded 2-core machine runs ~2 documents a minute
NAME, MRN = "Zzyzx Quuxington", "ZQ-99887766"
CANARIES = ("Zzyzx", "Quuxington", MRN)


def clinical_note(marker: str, patient: str = "Jane Roe", mrn: str = "MRN-000000") -> str:
    return (
        f"DISCHARGE SUMMARY {marker}\nPATIENT: {patient}\nMRN: {mrn}\nDOB: 01/02/1960\n\n"
        "DISCHARGE DIAGNOSES:\nHypertension.\nType 2 diabetes mellitus.\n\n"
        "DISCHARGE MEDICATIONS:\nLisinopril 10 mg PO daily.\nMetformin 500 mg PO twice daily.\n"
    )


def make_pdf(folder: Path, name: str, marker: str) -> tuple[Path, str]:
    path = render_text_pdf(folder / name, [clinical_note(marker)])
    return path, doc_id_of(path)


def doc_id_of(path: Path) -> str:
    return doc_id_from_sha256(file_digests(path)[0])


def drop(session: DaemonSession, pdf: Path, lane: str = "") -> None:
    """Copy into the inbox as a site does: write under a temporary name, then rename."""
    folder = session.layout.inbox / lane
    folder.mkdir(exist_ok=True)
    partial = folder / f"{pdf.name}.part"
    shutil.copyfile(pdf, partial)
    partial.rename(folder / pdf.name)


def document_runs_of(session: DaemonSession) -> list[dg.DagsterRun]:
    """Runs of documents (the warehouse's automation runs come and go on their own)."""
    return [run for run in session.runs() if "dagster/partition" in run.tags]


@pytest.fixture(scope="module")
def session(tmp_path_factory, llm):
    root = tmp_path_factory.mktemp("daemon")
    passwords = root / "pdf_passwords.json"
    passwords.write_text("{}")
    daemon = DaemonSession(
        root,
        {
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": llm.base_url + "/v1",
            "MEDPIPELINE_OPENAI_PROVIDER": "openai",  # the fake server stands in for OpenAI
            "MEDPIPELINE_PDF_PASSWORDS": str(passwords),
            "MEDPIPELINE_PATIENT_KEY_SECRET": "test-site-secret",
        },
    )
    daemon.passwords = passwords
    daemon.start()
    yield daemon
    daemon.stop()


def test_an_urgent_document_starts_before_earlier_queued_bulk_documents(session, tmp_path, llm):
    # Warm runs take ~2 s; each bulk document's LLM reply is held, and there are three waves of
    # bulk runs, so that bulk work is still queued when the urgent file has passed the sensor's
    # two looks (10 s apart).
    bulk_count = 3 * MAX_CONCURRENT_RUNS
    llm.script(OPENAI, *(Reply(delay=BULK_REPLY_SECONDS) for _ in range(bulk_count)))
    bulk = [make_pdf(tmp_path, f"bulk-{n}.pdf", f"bulk {n}") for n in range(bulk_count)]
    for pdf, _ in bulk:
        drop(session, pdf)
    bulk_ids = {doc_id for _, doc_id in bulk}
    wait_for(
        "the bulk documents' runs to be queued",
        lambda: bulk_ids <= {run.tags.get("dagster/partition") for run in session.runs()},
        timeout=300,
    )
    urgent_pdf, urgent_id = make_pdf(tmp_path, "urgent.pdf", "urgent")
    drop(session, urgent_pdf, lane="urgent")

    def urgent_run_and_queued_bulk():
        runs = {run.tags.get("dagster/partition"): run for run in session.runs()}
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
    wait_for("every bundle", lambda: session.bundled([urgent_id, *bulk_ids]), BUNDLE_WAIT)

    started = {
        record.dagster_run.tags.get("dagster/partition"): record.start_time
        for record in session.run_records()
    }
    passed = [doc_id for doc_id in queued_bulk if started[urgent_id] < started[doc_id]]
    # Several slots can free at once: the coordinator then launches the urgent run and the next
    # bulk runs in the same pass, and any of those worker processes may start first. Any other
    # queued bulk run starting before it would be a priority violation.
    assert passed and len(passed) >= len(queued_bulk) - (MAX_CONCURRENT_RUNS - 1), (
        f"urgent started before {len(passed)} of {len(queued_bulk)} earlier-queued bulk runs"
    )
    assert {
        run.tags["dagster/priority"]
        for run in session.runs()
        if run.tags.get("dagster/partition") in bulk_ids
    } == {"0"}


def test_a_rejected_document_is_processed_again_after_the_fix_and_a_copy_stays_a_duplicate(
    session, tmp_path, llm
):
    locked = encrypted_pdf(
        tmp_path, "referral (locked).pdf", clinical_note("encrypted referral"), "s3cret"
    )
    doc_id = doc_id_of(locked)
    drop(session, locked)
    reason_file = session.layout.quarantine / f"{locked.name}.reason.json"
    wait_for("the encrypted PDF in quarantine", reason_file.exists, BUNDLE_WAIT)
    assert read_json(reason_file)["reason"] == "encrypted"
    wait_for(
        "the failure record",
        lambda: [f for f in read_failures(session.layout) if f.doc_id == doc_id],
        timeout=180,
    )

    # The site adds the password and drops the same file again.
    session.passwords.write_text(json.dumps({doc_id: "s3cret"}))
    reason_file.unlink()
    drop(session, session.layout.quarantine / locked.name)
    (session.layout.quarantine / locked.name).unlink()
    wait_for("the re-dropped document's bundle", lambda: session.bundled([doc_id]), BUNDLE_WAIT)

    # A copy of a document that has its bundle: duplicate, no run, no LLM call.
    wait_for("quiet", session.quiet, timeout=300)
    served, runs = len(llm.served), len(document_runs_of(session))
    copy = tmp_path / "copy of referral.pdf"
    shutil.copyfile(locked, copy)
    drop(session, copy)
    copy_reason = session.layout.quarantine / f"{copy.name}.reason.json"
    wait_for("the copy in quarantine", copy_reason.exists, timeout=120)
    assert read_json(copy_reason)["reason"] == "duplicate"
    time.sleep(12)  # one more sensor tick: nothing may follow
    assert (len(llm.served), len(document_runs_of(session))) == (served, runs)

    document_runs = [r for r in session.runs() if r.tags.get("dagster/partition") == doc_id]
    assert sorted(run.status.value for run in document_runs) == [
        "FAILURE",
        "SUCCESS",
    ], "one rejected run, one successful run: the rejection was not retried"
    keys = {run.tags["dagster/run_key"] for run in document_runs}
    assert doc_id in keys and len(keys) == 2, "the re-drop has a run key of its own"
    assert not any("dagster/retry_number" in run.tags for run in document_runs)
    (failure,) = [f for f in read_failures(session.layout) if f.doc_id == doc_id]
    assert (failure.step, failure.reason) == ("raw_document", "encrypted")
    wait_for(
        "the warehouse to show the document and not as failed",
        lambda: (
            session.warehouse_rows(
                f"SELECT (SELECT count(*) FROM documents WHERE doc_id = '{doc_id}'), "
                f"(SELECT count(*) FROM failed_documents WHERE doc_id = '{doc_id}')"
            )
            == [(1, 0)]
        ),
        timeout=300,
        every=3,
    )


def test_no_phi_in_dagster_storage_or_outside_the_phi_stores(session, tmp_path, llm):
    named = render_text_pdf(
        tmp_path / f"{NAME} MRN {MRN}.pdf", [clinical_note("canary", NAME, MRN)]
    )
    doc_id = doc_id_of(named)
    drop(session, named)
    (session.layout.inbox / f"{NAME} notes.txt").write_text(f"{NAME} {MRN}")
    wait_for("the canary's bundle", lambda: session.bundled([doc_id]), BUNDLE_WAIT)
    wait_for(
        "the canary document in the warehouse",
        lambda: (
            session.warehouse_rows(f"SELECT count(*) FROM documents WHERE doc_id = '{doc_id}'")
            == [(1,)]
        ),
        timeout=300,
        every=3,
    )
    wait_for("quiet", session.quiet, timeout=300)
    session.stop()

    layout = session.layout
    # the test is live: the canary went through the pipeline and reached the PHI store
    assert MRN in layout.artifact(doc_id, "document_text").read_text()
    assert any(MRN in served.user_text for served in llm.served), "and the LLM provider"
    assert NAME in (layout.document_dir(doc_id) / "intake.json").read_text()
    assert any(NAME in path.name for path in layout.quarantine.iterdir()), "non-PDF quarantined"

    searched = [session.home, session.log_path] + [
        path for path in layout.root.iterdir() if path not in layout.phi_stores
    ]
    hits = canary_hits(searched, CANARIES)
    assert any(path.suffix == ".db" for path in session.home.rglob("*")), "SQLite was searched"
    assert hits == []

    for store in layout.phi_stores:
        for path in [store, *store.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            expected = 0o700 if path.is_dir() else 0o600
            assert mode == expected, f"{path.relative_to(layout.root)} is {oct(mode)}"


def test_sigkill_right_after_the_sensor_took_the_files_loses_nothing(session, tmp_path, llm):
    if session.process is None:  # the PHI test stopped it to search its storage
        session.start()
    # No run in progress, for longer than the automation sensor's interval: a warehouse rebuild
    # launched just before the kill would stay STARTING until run monitoring's start timeout
    # (180 s) fails it, which is right but slow.
    session.settle(warehouse_automation.minimum_interval_seconds + 5, timeout=BUNDLE_WAIT)
    documents = [make_pdf(tmp_path, f"scan {n}.pdf", f"crash batch {n}") for n in range(6)]
    for pdf, _ in documents:
        drop(session, pdf)
    doc_ids = [doc_id for _, doc_id in documents]
    inbox_names = {pdf.name for pdf, _ in documents}
    wait_for(
        "the sensor to move the files out of the inbox",
        lambda: not inbox_names & {path.name for path in session.layout.inbox.iterdir()},
        timeout=120,
        every=0.01,
    )
    session.kill()

    stored = [d for d in doc_ids if session.layout.source_pdf(d).exists()]
    with session.instance() as instance:
        partitions = set(instance.get_dynamic_partitions("documents"))
        with_runs = {run.tags.get("dagster/partition") for run in session.runs()}
    logging.getLogger(__name__).warning(
        f"at the kill: {len(stored)} stored, {len(partitions & set(doc_ids))} with a partition, "
        f"{len(with_runs & set(doc_ids))} with a run"
    )
    assert stored == doc_ids, "the sensor had stored every file"

    session.start()
    wait_for("every bundle after the restart", lambda: session.bundled(doc_ids), BUNDLE_WAIT)
    # Every run settles, a warehouse run the kill caught mid-flight too: run monitoring finds its
    # worker gone and fails it (run retries may run it again).
    wait_for("every run to settle", session.quiet, timeout=600)

    for doc_id, marker in zip(doc_ids, (f"crash batch {n}" for n in range(6)), strict=True):
        runs = [run for run in session.runs() if run.tags.get("dagster/partition") == doc_id]
        assert [(run.tags["dagster/run_key"], run.status) for run in runs] == [
            (doc_id, dg.DagsterRunStatus.SUCCESS)
        ]
        requests = [s for s in llm.served if marker in s.user_text]
        ledger = pl.read_parquet(session.layout.ledger_file(doc_id))
        calls = ledger.filter(pl.col("outcome") == "ok").to_dicts()
        assert len(requests) >= 1 and len(calls) == len(requests), "each call once, counted once"
        assert len({row["chunk_id"] for row in calls}) == len(calls)
        assert sum(row["cost_usd"] for row in calls) > 0
