"""Retries that mean something: a step failing on a passing I/O problem is retried in its run (with
backoff) and succeeds; a rejected input or a bad artifact fails once, never retried; the instance
configs never re-run failed steps as whole runs; and run monitoring's maximum runtime leaves a
500-page scan its full parse budget."""

import threading
from pathlib import Path

import dagster as dg
import yaml

from medpipeline.definitions import document_assets
from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.storage import read_json, write_json
from medpipeline_tests.helpers import (
    encrypted_pdf,
    materialize_document,
    resources_for,
    store_copy,
)

REPO = Path(__file__).resolve().parents[1]
INSTANCE_CONFIGS = [REPO / "dagster.yaml", REPO / "deploy" / "local" / "dagster.yaml"]


def event_types(result: dg.ExecuteInProcessResult) -> list[str]:
    return [event.event_type_value for event in result.all_events]


def materialize(instance, layout, doc_id: str, selection: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        document_assets,
        selection=selection,
        partition_key=doc_id,
        instance=instance,
        resources=resources_for(layout),
        raise_on_error=False,
    )


def test_a_passing_io_error_is_retried_in_the_run_and_succeeds(instance, layout, samples_dir):
    doc_id = store_copy(layout, samples_dir / "referral_letter.pdf")
    assert materialize_document(instance, layout, doc_id).success
    text = layout.artifact(doc_id, "document_text")
    saved = read_json(text)
    text.unlink()  # a file server hiccup: the artifact is briefly not there
    errors = layout.document_dir(doc_id) / "errors"

    def restore_after_the_first_failure() -> None:
        for _ in range(600):
            if errors.is_dir() and any(errors.iterdir()):
                write_json(text, saved)
                return
            threading.Event().wait(0.1)

    restorer = threading.Thread(target=restore_after_the_first_failure)
    restorer.start()
    result = materialize(instance, layout, doc_id, "document_chunks")
    restorer.join()
    assert result.success
    assert event_types(result).count("STEP_UP_FOR_RETRY") == 1
    assert "STEP_FAILURE" not in event_types(result)


def test_a_rejected_input_and_a_bad_artifact_fail_once(instance, layout, tmp_path, samples_dir):
    locked = encrypted_pdf(tmp_path, "locked.pdf", "REFERRAL\nAsthma.", "pw")
    rejected = materialize_document(instance, layout, store_copy(layout, locked))
    assert not rejected.success
    assert "STEP_UP_FOR_RETRY" not in event_types(rejected)
    assert event_types(rejected).count("STEP_FAILURE") == 1

    doc_id = store_copy(layout, samples_dir / "discharge_summary.pdf")
    assert materialize_document(instance, layout, doc_id).success
    write_json(layout.artifact(doc_id, "document_chunks"), {"doc_id": doc_id, "chunks": [{}]})
    damaged = materialize(instance, layout, doc_id, "clinical_extractions")
    assert not damaged.success
    assert "STEP_UP_FOR_RETRY" not in event_types(damaged), "a bug is not retried"


def test_instance_configs_never_rerun_failed_steps_and_let_a_500_page_scan_finish():
    store = DocumentStoreResource()
    # the run's own limits for the longest document it accepts (see pdf.extract_pages)
    inspect_s = store.parse_timeout_seconds
    text_s = store.parse_timeout_seconds + store.ocr_seconds_per_page * store.max_pdf_pages
    assert store.max_pdf_pages == 500 and text_s == 10_060
    for path in INSTANCE_CONFIGS:
        config = yaml.safe_load(path.read_text())
        assert config["run_retries"]["enabled"] is True
        assert config["run_retries"]["retry_on_asset_or_op_failure"] is False, path
        assert config["run_monitoring"]["enabled"] is True
        # a transient error may repeat the text step once; extraction needs time after it
        assert config["run_monitoring"]["max_runtime_seconds"] >= inspect_s + 2 * text_s, path
