"""Map one document's grounded extraction to a FHIR R4 (4.0.1) transaction Bundle (plain JSON).

Entries: Patient, DocumentReference (the PDF), Device (the extractor: provider, model, prompt
version), Encounter(s), one resource per kept fact (Condition, MedicationStatement or, for what the
document prescribes, MedicationRequest, AllergyIntolerance, Observation, Procedure), a
DiagnosticReport grouping the lab Observations, and a Provenance targeting every extracted resource.
Shapes follow US Core where it applies (Patient name parts and identifier systems, Condition
category, Observation category and effective time, blood pressure as systolic/diastolic components).
fullUrls are uuid5 of doc_id, resource kind and fact index, so the same input gives the same bundle.

Assertions: negated, family-history and hypothetical findings are never the patient's Conditions
(skipped and counted); uncertain ones are `provisional`; historical ones are inactive problem-list
items; historical medications are `completed`, hypothetical ones `intended`.
Codes are checked (`medpipeline.terminology`): an unknown ICD-10-CM or LOINC code or a non-UCUM unit
is dropped to text, the resource is tagged `code-dropped` and the drop counted.
A fact's evidence (offset and length in the document text) is kept in the derivation-reference
extension (R5 backport) pointing at the DocumentReference, its page in `urn:medpipeline:page`; a
fact without evidence (kept ungrounded on purpose) is tagged `ungrounded`.
"""

import base64
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from medpipeline.documents import SourceDocument
from medpipeline.extraction.schema import (
    PATIENT_FACT_ID,
    AllergyFact,
    Assertion,
    ConditionFact,
    DocumentExtraction,
    EncounterFact,
    Evidence,
    Fact,
    MedicationFact,
    MedicationStatus,
    ObservationFact,
    PatientFact,
    ProcedureFact,
    fact_id,
)
from medpipeline.terminology import icd10cm_code, loinc_code, ucum_unit

JsonDict = dict[str, Any]

_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:medpipeline:fhir")
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
DERIVATION_REFERENCE = "http://hl7.org/fhir/StructureDefinition/derivation-reference"
PAGE_EXTENSION = "urn:medpipeline:page"
DOCUMENT_PATIENT_SYSTEM = "urn:medpipeline:document-patient"
DOCUMENT_ID_SYSTEM = "urn:medpipeline:doc-id"
FLAG_SYSTEM = "urn:medpipeline:flag"
FLAG_UNGROUNDED = "ungrounded"
FLAG_CODE_DROPPED = "code-dropped"
NO_KNOWN_ALLERGY = ("716186003", "No known allergy")
UNNAMED = "not named in the document"  # text of a required code whose fact has no name
LAB_REPORT = ("11502-2", "Laboratory report")
BLOOD_PRESSURE_PANEL = "85354-9"
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")

