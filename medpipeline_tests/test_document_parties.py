"""Contract: the offline provider reads who and where from a document's header and signature block
(`extraction/document_parties.py`) — its facility, its clinicians with their role, the patient's
identifiers with the issuer printed next to them — every quote an exact substring of the text; the
bundle makes them an Organization (DocumentReference.custodian, Encounter.serviceProvider, assigner
of its identifiers) and Practitioners (DocumentReference.author, Encounter.participant), and the
bundle with those references validates."""

import pytest

from medpipeline.defs.resources import LLMResource
from medpipeline.extraction.document_parties import (
    identifier_mentions,
    organization_facts,
    practitioner_facts,
)
from medpipeline.fhir.validation import validate_bundle
from medpipeline.samples import render_text_pdf
from medpipeline.storage import read_json
from medpipeline_tests.fake_llm_server import ANTHROPIC, Reply
from medpipeline_tests.helpers import materialize_document, store_copy

ORGANIZATIONS = [
    ("DISCHARGE SUMMARY\nFacility: Fictional General Hospital, Sample City\n",
     "Fictional General Hospital"),
    ("Community Health Hospital Patient ID: 12345\nPatient Name: Levin, Henry L.\n",
     "Community Health Hospital"),
    ("REFERRAL LETTER\nOakfield Family Practice (fictional), 12 Example Lane\n"
     "To: Cardiology Clinic, Fictional General Hospital\n", "Oakfield Family Practice"),
    ("Author unknown, Organization: Get Well Clinic\n", "Get Well Clinic"),
    ("Author RODRIGUEZ Martin Dr, Organization: Local Community\nHospital, Authored On: 2012\n",
     "Local Community Hospital"),
    ("Custodian Partners HealthCare Contact Details 800 Boylston Street\n", "Partners HealthCare"),
    ("LabCorp LabCorp Raritan\n69 First Avenue\nLaboratory Corporation of America\n",
     "Laboratory Corporation of America"),
    ("To: Cardiology Clinic, Fictional General Hospital\nDear Colleague,\n", None),
    ("DISCHARGE INSTRUCTIONS:\nPT to evaluate and treat at Siskin Rehab Hospital.\n", None),
    # the facility a clinician signs for: on the clinician's line, or a line under it
    ("DISCHARGE SUMMARY\nAttending: Dr. Priya Raman, Lakeshore Community Hospital\n",
     "Lakeshore Community Hospital"),
    ("Recommendations: repeat echo.\n\nMarcus Feld, MD\nCardiology, Riverside General Hospital\n",
     "Riverside General Hospital"),
    ("Consultant: Dr. Marcus Feld, MD, Family Practice\n", None),
    ("Electronically signed: Dr. Alan Exampleton, MD\nFollow up at Siskin Rehab Hospital.\n", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "facility"), ORGANIZATIONS)
def test_the_documents_facility_is_read_from_its_header(text: str, facility: str | None) -> None:
    found = organization_facts(text)
    assert (found[0].name if found else None) == facility
    for fact in found:
        assert fact.quote in text


PRACTITIONERS = [
    ("Attending physician: Dr. Alan Exampleton, Internal Medicine\n",
     [("Alan Exampleton", "attending", None)]),
    ("Electronically signed: Dr. Alan Exampleton, MD, 02/07/2024 14:32\n",
     [("Alan Exampleton", "author", "MD")]),
    ("Dictated by: Jane Roe, NP\n", [("Jane Roe", "author", "NP")]),
    ("Ordering provider: Dr. Nadia Imaginary Specimen: serum\n",
     [("Nadia Imaginary", "referring", None)]),
    ("Yours sincerely,\nDr. Priya Notarealdoc, MBBS, General Practitioner\n",
     [("Priya Notarealdoc", "author", "MBBS")]),
    ("Author RODRIGUEZ Martin Dr, Authored On: October 2, 2012\n",
     [("RODRIGUEZ Martin", "author", None)]),
    ("Performer - Primary KHAN Samir M.D.\n", [("KHAN Samir", "performer", "M.D.")]),
    ("Author Enterprise EHR Clinical System 11.200.4210.17305\n", []),
    ("Performer - Primary unknown Contact Details unknown\n", []),
    ("Follow up Dr. X in one to two weeks; call 123-4567.\n", []),
    ("CHEST XRAY, PA\n", []),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), PRACTITIONERS)
def test_clinicians_are_read_with_their_role(text: str, expected: list[tuple]) -> None:
    found = practitioner_facts(text)
    assert [(f.name, f.role.value, f.qualification) for f in found] == expected
    for fact in found:
        assert fact.quote in text


def test_an_npi_on_the_clinicians_line_is_kept() -> None:
    [consultant] = practitioner_facts("Consultant: Dr. Omar Lee NPI: 1234567893\n")
    assert (consultant.role.value, consultant.npi) == ("consulting", "1234567893")


IDENTIFIERS = [
    ("DOB: 03/14/1958 Sex: Female MRN: 4410-2291\n", [("MRN", "4410-2291", None)]),
    ("Patient-ID: 26789 (2.16.840.1.113883.3.441.1.50.300011.51)\n",
     [("Patient ID", "26789", "2.16.840.1.113883.3.441.1.50.300011.51")]),
    ("SSN: 123-45-6789\n", [("SSN", "123-45-6789", None)]),
    ("Patient-IDs 123-45-6789 (SSN)\n", [("SSN", "123-45-6789", None)]),
    ("Medical Record #: A1234\n", [("Medical Record #", "A1234", None)]),
    ("Patient Legal: JONES Isabella Patient-ID: 2.100 Date of Birth: May 1, 1947\n",
     [("Patient ID", "2.100", None)]),
    ("Patient ID Control Number Account Number\n", []),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), IDENTIFIERS)
