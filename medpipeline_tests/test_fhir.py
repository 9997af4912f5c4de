"""Contract: `build_bundle` maps a grounded extraction to a deterministic FHIR R4 transaction Bundle
that `validate_bundle` accepts with zero issues, where negated and family facts never become the
patient's resources; the validators accept HL7's official R4 examples, reject broken resources and
bundles, and never quote a resource value in their messages."""

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from medpipeline.documents import SourceDocument, doc_id_from_sha256
from medpipeline.extraction.schema import (
    AllergyFact,
    Assertion,
    ChunkOutcome,
    ChunkReport,
    ConditionFact,
    DocumentExtraction,
    EncounterFact,
    Evidence,
    Identifier,
    MedicationFact,
    MedicationStatus,
    ObservationFact,
    PatientFact,
    ProcedureFact,
)
from medpipeline.fhir.bundle import (
    DERIVATION_REFERENCE,
    DOCUMENT_PATIENT_SYSTEM,
    FLAG_CODE_DROPPED,
    FLAG_SYSTEM,
    ICD10_CM,
    PAGE_EXTENSION,
    SNOMED,
    UCUM,
    build_bundle,
)
from medpipeline.fhir.validation import IssueSource, validate_bundle, validate_resource
from medpipeline_tests.helpers import document_on_disk, resources_of

CREATED_AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
PDF_BYTES = b"%PDF-1.7\n% not a real PDF, only bytes to hash\n%%EOF\n"
DOC_ID = doc_id_from_sha256(hashlib.sha256(PDF_BYTES).hexdigest())
CANARY = "Canary Zzyzx"
EXTRACTED_TYPES = {
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "AllergyIntolerance",
    "Observation",
    "Procedure",
    "Encounter",
    "DiagnosticReport",
}
OFFICIAL_EXAMPLE_COUNT = 45


def _evidence(offset: int, page: int = 1) -> Evidence:
    return Evidence(offset=offset, length=12, page=page, chunk_id="c0", match="exact")


def _extraction(**facts: Any) -> DocumentExtraction:
    chunk = ChunkReport(
        chunk_id="c0", outcome=ChunkOutcome.OK, provider="rules", model="offline", facts=1
    )
    return DocumentExtraction(doc_id=DOC_ID, prompt_version="p7", chunks=[chunk], **facts)


def _full_extraction() -> DocumentExtraction:
    return _extraction(
        patient=PatientFact(
            quote="Jane Roe, DOB 1970-02-03, MRN 000123",
            name="Jane Roe",
            birth_date="1970-02-03",
            gender="Female",
            identifiers=[Identifier(kind="MRN", value="000123")],
            evidence=_evidence(0),
        ),
        conditions=[
            ConditionFact(quote="hypertension", text="Hypertension", icd10_code="I10"),
            ConditionFact(quote="no diabetes", text="Diabetes", assertion=Assertion.NEGATED),
            ConditionFact(quote="? pneumonia", text="Pneumonia", assertion=Assertion.POSSIBLE),
            ConditionFact(quote="h/o MI", text="Myocardial infarction", assertion="historical"),
            ConditionFact(quote="mother: breast ca", text="Breast cancer", assertion="family"),
        ],
        medications=[
            MedicationFact(
                quote="Glucophage 500 mg PO BID",
                text="Glucophage",
                generic_name="metformin",
                dose_value=500,
                dose_unit="mg",
                route="oral",
                frequency="twice daily",
                evidence=_evidence(120, page=2),
            ),
            MedicationFact(quote="lisinopril stopped", text="lisinopril", status="stopped"),
            MedicationFact(quote="not on warfarin", text="warfarin", assertion="negated"),
        ],
        allergies=[
            AllergyFact(quote="NKDA", no_known_allergies=True),
            AllergyFact(quote="penicillin - rash", substance="penicillin", reaction="rash"),
        ],
        observations=[
            ObservationFact(
                quote="Hemoglobin 10.1 g/dL (12-16) L",
                name="Hemoglobin",
                loinc_code="718-7",
                value=10.1,
                unit="g/dL",
                reference_low=12,
                reference_high=16,
                interpretation="L",
                evidence=_evidence(300, page=2),
            ),
            ObservationFact(
                quote="BP 138/84",
                name="Blood pressure",
                category="vital-signs",
                value_text="138/84",
            ),
        ],
    )


