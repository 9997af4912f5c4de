"""Map one document's grounded extraction to a FHIR R4 (4.0.1) transaction Bundle (plain JSON).

Entries: Patient, DocumentReference (the PDF), Device (the extractor: provider, model, prompt
version), Encounter(s), one resource per kept fact (Condition, MedicationStatement or, for what the
document prescribes, MedicationRequest, AllergyIntolerance, Observation, Procedure), a
DiagnosticReport grouping the lab Observations, and a Provenance targeting every extracted resource.
Shapes follow US Core where it applies (Patient name parts and identifier systems, Condition
category, Observation category and effective time, blood pressure as systolic/diastolic components).
fullUrls are uuid5 of doc_id, resource kind and fact index, so the same input gives the same bundle.
Who and where (`fhir.parties`): the facility as an Organization, the clinicians as Practitioners;
the Patient's identifiers carry their issuer (`medpipeline.identity`). The Patient, the
Organization and a Practitioner with an NPI are created conditionally (`request.ifNoneExist`).

One resource per clinical fact (`fhir.grouping`): mentions of one condition, drug, allergen,
result, procedure or stay are merged, the resource carrying every mention's evidence; the most
current assertion decides (a condition both current and historical is current) and mentions that
contradict each other are tagged `in-document-contradiction`.
Assertions: negated, family-history and hypothetical findings are never the patient's Conditions
or AllergyIntolerances (skipped and counted); uncertain ones are `provisional` / `unconfirmed`;
historical conditions are active problem-list items unless the text says resolved. Medications
the document orders are MedicationRequests (intent `order`), a hypothetical or uncertain one a
`draft` `proposal` tagged `uncertain-order`; listed ones are MedicationStatements (historical
`completed`, hypothetical `intended`, uncertain `unknown`); both keep their R4 status codes.
Codes are checked (`medpipeline.terminology`): an unknown ICD-10-CM or LOINC code or a non-UCUM unit
is dropped to text, the resource is tagged `code-dropped` and the drop counted; a condition with no
code given gets the one the curated synonym lexicon gives its exact name ("UTI": N39.0).
A fact's evidence (offset and length in the document text) is kept in the derivation-reference
extension (R5 backport) pointing at the DocumentReference, its page in `urn:medpipeline:page`; a
fact without evidence (kept ungrounded on purpose) is tagged `ungrounded`.
"""

