"""Contract: patient_records accumulates every document's current bundle per patient (identifier
of the same issuer, else name and birth date); a re-extracted document's contribution replaces its
old one (a fact no other document supports disappears from the patient bundle and the export); an
invalid bundle is never accumulated; the same fact from several documents is one resource targeted
by each document's Provenance; contradictions (allergy vs "no known allergy", a medication active
in one document and stopped in another) are flagged; writes are serialized by a file lock; the
per-patient bundles validate and the Bulk Data export has one NDJSON file per resource type with
`Type/id` references."""

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from filelock import FileLock

from medpipeline.defs.fhir.assets import fhir_bundle, patient_records
from medpipeline.extraction.schema import (
    AllergyFact,
    Assertion,
    ChunkOutcome,
    ChunkReport,
    ConditionFact,
    DocumentExtraction,
    Evidence,
    Identifier,
    MedicationFact,
    MedicationStatus,
    PatientFact,
    ProcedureFact,
)
from medpipeline.fhir.bundle import FLAG_SYSTEM
from medpipeline.fhir.records import FLAG_CONTRADICTION, LOCK_FILE, update_records
from medpipeline.fhir.validation import validate_bundle
from medpipeline.storage import read_json, write_json
from medpipeline_tests.helpers import (
    bundle_of,
    materialize_document,
    resources_for,
    resources_of,
    store_copy,
)

CREATED_AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
EVIDENCE = Evidence(offset=0, length=4, page=1, chunk_id="c0", match="exact")


def _bundle(doc_id: str, patient: PatientFact, **facts) -> dict:
    report = ChunkReport(chunk_id="c0", outcome=ChunkOutcome.OK, provider="offline", model="rules")
    extraction = DocumentExtraction(
        doc_id=doc_id, prompt_version="v1", chunks=[report], patient=patient, **facts
    )
    return bundle_of(extraction, CREATED_AT)


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


def _patient_bundles(fhir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((fhir / "patients").glob("*.json"))]


def test_same_fact_from_two_documents_is_one_resource_with_both_provenances(
    tmp_path: Path,
) -> None:
    written = update_records(tmp_path, [FIRST, SECOND, OTHER])
    assert (written.patients, written.documents, written.contradictions) == (2, 3, 1)
    assert written.report.merged_duplicates >= 1
    bundles = _patient_bundles(tmp_path)
    [ann] = [b for b in bundles if len(resources_of(b, "DocumentReference")) == 2]
    for bundle in bundles:
        assert validate_bundle(bundle) == []
    [condition] = resources_of(ann, "Condition")
    provenances = resources_of(ann, "Provenance")
    assert len(provenances) == 2
    for provenance in provenances:
        assert f"urn:uuid:{condition['id']}" in {t["reference"] for t in provenance["target"]}
    flagged = [
        a
        for a in resources_of(ann, "AllergyIntolerance")
        if {"system": FLAG_SYSTEM, "code": FLAG_CONTRADICTION} in a.get("meta", {}).get("tag", [])
    ]
    assert len(flagged) == 2  # penicillin and "no known allergy"


def test_planned_procedures_stay_apart_and_meet_the_same_plan_of_another_document(
    tmp_path: Path,
) -> None:
    """Each planned procedure (ServiceRequest) is its own fact: by name and date, not one per
    document."""

    def planned(text: str, date: str) -> ProcedureFact:
        return ProcedureFact(quote=text, text=text, performed_date=date,
                             assertion=Assertion.HYPOTHETICAL, evidence=EVIDENCE)  # fmt: skip

    first = [planned("Colonoscopy", "2024-04-02"), planned("Barium enema", "2024-01-28")]
    documents = [
        ("d" * 16, _bundle("d" * 16, _patient("123"), procedures=first)),
        ("e" * 16, _bundle("e" * 16, _patient("123"), procedures=first[:1])),
    ]
    update_records(tmp_path, documents)
    [bundle] = _patient_bundles(tmp_path)
    names = sorted(r["code"]["text"] for r in resources_of(bundle, "ServiceRequest"))
    assert names == ["Barium enema", "Colonoscopy"]