_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
_DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
_PROVENANCE_ACTIVITY = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"

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
NOT_THE_PATIENTS = (Assertion.NEGATED, Assertion.FAMILY, Assertion.HYPOTHETICAL)
_OBSERVATION_CATEGORIES = {"laboratory": "Laboratory", "vital-signs": "Vital Signs"}
_INTERPRETATIONS = {"H": "High", "L": "Low", "N": "Normal", "A": "Abnormal"}
_ENCOUNTER_CLASSES = {
    "ambulatory": ("AMB", "ambulatory"),
    "outpatient": ("AMB", "ambulatory"),
    "inpatient": ("IMP", "inpatient encounter"),
    "emergency": ("EMER", "emergency"),
    "virtual": ("VR", "virtual"),
    "home": ("HH", "home health"),
}
_ROUTES = {  # route as extracted -> SNOMED CT route of administration
    "oral": ("26643006", "Oral route"),
    "intravenous": ("47625008", "Intravenous route"),
    "intramuscular": ("78421000", "Intramuscular route"),
    "subcutaneous": ("34206005", "Subcutaneous route"),
    "sublingual": ("37839007", "Sublingual route"),
    "rectal": ("37161004", "Rectal route"),
    "topical": ("6064005", "Topical route"),
    "transdermal": ("45890007", "Transdermal route"),
    "nasal": ("46713006", "Nasal route"),
}
_SEVERITIES = {"mild", "moderate", "severe"}
# frequency as written -> Timing.repeat (times per period)
_DAY = {"period": 1, "periodUnit": "d"}
_FREQUENCIES: list[tuple[re.Pattern[str], JsonDict]] = [
    (re.compile(pattern, re.IGNORECASE), repeat)
    for pattern, repeat in (
        (r"\b(?:once daily|daily|qd|every day|once a day|qam|qhs|at bedtime|nightly)\b",
         {"frequency": 1, **_DAY}),
        (r"\b(?:twice daily|twice a day|bid|b\.i\.d\.)", {"frequency": 2, **_DAY}),
        (r"\b(?:three times (?:daily|a day)|tid|t\.i\.d\.)", {"frequency": 3, **_DAY}),
        (r"\b(?:four times (?:daily|a day)|qid|q\.i\.d\.)", {"frequency": 4, **_DAY}),
        (r"\b(?:weekly|once a week)\b", {"frequency": 1, "period": 1, "periodUnit": "wk"}),
        (r"\b(?:monthly|once a month)\b", {"frequency": 1, "period": 1, "periodUnit": "mo"}),
    )
]  # fmt: skip
_EVERY_HOURS = re.compile(r"\b(?:q|every)\s*(\d{1,2})\s*(?:h|hr|hrs|hours?)\b", re.IGNORECASE)
_AS_NEEDED = re.compile(r"\b(?:prn|p\.r\.n\.|as needed)", re.IGNORECASE)
_PRESSURE_PAIR = re.compile(r"\s*(\d{2,3})\s*/\s*(\d{2,3})\s*")
# A result written with a comparator ('<1', '>= 60'): Quantity.comparator, so '<1' is not 1.
_COMPARATOR = re.compile(r"\s*(<=|>=|[<>\u2264\u2265])")
_COMPARATORS = {"\u2264": "<=", "\u2265": ">="}


class BuiltBundle(BaseModel):
    bundle: JsonDict
    resource_counts: dict[str, int]
    skipped_negated: int
    skipped_family: int
    skipped_hypothetical: int = 0
    dropped_codes: dict[str, int] = {}
    ungrounded_resources: int = 0
    fact_resources: dict[str, str] = {}  # fact id (schema.fact_id) -> fullUrl of its resource


@dataclass
class _Context:
    """What every fact resource points at, and what the mapping counted on the way."""

    patient: str
    document: str
    encounter: str | None = None
    encounter_date: str | None = None
    dropped: Counter = field(default_factory=Counter)
    ungrounded: int = 0
    fact_urls: dict[str, str] = field(default_factory=dict)

    def became(self, kind: str, index: int, url: str) -> str:
        """Record that fact `index` of list `kind` is the resource at `url`."""
        self.fact_urls[fact_id(kind, index)] = url
        return url


