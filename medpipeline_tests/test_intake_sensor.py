"""The inbox sensor takes only stable files, registers partitions and requests runs (run key =
doc_id) in one result, quarantines duplicates, non-PDFs and rejected files with a specific reason,
lets the good files of the same drop go on, keeps no file name in its cursor (persisted through the
instance, as the daemon does), requests the run a crash left missing, and runs urgent documents
first. (The same behaviour under the real daemon, with crashes: test_daemon.py.)"""

import hashlib
import http.server
import json
import shutil
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    SensorInstigatorData,
)
from dagster._core.storage.dagster_run import DagsterRun, make_new_run_id
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from medpipeline import samples
from medpipeline.analytics.warehouse import rebuild_warehouse
from medpipeline.defs.intake.sensors import (
    document_failure_sensor,
    inbox_sensor,
    missed_retries,
    retry_run_request,
)
from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.failures import read_failures
from medpipeline.intake import intake_key, observe_inbox, seen_digest, take_stable_files
from medpipeline.pdf import PdfLimits
from medpipeline.storage import DataLayout, read_json, safe_file_name, write_json
from medpipeline_tests.helpers import encrypted_pdf, materialize_document, store_copy

SENSOR_ORIGIN = RemoteInstigatorOrigin(
    RemoteRepositoryOrigin(
        InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="medpipeline.definitions")),
        "__repository__",
    ),
    "inbox_sensor",
)


SENSOR_SELECTOR_ID = InstigatorState(
    SENSOR_ORIGIN, InstigatorType.SENSOR, InstigatorStatus.RUNNING
).selector_id


def stored_cursor(instance: dg.DagsterInstance) -> str | None:
    state = instance.get_instigator_state(SENSOR_ORIGIN.get_id(), SENSOR_SELECTOR_ID)
    return state.instigator_data.cursor if state else None


def tick(instance: dg.DagsterInstance, layout: DataLayout) -> dg.SensorResult:
    """Evaluate the sensor once as the daemon does: the cursor is read from and saved to the
    instance's schedule storage, partitions are added and each requested run is recorded with its
    run key (queued, not executed)."""
    cursor = stored_cursor(instance)
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"document_store": DocumentStoreResource(data_dir=str(layout.root))},
    )
    result = inbox_sensor(context)
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    for request in result.run_requests:
        tags = {**request.tags, "dagster/partition": request.partition_key}
        tags["dagster/run_key"] = request.run_key
        instance.add_run(DagsterRun("document_pipeline", make_new_run_id(), tags=tags))
    data = SensorInstigatorData(cursor=result.cursor)
    state = instance.get_instigator_state(SENSOR_ORIGIN.get_id(), SENSOR_SELECTOR_ID)
    if state:
        instance.update_instigator_state(state.with_data(data))
    else:
        instance.add_instigator_state(
            InstigatorState(SENSOR_ORIGIN, InstigatorType.SENSOR, InstigatorStatus.RUNNING, data)
        )
    return result


def two_looks(instance: dg.DagsterInstance, layout: DataLayout) -> dg.SensorResult:
    tick(instance, layout)
    return tick(instance, layout)


def quarantine_reasons(layout: DataLayout) -> dict[str, str]:
    return {
        path.name.removesuffix(".reason.json"): read_json(path)["reason"]
        for path in layout.quarantine.glob("*.reason.json")
    }


def doc_id_of(path: Path) -> str:
    return doc_id_from_sha256(file_digests(path)[0])


def doc_id_of_bytes(content: bytes) -> str:
    return doc_id_from_sha256(hashlib.sha256(content).hexdigest())


def instance_bytes(instance: dg.DagsterInstance) -> bytes:
    """Every byte the instance stored (its SQLite databases, logs) as one blob."""
    files = sorted(Path(instance.root_directory).rglob("*"))
    return b"".join(path.read_bytes() for path in files if path.is_file())