def _odd_extraction() -> DocumentExtraction:
    """Provider output the mapping must tolerate: odd whitespace, unknown codes, bad dates."""
    return _extraction(
        patient=PatientFact(quote="pt", name="\u00a0Jane\u00a0 Roe ", birth_date="03/02/1970"),
        conditions=[ConditionFact(quote="x", text="Asthma\u00a0", icd10_code=" J45.909 ")],
        medications=[MedicationFact(quote=" ", text="aspirin", dose_value=81)],
        allergies=[AllergyFact(quote="allergies: see chart")],
        observations=[
            ObservationFact(quote="q", name=" ", category="Vital Signs", interpretation="high"),
            ObservationFact(quote="q", name="Mood", category="social", value_text="good"),
        ],
    )


@pytest.fixture
def source_document(tmp_path: Path) -> SourceDocument:
    """A SourceDocument whose digests come from a real file on disk."""
    return document_on_disk(tmp_path, PDF_BYTES, pages=2, stored_at=CREATED_AT)


def _codes(concept: dict[str, Any]) -> list[str]:
    return [coding["code"] for coding in concept["coding"]]


# --- build_bundle -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extraction_factory",
    [_full_extraction, _odd_extraction, _extraction],
    ids=["full", "odd-provider-output", "empty"],
)
def test_bundle_validates_with_zero_issues(
    source_document: SourceDocument, extraction_factory: Callable[[], DocumentExtraction]
) -> None:
    built = build_bundle(source_document, extraction_factory(), created_at=CREATED_AT)
    assert validate_bundle(built.bundle) == []
    assert built.bundle["type"] == "transaction"
    for entry in built.bundle["entry"]:
        assert entry["fullUrl"].startswith("urn:uuid:")
        request = {key: v for key, v in entry["request"].items() if key != "ifNoneExist"}
        assert request == {"method": "POST", "url": entry["resource"]["resourceType"]}


def test_empty_extraction_gives_patient_document_device_and_provenance(
    source_document: SourceDocument,
) -> None:
    built = build_bundle(source_document, _extraction(), created_at=CREATED_AT)
    assert built.resource_counts == {
        "Patient": 1,
        "DocumentReference": 1,
        "Device": 1,
        "Provenance": 1,
    }
    [patient] = resources_of(built.bundle, "Patient")
    assert patient["identifier"] == [{"system": DOCUMENT_PATIENT_SYSTEM, "value": DOC_ID}]


@pytest.mark.parametrize(
    ("assertion", "expected_statuses"),
    [
        (Assertion.PRESENT, ("active", "confirmed", "encounter-diagnosis")),
        (Assertion.POSSIBLE, ("active", "provisional", "encounter-diagnosis")),
        (Assertion.HISTORICAL, ("active", "confirmed", "problem-list-item")),
        (Assertion.NEGATED, None),
        (Assertion.FAMILY, None),
    ],
)
def test_condition_status_follows_assertion(
    source_document: SourceDocument,
    assertion: Assertion,
    expected_statuses: tuple[str, str, str] | None,
) -> None:
    condition = ConditionFact(quote="asthma", text="Asthma", icd10_code="J45", assertion=assertion)
    built = build_bundle(
        source_document, _extraction(conditions=[condition]), created_at=CREATED_AT
    )
    conditions = resources_of(built.bundle, "Condition")
    if expected_statuses is None:
        assert conditions == []
        assert (built.skipped_negated, built.skipped_family) == (
            int(assertion == Assertion.NEGATED),
            int(assertion == Assertion.FAMILY),
        )
        return
    [resource] = conditions
    statuses = (
        _codes(resource["clinicalStatus"]),
        _codes(resource["verificationStatus"]),
        _codes(resource["category"][0]),
    )
    assert statuses == tuple([code] for code in expected_statuses)
    assert resource["code"] == {"coding": [{"system": ICD10_CM, "code": "J45"}], "text": "Asthma"}


