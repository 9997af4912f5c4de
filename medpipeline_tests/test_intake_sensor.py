"""The inbox sensor takes only stable files, registers partitions and requests runs in one result,
quarantines duplicates, non-PDFs and rejected files with a specific reason, and lets the good
files of the same drop go on."""

import hashlib
import http.server
import json
import shutil
import threading
from pathlib import Path

import dagster as dg
import duckdb

from medpipeline import samples
from medpipeline.analytics.warehouse import rebuild_warehouse
from medpipeline.defs.intake.sensors import document_failure_sensor, inbox_sensor
from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.failures import read_failures
from medpipeline.intake import observe_inbox, take_stable_files
from medpipeline.pdf import PdfLimits
from medpipeline.storage import DataLayout, read_json, safe_file_name
from medpipeline_tests.helpers import materialize_document


def tick(instance: dg.DagsterInstance, layout: DataLayout, cursor: str | None):
    """Evaluate the sensor once and apply its partition requests as the daemon would."""
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"document_store": DocumentStoreResource(data_dir=str(layout.root))},
    )
    result = inbox_sensor(context)
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def quarantine_reasons(layout: DataLayout) -> dict[str, str]:
    return {
        path.name.removesuffix(".reason.json"): read_json(path)["reason"]
        for path in layout.quarantine.glob("*.reason.json")
    }


def doc_id_of(path: Path) -> str:
    return doc_id_from_sha256(file_digests(path)[0])


def doc_id_of_bytes(content: bytes) -> str:
    return doc_id_from_sha256(hashlib.sha256(content).hexdigest())


def test_a_file_is_taken_only_after_two_identical_looks(instance, layout, samples_dir):
    dropped = layout.inbox / "Discharge Summary.PDF"
    shutil.copyfile(samples_dir / "discharge_summary.pdf", dropped)
    doc_id = doc_id_of(dropped)

    first = tick(instance, layout, None)
    assert first.run_requests == [] and first.dynamic_partitions_requests == []
    assert dropped.exists()
    assert list(json.loads(first.cursor)) == [dropped.name], "seen once: waiting in the cursor"

    second = tick(instance, layout, first.cursor)
    assert [request.partition_key for request in second.run_requests] == [doc_id]
    assert list(second.dynamic_partitions_requests[0].partition_keys) == [doc_id]
    assert not dropped.exists(), "taken files leave the inbox"
    assert (
        layout.source_pdf(doc_id).read_bytes()
        == (samples_dir / "discharge_summary.pdf").read_bytes()
    )
    assert json.loads(second.cursor) == {}
    for request in second.run_requests:
        assert all(dropped.stem not in value for value in request.tags.values())


def test_a_file_still_being_written_waits(instance, layout, samples_dir):
    growing = layout.inbox / "upload.pdf"
    content = (samples_dir / "referral_letter.pdf").read_bytes()
    growing.write_bytes(content[: len(content) // 2])
    first = tick(instance, layout, None)
    growing.write_bytes(content)  # the copy finished between the two looks
    second = tick(instance, layout, first.cursor)
    assert second.run_requests == [] and growing.exists()
    third = tick(instance, layout, second.cursor)
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

    result = tick(instance, layout, tick(instance, layout, None).cursor)

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
    again = tick(instance, layout, tick(instance, layout, None).cursor)
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

    result = tick(instance, layout, tick(instance, layout, None).cursor)
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


def test_failed_document_runs_are_recorded_and_posted_to_the_webhook(instance, layout, corpus):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), WebhookReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store = DocumentStoreResource(
            data_dir=str(layout.root),
            failure_webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook",
        )
        secret = layout.inbox / "secret.pdf"
        shutil.copyfile(corpus / "malformed" / "pypdf" / "r6-user-password.pdf", secret)
        doc_id = doc_id_of(secret)
        (request,) = tick(instance, layout, tick(instance, layout, None).cursor).run_requests
        run = materialize_document(instance, layout, request.partition_key)
        assert not run.success
        dagster_run = instance.get_run_by_id(run.run_id)
        assert dagster_run.tags["dagster/partition"] == doc_id
        context = dg.build_run_status_sensor_context(
            sensor_name="document_failure_sensor",
            dagster_instance=instance,
            dagster_run=dagster_run,
            dagster_event=run.get_run_failure_event(),
            resources={"document_store": store},
        ).for_run_failure()
        document_failure_sensor(context)
    finally:
        server.shutdown()
        server.server_close()
    (failure,) = read_failures(layout)
    assert (failure.doc_id, failure.step, failure.reason) == (doc_id, "raw_document", "encrypted")
    assert WebhookReceiver.received == [failure.model_dump(mode="json")]
    rebuild_warehouse(layout)
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        rows = analyst.execute("SELECT doc_id, step, reason FROM failed_documents").fetchall()
    assert rows == [(doc_id, "raw_document", "encrypted")]


def test_hostile_names_stay_inside_the_data_folder(instance, layout, samples_dir):
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("..\\..\\boot.ini") == "boot.ini"
    assert safe_file_name("..") == "unnamed"
    names = ["Überweisung Müller ✓.pdf", "report..final.pdf", "a..b.txt"]
    shutil.copyfile(samples_dir / samples.REFERRAL_FILE, layout.inbox / names[0])
    (layout.inbox / names[1]).write_bytes(b"not a pdf at all")
    (layout.inbox / names[2]).write_text("notes")
    result = tick(instance, layout, tick(instance, layout, None).cursor)
    assert len(result.run_requests) == 1
    assert quarantine_reasons(layout) == {names[1]: "not_a_pdf", names[2]: "not_a_pdf"}
    inside = [p.resolve() for p in layout.root.rglob("*")]
    assert all(p.is_relative_to(layout.root.resolve()) for p in inside)


def test_a_file_removed_between_listing_and_hashing_is_skipped(layout, samples_dir):
    """Someone else takes `b.pdf` from the inbox while the intake is storing `a.pdf`: `b.pdf` is
    neither stored, quarantined nor kept waiting, and `a.pdf` is stored as usual."""
    shutil.copyfile(samples_dir / "discharge_summary.pdf", layout.inbox / "a.pdf")
    shutil.copyfile(samples_dir / "referral_letter.pdf", layout.inbox / "b.pdf")
    looked = observe_inbox(layout.inbox)

    def remove_b_while_taking_a(doc_id: str) -> bool:
        (layout.inbox / "b.pdf").unlink(missing_ok=True)
        return False

    result = take_stable_files(layout, looked, remove_b_while_taking_a, PdfLimits())
    assert result.accepted == [doc_id_of(samples_dir / "discharge_summary.pdf")]
    assert result.quarantined == [] and result.waiting == {}
    assert list(layout.quarantine.iterdir()) == []
    assert list(layout.inbox.iterdir()) == []
