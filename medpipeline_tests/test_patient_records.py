"""Contract: patient_records accumulates document bundles per patient (identifier, else name and
birth date), append-only; the same fact from several documents is one resource targeted by each
document's Provenance; contradictions are flagged; the per-patient bundles validate and the Bulk
Data export has one NDJSON file per resource type with `Type/id` references."""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from medpipeline.defs.fhir.assets import patient_records
from medpipeline.documents import SourceDocument
from medpipeline.extraction.schema import (
    AllergyFact,
    ChunkOutcome,
    ChunkReport,
    ConditionFact,
    DocumentExtraction,
    Evidence,
    Identifier,
    PatientFact,
)
from medpipeline.fhir.bundle import FLAG_SYSTEM, build_bundle
from medpipeline.fhir.records import FLAG_CONTRADICTION, update_records
from medpipeline.fhir.validation import validate_bundle
from medpipeline.storage import write_json
from medpipeline_tests.helpers import resources_for

CREATED_AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
EVIDENCE = Evidence(offset=0, length=4, page=1, chunk_id="c0", match="exact")


def _bundle(doc_id: str, patient: PatientFact, **facts) -> dict:
    document = SourceDocument(
        doc_id=doc_id, sha256=doc_id * 4, sha1="ab" * 20, size_bytes=10, pages=1,
        stored_at=CREATED_AT,
    )  # fmt: skip
    report = ChunkReport(chunk_id="c0", outcome=ChunkOutcome.OK, provider="offline", model="rules")
    extraction = DocumentExtraction(
        doc_id=doc_id, prompt_version="v1", chunks=[report], patient=patient, **facts
    )
    return build_bundle(document, extraction, created_at=CREATED_AT).bundle


def _patient(mrn: str | None = None, name: str = "Ann Example") -> PatientFact:
    identifiers = [Identifier(kind="MRN", value=mrn)] if mrn else []
    return PatientFact(
        quote="x", name=name, birth_date="1950-01-02", identifiers=identifiers, evidence=EVIDENCE
    )


def _condition(text: str) -> ConditionFact:
    return ConditionFact(quote=text, text=text, icd10_code="I10", evidence=EVIDENCE)


FIRST = (
    "a" * 16,
    _bundle(
        "a" * 16,
        _patient("123"),
        conditions=[_condition("hypertension")],
        allergies=[AllergyFact(quote="pcn", substance="penicillin", evidence=EVIDENCE)],
    ),
)
SECOND = (
    "b" * 16,
    _bundle(
        "b" * 16,
        _patient("123"),
        conditions=[_condition("Hypertension")],
        allergies=[AllergyFact(quote="NKDA", no_known_allergies=True, evidence=EVIDENCE)],
    ),
)
OTHER = ("c" * 16, _bundle("c" * 16, _patient(name="Bo Other"), conditions=[_condition("HTN")]))


def _resources(bundle: dict, resource_type: str) -> list[dict]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def _patient_bundles(fhir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((fhir / "patients").glob("*.json"))]


def test_same_fact_from_two_documents_is_one_resource_with_both_provenances(
    tmp_path: Path,
) -> None:
    written = update_records(tmp_path, [FIRST, SECOND, OTHER])
    assert (written.patients, written.documents, written.contradictions) == (2, 3, 1)
    assert written.report.merged_duplicates >= 1
    bundles = _patient_bundles(tmp_path)
    [ann] = [b for b in bundles if len(_resources(b, "DocumentReference")) == 2]
    for bundle in bundles:
        assert validate_bundle(bundle) == []
    [condition] = _resources(ann, "Condition")
    provenances = _resources(ann, "Provenance")
    assert len(provenances) == 2
    for provenance in provenances:
        assert f"urn:uuid:{condition['id']}" in {t["reference"] for t in provenance["target"]}
    flagged = [
        a
        for a in _resources(ann, "AllergyIntolerance")
        if {"system": FLAG_SYSTEM, "code": FLAG_CONTRADICTION} in a.get("meta", {}).get("tag", [])
    ]
    assert len(flagged) == 2  # penicillin and "no known allergy"


def test_records_are_append_only(tmp_path: Path) -> None:
    update_records(tmp_path, [FIRST, SECOND])
    before = update_records(tmp_path, [FIRST])
    assert before.report.unchanged_documents == 1 and before.report.new_resources == 0
    assert before.documents == 2
    [ann] = _patient_bundles(tmp_path)
    assert len(_resources(ann, "AllergyIntolerance")) == 2


def test_bulk_export_has_one_ndjson_file_per_type_with_relative_references(
    tmp_path: Path,
) -> None:
    written = update_records(tmp_path, [FIRST, SECOND, OTHER])
    files = {p.stem: p for p in (tmp_path / "export").glob("*.ndjson")}
    assert set(files) == set(written.ndjson_files)
    assert {"Patient", "Condition", "Provenance", "DocumentReference"} <= set(files)
    patients = [json.loads(line) for line in files["Patient"].read_text().splitlines()]
    assert len(patients) == 2
    ids = {p["id"] for p in patients}
    for line in files["Condition"].read_text().splitlines():
        condition = json.loads(line)
        assert condition["subject"]["reference"].removeprefix("Patient/") in ids
        assert "urn:uuid" not in line


def test_asset_writes_records_and_metadata_without_phi(layout, instance) -> None:
    for doc_id, bundle in (FIRST, SECOND):
        write_json(layout.artifact(doc_id, "fhir_bundle"), bundle)
    result = dg.materialize([patient_records], instance=instance, resources=resources_for(layout))
    assert result.success
    metadata = result.asset_materializations_for_node("patient_records")[0].metadata
    assert metadata["patients"].value == 1 and metadata["contradictions"].value == 1
    assert "Ann" not in json.dumps({k: str(v) for k, v in metadata.items()})
    assert (layout.fhir / "export" / "Patient.ndjson").exists()
