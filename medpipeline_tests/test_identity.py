"""Contract: patient identity has one rule, by assigning authority (`medpipeline.identity`), and the
bundle, `patient_records` and the warehouse's `patient_key` all follow it: the same MRN value at
two facilities is two patients; "MRN" and "Medical Record Number" at one facility are one; an SSN
has the us-ssn system and links facilities; an identifier no facility is named for never links two
documents. Transaction bundles create the Patient (and its Organization) conditionally."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from medpipeline.analytics.documents import patient_key
from medpipeline.defs.fhir.assets import patient_records
from medpipeline.extraction.schema import (
    ChunkOutcome,
    ChunkReport,
    DocumentExtraction,
    Evidence,
    Identifier,
    OrganizationFact,
    PatientFact,
)
from medpipeline.fhir.records import build_records
from medpipeline.fhir.validation import validate_bundle
from medpipeline.identity import identifier_type, patient_identifier
from medpipeline.samples import render_text_pdf
from medpipeline.storage import read_json
from medpipeline_tests.helpers import bundle_of, materialize_document, resources_for, store_copy

CREATED_AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
EVIDENCE = Evidence(offset=0, length=4, page=1, chunk_id="c0", match="exact")
RIVERBEND = "urn:medpipeline:issuer:riverbend-general-hospital:mr"


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("MRN", "MR"),
        ("MR#", "MR"),
        ("Medical Record Number", "MR"),
        ("medical record #", "MR"),
        ("Patient-ID", "MR"),
        ("SSN", "SS"),
        ("Social Security Number", "SS"),
        ("SS#", "SS"),
        ("Acct #", "AN"),
        ("Medicare", "MC"),
        ("Member ID", "MB"),
        ("Badge", None),
    ],
)
def test_identifier_label_becomes_a_v2_0203_type(label: str, code: str | None) -> None:
    assert identifier_type(label)[0] == code


ISSUER = "urn:medpipeline:issuer:"
RIVER, LAKE = "Riverbend General Hospital", "Lakeside Clinic"
OID = "2.16.840.1.113883.3.441"


@pytest.mark.parametrize(
    ("kind", "value", "issuer", "organization", "expected"),
    [
        ("MRN", "555-01", None, RIVER, (RIVERBEND, "555-01")),
        ("Medical Record Number", "555-01", None, RIVER.upper(), (RIVERBEND, "555-01")),
        ("MRN", "555-01", None, "St. Mary's Clinic", (f"{ISSUER}st-marys-clinic:mr", "555-01")),
        ("MRN", "555-01", LAKE, RIVER, (f"{ISSUER}lakeside-clinic:mr", "555-01")),
        ("Patient-ID", "26789", OID, "Get Well Clinic", (f"urn:oid:{OID}", "26789")),
        ("SSN", "123-45-6789", None, RIVER, ("http://hl7.org/fhir/sid/us-ssn", "123456789")),
        ("SSN", "XXX-XX-6789", None, RIVER, None),
        ("MRN", "555-01", None, None, ("urn:medpipeline:document:dddddddddddddddd:mr", "555-01")),
        ("Badge", "77", None, RIVER, (f"{ISSUER}riverbend-general-hospital:badge", "77")),
    ],
)  # fmt: skip
def test_identifier_system_names_its_issuer(kind, value, issuer, organization, expected) -> None:
    found = patient_identifier(
        Identifier(kind=kind, value=value, issuer=issuer), organization, "d" * 16
    )
    assert ((found.system, found.value) if found else None) == expected


def _extraction(doc_id: str, facility: str | None, name: str, *identifiers: tuple[str, str]):
    report = ChunkReport(chunk_id="c0", outcome=ChunkOutcome.OK, provider="offline", model="rules")
    patient = PatientFact(
        quote="x",
        name=name,
        birth_date="1960-01-02",
        identifiers=[Identifier(kind=kind, value=value) for kind, value in identifiers],
        evidence=EVIDENCE,
    )
    organizations = (
        [OrganizationFact(quote="x", name=facility, evidence=EVIDENCE)] if facility else []
    )
    return DocumentExtraction(
        doc_id=doc_id,
        prompt_version="v1",
        chunks=[report],
        patient=patient,
        organizations=organizations,
    )


# documents as (facility, patient name, identifiers...), the patients patient_records finds, and the
# distinct warehouse keys (one per document's strongest identifier: a link that only another
# document's identifier or a name makes is known to patient_records, not to the per-document key)
SCENARIOS = {
    "same MRN at two facilities: two people": (
        [(RIVER, "Ann Alpha", ("MRN", "555-01")), (LAKE, "Bob Beta", ("MRN", "555-01"))],
        2, 2,
    ),
    "MRN and Medical Record Number at one facility: one person": (
        [(RIVER, "Ann Alpha", ("MRN", "555-01")),
         (RIVER.upper(), "Alpha, Ann", ("Medical Record Number", "555-01"))],
        1, 1,
    ),
    "two MRNs at one facility: two people though name and birth date agree": (
        [(RIVER, "Ann Alpha", ("MRN", "555-01")), (RIVER, "Ann Alpha", ("MRN", "555-02"))],
        2, 2,
    ),
    "an SSN links two facilities' MRNs": (
        [(RIVER, "Ann Alpha", ("MRN", "555-01"), ("SSN", "123-45-6789")),
         (LAKE, "Ann Alpha", ("MRN", "9001"), ("SSN", "123456789"))],
        1, 2,
    ),
    "an MRN with no facility named links nothing": (
        [(None, "Ann Alpha", ("MRN", "555-01")), (None, "Bob Beta", ("MRN", "555-01"))],
        2, 2,
    ),
    "a document without identifier joins by name and birth date": (
        [(RIVER, "Ann Alpha", ("MRN", "555-01")), (None, "ANN ALPHA")],
        1, 2,
    ),
}  # fmt: skip


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_documents_become_patients_by_assigning_authority(scenario: str) -> None:
    documents, expected_patients, expected_keys = SCENARIOS[scenario]
    extractions = [
        _extraction(f"{index:016x}", facility, name, *identifiers)
        for index, (facility, name, *identifiers) in enumerate(documents)
    ]
    bundles = {e.doc_id: bundle_of(e, CREATED_AT) for e in extractions}
    records, _ = build_records(bundles)
    assert len(records) == expected_patients
    keys = {patient_key(e.model_dump(mode="json"), "site-secret") for e in extractions}
    assert len(keys) == expected_keys


def test_transaction_bundle_creates_patient_and_organization_conditionally() -> None:
    extraction = _extraction(
        "a" * 16, RIVER, "Ann Alpha", ("Medical Record Number", "555-01"), ("SSN", "123-45-6789")
    )
    bundle = bundle_of(extraction, CREATED_AT)
    assert validate_bundle(bundle) == []
    entries = {e["resource"]["resourceType"]: e for e in bundle["entry"]}
    patient, organization = entries["Patient"], entries["Organization"]
    assert patient["request"]["ifNoneExist"] == f"identifier={RIVERBEND}|555-01"
    assert organization["request"]["ifNoneExist"] == (
        "identifier=urn:medpipeline:organization|riverbend-general-hospital"
    )
    mrn, ssn = patient["resource"]["identifier"]
    assert mrn["type"]["coding"][0]["code"] == "MR"
    assert mrn["assigner"]["reference"] == organization["fullUrl"]
    assert (ssn["system"], ssn["value"], ssn["type"]["coding"][0]["code"]) == (
        "http://hl7.org/fhir/sid/us-ssn",
        "123456789",
        "SS",
    )
    assert patient["resource"]["managingOrganization"]["reference"] == organization["fullUrl"]


def test_conditional_query_escapes_what_a_search_value_cannot_hold() -> None:
    extraction = _extraction("a" * 16, RIVER, "Ann Alpha", ("MRN", "55|01&x"))
    patient = next(
        e for e in bundle_of(extraction, CREATED_AT)["entry"] if e["request"]["url"] == "Patient"
    )
    assert patient["request"]["ifNoneExist"] == f"identifier={RIVERBEND}|55%5C%7C01%26x"


VISIT_NOTE = """{facility}
OFFICE VISIT NOTE
PATIENT: {name}
DOB: 01/02/1960 Sex: Female {label}: 555-01
Date of service: 03/04/2024
Attending physician: Dr. Rhea Tester
ASSESSMENT:
1. Hypertension.
Electronically signed by: Dr. Rhea Tester, MD
"""


def test_pipeline_keeps_two_facilities_patients_apart_and_one_facilitys_together(
    instance: dg.DagsterInstance, layout, tmp_path: Path
) -> None:
    """Three PDFs through the real graph: MRN 555-01 at Riverbend twice (labelled two ways) and at
    Lakeside once (another person) -> two patients in patient_records."""
    notes = [
        ("Facility: Riverbend General Hospital", "Ann Alpha", "MRN"),
        ("Facility: Lakeside Clinic", "Bob Beta", "MRN"),
        ("Facility: Riverbend General Hospital", "Alpha, Ann", "Medical Record Number"),
    ]
    for index, (facility, name, label) in enumerate(notes):
        text = VISIT_NOTE.format(facility=facility, name=name, label=label)
        pdf = render_text_pdf(tmp_path / f"note{index}.pdf", [text])
        assert materialize_document(instance, layout, store_copy(layout, pdf)).success
    result = dg.materialize([patient_records], instance=instance, resources=resources_for(layout))
    metadata = result.asset_materializations_for_node("patient_records")[0].metadata
    assert (metadata["patients"].value, metadata["documents"].value) == (2, 3)
    patients = [read_json(path) for path in sorted((layout.fhir / "patients").glob("*.json"))]
    systems = sorted(
        identifier["system"]
        for bundle in patients
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Patient"
        for identifier in entry["resource"]["identifier"]
    )
    assert systems == ["urn:medpipeline:issuer:lakeside-clinic:mr", RIVERBEND]
    for bundle in patients:
        assert validate_bundle(bundle) == []
