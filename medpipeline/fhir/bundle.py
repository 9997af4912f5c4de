"""Map one document's grounded extraction to a FHIR R4 (4.0.1) transaction Bundle (plain JSON).

Entries: Patient, DocumentReference (the PDF), Device (the extractor), one resource per kept fact
(Condition, MedicationStatement, AllergyIntolerance, Observation) and a Provenance over them all.
fullUrls are uuid5 of doc_id, resource kind and fact index, so the same input gives the same bundle.
Negated and family-history facts are not the patient's: they are skipped and counted.
A fact's evidence (offset and length in the document text) is kept in the derivation-reference
extension (R5 backport) pointing at the DocumentReference, its page in `urn:medpipeline:page`.
Blood pressure written as "138/84" stays a valueString: splitting it into systolic and diastolic
components belongs to extraction, which does not yet return them.
"""

import base64
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from medpipeline.documents import SourceDocument
from medpipeline.extraction.schema import (
    AllergyFact,
    Assertion,
    ConditionFact,
    DocumentExtraction,
    Evidence,
    MedicationFact,
    ObservationFact,
    PatientFact,
)

JsonDict = dict[str, Any]

_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:medpipeline:fhir")
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
DERIVATION_REFERENCE = "http://hl7.org/fhir/StructureDefinition/derivation-reference"
PAGE_EXTENSION = "urn:medpipeline:page"
DOCUMENT_PATIENT_SYSTEM = "urn:medpipeline:document-patient"
NO_KNOWN_ALLERGY = ("716186003", "No known allergy")
UNNAMED = "not named in the document"  # text of a required code whose fact has no name

_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"

_IDENTIFIER_TYPES = {  # extracted kind -> v2-0203 code and display
    "mrn": ("MR", "Medical record number"),
    "ssn": ("SS", "Social Security number"),
    "account": ("AN", "Account number"),
}
_GENDERS = {"male", "female", "other", "unknown"}
# assertion -> (clinicalStatus, verificationStatus, category) as (code, display) pairs
_CONDITION_STATUS = {
    Assertion.PRESENT: (
        ("active", "Active"),
        ("confirmed", "Confirmed"),
        ("encounter-diagnosis", "Encounter Diagnosis"),
    ),
    Assertion.POSSIBLE: (
        ("active", "Active"),
        ("provisional", "Provisional"),
        ("encounter-diagnosis", "Encounter Diagnosis"),
    ),
    Assertion.HISTORICAL: (
        ("inactive", "Inactive"),
        ("confirmed", "Confirmed"),
        ("problem-list-item", "Problem List Item"),
    ),
}
_OBSERVATION_CATEGORIES = {"laboratory": "Laboratory", "vital-signs": "Vital Signs"}
_INTERPRETATIONS = {"H": "High", "L": "Low", "N": "Normal", "A": "Abnormal"}


class BuiltBundle(BaseModel):
    bundle: JsonDict
    resource_counts: dict[str, int]
    skipped_negated: int
    skipped_family: int


@dataclass(frozen=True)
class _Refs:
    """fullUrls every fact resource points at."""

    patient: str
    document: str


def build_bundle(
    document: SourceDocument, extraction: DocumentExtraction, *, created_at: datetime
) -> BuiltBundle:
    """The transaction Bundle of one document; `created_at` must be timezone-aware."""
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware (FHIR instants carry a zone)")
    if extraction.doc_id != document.doc_id:
        raise ValueError("extraction and document have different doc_ids")
    doc_id = document.doc_id
    refs = _Refs(patient=_full_url(doc_id, "patient", 0), document=_full_url(doc_id, "document", 0))
    device_url = _full_url(doc_id, "device", 0)
    fact_entries = _fact_entries(doc_id, extraction, refs)
    entries = [
        (refs.patient, _patient(extraction.patient, doc_id)),
        (refs.document, _document_reference(document, refs.patient, created_at)),
        (device_url, _device(extraction)),
        *fact_entries,
    ]
    targets = [refs.patient, *(url for url, _ in fact_entries)]
    provenance = _provenance(targets, refs.document, device_url, created_at)
    entries.append((_full_url(doc_id, "provenance", 0), provenance))
    skipped = Counter(fact.assertion for fact in [*extraction.conditions, *extraction.medications])
    return BuiltBundle(
        bundle={
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [_entry(url, resource) for url, resource in entries],
        },
        resource_counts=dict(Counter(resource["resourceType"] for _, resource in entries)),
        skipped_negated=skipped[Assertion.NEGATED],
        skipped_family=skipped[Assertion.FAMILY],
    )