def _ndjson(fhir: Path, resource_type: str) -> list[dict]:
    path = fhir / "export" / f"{resource_type}.ndjson"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


PENICILLIN = AllergyFact(quote="pcn", substance="penicillin", evidence=EVIDENCE)


def test_re_extraction_replaces_the_documents_contribution(tmp_path: Path) -> None:
    update_records(tmp_path, [FIRST, SECOND])
    assert len(_ndjson(tmp_path, "AllergyIntolerance")) == 2  # penicillin and "no known allergy"
    # the first document re-extracted: no penicillin allergy and no hypertension any more
    asthma = ConditionFact(quote="asthma", text="asthma", icd10_code="J45.909", evidence=EVIDENCE)
    first_again = ("a" * 16, _bundle("a" * 16, _patient("123"), conditions=[asthma]))
    written = update_records(tmp_path, [first_again, SECOND])
    assert (written.report.replaced_documents, written.report.unchanged_documents) == (1, 1)
    [ann] = _patient_bundles(tmp_path)
    allergies = [a["code"].get("text") for a in resources_of(ann, "AllergyIntolerance")]
    assert allergies == [None]  # only SECOND's "no known allergy" (SNOMED-coded, no text)
    assert len(_ndjson(tmp_path, "AllergyIntolerance")) == 1
    assert written.contradictions == 0  # the allergy that contradicted it is gone
    conditions = sorted(c["code"]["text"] for c in resources_of(ann, "Condition"))
    assert conditions == ["Hypertension", "asthma"]  # SECOND still supports hypertension
    [hypertension] = [c for c in resources_of(ann, "Condition") if c["code"]["text"] != "asthma"]
    targeting = [
        p for p in resources_of(ann, "Provenance")
        if f"urn:uuid:{hypertension['id']}" in {t["reference"] for t in p["target"]}
    ]  # fmt: skip
    assert len(targeting) == 1  # only SECOND states it now


def test_a_document_whose_bundle_is_gone_takes_its_patient_with_it(tmp_path: Path) -> None:
    update_records(tmp_path, [FIRST, SECOND, OTHER])
    written = update_records(tmp_path, [FIRST, SECOND])
    assert (written.patients, written.report.removed_documents) == (1, 1)
    assert len(list((tmp_path / "patients").glob("*.json"))) == 1
    assert len(_ndjson(tmp_path, "Patient")) == 1


def test_invalid_bundle_is_never_accumulated(tmp_path: Path) -> None:
    doc_id, bundle = FIRST
    broken = json.loads(json.dumps(bundle))
    next(e for e in broken["entry"] if e["resource"]["resourceType"] == "Patient")["resource"][
        "gender"
    ] = "robot"  # not in the AdministrativeGender codes
    assert validate_bundle(broken) != []
    written = update_records(tmp_path, [(doc_id, broken), SECOND])
    assert (written.documents, written.report.invalid_documents) == (1, 1)
    [ann] = _patient_bundles(tmp_path)
    assert len(resources_of(ann, "DocumentReference")) == 1
    assert [a["code"].get("text") for a in resources_of(ann, "AllergyIntolerance")] == [None]
    # once a valid bundle replaces it, the document counts again
    written = update_records(tmp_path, [FIRST, SECOND])
    assert (written.documents, written.report.invalid_documents) == (2, 0)
    # and a valid document whose new bundle is invalid drops out
    written = update_records(tmp_path, [(doc_id, broken), SECOND])
    assert (written.documents, written.report.invalid_documents) == (1, 1)
    [ann] = _patient_bundles(tmp_path)
    assert "penicillin" not in json.dumps(ann)