def build_bundle(
    document: SourceDocument, extraction: DocumentExtraction, *, created_at: datetime
) -> BuiltBundle:
    """The transaction Bundle of one document; `created_at` must be timezone-aware."""
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware (FHIR instants carry a zone)")
    if extraction.doc_id != document.doc_id:
        raise ValueError("extraction and document have different doc_ids")
    doc_id = document.doc_id
    context = _Context(
        patient=_full_url(doc_id, "patient", 0), document=_full_url(doc_id, "document", 0)
    )
    device_url = _full_url(doc_id, "device", 0)
    encounter_entries = _encounter_entries(doc_id, extraction.encounters, context)
    fact_entries = _fact_entries(doc_id, extraction, context)
    report = _diagnostic_report(fact_entries, context, created_at)
    if report:
        fact_entries.append((_full_url(doc_id, "diagnostic-report", 0), report))
    extracted = [*encounter_entries, *fact_entries]
    entries = [
        (context.patient, _patient(extraction.patient, doc_id)),
        (context.document, _document_reference(document, context, created_at)),
        (device_url, _device(extraction)),
        *extracted,
    ]
    targets = [context.patient, *(url for url, _ in extracted)]
    provenance = _provenance(targets, context.document, device_url, created_at)
    entries.append((_full_url(doc_id, "provenance", 0), provenance))
    facts = [*extraction.conditions, *extraction.medications, *extraction.procedures]
    skipped = Counter(fact.assertion for fact in facts)
    return BuiltBundle(
        bundle={
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [_entry(url, resource) for url, resource in entries],
        },
        resource_counts=dict(Counter(resource["resourceType"] for _, resource in entries)),
        skipped_negated=skipped[Assertion.NEGATED],
        skipped_family=skipped[Assertion.FAMILY],
        skipped_hypothetical=sum(
            c.assertion == Assertion.HYPOTHETICAL
            for c in [*extraction.conditions, *extraction.procedures]
        ),
        dropped_codes=dict(context.dropped),
        ungrounded_resources=context.ungrounded,
        fact_resources=({PATIENT_FACT_ID: context.patient} if extraction.patient else {})
        | context.fact_urls,
    )


def _encounter_entries(
    doc_id: str, encounters: list[EncounterFact], context: _Context
) -> list[tuple[str, JsonDict]]:
    entries = []
    for index, fact in enumerate(encounters):
        url = context.became("encounters", index, _full_url(doc_id, "encounter", index))
        resource = _encounter(fact, context)
        if context.encounter is None:
            context.encounter = url
            period = resource.get("period", {})
            context.encounter_date = period.get("start") or period.get("end")
        entries.append((url, resource))
    return entries


def _fact_entries(
    doc_id: str, extraction: DocumentExtraction, context: _Context
) -> list[tuple[str, JsonDict]]:
    entries = []
    for index, condition in enumerate(extraction.conditions):
        if condition.assertion in _CONDITION_STATUS:
            url = context.became("conditions", index, _full_url(doc_id, "condition", index))
            entries.append((url, _condition(condition, context)))
    for index, medication in enumerate(extraction.medications):
        if medication.assertion in (Assertion.NEGATED, Assertion.FAMILY):
            continue
        if medication.prescribed and medication.assertion != Assertion.HISTORICAL:
            url = _full_url(doc_id, "medication-request", index)
            context.became("medications", index, url)
            entries.append((url, _medication_request(medication, context)))
        else:
            url = context.became("medications", index, _full_url(doc_id, "medication", index))
            entries.append((url, _medication_statement(medication, context)))
    for index, allergy in enumerate(extraction.allergies):
        url = context.became("allergies", index, _full_url(doc_id, "allergy", index))
        entries.append((url, _allergy(allergy, context)))
    for index, observation in enumerate(extraction.observations):
        url = context.became("observations", index, _full_url(doc_id, "observation", index))
        entries.append((url, _observation(observation, context)))
    for index, procedure in enumerate(extraction.procedures):
        if procedure.assertion in (Assertion.FAMILY, Assertion.HYPOTHETICAL):
            continue
        url = context.became("procedures", index, _full_url(doc_id, "procedure", index))
        entries.append((url, _procedure(procedure, context)))
    return entries


def _full_url(doc_id: str, kind: str, index: int) -> str:
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, f'{doc_id}/{kind}/{index}')}"


def _entry(full_url: str, resource: JsonDict) -> JsonDict:
    request = {"method": "POST", "url": resource["resourceType"]}
    return {"fullUrl": full_url, "resource": resource, "request": request}


# --- Patient, DocumentReference, Device, Provenance, Encounter, DiagnosticReport --------------