def _fact_entries(
    doc_id: str, extraction: DocumentExtraction, refs: _Refs
) -> list[tuple[str, JsonDict]]:
    entries = []
    for index, condition in enumerate(extraction.conditions):
        if condition.assertion in _CONDITION_STATUS:
            entries.append((_full_url(doc_id, "condition", index), _condition(condition, refs)))
    for index, medication in enumerate(extraction.medications):
        if medication.assertion not in (Assertion.NEGATED, Assertion.FAMILY):
            url = _full_url(doc_id, "medication", index)
            entries.append((url, _medication_statement(medication, refs)))
    for index, allergy in enumerate(extraction.allergies):
        entries.append((_full_url(doc_id, "allergy", index), _allergy(allergy, refs)))
    for index, observation in enumerate(extraction.observations):
        url = _full_url(doc_id, "observation", index)
        entries.append((url, _observation(observation, refs)))
    return entries


def _full_url(doc_id: str, kind: str, index: int) -> str:
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, f'{doc_id}/{kind}/{index}')}"


def _entry(full_url: str, resource: JsonDict) -> JsonDict:
    request = {"method": "POST", "url": resource["resourceType"]}
    return {"fullUrl": full_url, "resource": resource, "request": request}


# --- Patient, DocumentReference, Device, Provenance -------------------------------------------


def _patient(fact: PatientFact | None, doc_id: str) -> JsonDict:
    """The subject; without an extracted identifier it is identified by the document."""
    fact = fact or PatientFact(quote="")
    identifiers = [
        identifier
        for extracted in fact.identifiers
        if (identifier := _identifier(extracted.kind, extracted.value))
    ]
    name = _text(fact.name)
    gender = (fact.gender or "").strip().lower()
    return _without_none(
        resourceType="Patient",
        identifier=identifiers or [{"system": DOCUMENT_PATIENT_SYSTEM, "value": doc_id}],
        name=[{"text": name}] if name else None,
        gender=gender if gender in _GENDERS else None,
        birthDate=_iso_date(fact.birth_date),
    )


def _identifier(kind: str, value: str) -> JsonDict | None:
    clean_kind, clean_value = _text(kind), _text(value)
    if not clean_kind or not clean_value:
        return None
    slug = "-".join(clean_kind.lower().split())
    known_type = _IDENTIFIER_TYPES.get(slug)
    if known_type:
        identifier_type = _codeable(_IDENTIFIER_TYPE, *known_type)
    else:
        identifier_type = {"text": clean_kind}
    return {"type": identifier_type, "system": f"urn:medpipeline:{slug}", "value": clean_value}


def _document_reference(
    document: SourceDocument, patient_url: str, created_at: datetime
) -> JsonDict:
    attachment = {
        "contentType": "application/pdf",
        "url": f"documents/{document.doc_id}/source.pdf",
        "size": document.size_bytes,
        "hash": base64.b64encode(bytes.fromhex(document.sha1)).decode("ascii"),
        "title": f"Source document {document.doc_id}",
    }
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": {"reference": patient_url},
        "date": created_at.isoformat(),
        "content": [{"attachment": attachment}],
    }


def _device(extraction: DocumentExtraction) -> JsonDict:
    providers = "+".join(extraction.providers) or "none"
    models = "+".join(extraction.models) or "none"
    name = f"medpipeline extraction {providers} {models}"
    return {
        "resourceType": "Device",
        "deviceName": [{"name": name, "type": "user-friendly-name"}],
        "version": [{"value": extraction.prompt_version}],
    }


def _provenance(
    targets: list[str], document_url: str, device_url: str, created_at: datetime
) -> JsonDict:
    return {
        "resourceType": "Provenance",
        "target": [{"reference": url} for url in targets],
        "recorded": created_at.isoformat(),
        "agent": [
            {
                "type": _codeable(_PARTICIPANT_TYPE, "assembler", "Assembler"),
                "who": {"reference": device_url},
            }
        ],
        "entity": [{"role": "source", "what": {"reference": document_url}}],
    }


# --- fact resources ---------------------------------------------------------------------------


def _condition(fact: ConditionFact, refs: _Refs) -> JsonDict:
    clinical, verification, category = _CONDITION_STATUS[fact.assertion]
    icd10 = _text(fact.icd10_code)
    return _without_none(
        resourceType="Condition",
        extension=_evidence_extensions(fact.evidence, refs.document),
        clinicalStatus=_codeable(_CONDITION_CLINICAL, *clinical),
        verificationStatus=_codeable(_CONDITION_VERIFICATION, *verification),
        category=[_codeable(_CONDITION_CATEGORY, *category)],
        code=_concept(fact.text, [{"system": ICD10_CM, "code": icd10}] if icd10 else []),
        subject={"reference": refs.patient},
    )