def test_negated_and_family_facts_never_become_patient_resources(
    source_document: SourceDocument,
) -> None:
    built = build_bundle(source_document, _full_extraction(), created_at=CREATED_AT)
    condition_texts = {r["code"]["text"] for r in resources_of(built.bundle, "Condition")}
    medication_texts = {
        r["medicationCodeableConcept"]["text"]
        for r in resources_of(built.bundle, "MedicationStatement")
    }
    assert condition_texts == {"Hypertension", "Pneumonia", "Myocardial infarction"}
    assert medication_texts == {"Glucophage", "lisinopril"}
    assert (built.skipped_negated, built.skipped_family) == (2, 1)
    assert built.resource_counts["Condition"] == 3


@pytest.mark.parametrize(
    ("quote", "code", "display"),
    [
        ("No known allergies", "716186003", "No known allergy"),
        ("NKA", "716186003", "No known allergy"),
        ("NKDA", "409137002", "No known drug allergy"),
        ("No known drug allergies", "409137002", "No known drug allergy"),
    ],
)
def test_no_known_allergies_is_snomed_716186003_or_409137002_for_drugs(
    source_document: SourceDocument, quote: str, code: str, display: str
) -> None:
    """'NKDA' says nothing of foods or latex: SNOMED's 'No known drug allergy', not 'No known
    allergy'."""
    allergy = AllergyFact(quote=quote, no_known_allergies=True)
    built = build_bundle(source_document, _extraction(allergies=[allergy]), created_at=CREATED_AT)
    [resource] = resources_of(built.bundle, "AllergyIntolerance")
    assert resource["code"]["coding"] == [{"system": SNOMED, "code": code, "display": display}]
    assert _codes(resource["clinicalStatus"]) == ["active"]
    assert _codes(resource["verificationStatus"]) == ["confirmed"]
    assert resource["patient"]["reference"] == built.bundle["entry"][0]["fullUrl"]


@pytest.mark.parametrize(
    ("text", "generic", "concept"),
    [
        ("Glucophage", "metformin", {"coding": [{"display": "metformin"}], "text": "Glucophage"}),
        ("Lisinopril", "lisinopril", {"text": "Lisinopril"}),
        ("Zocor 40 mg tablet", None, {"text": "Zocor 40 mg tablet"}),
    ],
    ids=["brand-and-generic", "generic-as-written", "no-generic"],
)
def test_medication_keeps_the_product_as_written_and_the_generic_name(
    source_document: SourceDocument, text: str, generic: str | None, concept: dict
) -> None:
    fact = MedicationFact(quote=text, text=text, generic_name=generic)
    built = build_bundle(source_document, _extraction(medications=[fact]), created_at=CREATED_AT)
    [statement] = resources_of(built.bundle, "MedicationStatement")
    assert statement["medicationCodeableConcept"] == concept
    assert validate_bundle(built.bundle) == []