def test_a_file_is_taken_only_after_two_identical_looks(instance, layout, samples_dir):
    dropped = layout.inbox / "Discharge Summary Zzyzx.PDF"
    shutil.copyfile(samples_dir / "discharge_summary.pdf", dropped)
    doc_id = doc_id_of(dropped)

    first = tick(instance, layout)
    assert first.run_requests == [] and first.dynamic_partitions_requests == []
    assert dropped.exists()
    (seen,) = json.loads(stored_cursor(instance))["seen"]  # seen once: waiting in the cursor
    assert "Zzyzx" not in stored_cursor(instance) and b"Zzyzx" not in instance_bytes(instance)

    second = tick(instance, layout)
    assert [request.partition_key for request in second.run_requests] == [doc_id]
    assert [request.run_key for request in second.run_requests] == [doc_id]
    assert list(second.dynamic_partitions_requests[0].partition_keys) == [doc_id]
    assert not dropped.exists(), "taken files leave the inbox"
    assert (
        layout.source_pdf(doc_id).read_bytes()
        == (samples_dir / "discharge_summary.pdf").read_bytes()
    )
    assert json.loads(stored_cursor(instance)) == {"seen": []}
    assert b"Zzyzx" not in instance_bytes(instance)
    assert tick(instance, layout).run_requests == [], "its run exists: not requested again"