import base64
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from medpipeline.documents import SourceDocument
from medpipeline.extraction.schema import (
    FACT_LISTS,
    AllergyFact,
    Assertion,
    ConditionFact,
    DocumentExtraction,
    EncounterFact,
    MedicationFact,
    MedicationStatus,
    ObservationFact,
    PatientFact,
    ProcedureFact,
)
from medpipeline.fhir.grouping import (
    FactGroup,
    allergy_identity,
    condition_identity,
    encounter_class_code,
    group_encounters,
    group_facts,
    group_medications,
    lexicon_icd10,
    observation_identity,
    procedure_identity,
)
from medpipeline.fhir.grouping import (
    iso_date as _iso_date,
)
from medpipeline.fhir.parties import (
    Parties,
    document_parties,
    entry_request,
    identifier_json,
    search,
)
from medpipeline.identity import patient_identifiers
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
FLAG_CONTRADICTION = "in-document-contradiction"  # mentions of one fact disagree
FLAG_UNCERTAIN_ORDER = "uncertain-order"  # a hypothetical or uncertain prescription: no order
FLAG_VISION = "vision-extracted"  # read from a page image, grounded to the page only
NO_KNOWN_ALLERGY = ("716186003", "No known allergy")
UNNAMED = "not named in the document"  # text of a required code whose fact has no name
LAB_REPORT = ("11502-2", "Laboratory report")
BLOOD_PRESSURE_PANEL = "85354-9"
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")

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
    Assertion.HISTORICAL: (  # past medical history: a chronic condition stays active
        ("active", "Active"),
        ("confirmed", "Confirmed"),
        ("problem-list-item", "Problem List Item"),
    ),
}
# Of several mentions of one condition or drug, the first assertion listed here decides.
_CONDITION_PRECEDENCE = (Assertion.PRESENT, Assertion.POSSIBLE, Assertion.HISTORICAL)
_MEDICATION_PRECEDENCE = (
    Assertion.PRESENT,
    Assertion.POSSIBLE,
    Assertion.HYPOTHETICAL,
    Assertion.HISTORICAL,
)
NOT_THE_PATIENTS = (Assertion.NEGATED, Assertion.FAMILY, Assertion.HYPOTHETICAL)
# MedicationStatement.status of an active-status fact by its assertion (R4 value set)
_STATEMENT_STATUS_OF_ASSERTION = {
    Assertion.HISTORICAL: "completed",
    Assertion.HYPOTHETICAL: "intended",
    Assertion.POSSIBLE: "unknown",
}
# MedicationRequest.status (R4: active | on-hold | cancelled | completed | entered-in-error |
# stopped | draft | unknown)
_REQUEST_STATUS = {
    MedicationStatus.ACTIVE: "active",
    MedicationStatus.COMPLETED: "completed",
    MedicationStatus.STOPPED: "stopped",
    MedicationStatus.UNKNOWN: "unknown",
}
_OBSERVATION_CATEGORIES = {"laboratory": "Laboratory", "vital-signs": "Vital Signs"}
_INTERPRETATIONS = {"H": "High", "L": "Low", "N": "Normal", "A": "Abnormal"}
_ENCOUNTER_CLASSES = {  # v3 ActCode -> display
    "AMB": "ambulatory",
    "IMP": "inpatient encounter",
    "EMER": "emergency",
    "VR": "virtual",
    "HH": "home health",
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
# A result or range written as text: '6.7', '< 1', '3.5-5.0', '<200', '>= 60'
_NUMBER_WRITTEN = re.compile(r"(<=|>=|[<>\u2264\u2265])?\s*(\d+(?:\.\d+)?)")
_RANGE_WRITTEN = re.compile(
    r"(?:(?P<low>\d+(?:\.\d+)?)\s*(?:-|\u2013|to)\s*(?P<high>\d+(?:\.\d+)?))"
    r"|(?:(?P<comparator><=|>=|[<>\u2264\u2265])\s*(?P<bound>\d+(?:\.\d+)?))"
)
_Carrying = tuple[JsonDict, list]  # a resource and the facts it carries


class MappedFact(BaseModel):
    """Where one fact of the extraction went: the resource carrying it, or none (skipped)."""

    fact_list: str
    fact_index: int
    resource_type: str | None = None
    full_url: str | None = None


class BuiltBundle(BaseModel):
    bundle: JsonDict
    resource_counts: dict[str, int]
    skipped_negated: int
    skipped_family: int
    skipped_hypothetical: int = 0
    dropped_codes: dict[str, int] = {}
    ungrounded_resources: int = 0
    merged_facts: int = Field(default=0, description="Facts carried by another fact's resource.")
    mapped_facts: list[MappedFact] = []


@dataclass
class _Context:
    """What every fact resource points at, and what the mapping counted on the way."""

    patient: str
    document: str
    encounter: str | None = None
    encounter_date: str | None = None
    dropped: Counter = field(default_factory=Counter)
    ungrounded: int = 0
    mapped: list[MappedFact] = field(default_factory=list)

    def carried(self, fact_list: str, indices: list[int], resource: JsonDict, url: str) -> None:
        for index in indices:
            self.mapped.append(
                MappedFact(
                    fact_list=fact_list,
                    fact_index=index,
                    resource_type=resource["resourceType"],
                    full_url=url,
                )
            )


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
    parties = document_parties(extraction, lambda kind, index: _full_url(doc_id, kind, index))
    encounter_entries = _encounter_entries(doc_id, extraction.encounters, context)
    _add_encounter_parties(encounter_entries, parties)
    fact_entries = _fact_entries(doc_id, extraction, context)
    report = _diagnostic_report(fact_entries, context, created_at)
    if report:
        fact_entries.append((_full_url(doc_id, "diagnostic-report", 0), report))
    extracted = [*((url, resource) for url, resource, _ in parties.entries)]
    extracted += [*encounter_entries, *fact_entries]
    patient, patient_search = _patient(extraction, parties)
    entries = [
        (context.patient, patient),
        (context.document, _document_reference(document, context, parties, created_at)),
        (device_url, _device(extraction)),
        *extracted,
    ]
    targets = [context.patient, *(url for url, _ in extracted)]
    provenance = _provenance(targets, context.document, device_url, created_at)
    entries.append((_full_url(doc_id, "provenance", 0), provenance))
    conditional = {url: query for url, _, query in parties.entries if query}
    conditional[context.patient] = patient_search
    facts = [
        *extraction.conditions,
        *extraction.medications,
        *extraction.allergies,
        *extraction.procedures,
    ]
    skipped = Counter(fact.assertion for fact in facts)
    carried = {(m.fact_list, m.fact_index) for m in context.mapped}
    return BuiltBundle(
        bundle={
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [_entry(url, resource, conditional.get(url)) for url, resource in entries],
        },
        resource_counts=dict(Counter(resource["resourceType"] for _, resource in entries)),
        skipped_negated=skipped[Assertion.NEGATED],
        skipped_family=skipped[Assertion.FAMILY],
        skipped_hypothetical=sum(
            c.assertion == Assertion.HYPOTHETICAL
            for c in [*extraction.conditions, *extraction.allergies, *extraction.procedures]
        ),
        dropped_codes=dict(context.dropped),
        ungrounded_resources=context.ungrounded,
        merged_facts=len(context.mapped) - len({m.full_url for m in context.mapped}),
        mapped_facts=[
            *context.mapped,
            *(
                MappedFact(fact_list=kind, fact_index=index)
                for kind in FACT_LISTS
                for index in range(len(getattr(extraction, kind)))
                if (kind, index) not in carried
            ),
        ],
    )


def _encounter_entries(
    doc_id: str, encounters: list[EncounterFact], context: _Context
) -> list[tuple[str, JsonDict]]:
    """One Encounter per stay: facts of the same stay (dates that agree, e.g. each chunk's view of
    one admission, or an emergency visit that led to it) are merged."""
    entries = []
    for group in group_encounters(encounters):
        url = _full_url(doc_id, "encounter", group.indices[0])
        resource, _ = _encounter(group.facts, context)
        if context.encounter is None:
            context.encounter = url
            period = resource.get("period", {})
            context.encounter_date = period.get("start") or period.get("end")
        context.carried("encounters", group.indices, resource, url)
        entries.append((url, resource))
    return entries


def _fact_entries(
    doc_id: str, extraction: DocumentExtraction, context: _Context
) -> list[tuple[str, JsonDict]]:
    """One resource per clinical fact (`grouping`): a group's resource carries all its evidence."""
    entries: list[tuple[str, JsonDict]] = []

    def add(kind: str, fact_list: str, group: FactGroup, built: _Carrying | None) -> None:
        if built is not None:
            resource, facts = built
            url = _full_url(doc_id, kind, group.indices[0])
            members = zip(group.indices, group.facts, strict=True)
            carried = [i for i, fact in members if any(fact is c for c in facts)]
            context.carried(fact_list, carried, resource, url)
            entries.append((url, resource))

    conditions = enumerate(extraction.conditions)
    for group in group_facts(conditions, condition_identity):
        add("condition", "conditions", group, _condition(group.facts, context))
    requests, statements = [], []
    for index, medication in enumerate(extraction.medications):
        if medication.assertion in (Assertion.NEGATED, Assertion.FAMILY):
            continue
        ordered = medication.prescribed and medication.assertion != Assertion.HISTORICAL
        (requests if ordered else statements).append((index, medication))
    for group in group_medications(requests):
        add("medication-request", "medications", group, _medication_request(group.facts, context))
    for group in group_medications(statements):
        add("medication", "medications", group, _medication_statement(group.facts, context))
    allergy_groups = group_facts(enumerate(extraction.allergies), allergy_identity)
    named = any(
        not fact.no_known_allergies and fact.assertion not in NOT_THE_PATIENTS
        for fact in extraction.allergies
    )
    for group in allergy_groups:
        add("allergy", "allergies", group, _allergy(group.facts, context, named))
    observations = enumerate(extraction.observations)
    for group in group_facts(observations, observation_identity):
        add("observation", "observations", group, _observation(group.facts, context))
    for group in group_facts(enumerate(extraction.procedures), procedure_identity):
        add("procedure", "procedures", group, _procedure(group.facts, context))
    return entries


def _full_url(doc_id: str, kind: str, index: int) -> str:
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, f'{doc_id}/{kind}/{index}')}"