def test_medication_and_observation_values_use_ucum(source_document: SourceDocument) -> None:
    built = build_bundle(source_document, _full_extraction(), created_at=CREATED_AT)
    metformin = resources_of(built.bundle, "MedicationStatement")[0]
    hemoglobin, blood_pressure = resources_of(built.bundle, "Observation")
    assert metformin["status"] == MedicationStatus.ACTIVE
    assert metformin["dosage"][0]["doseAndRate"][0]["doseQuantity"] == {
        "value": 500,
        "unit": "mg",
        "system": UCUM,
        "code": "mg",
    }
    assert metformin["dosage"][0]["timing"]["code"]["text"] == "twice daily"
    assert hemoglobin["valueQuantity"]["system"] == UCUM
    assert hemoglobin["referenceRange"][0]["low"]["value"] == 12
    assert _codes(hemoglobin["interpretation"][0]) == ["L"]
    assert _codes(blood_pressure["category"][0]) == ["vital-signs"]
    assert blood_pressure["valueString"] == "138/84"


def test_a_result_written_with_a_comparator_keeps_it(source_document: SourceDocument) -> None:
    """'<1 /uL' is not 1 /uL: the written comparator becomes Quantity.comparator (R4 codes)."""
    written = {"<1": "<", ">= 60": ">=", "\u2264 0.5": "<=", "7.4": None}
    observations = [
        ObservationFact(quote=text, name="Result", value=float(text.lstrip("<>=\u2264 ")),
                        value_text=None if text[0].isdigit() else text, unit="mmol/L")
        for text in written
    ]  # fmt: skip
    built = build_bundle(
        source_document, _extraction(observations=observations), created_at=CREATED_AT
    )
    quantities = [
        resource["valueQuantity"] for resource in resources_of(built.bundle, "Observation")
    ]
    assert [quantity.get("comparator") for quantity in quantities] == list(written.values())
    assert [quantity["value"] for quantity in quantities] == [1, 60, 0.5, 7.4]
    assert validate_bundle(built.bundle) == []


def test_document_reference_hash_is_base64_of_the_files_sha1(
    source_document: SourceDocument,
) -> None:
    built = build_bundle(source_document, _extraction(), created_at=CREATED_AT)
    [reference] = resources_of(built.bundle, "DocumentReference")
    attachment = reference["content"][0]["attachment"]
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(PDF_BYTES).digest()).decode()
    assert attachment["size"] == len(PDF_BYTES)
    assert attachment["url"] == f"documents/{source_document.doc_id}/source.pdf"


def test_same_input_gives_identical_bundle(source_document: SourceDocument) -> None:
    first = build_bundle(source_document, _full_extraction(), created_at=CREATED_AT)
    second = build_bundle(source_document, _full_extraction(), created_at=CREATED_AT)
    assert json.dumps(first.bundle) == json.dumps(second.bundle)


def test_every_extracted_resource_and_the_patient_are_provenance_targets(
    source_document: SourceDocument,
) -> None:
    built = build_bundle(source_document, _full_extraction(), created_at=CREATED_AT)
    [provenance] = resources_of(built.bundle, "Provenance")
    expected = {
        entry["fullUrl"]
        for entry in built.bundle["entry"]
        if entry["resource"]["resourceType"] in EXTRACTED_TYPES | {"Patient"}
    }
    assert {target["reference"] for target in provenance["target"]} == expected
    [device] = resources_of(built.bundle, "Device")
    assert device["deviceName"][0]["name"] == "medpipeline extraction rules offline"
    assert device["version"] == [{"type": {"text": "prompt version"}, "value": "p7"}]


def test_evidence_extension_points_at_the_document_with_offset_length_and_page(
    source_document: SourceDocument,
) -> None:
    built = build_bundle(source_document, _full_extraction(), created_at=CREATED_AT)
    document_url = built.bundle["entry"][1]["fullUrl"]
    [metformin, _] = resources_of(built.bundle, "MedicationStatement")
    derivation, page = metformin["extension"]
    assert derivation == {
        "url": DERIVATION_REFERENCE,
        "extension": [
            {"url": "reference", "valueReference": {"reference": document_url}},
            {"url": "offset", "valueInteger": 120},
            {"url": "length", "valueInteger": 12},
        ],
    }
    assert page == {"url": PAGE_EXTENSION, "valueInteger": 2}


