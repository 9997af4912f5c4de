"""Map one document's grounded extraction to a FHIR R4 (4.0.1) transaction Bundle (plain JSON).

Entries: Patient, DocumentReference (the PDF), Device (the extractor: provider, model, prompt
version), Encounter(s), one resource per kept fact (Condition, MedicationStatement or, for what the
document prescribes, MedicationRequest, AllergyIntolerance, Observation, Procedure, or for a
procedure only planned, scheduled or ordered a ServiceRequest with intent `plan`, Immunization
for a vaccine given or declined), a DiagnosticReport grouping the lab Observations, and a
Provenance targeting every extracted resource.
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
This module assembles the Bundle; the fact resources come from `fhir.findings` (conditions,
allergies, results, procedures) and `fhir.medications`, on the shared parts in `fhir.elements`.
"""

import base64
from collections import Counter
from datetime import datetime

from pydantic import BaseModel, Field

from medpipeline.documents import SourceDocument
from medpipeline.extraction.schema import (
    FACT_LISTS,
    Assertion,
    DocumentExtraction,
    EncounterFact,
    PatientFact,
)
from medpipeline.fhir.elements import (
    DERIVATION_REFERENCE,
    DOCUMENT_ID_SYSTEM,
    DOCUMENT_PATIENT_SYSTEM,
    FLAG_CODE_DROPPED,
    FLAG_CONTRADICTION,
    FLAG_SYSTEM,
    FLAG_UNCERTAIN_ORDER,
    ICD10_CM,
    LOINC,
    PAGE_EXTENSION,
    SNOMED,
    UCUM,
    Carrying,
    JsonDict,
    MappedFact,
    MappingContext,
    clean_text,
    codeable,
    evidence_extensions,
    full_url,
    review_flags,
    without_none,
)
from medpipeline.fhir.findings import (
    NO_KNOWN_ALLERGY,
    NO_KNOWN_ALLERGY_CODES,
    NOT_THE_PATIENTS,
    allergy_resource,
    condition_resource,
    observation_resource,
    procedure_resource,
    service_request_resource,
)
from medpipeline.fhir.grouping import (
    FactGroup,
    allergy_identity,
    encounter_class_code,
    group_conditions,
    group_encounters,
    group_facts,
    group_immunizations,
    group_medications,
    group_procedures,
    iso_date,
    observation_identity,
)
from medpipeline.fhir.immunizations import immunization_resource
from medpipeline.fhir.medications import medication_request, medication_statement
from medpipeline.fhir.parties import (
    Parties,
    document_parties,
    entry_request,
    identifier_json,
    search,
)
from medpipeline.identity import patient_identifiers

__all__ = [  # what the pipeline, the records and the review queue import from the mapping
    "DERIVATION_REFERENCE",
    "DOCUMENT_ID_SYSTEM",
    "DOCUMENT_PATIENT_SYSTEM",
    "FLAG_CODE_DROPPED",
    "FLAG_CONTRADICTION",
    "FLAG_SYSTEM",
    "FLAG_UNCERTAIN_ORDER",
    "ICD10_CM",
    "NO_KNOWN_ALLERGY",
    "NO_KNOWN_ALLERGY_CODES",
    "PAGE_EXTENSION",
    "SNOMED",
    "UCUM",
    "BuiltBundle",
    "MappedFact",
    "build_bundle",
]

LAB_REPORT = ("11502-2", "Laboratory report")
_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
_DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
_PROVENANCE_ACTIVITY = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"

_GENDERS = {"male", "female", "other", "unknown"}
_ENCOUNTER_CLASSES = {  # v3 ActCode -> display
    "AMB": "ambulatory",
    "IMP": "inpatient encounter",
    "EMER": "emergency",
    "VR": "virtual",
    "HH": "home health",
}


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