def _patient(fact: PatientFact | None, doc_id: str) -> JsonDict:
    """The subject; without an extracted identifier it is identified by the document."""
    fact = fact or PatientFact(quote="")
    identifiers = [
        identifier
        for extracted in fact.identifiers
        if (identifier := _identifier(extracted.kind, extracted.value))
    ]
    name = _human_name(fact.name)
    gender = (fact.gender or "").strip().lower()
    return _without_none(
        resourceType="Patient",
        identifier=identifiers or [{"system": DOCUMENT_PATIENT_SYSTEM, "value": doc_id}],
        name=[name] if name else None,
        gender=gender if gender in _GENDERS else "unknown",
        birthDate=_iso_date(fact.birth_date),
    )


def _human_name(written: str | None) -> JsonDict | None:
    """US Core wants family and/or given: 'Doe, Jane A.' and 'Jane A. Doe' both split."""
    text = _text(written)
    if not text:
        return None
    if "," in text:
        family, _, given = (part.strip() for part in text.partition(","))
        given_names = given.split()
    else:
        *given_names, family = text.split()
    return _without_none(text=text, family=family or None, given=given_names or None)


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
    document: SourceDocument, context: _Context, created_at: datetime
) -> JsonDict:
    attachment = {
        "contentType": "application/pdf",
        "url": f"documents/{document.doc_id}/source.pdf",
        "size": document.size_bytes,
        "hash": base64.b64encode(bytes.fromhex(document.sha1)).decode("ascii"),
        "title": f"Source document {document.doc_id}",
        "creation": document.stored_at.isoformat() if document.stored_at.tzinfo else None,
    }
    encounter_context = _without_none(
        encounter=[{"reference": context.encounter}] if context.encounter else None,
        period={"start": context.encounter_date} if context.encounter_date else None,
    )
    return _without_none(
        resourceType="DocumentReference",
        identifier=[{"system": DOCUMENT_ID_SYSTEM, "value": document.doc_id}],
        status="current",
        type={"text": "Clinical document (PDF)"},
        category=[_codeable(_DOCUMENT_CATEGORY, "clinical-note", "Clinical Note")],
        subject={"reference": context.patient},
        date=created_at.isoformat(),
        description=f"{document.pages} page PDF",
        content=[{"attachment": _without_none(**attachment)}],
        context=encounter_context or None,
    )


def _device(extraction: DocumentExtraction) -> JsonDict:
    providers = "+".join(extraction.providers) or "none"
    models = "+".join(extraction.models) or "none"
    names = [{"name": f"medpipeline extraction {providers} {models}", "type": "user-friendly-name"}]
    names += [{"name": model, "type": "model-name"} for model in extraction.models]
    return {
        "resourceType": "Device",
        "status": "active",
        "manufacturer": "MedPipeline",
        "deviceName": names,
        "modelNumber": models,
        "type": {"text": f"clinical fact extraction ({providers})"},
        "version": [{"type": {"text": "prompt version"}, "value": extraction.prompt_version}],
    }


def _provenance(
    targets: list[str], document_url: str, device_url: str, created_at: datetime
) -> JsonDict:
    return {
        "resourceType": "Provenance",
        "target": [{"reference": url} for url in targets],
        "recorded": created_at.isoformat(),
        "activity": _codeable(_PROVENANCE_ACTIVITY, "CREATE", "create"),
        "agent": [
            {
                "type": _codeable(_PARTICIPANT_TYPE, "assembler", "Assembler"),
                "who": {"reference": device_url},
            }
        ],
        "entity": [{"role": "source", "what": {"reference": document_url}}],
    }


def _encounter(fact: EncounterFact, context: _Context) -> JsonDict:
    encounter_class = _ENCOUNTER_CLASSES.get(
        (fact.encounter_class or "").strip().lower(), _ENCOUNTER_CLASSES["ambulatory"]
    )
    type_text = _text(fact.type_text)
    period = _without_none(start=_iso_date(fact.start_date), end=_iso_date(fact.end_date))
    if "start" in period and "end" in period and period["end"] < period["start"]:
        period.pop("end")
    return _without_none(
        resourceType="Encounter",
        meta=_flags(fact, context),
        extension=_evidence_extensions(fact.evidence, context.document),
        status="finished",
        **{
            "class": {
                "system": _ACT_CODE,
                "code": encounter_class[0],
                "display": encounter_class[1],
            }
        },
        type=[{"text": type_text}] if type_text else None,
        subject={"reference": context.patient},
        period=period or None,
    )