def _lisinopril(status: MedicationStatus) -> MedicationFact:
    return MedicationFact(quote="lisinopril", text="lisinopril", status=status, evidence=EVIDENCE)


def test_medication_active_in_one_document_and_stopped_in_another_is_a_contradiction(
    tmp_path: Path,
) -> None:
    active = ("d" * 16, _bundle("d" * 16, _patient(), medications=[_lisinopril("active")]))
    stopped = ("e" * 16, _bundle("e" * 16, _patient(), medications=[_lisinopril("stopped")]))
    active_again = ("f" * 16, _bundle("f" * 16, _patient(), medications=[_lisinopril("active")]))
    agreeing = update_records(tmp_path / "agree", [active, active_again])
    assert agreeing.contradictions == 0
    written = update_records(tmp_path / "disagree", [active, stopped])
    assert written.contradictions == 1
    [contradiction] = json.loads((tmp_path / "disagree" / "contradictions.json").read_text())
    assert contradiction["kind"] == "medication-status"
    [bundle] = _patient_bundles(tmp_path / "disagree")
    statements = resources_of(bundle, "MedicationStatement")
    assert sorted(s["status"] for s in statements) == ["active", "stopped"]
    flag = {"system": FLAG_SYSTEM, "code": FLAG_CONTRADICTION}
    assert all(flag in s["meta"]["tag"] for s in statements)


def test_updates_are_serialized_by_a_file_lock(tmp_path: Path) -> None:
    """While another writer holds the lock, an update waits; it runs once the lock is free."""
    tmp_path.mkdir(exist_ok=True)
    finished = threading.Event()

    def update() -> None:
        update_records(tmp_path, [FIRST])
        finished.set()

    with FileLock(tmp_path / LOCK_FILE):
        writer = threading.Thread(target=update)
        writer.start()
        assert not finished.wait(timeout=2)
        assert not (tmp_path / "state.json").exists()
    writer.join(timeout=60)
    assert finished.is_set() and (tmp_path / "state.json").exists()


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


def test_re_extracted_document_is_replaced_through_the_real_graph(
    layout, instance, samples_dir
) -> None:
    """The sample discharge summary through the graph, then re-extracted without one condition:
    re-materializing fhir_bundle and patient_records removes it from the records and the export;
    a second document whose bundle does not validate is counted invalid and not accumulated."""
    doc_id = store_copy(layout, samples_dir / "discharge_summary.pdf")
    assert materialize_document(instance, layout, doc_id).success
    resources = resources_for(layout)
    assert dg.materialize([patient_records], instance=instance, resources=resources).success
    conditions = {c["code"]["text"] for c in _ndjson(layout.fhir, "Condition")}
    extraction = read_json(layout.artifact(doc_id, "clinical_extractions"))
    removed = extraction["conditions"].pop(0)["text"]
    assert removed in conditions
    write_json(layout.artifact(doc_id, "clinical_extractions"), extraction)

    broken_id = "0" * 16
    broken = read_json(layout.artifact(doc_id, "fhir_bundle"))
    broken["entry"][0]["resource"]["gender"] = "robot"
    write_json(layout.artifact(broken_id, "fhir_bundle"), broken)

    rebuilt = dg.materialize(
        [fhir_bundle], partition_key=doc_id, instance=instance, resources=resources
    )
    assert rebuilt.success
    result = dg.materialize([patient_records], instance=instance, resources=resources)
    metadata = result.asset_materializations_for_node("patient_records")[0].metadata
    assert metadata["documents_replaced"].value == 1
    assert (metadata["documents_invalid"].value, metadata["documents"].value) == (1, 1)
    after = {c["code"]["text"] for c in _ndjson(layout.fhir, "Condition")}
    assert after == conditions - {removed}
    [bundle] = _patient_bundles(layout.fhir)
    assert removed not in {c["code"]["text"] for c in resources_of(bundle, "Condition")}
    assert validate_bundle(bundle) == []