def build_bundle(
    document: SourceDocument, extraction: DocumentExtraction, *, created_at: datetime
) -> BuiltBundle:
    """The transaction Bundle of one document; `created_at` must be timezone-aware."""
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware (FHIR instants carry a zone)")
    if extraction.doc_id != document.doc_id:
        raise ValueError("extraction and document have different doc_ids")
    doc_id = document.doc_id
    context = MappingContext(
        patient=full_url(doc_id, "patient", 0), document=full_url(doc_id, "document", 0)
    )
    device_url = full_url(doc_id, "device", 0)
    parties = document_parties(extraction, lambda kind, index: full_url(doc_id, kind, index))
    encounter_entries = _encounter_entries(doc_id, extraction.encounters, context)
    _add_encounter_parties(encounter_entries, parties)
    fact_entries = _fact_entries(doc_id, extraction, context)
    report = _diagnostic_report(fact_entries, context, created_at)
    if report:
        fact_entries.append((full_url(doc_id, "diagnostic-report", 0), report))
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
    entries.append((full_url(doc_id, "provenance", 0), provenance))
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
            for c in [*extraction.conditions, *extraction.allergies]
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
    doc_id: str, encounters: list[EncounterFact], context: MappingContext
) -> list[tuple[str, JsonDict]]:
    """One Encounter per stay: facts of the same stay (dates that agree, e.g. each chunk's view of
    one admission, or an emergency visit that led to it) are merged."""
    entries = []
    for group in group_encounters(encounters):
        url = full_url(doc_id, "encounter", group.indices[0])
        resource, _ = _encounter(group.facts, context)
        if context.encounter is None:
            context.encounter = url
            period = resource.get("period", {})
            context.encounter_date = period.get("start") or period.get("end")
        context.carried("encounters", group.indices, resource, url)
        entries.append((url, resource))
    return entries


def _fact_entries(
    doc_id: str, extraction: DocumentExtraction, context: MappingContext
) -> list[tuple[str, JsonDict]]:
    """One resource per clinical fact (`grouping`): a group's resource carries all its evidence."""
    entries: list[tuple[str, JsonDict]] = []

    def add(kind: str, fact_list: str, group: FactGroup, built: Carrying | None) -> None:
        if built is not None:
            resource, facts = built
            url = full_url(doc_id, kind, group.indices[0])
            members = zip(group.indices, group.facts, strict=True)
            carried = [i for i, fact in members if any(fact is c for c in facts)]
            context.carried(fact_list, carried, resource, url)
            entries.append((url, resource))

    conditions = enumerate(extraction.conditions)
    for group in group_conditions(conditions):
        add("condition", "conditions", group, condition_resource(group.facts, context))
    requests, statements = [], []
    for index, medication in enumerate(extraction.medications):
        if medication.assertion in (Assertion.NEGATED, Assertion.FAMILY):
            continue
        ordered = medication.prescribed and medication.assertion != Assertion.HISTORICAL
        (requests if ordered else statements).append((index, medication))
    for group in group_medications(requests):
        add("medication-request", "medications", group, medication_request(group.facts, context))
    for group in group_medications(statements):
        add("medication", "medications", group, medication_statement(group.facts, context))
    allergy_groups = group_facts(enumerate(extraction.allergies), allergy_identity)
    named = any(
        not fact.no_known_allergies and fact.assertion not in NOT_THE_PATIENTS
        for fact in extraction.allergies
    )
    for group in allergy_groups:
        add("allergy", "allergies", group, allergy_resource(group.facts, context, named))
    observations = enumerate(extraction.observations)
    for group in group_facts(observations, observation_identity):
        add("observation", "observations", group, observation_resource(group.facts, context))
    for group in group_immunizations(enumerate(extraction.immunizations)):
        add("immunization", "immunizations", group, immunization_resource(group.facts, context))
    for group in group_procedures(enumerate(extraction.procedures)):
        if done := procedure_resource(group.facts, context):
            add("procedure", "procedures", group, done)
        else:
            planned = service_request_resource(group.facts, context)
            add("service-request", "procedures", group, planned)
    return entries