def _diagnostic_report(
    entries: list[tuple[str, JsonDict]], context: _Context, created_at: datetime
) -> JsonDict | None:
    """One lab report grouping the document's laboratory Observations (US Core Lab shape)."""
    results = [
        url
        for url, resource in entries
        if resource["resourceType"] == "Observation"
        and any(
            coding["code"] == "laboratory"
            for category in resource.get("category", [])
            for coding in category.get("coding", [])
        )
    ]
    if not results:
        return None
    return _without_none(
        resourceType="DiagnosticReport",
        status="final",
        category=[_codeable(_DIAGNOSTIC_SERVICE, "LAB", "Laboratory")],
        code=_codeable(LOINC, *LAB_REPORT),
        subject={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        effectiveDateTime=context.encounter_date,
        issued=created_at.isoformat(),
        result=[{"reference": url} for url in results],
    )


# --- fact resources ---------------------------------------------------------------------------


def _condition(fact: ConditionFact, context: _Context) -> JsonDict:
    clinical, verification, category = _CONDITION_STATUS[fact.assertion]
    icd10 = _checked(fact.icd10_code, icd10cm_code, "icd10cm", context)
    is_encounter_diagnosis = category[0] == "encounter-diagnosis"
    return _without_none(
        resourceType="Condition",
        meta=_flags(fact, context, dropped=icd10 is False),
        extension=_evidence_extensions(fact.evidence, context.document),
        clinicalStatus=_codeable(_CONDITION_CLINICAL, *clinical),
        verificationStatus=_codeable(_CONDITION_VERIFICATION, *verification),
        category=[_codeable(_CONDITION_CATEGORY, *category)],
        code=_concept(fact.text, [{"system": ICD10_CM, "code": icd10}] if icd10 else []),
        subject={"reference": context.patient},
        encounter=(
            {"reference": context.encounter}
            if context.encounter and is_encounter_diagnosis
            else None
        ),
        onsetDateTime=_iso_date(fact.onset_date),
    )


def _medication_status(fact: MedicationFact) -> str:
    if fact.status != MedicationStatus.ACTIVE:
        return fact.status.value
    if fact.assertion == Assertion.HISTORICAL:
        return "completed"
    if fact.assertion == Assertion.HYPOTHETICAL:
        return "intended"
    return fact.status.value


def _medication_statement(fact: MedicationFact, context: _Context) -> JsonDict:
    dosage = _dosage(fact, context)
    return _without_none(
        resourceType="MedicationStatement",
        meta=_flags(fact, context, dropped=dosage.pop("_dropped", False)),
        extension=_evidence_extensions(fact.evidence, context.document),
        status=_medication_status(fact),
        medicationCodeableConcept={"text": _medication_text(fact)},
        subject={"reference": context.patient},
        context={"reference": context.encounter} if context.encounter else None,
        dosage=[dosage] if dosage else None,
    )


def _medication_request(fact: MedicationFact, context: _Context) -> JsonDict:
    """What the document prescribes now: an order (US Core MedicationRequest shape)."""
    dosage = _dosage(fact, context)
    return _without_none(
        resourceType="MedicationRequest",
        meta=_flags(fact, context, dropped=dosage.pop("_dropped", False)),
        extension=_evidence_extensions(fact.evidence, context.document),
        status="active" if fact.status == MedicationStatus.ACTIVE else "stopped",
        intent="order",
        medicationCodeableConcept={"text": _medication_text(fact)},
        subject={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        authoredOn=context.encounter_date,
        dosageInstruction=[dosage] if dosage else None,
    )


def _medication_text(fact: MedicationFact) -> str:
    return _text(fact.generic_name) or _text(fact.text) or UNNAMED


def _dosage(fact: MedicationFact, context: _Context) -> JsonDict:
    route, frequency = _text(fact.route), _text(fact.frequency)
    parts = (fact.dose_value, fact.dose_unit, route, frequency)
    composed = " ".join(str(part) for part in parts if part is not None)
    dose, dropped = _quantity_checked(fact.dose_value, fact.dose_unit, context)
    route_code = _ROUTES.get((route or "").lower())
    timing = _without_none(
        repeat=_timing_repeat(frequency), code={"text": frequency} if frequency else None
    )
    return _without_none(
        text=_text(fact.quote) or _text(composed),
        timing=timing or None,
        asNeededBoolean=True if frequency and _AS_NEEDED.search(frequency) else None,
        route=(
            {**_codeable(SNOMED, *route_code), "text": route}
            if route_code
            else ({"text": route} if route else None)
        ),
        doseAndRate=[{"doseQuantity": dose}] if dose else None,
        _dropped=dropped or None,
    )


def _timing_repeat(frequency: str | None) -> JsonDict | None:
    if not frequency:
        return None
    hours = _EVERY_HOURS.search(frequency)
    if hours and int(hours[1]) > 0:
        return {"frequency": 1, "period": int(hours[1]), "periodUnit": "h"}
    for pattern, repeat in _FREQUENCIES:
        if pattern.search(frequency):
            return dict(repeat)
    return None


def _allergy(fact: AllergyFact, context: _Context) -> JsonDict:
    """A documented allergy is active; "no known allergy" is SNOMED 716186003, confirmed."""
    if fact.no_known_allergies:
        code = _codeable(SNOMED, *NO_KNOWN_ALLERGY)
        verification = _codeable(_ALLERGY_VERIFICATION, "confirmed", "Confirmed")
    else:
        code = _concept(fact.substance, []) or {"text": UNNAMED}
        verification = _codeable(_ALLERGY_VERIFICATION, "unconfirmed", "Unconfirmed")
    reaction = _text(fact.reaction)
    severity = (fact.severity or "").strip().lower()
    reaction_entry = _without_none(
        manifestation=[{"text": reaction}] if reaction else None,
        severity=severity if severity in _SEVERITIES else None,
    )
    if reaction_entry and "manifestation" not in reaction_entry:
        reaction_entry["manifestation"] = [{"text": "not stated"}]
    return _without_none(
        resourceType="AllergyIntolerance",
        meta=_flags(fact, context),
        extension=_evidence_extensions(fact.evidence, context.document),
        clinicalStatus=_codeable(_ALLERGY_CLINICAL, "active", "Active"),
        verificationStatus=verification,
        code=code,
        patient={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        reaction=[reaction_entry] if reaction_entry else None,
    )


def _observation(fact: ObservationFact, context: _Context) -> JsonDict:
    category = "-".join(fact.category.strip().lower().replace("_", " ").split())
    category_display = _OBSERVATION_CATEGORIES.get(category)
    loinc = _checked(fact.loinc_code, loinc_code, "loinc", context)
    interpretation = (fact.interpretation or "").strip().upper()
    value_text = _text(fact.value_text)
    value, unit_dropped = _quantity_checked(fact.value, fact.unit, context)
    comparator = _COMPARATOR.match(value_text or "")
    if value and comparator:
        value["comparator"] = _COMPARATORS.get(comparator[1], comparator[1])
    components = _blood_pressure_components(loinc, value_text, fact.unit)
    reference_range = _reference_range(fact, context)
    return _without_none(
        resourceType="Observation",
        meta=_flags(fact, context, dropped=loinc is False or unit_dropped),
        extension=_evidence_extensions(fact.evidence, context.document),
        status="final",
        category=(
            [_codeable(_OBSERVATION_CATEGORY, category, category_display)]
            if category_display
            else None
        ),
        code=_concept(
            _text(fact.name) or UNNAMED, [{"system": LOINC, "code": loinc}] if loinc else []
        ),
        subject={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        effectiveDateTime=_iso_date(fact.effective_date) or context.encounter_date,
        valueQuantity=value,
        valueString=value_text if fact.value is None and not components else None,
        interpretation=(
            [_codeable(_INTERPRETATION, interpretation, _INTERPRETATIONS[interpretation])]
            if interpretation in _INTERPRETATIONS
            else None
        ),
        referenceRange=reference_range,
        component=components,
    )


def _blood_pressure_components(
    loinc: str | bool | None, value_text: str | None, unit: str | None
) -> list[JsonDict] | None:
    """'138/84' of a blood-pressure panel as systolic and diastolic components (US Core)."""
    pair = _PRESSURE_PAIR.fullmatch(value_text or "")
    if loinc != BLOOD_PRESSURE_PANEL or not pair:
        return None
    ucum = "mm[Hg]"
    return [
        {
            "code": _codeable(LOINC, *code),
            "valueQuantity": {"value": int(value), "unit": ucum, "system": UCUM, "code": ucum},
        }
        for code, value in ((SYSTOLIC, pair[1]), (DIASTOLIC, pair[2]))
    ]


def _procedure(fact: ProcedureFact, context: _Context) -> JsonDict:
    status = "not-done" if fact.assertion == Assertion.NEGATED else "completed"
    performed = _iso_date(fact.performed_date) or (
        context.encounter_date if status == "completed" else None
    )
    return _without_none(
        resourceType="Procedure",
        meta=_flags(fact, context),
        extension=_evidence_extensions(fact.evidence, context.document),
        status=status,
        code=_concept(fact.text, []) or {"text": UNNAMED},
        subject={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        performedDateTime=performed,
    )


def _reference_range(fact: ObservationFact, context: _Context) -> list[JsonDict] | None:
    low, _ = _quantity_checked(fact.reference_low, fact.unit, context, count=False)
    high, _ = _quantity_checked(fact.reference_high, fact.unit, context, count=False)
    reference_range = _without_none(low=low, high=high, text=_text(fact.reference_text))
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


def _flags(fact: Fact, context: _Context, dropped: bool = False) -> JsonDict | None:
    """meta.tag flags for review: no evidence in the text, or a code that was dropped."""
    tags = []
    if fact.evidence is None:
        context.ungrounded += 1
        tags.append({"system": FLAG_SYSTEM, "code": FLAG_UNGROUNDED})
    if dropped:
        tags.append({"system": FLAG_SYSTEM, "code": FLAG_CODE_DROPPED})
    return {"tag": tags} if tags else None


def _checked(code: str | None, check, kind: str, context: _Context) -> str | bool | None:
    """The canonical code; False when a code was given but is unknown (counted); None if none."""
    if not _text(code):
        return None
    canonical = check(code)
    if canonical is None:
        context.dropped[kind] += 1
        return False
    return canonical


# --- datatypes ------------------------------------------------------------------------------


def _codeable(system: str, code: str, display: str) -> JsonDict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _concept(text: str | None, codings: list[JsonDict]) -> JsonDict | None:
    return _without_none(coding=codings or None, text=_text(text)) or None


def _quantity_checked(
    value: float | None, unit: str | None, context: _Context, count: bool = True
) -> tuple[JsonDict | None, bool]:
    """A Quantity whose unit is coded in UCUM only if UCUM has it; (quantity, unit dropped)."""
    if value is None:
        return None, False
    written = _text(unit)
    ucum = ucum_unit(written) if written else None
    dropped = bool(written) and ucum is None
    if dropped and count:
        context.dropped["ucum"] += 1
    quantity = _without_none(value=value, unit=written, system=UCUM if ucum else None, code=ucum)
    return quantity, dropped


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