def test_naive_created_at_is_refused(source_document: SourceDocument) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_bundle(source_document, _extraction(), created_at=datetime(2025, 1, 1))


def test_extraction_of_another_document_is_refused(source_document: SourceDocument) -> None:
    other = _extraction().model_copy(update={"doc_id": "ffffffffffffffff"})
    with pytest.raises(ValueError, match="different doc_ids"):
        build_bundle(source_document, other, created_at=CREATED_AT)


# --- validation ---------------------------------------------------------------------------------


def _plant_canary(bundle: dict[str, Any]) -> None:
    """Put a would-be patient name where the validators must reject it."""
    patient, document_reference = bundle["entry"][0]["resource"], bundle["entry"][1]["resource"]
    patient["gender"] = CANARY
    patient["birthDate"] = CANARY
    patient["name"] = [{"family": [CANARY]}]
    patient[CANARY] = CANARY
    document_reference["status"] = CANARY
    bundle["entry"][2]["resource"]["resourceType"] = CANARY
    bundle["entry"][3]["fullUrl"] = CANARY


def test_broken_bundle_is_caught_without_quoting_values(source_document: SourceDocument) -> None:
    bundle = build_bundle(source_document, _full_extraction(), created_at=CREATED_AT).bundle
    _plant_canary(bundle)
    issues = validate_bundle(bundle)
    paths = {issue.path for issue in issues}
    assert {"Patient.gender", "Patient.birthDate", "DocumentReference.status"} <= paths
    for issue in issues:
        assert "Canary" not in issue.model_dump_json()


def _load_example(corpus: Path, name: str) -> dict[str, Any]:
    return json.loads((corpus / "fhir" / "r4-examples" / name).read_text(encoding="utf-8"))


def _validate(resource: dict[str, Any]) -> list:
    if resource["resourceType"] == "Bundle":
        return validate_bundle(resource)
    return validate_resource(resource)


def test_official_r4_examples_validate(corpus: Path) -> None:
    examples = sorted((corpus / "fhir" / "r4-examples").glob("*.json"))
    assert len(examples) == OFFICIAL_EXAMPLE_COUNT
    failures = {
        path.name: issues
        for path in examples
        if (issues := _validate(_load_example(corpus, path.name)))
    }
    assert failures == {}


def _wrong_status_code(resource: dict[str, Any]) -> None:
    resource["status"] = "finalised"


def _unknown_field(resource: dict[str, Any]) -> None:
    resource["favouriteColour"] = "blue"


def _missing_required_field(resource: dict[str, Any]) -> None:
    del resource["code"]