def test_a_file_still_being_written_waits(instance, layout, samples_dir):
    growing = layout.inbox / "upload.pdf"
    content = (samples_dir / "referral_letter.pdf").read_bytes()
    growing.write_bytes(content[: len(content) // 2])
    tick(instance, layout)
    growing.write_bytes(content)  # the copy finished between the two looks
    second = tick(instance, layout)
    assert second.run_requests == [] and growing.exists()
    third = tick(instance, layout)
    assert [request.partition_key for request in third.run_requests] == [doc_id_of_bytes(content)]


def test_duplicates_non_pdfs_and_empty_files_are_quarantined(instance, layout, samples_dir):
    lab = samples_dir / "lab_report.pdf"
    shutil.copyfile(lab, layout.inbox / "labs.pdf")
    shutil.copyfile(lab, layout.inbox / "labs copy.pdf")
    (layout.inbox / "notes.txt").write_text("not a pdf")
    (layout.inbox / "fake.pdf").write_bytes(b"PK\x03\x04 this is a zip")
    (layout.inbox / "empty.pdf").write_bytes(b"")
    (layout.inbox / ".hidden.pdf").write_bytes(b"%PDF-1.4 partial")
    (layout.inbox / "in-progress.pdf.part").write_bytes(b"%PDF-1.4 partial")

    result = two_looks(instance, layout)

    assert [request.partition_key for request in result.run_requests] == [doc_id_of(lab)]
    assert quarantine_reasons(layout) == {
        "labs.pdf": "duplicate",  # sorted order: "labs copy.pdf" is taken first
        "notes.txt": "not_a_pdf",
        "fake.pdf": "not_a_pdf",
        "empty.pdf": "empty",
    }
    assert sorted(path.name for path in layout.inbox.iterdir()) == [
        ".hidden.pdf",
        "in-progress.pdf.part",
    ]
    # The same content dropped again later is a duplicate too, and costs nothing.
    shutil.copyfile(lab, layout.inbox / "labs again.pdf")
    again = two_looks(instance, layout)
    assert again.run_requests == []
    assert quarantine_reasons(layout)["labs again.pdf"] == "duplicate"


def test_mixed_drop_with_an_encrypted_pdf_quarantines_it_and_the_rest_go_on(
    instance, layout, samples_dir, corpus
):
    encrypted = corpus / "malformed" / "pypdf" / "r6-user-password.pdf"
    shutil.copyfile(encrypted, layout.inbox / "secret.pdf")
    shutil.copyfile(samples_dir / "discharge_summary.pdf", layout.inbox / "a.pdf")
    shutil.copyfile(samples_dir / "referral_letter.pdf", layout.inbox / "b.pdf")
    (layout.inbox / "zero.pdf").write_bytes(b"")

    result = two_looks(instance, layout)
    requested = [request.partition_key for request in result.run_requests]
    assert len(requested) == 3
    outcomes = {
        doc_id: materialize_document(instance, layout, doc_id).success for doc_id in requested
    }

    secret_id = doc_id_of(encrypted)
    assert outcomes.pop(secret_id) is False
    assert all(outcomes.values())
    for doc_id in outcomes:
        assert (layout.artifact(doc_id, "fhir_bundle")).exists()
    assert quarantine_reasons(layout) == {"secret.pdf": "encrypted", "zero.pdf": "empty"}
    assert not layout.document_dir(secret_id).exists()
    assert (layout.quarantine / "secret.pdf").read_bytes() == encrypted.read_bytes()
    reason = read_json(layout.quarantine / "secret.pdf.reason.json")
    assert "secret" not in reason["detail"]


class WebhookReceiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        WebhookReceiver.received.append(
            json.loads(self.rfile.read(int(self.headers["content-length"])))
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def report_failure(instance, store: DocumentStoreResource, run: dg.ExecuteInProcessResult):
    """Evaluate the failure sensor on a failed run, as the daemon does."""
    context = dg.build_run_status_sensor_context(
        sensor_name="document_failure_sensor",
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run.run_id),
        dagster_event=run.get_run_failure_event(),
        resources={"document_store": store},
    ).for_run_failure()
    document_failure_sensor(context)


def failed_documents(layout: DataLayout) -> list[tuple]:
    rebuild_warehouse(layout)
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        return analyst.execute("SELECT doc_id, step, reason FROM failed_documents").fetchall()


def test_a_rejected_document_is_recorded_once_and_processed_again_after_the_fix(
    instance, layout, tmp_path
):
    """Encrypted: quarantined, one failure record and one webhook call per failed run (even if
    the sensor sees the run twice). The site adds the password and drops the file again: it is
    stored again under a run key of its own, reaches its bundle, and leaves failed_documents.
    A copy of it after that is a duplicate, with no run."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), WebhookReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    WebhookReceiver.received.clear()
    passwords = tmp_path / "passwords.json"
    passwords.write_text("{}")
    try:
        store = DocumentStoreResource(
            data_dir=str(layout.root),
            pdf_password_file=str(passwords),
            failure_webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook",
        )
        locked = encrypted_pdf(tmp_path, "secret.pdf", "REFERRAL\nHypertension.", "pw-123")
        doc_id = doc_id_of(locked)
        shutil.copyfile(locked, layout.inbox / "secret.pdf")
        (request,) = two_looks(instance, layout).run_requests
        assert (request.partition_key, request.run_key) == (doc_id, doc_id)
        run = materialize_document(instance, layout, doc_id, passwords=passwords)
        assert not run.success
        report_failure(instance, store, run)
        report_failure(instance, store, run)  # a re-evaluated tick: no second record or call
    finally:
        server.shutdown()
        server.server_close()
    (failure,) = read_failures(layout)
    assert (failure.doc_id, failure.step, failure.reason) == (doc_id, "raw_document", "encrypted")
    assert WebhookReceiver.received == [failure.model_dump(mode="json")]
    assert failed_documents(layout) == [(doc_id, "raw_document", "encrypted")]
    assert quarantine_reasons(layout) == {"secret.pdf": "encrypted"}

    passwords.write_text(json.dumps({doc_id: "pw-123"}))
    (layout.quarantine / "secret.pdf").rename(layout.inbox / "secret.pdf")
    (layout.quarantine / "secret.pdf.reason.json").unlink()
    (again,) = two_looks(instance, layout).run_requests
    assert again.partition_key == doc_id and again.run_key.startswith(f"{doc_id}:")
    assert materialize_document(instance, layout, doc_id, passwords=passwords).success
    assert layout.artifact(doc_id, "fhir_bundle").exists()
    assert failed_documents(layout) == [], "a document that later succeeded is not failed"
    assert len(read_failures(layout)) == 1, "the history keeps the failed run"

    shutil.copyfile(locked, layout.inbox / "copy.pdf")
    assert two_looks(instance, layout).run_requests == []
    assert quarantine_reasons(layout) == {"copy.pdf": "duplicate"}


def test_a_stored_document_left_without_a_run_gets_one(instance, layout, samples_dir):
    """A crash between moving a file into documents/ and Dagster saving the tick leaves a stored
    document with no partition and no run: the next tick registers and requests it, once."""
    doc_id = store_copy(layout, samples_dir / "referral_letter.pdf")
    # stored by the version before run keys, its run queued then: it must not run twice
    legacy_id = store_copy(layout, samples_dir / "discharge_summary.pdf")
    record_path = layout.document_dir(legacy_id) / "intake.json"
    write_json(record_path, {k: v for k, v in read_json(record_path).items() if k != "run_key"})
    legacy_run = DagsterRun(
        "document_pipeline", make_new_run_id(), tags={"dagster/partition": legacy_id}
    )
    instance.add_run(legacy_run)

    (request,) = tick(instance, layout).run_requests
    assert (request.partition_key, request.run_key) == (doc_id, doc_id)
    assert doc_id in instance.get_dynamic_partitions("documents")
    assert tick(instance, layout).run_requests == [], "its run exists now"

    instance.delete_run(legacy_run.run_id)  # a legacy document without any run gets one too
    (request,) = tick(instance, layout).run_requests
    assert (request.partition_key, request.run_key) == (legacy_id, legacy_id)


def test_a_document_waiting_for_its_llm_batch_is_not_run_again(instance, layout, samples_dir):
    """A document whose chunks went to a Batch API has no bundle until the batch sensor collects
    it; reconciliation must not start a live run for it meanwhile (that would pay twice)."""
    doc_id = store_copy(layout, samples_dir / "referral_letter.pdf")
    waiting = layout.document_dir(doc_id) / "llm_batches" / "msgbatch_1.json"
    waiting.parent.mkdir()
    waiting.write_text("{}")
    assert tick(instance, layout).run_requests == []

    waiting.unlink()  # collected (or given up): an unfinished document is run again
    (request,) = tick(instance, layout).run_requests
    assert (request.partition_key, request.run_key) == (doc_id, doc_id)


def test_urgent_documents_are_taken_first_and_carry_a_higher_priority(
    instance, layout, samples_dir
):
    (layout.inbox / "urgent").mkdir()
    shutil.copyfile(samples_dir / "discharge_summary.pdf", layout.inbox / "a.pdf")
    shutil.copyfile(samples_dir / "referral_letter.pdf", layout.inbox / "urgent" / "z.pdf")
    requests = two_looks(instance, layout).run_requests
    priorities = {
        r.partition_key: (r.tags["dagster/priority"], r.tags["medpipeline/lane"]) for r in requests
    }
    assert priorities == {
        doc_id_of(samples_dir / "referral_letter.pdf"): ("10", "urgent"),
        doc_id_of(samples_dir / "discharge_summary.pdf"): ("0", "bulk"),
    }
    assert [r.partition_key for r in requests][0] == doc_id_of(samples_dir / "referral_letter.pdf")


def test_phi_stores_are_owner_only(instance, layout, samples_dir):
    shutil.copyfile(samples_dir / "discharge_summary.pdf", layout.inbox / "a.pdf")
    (layout.inbox / "a.pdf").chmod(0o644)
    (layout.inbox / "notes.txt").write_text("not a pdf")
    two_looks(instance, layout)
    modes = {
        str(path.relative_to(layout.root)): stat.S_IMODE(path.stat().st_mode)
        for store in layout.phi_stores
        for path in [store, *store.rglob("*")]
    }
    assert {name for name in modes if name.startswith("quarantine/")} == {
        "quarantine/notes.txt",
        "quarantine/notes.txt.reason.json",
    }
    assert any(name.endswith("source.pdf") for name in modes)
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (layout.root / name).is_dir() else 0o600)
    }
    assert wrong == {}


def test_hostile_names_stay_inside_the_data_folder(instance, layout, samples_dir):
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("..\\..\\boot.ini") == "boot.ini"
    assert safe_file_name("..") == "unnamed"
    names = ["Überweisung Müller ✓.pdf", "report..final.pdf", "a..b.txt"]
    shutil.copyfile(samples_dir / samples.REFERRAL_FILE, layout.inbox / names[0])
    (layout.inbox / names[1]).write_bytes(b"not a pdf at all")
    (layout.inbox / names[2]).write_text("notes")
    result = two_looks(instance, layout)
    assert len(result.run_requests) == 1
    assert quarantine_reasons(layout) == {names[1]: "not_a_pdf", names[2]: "not_a_pdf"}
    inside = [p.resolve() for p in layout.root.rglob("*")]
    assert all(p.is_relative_to(layout.root.resolve()) for p in inside)


def test_a_file_removed_between_listing_and_hashing_is_skipped(layout, samples_dir):
    """Someone else takes `b.pdf` from the inbox while the intake is storing `a.pdf`: `b.pdf` is
    neither stored, quarantined nor kept waiting, and `a.pdf` is stored as usual."""
    shutil.copyfile(samples_dir / "discharge_summary.pdf", layout.inbox / "a.pdf")
    shutil.copyfile(samples_dir / "referral_letter.pdf", layout.inbox / "b.pdf")
    key = intake_key(layout)
    looked = [seen_digest(key, name, seen) for name, seen in observe_inbox(layout.inbox).items()]

    def remove_b_while_taking_a(doc_id: str) -> bool:
        (layout.inbox / "b.pdf").unlink(missing_ok=True)
        return False

    result = take_stable_files(layout, looked, remove_b_while_taking_a, PdfLimits())
    assert [document.doc_id for document in result.accepted] == [
        doc_id_of(samples_dir / "discharge_summary.pdf")
    ]
    assert result.quarantined == [] and result.waiting == []
    assert list(layout.quarantine.iterdir()) == []
    assert list(layout.inbox.iterdir()) == []


def add_document_run(
    instance: dg.DagsterInstance, doc_id: str, status: dg.DagsterRunStatus, **tags: str
) -> DagsterRun:
    run = DagsterRun(
        job_name="document_pipeline",
        run_id=make_new_run_id(),
        status=status,
        tags={"dagster/partition": doc_id, "dagster/priority": "10", **tags},
    )
    instance.add_run(run)
    return run


def test_a_failed_run_that_run_retries_passed_over_is_retried_once_by_the_inbox_sensor(instance):
    failed = dg.DagsterRunStatus.FAILURE
    will_retry = {"dagster/will_retry": "true"}
    missed = add_document_run(instance, "missed", failed, **will_retry)
    add_document_run(instance, "not-retryable", failed, **{"dagster/will_retry": "false"})
    retried_by_dagster = add_document_run(instance, "retried", failed, **will_retry)
    add_document_run(
        instance,
        "retried",
        dg.DagsterRunStatus.STARTED,
        **{
            "dagster/parent_run_id": retried_by_dagster.run_id,
            "dagster/root_run_id": retried_by_dagster.run_id,
        },
    )
    add_document_run(instance, "tagged", failed, **will_retry, **{"dagster/auto_retry_run_id": "x"})
    add_document_run(instance, "bundled", failed, **will_retry)
    add_document_run(instance, "dropped-again", failed, **will_retry)
    add_document_run(instance, "dropped-again", dg.DagsterRunStatus.SUCCESS)
    pending = {"missed", "not-retryable", "retried", "tagged", "dropped-again"}
    later = datetime.now(UTC) + timedelta(minutes=2)

    assert missed_retries(instance, pending) == [], "run retries get a minute first"
    found = missed_retries(instance, pending, now=later)
    assert [run.run_id for run in found] == [missed.run_id]
    request = retry_run_request(found[0])
    assert request.partition_key == "missed"
    assert request.run_key == f"retry-of-{missed.run_id}"
    assert request.tags["dagster/parent_run_id"] == missed.run_id
    assert request.tags["dagster/priority"] == "10"

    add_document_run(instance, "missed", dg.DagsterRunStatus.NOT_STARTED, **request.tags)
    assert missed_retries(instance, pending, now=later) == [], "retried once"