def _entry(full_url: str, resource: JsonDict, if_none_exist: str | None = None) -> JsonDict:
    request = entry_request(resource["resourceType"], if_none_exist)
    return {"fullUrl": full_url, "resource": resource, "request": request}


def _add_encounter_parties(encounters: list[tuple[str, JsonDict]], parties: Parties) -> None:
    """The document's clinicians take part in its (first) encounter, at its facility."""
    if not encounters:
        return
    encounter = encounters[0][1]
    if parties.participants:
        encounter["participant"] = parties.participants
    if parties.organization:
        encounter["serviceProvider"] = {"reference": parties.organization}


# --- Patient, DocumentReference, Device, Provenance, Encounter, DiagnosticReport --------------


def _patient(extraction: DocumentExtraction, parties: Parties) -> tuple[JsonDict, str]:
    """The subject and its conditional-create query. Identifiers carry their issuer's system
    (`medpipeline.identity`); without one the patient is identified by the document."""
    fact = extraction.patient or PatientFact(quote="")
    identifiers = [identifier_json(i, parties) for i in patient_identifiers(extraction)]
    identifiers = identifiers or [{"system": DOCUMENT_PATIENT_SYSTEM, "value": extraction.doc_id}]
    name = _human_name(fact.name)
    gender = (fact.gender or "").strip().lower()
    patient = _without_none(
        resourceType="Patient",
        identifier=identifiers,
        name=[name] if name else None,
        gender=gender if gender in _GENDERS else "unknown",
        birthDate=_iso_date(fact.birth_date),
        managingOrganization={"reference": parties.organization} if parties.organization else None,
    )
    return patient, search(identifiers[0]["system"], identifiers[0]["value"])


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