def _dangling_reference(bundle: dict[str, Any]) -> None:
    organization = {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"}
    bundle["entry"][0]["resource"]["managingOrganization"] = organization


def _duplicate_full_url(bundle: dict[str, Any]) -> None:
    bundle["entry"][1]["fullUrl"] = bundle["entry"][0]["fullUrl"]


def _wrong_code_in_bundle_entry(bundle: dict[str, Any]) -> None:
    bundle["entry"][1]["resource"]["gender"] = "mail"


@pytest.mark.parametrize(
    ("example", "mutate", "source", "path"),
    [
        (
            "observation-example.json",
            _wrong_status_code,
            IssueSource.JSON_SCHEMA,
            "Observation.status",
        ),
        ("patient-example.json", _unknown_field, IssueSource.JSON_SCHEMA, "Patient"),
        (
            "patient-example.json",
            _unknown_field,
            IssueSource.FHIR_RESOURCES,
            "Patient.favouriteColour",
        ),
        (
            "observation-example.json",
            _missing_required_field,
            IssueSource.JSON_SCHEMA,
            "Observation",
        ),
        (
            "observation-example.json",
            _missing_required_field,
            IssueSource.FHIR_RESOURCES,
            "Observation.code",
        ),
        (
            "bundle-transaction.json",
            _dangling_reference,
            IssueSource.INVARIANT,
            "Patient.managingOrganization.reference",
        ),
        ("bundle-transaction.json", _duplicate_full_url, IssueSource.INVARIANT, "Patient"),
        (
            "bundle-transaction.json",
            _wrong_code_in_bundle_entry,
            IssueSource.JSON_SCHEMA,
            "Patient.gender",
        ),
    ],
    ids=[
        "wrong-status-code",
        "unknown-field-schema",
        "unknown-field-model",
        "missing-required-field-schema",
        "missing-required-field-model",
        "dangling-urn-uuid-reference",
        "duplicate-full-url",
        "wrong-code-in-bundle-entry",
    ],
)
def test_mutated_example_fails(
    corpus: Path,
    example: str,
    mutate: Callable[[dict[str, Any]], None],
    source: IssueSource,
    path: str,
) -> None:
    resource = _load_example(corpus, example)
    mutate(resource)
    issues = _validate(resource)
    assert (source, path) in {(issue.source, issue.path) for issue in issues}


def _value_beside_data_absent_reason(observation: dict[str, Any]) -> None:
    observation["dataAbsentReason"] = {"text": "not measured"}


def _component_code_equals_observation_code(observation: dict[str, Any]) -> None:
    observation["valueQuantity"] = {"value": 120, "unit": "mm[Hg]"}
    observation["component"][0]["code"] = observation["code"]


def _unreferenced_contained(resource: dict[str, Any]) -> None:
    resource["contained"][0]["id"] = "nobody-points-here"


def _nested_contained(resource: dict[str, Any]) -> None:
    resource["contained"][0]["contained"] = [{"resourceType": "Patient", "id": "p"}]


def _empty_narrative(resource: dict[str, Any]) -> None:
    div = '<div xmlns="http://www.w3.org/1999/xhtml">  <p> </p></div>'
    resource["text"] = {"status": "generated", "div": div}


def _transaction_entry_without_request(bundle: dict[str, Any]) -> None:
    del bundle["entry"][0]["request"]


@pytest.mark.parametrize(
    ("example", "mutate", "path"),
    [
        (
            "observation-example-f001-glucose.json",
            _value_beside_data_absent_reason,
            "Observation.dataAbsentReason",
        ),
        (
            "observation-example-bloodpressure.json",
            _component_code_equals_observation_code,
            "Observation.component[0].code",
        ),
        ("medicationrequest0301.json", _unreferenced_contained, "MedicationRequest.contained[0]"),
        (
            "medicationrequest0301.json",
            _nested_contained,
            "MedicationRequest.contained[0].contained",
        ),
        ("patient-example.json", _empty_narrative, "Patient.text.div"),
        ("bundle-transaction.json", _transaction_entry_without_request, "Patient"),
    ],
    ids=["obs-6", "obs-7", "dom-3", "dom-2", "txt-2", "bdl-3"],
)
def test_mutated_example_breaks_an_invariant(
    corpus: Path, example: str, mutate: Callable[[dict[str, Any]], None], path: str
) -> None:
    resource = _load_example(corpus, example)
    assert _validate(resource) == []
    mutate(resource)
    issues = _validate(resource)
    assert (IssueSource.INVARIANT, path) in {(issue.source, issue.path) for issue in issues}


# --- assertions, terminology, new resource types ------------------------------------------------


def test_hypothetical_finding_is_never_a_condition(source_document: SourceDocument) -> None:
    condition = ConditionFact(quote="if chest pain", text="Chest pain", assertion="hypothetical")
    built = build_bundle(
        source_document, _extraction(conditions=[condition]), created_at=CREATED_AT
    )
    assert resources_of(built.bundle, "Condition") == []
    assert built.skipped_hypothetical == 1


@pytest.mark.parametrize(
    ("fact", "resource_type", "status"),
    [
        (MedicationFact(quote="q", text="aspirin"), "MedicationStatement", "active"),
        (
            MedicationFact(quote="q", text="aspirin", assertion="historical"),
            "MedicationStatement",
            "completed",
        ),
        (
            MedicationFact(quote="q", text="aspirin", status="stopped"),
            "MedicationStatement",
            "stopped",
        ),
        (
            MedicationFact(quote="q", text="aspirin", assertion="hypothetical"),
            "MedicationStatement",
            "intended",
        ),
        (MedicationFact(quote="q", text="aspirin", prescribed=True), "MedicationRequest", "active"),
    ],
    ids=["current", "historical", "stopped", "hypothetical", "prescribed"],
)
def test_medication_status_follows_assertion(
    source_document: SourceDocument, fact: MedicationFact, resource_type: str, status: str
) -> None:
    built = build_bundle(source_document, _extraction(medications=[fact]), created_at=CREATED_AT)
    assert validate_bundle(built.bundle) == []
    [resource] = resources_of(built.bundle, resource_type)
    assert resource["status"] == status


def test_unknown_codes_are_dropped_to_text_flagged_and_counted(
    source_document: SourceDocument,
) -> None:
    extraction = _extraction(
        conditions=[ConditionFact(quote="q", text="Made-up disease", icd10_code="E78.999")],
        observations=[
            ObservationFact(quote="q", name="Sodium", loinc_code="2951-3", value=140, unit="mEq/l")
        ],
    )
    built = build_bundle(source_document, extraction, created_at=CREATED_AT)
    assert validate_bundle(built.bundle) == []
    [condition] = resources_of(built.bundle, "Condition")
    [sodium] = resources_of(built.bundle, "Observation")
    assert condition["code"] == {"text": "Made-up disease"}
    assert sodium["code"] == {"text": "Sodium"}
    assert sodium["valueQuantity"] == {"value": 140, "unit": "mEq/l"}
    for resource in (condition, sodium):
        assert {"system": FLAG_SYSTEM, "code": FLAG_CODE_DROPPED} in resource["meta"]["tag"]
    assert built.dropped_codes == {"icd10cm": 1, "loinc": 1, "ucum": 1}


def test_encounter_procedure_report_and_blood_pressure_components(
    source_document: SourceDocument,
) -> None:
    extraction = _full_extraction().model_copy(
        update={
            "encounters": [
                EncounterFact(quote="q", encounter_class="inpatient", start_date="2024-03-01")
            ],
            "procedures": [
                ProcedureFact(quote="q", text="Appendectomy"),
                ProcedureFact(quote="q", text="Colonoscopy", assertion="negated"),
            ],
        }
    )
    extraction.observations[1].loinc_code = "85354-9"
    built = build_bundle(source_document, extraction, created_at=CREATED_AT)
    assert validate_bundle(built.bundle) == []
    [encounter] = resources_of(built.bundle, "Encounter")
    assert encounter["class"]["code"] == "IMP" and encounter["period"] == {"start": "2024-03-01"}
    procedures = {p["code"]["text"]: p["status"] for p in resources_of(built.bundle, "Procedure")}
    assert procedures == {"Appendectomy": "completed", "Colonoscopy": "not-done"}
    [report] = resources_of(built.bundle, "DiagnosticReport")
    lab_urls = {
        e["fullUrl"]
        for e in built.bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["category"][0]["coding"][0]["code"] == "laboratory"
    }
    assert {r["reference"] for r in report["result"]} == lab_urls
    blood_pressure = resources_of(built.bundle, "Observation")[1]
    assert "valueString" not in blood_pressure
    assert [c["valueQuantity"]["value"] for c in blood_pressure["component"]] == [138, 84]
    assert blood_pressure["effectiveDateTime"] == "2024-03-01"
    [patient] = resources_of(built.bundle, "Patient")
    assert patient["name"] == [{"text": "Jane Roe", "family": "Roe", "given": ["Jane"]}]
