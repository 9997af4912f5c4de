"""Every document goes through the real Dagster graph (`materialize` on a real instance) to a valid
FHIR bundle or a specific quarantine reason; facts are grounded in the text; re-running a document
replaces its artifacts and usage instead of adding to them; no PHI reaches Dagster's records."""

from pathlib import Path

import dagster as dg
import duckdb

from medpipeline import samples
from medpipeline.definitions import warehouse_tables
from medpipeline.fhir.bundle import DERIVATION_REFERENCE
from medpipeline.fhir.validation import validate_bundle
from medpipeline.ledger import read_ledger
from medpipeline.storage import DataLayout, read_json
from medpipeline_tests.helpers import materialize_document, resources_for, resources_of, store_copy


def run_pdf(instance, layout: DataLayout, pdf: Path) -> tuple[str, dg.ExecuteInProcessResult]:
    doc_id = store_copy(layout, pdf)
    return doc_id, materialize_document(instance, layout, doc_id)


def evidence_spans(resource: dict) -> list[tuple[int, int]]:
    """(offset, length) of every mention the resource carries (one fact, all its mentions)."""
    spans = []
    for extension in resource["extension"]:
        if extension["url"] == DERIVATION_REFERENCE:
            parts = {part["url"]: part for part in extension["extension"]}
            spans.append((parts["offset"]["valueInteger"], parts["length"]["valueInteger"]))
    return spans


def test_every_medical_corpus_pdf_ends_in_a_valid_bundle(instance, layout, corpus):
    for pdf in sorted((corpus / "medical").glob("*.pdf")):
        doc_id, result = run_pdf(instance, layout, pdf)
        assert result.success, pdf.name
        bundle = read_json(layout.artifact(doc_id, "fhir_bundle"))
        assert bundle["type"] == "transaction"
        assert validate_bundle(bundle) == [], pdf.name
        kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
        assert {"Patient", "DocumentReference", "Provenance"} <= kinds, pdf.name
        checks = result.get_asset_check_evaluations()
        assert [(c.check_name, c.passed) for c in checks if c.check_name == "bundle_valid"] == [
            ("bundle_valid", True)
        ]


def test_hl7_discharge_summary_yields_its_conditions_and_medications(instance, layout, corpus):
    doc_id, result = run_pdf(instance, layout, corpus / "medical" / "discharge_summary_hl7.pdf")
    assert result.success
    bundle = read_json(layout.artifact(doc_id, "fhir_bundle"))
    text = read_json(layout.artifact(doc_id, "document_text"))["text"]

    conditions = {c["code"]["text"].lower(): c for c in resources_of(bundle, "Condition")}
    icd10 = {
        coding["code"]
        for condition in conditions.values()
        for coding in condition["code"].get("coding", [])
    }
    assert {"I10", "N39.0"} <= icd10, sorted(conditions)  # hypertension, urinary tract infection
    assert any("hypercholesterolemia" in name for name in conditions), sorted(conditions)
    medications = {  # by generic name: the coding's display, else the text as written
        (m["medicationCodeableConcept"].get("coding") or [m["medicationCodeableConcept"]])[0]
        .get("display", m["medicationCodeableConcept"]["text"])
        .lower(): m
        for m in resources_of(bundle, "MedicationStatement")
    }
    assert "aspirin" in medications
    assert "simvastatin" in medications
    for resource in [*conditions.values(), *medications.values()]:
        for offset, length in evidence_spans(resource):
            quote = text[offset : offset + length]
            assert quote.strip(), "evidence points at words of the document"
    mentions = {
        name: [text[offset : offset + length].lower() for offset, length in evidence_spans(m)]
        for name, m in medications.items()
    }
    assert any("aspirin" in quote for quote in mentions["aspirin"])
    assert any("zocor" in quote for quote in mentions["simvastatin"])


def test_samples_flow_through_every_asset_with_offline_provider_metadata(
    instance, layout, samples_dir
):
    doc_ids = {}
    for name in samples.SAMPLE_FILES:
        doc_id, result = run_pdf(instance, layout, samples_dir / name)
        doc_ids[name] = doc_id
        assert result.success, name
        for asset in (
            "raw_document",
            "document_text",
            "document_chunks",
            "clinical_extractions",
            "fhir_bundle",
        ):
            assert layout.artifact(doc_id, asset).exists(), (name, asset)
        assert layout.ledger_file(doc_id).exists()
        extraction_metadata = next(
            m.metadata for m in result.asset_materializations_for_node("clinical_extractions")
        )
        assert extraction_metadata["offline_only"].value is True
        assert "offline" in extraction_metadata["provider_note"].value

    chunks = read_json(layout.artifact(doc_ids[samples.PROGRESS_FILE], "document_chunks"))["chunks"]
    assert len(chunks) >= 3, "the long progress note needs several chunks"


def test_negated_findings_never_become_active_conditions(instance, layout, samples_dir):
    doc_id, result = run_pdf(instance, layout, samples_dir / samples.DISCHARGE_FILE)
    assert result.success
    bundle = read_json(layout.artifact(doc_id, "fhir_bundle"))
    names = " ".join(c["code"]["text"].lower() for c in resources_of(bundle, "Condition"))
    # "Denies chest pain." and "return ... for confusion or chest pain" (hypothetical)
    assert "chest pain" not in names
    assert "pneumonia" in names


def test_rematerializing_replaces_usage_and_the_warehouse_adds_up(instance, layout, samples_dir):
    doc_id, first = run_pdf(instance, layout, samples_dir / samples.REFERRAL_FILE)
    rows_first = read_ledger(layout).height
    second = materialize_document(instance, layout, doc_id)
    assert first.success and second.success
    ledger = read_ledger(layout)
    assert ledger.height == rows_first > 0, "re-running a document never double-counts"

    result = dg.materialize([warehouse_tables], instance=instance, resources=resources_for(layout))
    assert result.success
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        calls, tokens = analyst.execute(
            "SELECT count(*), sum(input_tokens) FROM llm_calls"
        ).fetchone()
        assert (calls, tokens) == (ledger.height, ledger["input_tokens"].sum())
        assert analyst.execute("SELECT sum(calls) FROM document_costs").fetchone()[0] == calls


def test_no_patient_name_or_file_name_reaches_dagster_records(instance, layout, samples_dir):
    canary_file = layout.root / "Maria Testperson discharge.pdf"
    canary_file.write_bytes((samples_dir / samples.DISCHARGE_FILE).read_bytes())
    _, result = run_pdf(instance, layout, canary_file)
    assert result.success
    written = " ".join(str(entry) for entry in instance.all_logs(result.run_id)).lower()
    assert "asset_materialization" in written and "doc_id" in written
    for secret in ("testperson", samples.DISCHARGE_PATIENT.mrn, "discharge.pdf"):
        assert secret.lower() not in written