def test_identifiers_keep_the_issuer_printed_beside_them(text: str, expected: list) -> None:
    found = identifier_mentions(text)
    assert [(i.kind, i.value, i.issuer) for i, _ in found] == expected


def test_hl7_discharge_summary_names_its_hospital_and_patient_id(instance, layout, corpus) -> None:
    doc_id = store_copy(layout, corpus / "medical" / "discharge_summary_hl7.pdf")
    assert materialize_document(instance, layout, doc_id).success
    extraction = read_json(layout.artifact(doc_id, "clinical_extractions"))
    assert extraction["organizations"][0]["name"] == "Community Health Hospital"
    identifiers = [(i["kind"], i["value"]) for i in extraction["patient"]["identifiers"]]
    assert identifiers == [("Patient ID", "12345")]
    bundle = read_json(layout.artifact(doc_id, "fhir_bundle"))
    [patient] = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    system = "urn:medpipeline:issuer:community-health-hospital:mr"
    assert patient["request"]["ifNoneExist"] == f"identifier={system}|12345"


def _of_type(bundle: dict, resource_type: str) -> list[dict]:
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def test_bundle_links_the_document_to_its_facility_and_clinicians(
    instance, layout, samples_dir
) -> None:
    """The sample discharge summary through the real graph: 'Facility: Fictional General
    Hospital', 'Attending physician: Dr. Alan Exampleton', 'Electronically signed: Dr. Alan
    Exampleton, MD' -> one Organization, one Practitioner (attending and author)."""
    doc_id = store_copy(layout, samples_dir / "discharge_summary.pdf")
    assert materialize_document(instance, layout, doc_id).success
    bundle = read_json(layout.artifact(doc_id, "fhir_bundle"))
    assert validate_bundle(bundle) == []
    [organization] = _of_type(bundle, "Organization")
    [practitioner] = _of_type(bundle, "Practitioner")
    assert organization["resource"]["name"] == "Fictional General Hospital"
    assert practitioner["resource"]["name"][0]["text"] == "Alan Exampleton"
    assert practitioner["resource"]["qualification"] == [{"code": {"text": "MD"}}]
    [document] = [e["resource"] for e in _of_type(bundle, "DocumentReference")]
    assert document["author"] == [{"reference": practitioner["fullUrl"]}]
    assert document["custodian"] == {"reference": organization["fullUrl"]}
    [encounter] = [e["resource"] for e in _of_type(bundle, "Encounter")]
    assert encounter["serviceProvider"] == {"reference": organization["fullUrl"]}
    [participant] = encounter["participant"]
    assert participant["individual"] == {"reference": practitioner["fullUrl"]}
    assert participant["type"][0]["coding"][0]["code"] == "ATND"
    [patient] = [e["resource"] for e in _of_type(bundle, "Patient")]
    [mrn] = patient["identifier"]
    assert mrn["system"] == "urn:medpipeline:issuer:fictional-general-hospital:mr"
    assert mrn["assigner"]["reference"] == organization["fullUrl"]


LLM_NOTE = """Riverbend General Hospital
OFFICE VISIT NOTE
PATIENT: Ann Alpha
DOB: 01/02/1960 Medical Record Number: 555-01
Assessment: hypertension.
Dictated by: Dr. Rhea Tester, MD
"""


def test_llm_parties_reach_the_bundle(instance, layout, tmp_path, llm_server) -> None:
    """An LLM's organizations and practitioners (the tool schema carries them) become the
    document's Organization, the issuer of its MRN, and a Practitioner authoring it."""
    reply = {
        "patient": {
            "quote": "PATIENT: Ann Alpha",
            "name": "Ann Alpha",
            "identifiers": [{"kind": "Medical Record Number", "value": "555-01"}],
        },
        "organizations": [
            {"quote": "Riverbend General Hospital", "name": "Riverbend General Hospital"}
        ],
        "practitioners": [
            {"quote": "Dictated by: Dr. Rhea Tester, MD", "name": "Rhea Tester",
             "qualification": "MD", "role": "author", "npi": "1234567893"}
        ],
    }  # fmt: skip
    llm_server.script(ANTHROPIC, Reply(content=reply))
    llm = LLMResource(anthropic_api_key="test-key", anthropic_base_url=llm_server.base_url)
    pdf = render_text_pdf(tmp_path / "note.pdf", [LLM_NOTE])
    doc_id = store_copy(layout, pdf)
    assert materialize_document(instance, layout, doc_id, llm).success
    extraction = read_json(layout.artifact(doc_id, "clinical_extractions"))
    assert {chunk["provider"] for chunk in extraction["chunks"]} == {"anthropic"}
    bundle = read_json(layout.artifact(doc_id, "fhir_bundle"))
    assert validate_bundle(bundle) == []
    [organization] = _of_type(bundle, "Organization")
    [practitioner] = _of_type(bundle, "Practitioner")
    assert practitioner["request"]["ifNoneExist"] == (
        "identifier=http://hl7.org/fhir/sid/us-npi|1234567893"
    )
    [patient] = [e["resource"] for e in _of_type(bundle, "Patient")]
    [mrn] = patient["identifier"]
    assert mrn["system"] == "urn:medpipeline:issuer:riverbend-general-hospital:mr"
    assert mrn["assigner"]["reference"] == organization["fullUrl"]
    [document] = [e["resource"] for e in _of_type(bundle, "DocumentReference")]
    assert document["author"] == [{"reference": practitioner["fullUrl"]}]