def _document_reference(
    document: SourceDocument, context: _Context, parties: Parties, created_at: datetime
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
        author=[{"reference": url} for url in parties.authors] or None,
        custodian={"reference": parties.organization} if parties.organization else None,
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


def _encounter(facts: list[EncounterFact], context: _Context) -> _Carrying:
    classes = {encounter_class_code(fact) for fact in facts}
    code = "IMP" if "IMP" in classes else classes.pop()
    type_text = next((t for fact in facts if (t := _text(fact.type_text))), None)
    start = next((d for fact in facts if (d := _iso_date(fact.start_date))), None)
    end = next((d for fact in facts if (d := _iso_date(fact.end_date))), None)
    period = _without_none(start=start, end=end)
    if "start" in period and "end" in period and period["end"] < period["start"]:
        period.pop("end")
    resource = _without_none(
        resourceType="Encounter",
        meta=_flags(facts, context),
        extension=_evidence_extensions(facts, context.document),
        status="finished",
        **{"class": {"system": _ACT_CODE, "code": code, "display": _ENCOUNTER_CLASSES[code]}},
        type=[{"text": type_text}] if type_text else None,
        subject={"reference": context.patient},
        period=period or None,
    )
    return resource, facts


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


def _condition(facts: list[ConditionFact], context: _Context) -> _Carrying | None:
    """The patient's condition, however often the document names it: the most current assertion
    decides (a condition both current and in the history is current). Negated mentions beside
    asserted ones are an in-document contradiction; alone they are no Condition."""
    own = sorted(
        (fact for fact in facts if fact.assertion in _CONDITION_STATUS),
        key=lambda fact: _CONDITION_PRECEDENCE.index(fact.assertion),
    )
    if not own:
        return None
    fact = own[0]
    clinical, verification, category = _CONDITION_STATUS[fact.assertion]
    if all(member.resolved for member in own):
        clinical = ("resolved", "Resolved")
    checked = (_checked(member.icd10_code, icd10cm_code, "icd10cm", context) for member in own)
    codes = [code for code in checked if code is not None]
    icd10 = next((code for code in codes if code), None) or next(
        (code for member in own if (code := lexicon_icd10(member.text))), None
    )
    contradicted = any(member.assertion == Assertion.NEGATED for member in facts)
    is_encounter_diagnosis = category[0] == "encounter-diagnosis"
    resource = _without_none(
        resourceType="Condition",
        meta=_flags(own, context, dropped=False in codes, contradiction=contradicted),
        extension=_evidence_extensions(own, context.document),
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
        onsetDateTime=next((d for m in own if (d := _iso_date(m.onset_date))), None),
    )
    return resource, own


def _most_current(facts: list[MedicationFact]) -> MedicationFact:
    """The member whose assertion is most current; of those, the last mentioned (a later
    sentence of the document, e.g. the hospital course after the home list, is later news)."""
    best = min(_MEDICATION_PRECEDENCE.index(fact.assertion) for fact in facts)
    current = [fact for fact in facts if _MEDICATION_PRECEDENCE.index(fact.assertion) == best]
    return max(
        current,
        key=lambda fact: (
            fact.evidence.offset if fact.evidence and fact.evidence.offset is not None else -1
        ),
    )


def _medication_status(fact: MedicationFact) -> str:
    """MedicationStatement.status (R4: active | completed | entered-in-error | intended | stopped
    | on-hold | unknown | not-taken)."""
    if fact.status != MedicationStatus.ACTIVE:
        return fact.status.value
    return _STATEMENT_STATUS_OF_ASSERTION.get(fact.assertion, fact.status.value)


def _medication_statement(facts: list[MedicationFact], context: _Context) -> _Carrying:
    fact = _most_current(facts)
    status = _medication_status(fact)
    dosage, dropped = _dosage(_best_sig(facts), context)
    resource = _without_none(
        resourceType="MedicationStatement",
        meta=_flags(
            facts,
            context,
            dropped=dropped,
            contradiction=len({_medication_status(member) for member in facts}) > 1,
        ),
        extension=_evidence_extensions(facts, context.document),
        status=status,
        medicationCodeableConcept={"text": _medication_text(fact)},
        subject={"reference": context.patient},
        context={"reference": context.encounter} if context.encounter else None,
        dosage=[dosage] if dosage else None,
    )
    return resource, facts


def _medication_request(facts: list[MedicationFact], context: _Context) -> _Carrying:
    """What the document prescribes now: an order (US Core MedicationRequest shape). A
    hypothetical or uncertain prescription ("if pain persists, take ibuprofen") is no order: a
    draft proposal, flagged for review."""
    fact = _most_current(facts)
    uncertain = fact.assertion in (Assertion.POSSIBLE, Assertion.HYPOTHETICAL)
    dosage, dropped = _dosage(_best_sig(facts), context)
    statuses = {_REQUEST_STATUS[member.status] for member in facts}
    resource = _without_none(
        resourceType="MedicationRequest",
        meta=_flags(
            facts,
            context,
            dropped=dropped,
            contradiction=len(statuses) > 1,
            uncertain_order=uncertain,
        ),
        extension=_evidence_extensions(facts, context.document),
        status="draft" if uncertain else _REQUEST_STATUS[fact.status],
        intent="proposal" if uncertain else "order",
        medicationCodeableConcept={"text": _medication_text(fact)},
        subject={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        authoredOn=context.encounter_date,
        dosageInstruction=[dosage] if dosage else None,
    )
    return resource, facts


def _medication_text(fact: MedicationFact) -> str:
    return _text(fact.generic_name) or _text(fact.text) or UNNAMED


def _best_sig(facts: list[MedicationFact]) -> MedicationFact:
    """The member that says most about how the drug is taken."""
    return max(
        facts,
        key=lambda f: sum(v is not None for v in (f.dose_value, f.dose_unit, f.route, f.frequency)),
    )


def _dosage(fact: MedicationFact, context: _Context) -> tuple[JsonDict, bool]:
    """This drug's sig only, composed from its dose, route and frequency (the quote may be a
    whole paragraph or list line of several drugs; it stays in the evidence)."""
    route, frequency = _text(fact.route), _text(fact.frequency)
    dose_value = f"{fact.dose_value:g}" if fact.dose_value is not None else None
    sig = " ".join(part for part in (dose_value, _text(fact.dose_unit), route, frequency) if part)
    dose, dropped = _quantity_checked(fact.dose_value, fact.dose_unit, context)
    route_code = _ROUTES.get((route or "").lower())
    timing = _without_none(
        repeat=_timing_repeat(frequency), code={"text": frequency} if frequency else None
    )
    dosage = _without_none(
        text=sig or None,
        timing=timing or None,
        asNeededBoolean=True if frequency and _AS_NEEDED.search(frequency) else None,
        route=(
            {**_codeable(SNOMED, *route_code), "text": route}
            if route_code
            else ({"text": route} if route else None)
        ),
        doseAndRate=[{"doseQuantity": dose}] if dose else None,
    )
    return dosage, dropped


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


def _allergy(facts: list[AllergyFact], context: _Context, named: bool) -> _Carrying | None:
    """A documented allergy is active and confirmed, an uncertain one unconfirmed; a negated
    ("no allergy to penicillin"), family or hypothetical one is not the patient's allergy (no
    resource). "No known allergy" is SNOMED 716186003, confirmed, flagged as a contradiction
    when the same document names an allergy."""
    own = [fact for fact in facts if fact.assertion not in NOT_THE_PATIENTS]
    if not own:
        return None
    fact = min(own, key=lambda member: member.assertion == Assertion.POSSIBLE)
    if fact.no_known_allergies:
        code = _codeable(SNOMED, *NO_KNOWN_ALLERGY)
        contradicted = named
    else:
        code = _concept(fact.substance, []) or {"text": UNNAMED}
        contradicted = any(member.assertion == Assertion.NEGATED for member in facts)
    verification = (
        ("unconfirmed", "Unconfirmed")
        if fact.assertion == Assertion.POSSIBLE
        else ("confirmed", "Confirmed")
    )
    described = next((m for m in own if _text(m.reaction) or _text(m.severity)), fact)
    reaction = _text(described.reaction)
    severity = (described.severity or "").strip().lower()
    reaction_entry = _without_none(
        manifestation=[{"text": reaction}] if reaction else None,
        severity=severity if severity in _SEVERITIES else None,
    )
    if reaction_entry and "manifestation" not in reaction_entry:
        reaction_entry["manifestation"] = [{"text": "not stated"}]
    resource = _without_none(
        resourceType="AllergyIntolerance",
        meta=_flags(own, context, contradiction=contradicted),
        extension=_evidence_extensions(own, context.document),
        clinicalStatus=_codeable(_ALLERGY_CLINICAL, "active", "Active"),
        verificationStatus=_codeable(_ALLERGY_VERIFICATION, *verification),
        code=code,
        patient={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        reaction=[reaction_entry] if reaction_entry else None,
    )
    return resource, own


def _observation(facts: list[ObservationFact], context: _Context) -> _Carrying:
    """A result keeps its unit and reference range: a number written as text ('6.7', '<1') is a
    Quantity in the fact's unit, a written range ('3.5-5.0', '<200') its low and high."""
    fact = facts[0]
    category = "-".join(fact.category.strip().lower().replace("_", " ").split())
    category_display = _OBSERVATION_CATEGORIES.get(category)
    loinc = _checked(fact.loinc_code, loinc_code, "loinc", context)
    interpretation = (fact.interpretation or "").strip().upper()
    value_text = _text(fact.value_text)
    number = _NUMBER_WRITTEN.fullmatch(value_text or "")
    value_number = fact.value if fact.value is not None else (float(number[2]) if number else None)
    value, unit_dropped = _quantity_checked(value_number, fact.unit, context)
    comparator = _COMPARATOR.match(value_text or "")
    if value and comparator:
        value["comparator"] = _COMPARATORS.get(comparator[1], comparator[1])
    components = _blood_pressure_components(loinc, value_text, fact.unit)
    reference_range = _reference_range(fact, context)
    resource = _without_none(
        resourceType="Observation",
        meta=_flags(facts, context, dropped=loinc is False or unit_dropped),
        extension=_evidence_extensions(facts, context.document),
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
        valueString=value_text if value is None and not components else None,
        interpretation=(
            [_codeable(_INTERPRETATION, interpretation, _INTERPRETATIONS[interpretation])]
            if interpretation in _INTERPRETATIONS
            else None
        ),
        referenceRange=reference_range,
        component=components,
    )
    return resource, facts


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


def _procedure(facts: list[ProcedureFact], context: _Context) -> _Carrying | None:
    """Done when the text says it was; `not-done` when it is only ever negated."""
    done = [fact for fact in facts if fact.assertion not in NOT_THE_PATIENTS]
    negated = [fact for fact in facts if fact.assertion == Assertion.NEGATED]
    own = done or negated
    if not own:
        return None
    fact = own[0]
    status = "completed" if done else "not-done"
    performed = _iso_date(fact.performed_date) or (
        context.encounter_date if status == "completed" else None
    )
    resource = _without_none(
        resourceType="Procedure",
        meta=_flags(own, context, contradiction=bool(done and negated)),
        extension=_evidence_extensions(own, context.document),
        status=status,
        code=_concept(fact.text, []) or {"text": UNNAMED},
        subject={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        performedDateTime=performed,
    )
    return resource, own


def _reference_range(fact: ObservationFact, context: _Context) -> list[JsonDict] | None:
    low_value, high_value = fact.reference_low, fact.reference_high
    written = _RANGE_WRITTEN.fullmatch(_text(fact.reference_text) or "")
    if written and low_value is None and high_value is None:
        if written["low"]:
            low_value, high_value = float(written["low"]), float(written["high"])
        elif written["comparator"] in ("<", "<=", "\u2264"):
            high_value = float(written["bound"])
        else:
            low_value = float(written["bound"])
    low, _ = _quantity_checked(low_value, fact.unit, context, count=False)
    high, _ = _quantity_checked(high_value, fact.unit, context, count=False)
    reference_range = _without_none(low=low, high=high, text=_text(fact.reference_text))
    return [reference_range] if reference_range else None


def _evidence_extensions(facts: list, document_url: str) -> list[JsonDict] | None:
    """Every member's evidence: a derivation-reference (offset and length; only the document for
    a fact read from a page image) and its page each."""
    extensions = []
    distinct = {(f.evidence.offset, f.evidence.page): f.evidence for f in facts if f.evidence}
    for evidence in sorted(distinct.values(), key=lambda e: (e.page, e.offset or 0)):
        located = [{"url": "reference", "valueReference": {"reference": document_url}}]
        if evidence.offset is not None:
            located += [
                {"url": "offset", "valueInteger": evidence.offset},
                {"url": "length", "valueInteger": evidence.length},
            ]
        derivation = {"url": DERIVATION_REFERENCE, "extension": located}
        extensions += [derivation, {"url": PAGE_EXTENSION, "valueInteger": evidence.page}]
    return extensions or None


def _flags(
    facts: list,
    context: _Context,
    *,
    dropped: bool = False,
    contradiction: bool = False,
    uncertain_order: bool = False,
) -> JsonDict | None:
    """meta.tag flags for review: no evidence in the text, read from a page image, a code that
    was dropped, mentions that contradict each other, a prescription that is no order."""
    tags = []
    if all(fact.evidence is None for fact in facts):
        context.ungrounded += 1
        tags.append({"system": FLAG_SYSTEM, "code": FLAG_UNGROUNDED})
    if any(fact.evidence and fact.evidence.offset is None for fact in facts):
        tags.append({"system": FLAG_SYSTEM, "code": FLAG_VISION})
    for flag, raised in (
        (FLAG_CODE_DROPPED, dropped),
        (FLAG_CONTRADICTION, contradiction),
        (FLAG_UNCERTAIN_ORDER, uncertain_order),
    ):
        if raised:
            tags.append({"system": FLAG_SYSTEM, "code": flag})
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


def _without_none(**fields: Any) -> JsonDict:
    return {key: value for key, value in fields.items() if value is not None}
