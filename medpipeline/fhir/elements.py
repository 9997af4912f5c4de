"""What every FHIR resource of the mapping shares: code systems and review flags, fullUrls, a
fact's evidence as extensions, checked codes and quantities, and the mapping context."""

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from medpipeline.terminology import ucum_unit

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
# a medication named but not coded: no maintained package ships RxNorm offline (not a review item)
FLAG_UNCODED = "uncoded"
UNNAMED = "not named in the document"  # text of a required code whose fact has no name
Carrying = tuple[JsonDict, list]  # a resource and the facts it carries


class MappedFact(BaseModel):
    """Where one fact of the extraction went: the resource carrying it, or none (skipped)."""

    fact_list: str
    fact_index: int
    resource_type: str | None = None
    full_url: str | None = None


@dataclass
class MappingContext:
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


def full_url(doc_id: str, kind: str, index: int) -> str:
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, f'{doc_id}/{kind}/{index}')}"


def evidence_extensions(facts: list, document_url: str) -> list[JsonDict] | None:
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


def review_flags(
    facts: list,
    context: MappingContext,
    *,
    dropped: bool = False,
    contradiction: bool = False,
    uncertain_order: bool = False,
    uncoded: bool = False,
) -> JsonDict | None:
    """meta.tag flags: no evidence in the text, read from a page image, a code that was dropped,
    mentions that contradict each other, a prescription that is no order (each for review); a
    medication carrying no code (a fact of the data, not a review item)."""
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
        (FLAG_UNCODED, uncoded),
    ):
        if raised:
            tags.append({"system": FLAG_SYSTEM, "code": flag})
    return {"tag": tags} if tags else None


def checked_code(code: str | None, check, kind: str, context: MappingContext) -> str | bool | None:
    """The canonical code; False when a code was given but is unknown (counted); None if none."""
    if not clean_text(code):
        return None
    canonical = check(code)
    if canonical is None:
        context.dropped[kind] += 1
        return False
    return canonical


def codeable(system: str, code: str, display: str) -> JsonDict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def concept(text: str | None, codings: list[JsonDict]) -> JsonDict | None:
    return without_none(coding=codings or None, text=clean_text(text)) or None


def quantity_checked(
    value: float | None, unit: str | None, context: MappingContext, count: bool = True
) -> tuple[JsonDict | None, bool]:
    """A Quantity whose unit is coded in UCUM only if UCUM has it; (quantity, unit dropped)."""
    if value is None:
        return None, False
    written = clean_text(unit)
    ucum = ucum_unit(written) if written else None
    dropped = bool(written) and ucum is None
    if dropped and count:
        context.dropped["ucum"] += 1
    quantity = without_none(value=value, unit=written, system=UCUM if ucum else None, code=ucum)
    return quantity, dropped


def observation_value(resource: JsonDict) -> str | None:
    """An Observation's value as a reader writes it: '< 1 mg/dL', '25.0-50.0 /[HPF]', 'Negative'."""
    if quantity := resource.get("valueQuantity"):
        unit = quantity.get("unit") or quantity.get("code")
        parts = (quantity.get("comparator"), quantity.get("value"), unit)
        return " ".join(str(part) for part in parts if part is not None)
    if value_range := resource.get("valueRange"):
        low, high = value_range.get("low", {}), value_range.get("high", {})
        unit = f" {high['unit']}" if high.get("unit") else ""
        return f"{low.get('value')}-{high.get('value')}{unit}"
    return resource.get("valueString")


def clean_text(value: str | None) -> str | None:
    """Whitespace collapsed to single spaces (FHIR strings allow no other), None when empty."""
    collapsed = " ".join(value.split()) if value else ""
    return collapsed or None


def without_none(**fields: Any) -> JsonDict:
    return {key: value for key, value in fields.items() if value is not None}