def _entry(url: str, resource: JsonDict, if_none_exist: str | None = None) -> JsonDict:
    request = entry_request(resource["resourceType"], if_none_exist)
    return {"fullUrl": url, "resource": resource, "request": request}


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
    patient = without_none(
        resourceType="Patient",
        identifier=identifiers,
        name=[name] if name else None,
        gender=gender if gender in _GENDERS else "unknown",
        birthDate=iso_date(fact.birth_date),
        managingOrganization={"reference": parties.organization} if parties.organization else None,
    )
    return patient, search(identifiers[0]["system"], identifiers[0]["value"])


def _human_name(written: str | None) -> JsonDict | None:
    """US Core wants family and/or given: 'Doe, Jane A.' and 'Jane A. Doe' both split."""
    text = clean_text(written)
    if not text:
        return None
    if "," in text:
        family, _, given = (part.strip() for part in text.partition(","))
        given_names = given.split()
    else:
        *given_names, family = text.split()
    return without_none(text=text, family=family or None, given=given_names or None)


def _document_reference(
    document: SourceDocument, context: MappingContext, parties: Parties, created_at: datetime
) -> JsonDict:
    attachment = {
        "contentType": "application/pdf",
        "url": f"documents/{document.doc_id}/source.pdf",
        "size": document.size_bytes,
        "hash": base64.b64encode(bytes.fromhex(document.sha1)).decode("ascii"),
        "title": f"Source document {document.doc_id}",
        "creation": document.stored_at.isoformat() if document.stored_at.tzinfo else None,
    }
    encounter_context = without_none(
        encounter=[{"reference": context.encounter}] if context.encounter else None,
        period={"start": context.encounter_date} if context.encounter_date else None,
    )
    return without_none(
        resourceType="DocumentReference",
        identifier=[{"system": DOCUMENT_ID_SYSTEM, "value": document.doc_id}],
        status="current",
        type={"text": "Clinical document (PDF)"},
        category=[codeable(_DOCUMENT_CATEGORY, "clinical-note", "Clinical Note")],
        subject={"reference": context.patient},
        date=created_at.isoformat(),
        author=[{"reference": url} for url in parties.authors] or None,
        custodian={"reference": parties.organization} if parties.organization else None,
        description=f"{document.pages} page PDF",
        content=[{"attachment": without_none(**attachment)}],
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
        "activity": codeable(_PROVENANCE_ACTIVITY, "CREATE", "create"),
        "agent": [
            {
                "type": codeable(_PARTICIPANT_TYPE, "assembler", "Assembler"),
                "who": {"reference": device_url},
            }
        ],
        "entity": [{"role": "source", "what": {"reference": document_url}}],
    }


def _encounter(facts: list[EncounterFact], context: MappingContext) -> Carrying:
    classes = {encounter_class_code(fact) for fact in facts}
    code = "IMP" if "IMP" in classes else classes.pop()
    type_text = next((t for fact in facts if (t := clean_text(fact.type_text))), None)
    start = next((d for fact in facts if (d := iso_date(fact.start_date))), None)
    end = next((d for fact in facts if (d := iso_date(fact.end_date))), None)
    period = without_none(start=start, end=end)
    if "start" in period and "end" in period and period["end"] < period["start"]:
        period.pop("end")
    resource = without_none(
        resourceType="Encounter",
        meta=review_flags(facts, context),
        extension=evidence_extensions(facts, context.document),
        status="finished",
        **{"class": {"system": _ACT_CODE, "code": code, "display": _ENCOUNTER_CLASSES[code]}},
        type=[{"text": type_text}] if type_text else None,
        subject={"reference": context.patient},
        period=period or None,
    )
    return resource, facts


def _diagnostic_report(
    entries: list[tuple[str, JsonDict]], context: MappingContext, created_at: datetime
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
    return without_none(
        resourceType="DiagnosticReport",
        status="final",
        category=[codeable(_DIAGNOSTIC_SERVICE, "LAB", "Laboratory")],
        code=codeable(LOINC, *LAB_REPORT),
        subject={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        effectiveDateTime=context.encounter_date,
        issued=created_at.isoformat(),
        result=[{"reference": url} for url in results],
    )