def _medication_statement(fact: MedicationFact, refs: _Refs) -> JsonDict:
    dosage = _dosage(fact)
    return _without_none(
        resourceType="MedicationStatement",
        extension=_evidence_extensions(fact.evidence, refs.document),
        status=fact.status.value,
        medicationCodeableConcept={"text": _text(fact.generic_name) or _text(fact.text) or UNNAMED},
        subject={"reference": refs.patient},
        dosage=[dosage] if dosage else None,
    )


def _dosage(fact: MedicationFact) -> JsonDict:
    route, frequency = _text(fact.route), _text(fact.frequency)
    parts = (fact.dose_value, fact.dose_unit, route, frequency)
    composed = " ".join(str(part) for part in parts if part is not None)
    dose = _quantity(fact.dose_value, fact.dose_unit)
    return _without_none(
        text=_text(fact.quote) or _text(composed),
        timing={"code": {"text": frequency}} if frequency else None,
        route={"text": route} if route else None,
        doseAndRate=[{"doseQuantity": dose}] if dose else None,
    )


def _allergy(fact: AllergyFact, refs: _Refs) -> JsonDict:
    """A documented allergy is active; only "no known allergy" is marked confirmed."""
    if fact.no_known_allergies:
        code = _codeable(SNOMED, *NO_KNOWN_ALLERGY)
        verification = _codeable(_ALLERGY_VERIFICATION, "confirmed", "Confirmed")
    else:
        code = _concept(fact.substance, [])
        verification = None
    reaction = _text(fact.reaction)
    return _without_none(
        resourceType="AllergyIntolerance",
        extension=_evidence_extensions(fact.evidence, refs.document),
        clinicalStatus=_codeable(_ALLERGY_CLINICAL, "active", "Active"),
        verificationStatus=verification,
        code=code,
        patient={"reference": refs.patient},
        reaction=[{"manifestation": [{"text": reaction}]}] if reaction else None,
    )


def _observation(fact: ObservationFact, refs: _Refs) -> JsonDict:
    category = "-".join(fact.category.strip().lower().replace("_", " ").split())
    category_display = _OBSERVATION_CATEGORIES.get(category)
    loinc = _text(fact.loinc_code)
    interpretation = (fact.interpretation or "").strip().upper()
    value_text = _text(fact.value_text)
    return _without_none(
        resourceType="Observation",
        extension=_evidence_extensions(fact.evidence, refs.document),
        status="final",
        category=(
            [_codeable(_OBSERVATION_CATEGORY, category, category_display)]
            if category_display
            else None
        ),
        code=_concept(
            _text(fact.name) or UNNAMED, [{"system": LOINC, "code": loinc}] if loinc else []
        ),
        subject={"reference": refs.patient},
        valueQuantity=_quantity(fact.value, fact.unit),
        valueString=value_text if fact.value is None else None,
        interpretation=(
            [_codeable(_INTERPRETATION, interpretation, _INTERPRETATIONS[interpretation])]
            if interpretation in _INTERPRETATIONS
            else None
        ),
        referenceRange=_reference_range(fact),
    )


def _reference_range(fact: ObservationFact) -> list[JsonDict] | None:
    reference_range = _without_none(
        low=_quantity(fact.reference_low, fact.unit),
        high=_quantity(fact.reference_high, fact.unit),
        text=_text(fact.reference_text),
    )
    return [reference_range] if reference_range else None


def _evidence_extensions(evidence: Evidence | None, document_url: str) -> list[JsonDict] | None:
    if evidence is None:
        return None
    derivation = {
        "url": DERIVATION_REFERENCE,
        "extension": [
            {"url": "reference", "valueReference": {"reference": document_url}},
            {"url": "offset", "valueInteger": evidence.offset},
            {"url": "length", "valueInteger": evidence.length},
        ],
    }
    return [derivation, {"url": PAGE_EXTENSION, "valueInteger": evidence.page}]


# --- datatypes ------------------------------------------------------------------------------


def _codeable(system: str, code: str, display: str) -> JsonDict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _concept(text: str | None, codings: list[JsonDict]) -> JsonDict | None:
    return _without_none(coding=codings or None, text=_text(text)) or None


def _quantity(value: float | None, unit: str | None) -> JsonDict | None:
    if value is None:
        return None
    ucum = _text(unit)
    return _without_none(value=value, unit=ucum, system=UCUM if ucum else None, code=ucum)


def _text(value: str | None) -> str | None:
    """Whitespace collapsed to single spaces (FHIR strings allow no other), None when empty."""
    collapsed = " ".join(value.split()) if value else ""
    return collapsed or None


def _iso_date(value: str | None) -> str | None:
    try:
        return date.fromisoformat(value.strip()).isoformat() if value else None
    except ValueError:
        return None


def _without_none(**fields: Any) -> JsonDict:
    return {key: value for key, value in fields.items() if value is not None}
