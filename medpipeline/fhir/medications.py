"""A medication fact as FHIR: a MedicationRequest for what the document orders (a hypothetical
or uncertain prescription a `draft` `proposal`), a MedicationStatement for what it lists; both
with the drug's own sig as Dosage (dose, SNOMED route, Timing from the written frequency)."""

import re

from medpipeline.extraction.schema import Assertion, MedicationFact, MedicationStatus
from medpipeline.fhir.elements import (
    SNOMED,
    UNNAMED,
    Carrying,
    JsonDict,
    MappingContext,
    clean_text,
    codeable,
    evidence_extensions,
    quantity_checked,
    review_flags,
    without_none,
)

_MEDICATION_PRECEDENCE = (
    Assertion.PRESENT,
    Assertion.POSSIBLE,
    Assertion.HYPOTHETICAL,
    Assertion.HISTORICAL,
)
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
    MedicationStatus.ON_HOLD: "on-hold",
    MedicationStatus.UNKNOWN: "unknown",
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
# frequency as written -> Timing.repeat (times per period)
_DAY = {"period": 1, "periodUnit": "d"}
_FREQUENCIES: list[tuple[re.Pattern[str], JsonDict]] = [
    (re.compile(pattern, re.IGNORECASE), repeat)
    for pattern, repeat in (
        # the most specific first: 'twice daily' and 'twice weekly' also hold 'daily', 'weekly'
        (r"\b(?:twice daily|twice a day|bid|b\.i\.d\.)", {"frequency": 2, **_DAY}),
        (r"\b(?:three times (?:daily|a day)|tid|t\.i\.d\.)", {"frequency": 3, **_DAY}),
        (r"\b(?:four times (?:daily|a day)|qid|q\.i\.d\.)", {"frequency": 4, **_DAY}),
        (r"\b(?:twice (?:weekly|a week))\b", {"frequency": 2, "period": 1, "periodUnit": "wk"}),
        (r"\b(?:(?:three|3) times (?:weekly|a week|per week))\b",
         {"frequency": 3, "period": 1, "periodUnit": "wk"}),
        (r"\b(?:weekly|once a week)\b", {"frequency": 1, "period": 1, "periodUnit": "wk"}),
        (r"\b(?:monthly|once a month)\b", {"frequency": 1, "period": 1, "periodUnit": "mo"}),
        (r"\b(?:once daily|daily|qd|every day|once a day|qam|qhs|at bedtime|nightly)\b",
         {"frequency": 1, **_DAY}),
    )
]  # fmt: skip
# 'q6h', 'every 6 (six) hours', 'q4-6h' and 'every 4 to 6 hours' (period 4, periodMax 6)
_EVERY_HOURS = re.compile(
    r"\b(?:q|every)\s*(?P<period>\d{1,2})(?:\s*(?:-|to)\s*(?P<most>\d{1,2}))?\s*"
    r"(?:\([a-z-]+\)\s*)?(?:h|hr|hrs|hours?)\b",
    re.IGNORECASE,
)
# 'Take 2 tablets by mouth 2 (two) times daily': times a day as a count
_TIMES_A_DAY = re.compile(
    r"\b(?P<count>\d|one|two|three|four)\s*(?:\([a-z]+\)\s*)?times\s+(?:daily|a\s+day|per\s+day)\b",
    re.IGNORECASE,
)
# 'every 3 weeks', 'q4w', 'every 6 months', 'every other day'
_EVERY_PERIOD = re.compile(
    r"\b(?:q|every)\s*(?P<count>\d{1,2}|one|two|three|four|six|other)\s*"
    r"(?P<unit>d|days?|w|wks?|weeks?|mo|months?)\b",
    re.IGNORECASE,
)
_COUNT_WORDS = {"one": 1, "two": 2, "other": 2, "three": 3, "four": 4, "six": 6}
_PERIOD_UNITS = {"d": "d", "w": "wk", "m": "mo"}
_AS_NEEDED = re.compile(r"\b(?:prn|p\.r\.n\.|as needed)", re.IGNORECASE)


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


def _course(facts: list[MedicationFact]) -> list[MedicationFact]:
    """The members that speak of the patient's course of the drug. A mention that only names
    the drug ('orthostatic hypotension from amlodipine and HCTZ' after a table that stops the
    HCTZ) says nothing of it; a dose given during the encounter ('albuterol neb given in the
    ED') says nothing of whether the patient goes on with the inhaler a list names as active,
    but more than a name. Each decides the status only when nothing else does."""
    said = [fact for fact in facts if not fact.only_named] or facts
    return [fact for fact in said if not fact.administered] or said


def _medication_status(fact: MedicationFact) -> str:
    """MedicationStatement.status (R4: active | completed | entered-in-error | intended | stopped
    | on-hold | unknown | not-taken)."""
    if fact.status != MedicationStatus.ACTIVE:
        return fact.status.value
    return _STATEMENT_STATUS_OF_ASSERTION.get(fact.assertion, fact.status.value)


def medication_statement(facts: list[MedicationFact], context: MappingContext) -> Carrying:
    fact = _most_current(_course(facts))
    status = _medication_status(fact)
    medication = _medication_concept(fact)
    dosage, dropped = _dosage(_best_sig(facts), context)
    resource = without_none(
        resourceType="MedicationStatement",
        meta=review_flags(
            facts,
            context,
            dropped=dropped,
            contradiction=len({_medication_status(member) for member in _course(facts)}) > 1,
            uncoded=_uncoded(medication),
        ),
        extension=evidence_extensions(facts, context.document),
        status=status,
        medicationCodeableConcept=medication,
        subject={"reference": context.patient},
        context={"reference": context.encounter} if context.encounter else None,
        dosage=[dosage] if dosage else None,
    )
    return resource, facts


def medication_request(facts: list[MedicationFact], context: MappingContext) -> Carrying:
    """What the document prescribes now: an order (US Core MedicationRequest shape). A
    hypothetical or uncertain prescription ("if pain persists, take ibuprofen") is no order: a
    draft proposal, flagged for review."""
    fact = _most_current(_course(facts))
    uncertain = fact.assertion in (Assertion.POSSIBLE, Assertion.HYPOTHETICAL)
    medication = _medication_concept(fact)
    dosage, dropped = _dosage(_best_sig(facts), context)
    statuses = {_REQUEST_STATUS[member.status] for member in _course(facts)}
    resource = without_none(
        resourceType="MedicationRequest",
        meta=review_flags(
            facts,
            context,
            dropped=dropped,
            contradiction=len(statuses) > 1,
            uncertain_order=uncertain,
            uncoded=_uncoded(medication),
        ),
        extension=evidence_extensions(facts, context.document),
        status="draft" if uncertain else _REQUEST_STATUS[fact.status],
        intent="proposal" if uncertain else "order",
        medicationCodeableConcept=medication,
        subject={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        authoredOn=context.encounter_date,
        dosageInstruction=[dosage] if dosage else None,
    )
    return resource, facts


def _medication_concept(fact: MedicationFact) -> JsonDict:
    """The product as the document writes it ('Proventil HFA 90 mcg/actuation') as the text,
    the generic name ('albuterol') as a coding's display when it says something else: offline
    there is no RxNorm code, so that coding has no system or code."""
    written, generic = clean_text(fact.text), clean_text(fact.generic_name)
    other = generic and written and generic.casefold() != written.casefold()
    return without_none(
        coding=[{"display": generic}] if other else None, text=written or generic or UNNAMED
    )


def _uncoded(medication: JsonDict) -> bool:
    return not any(coding.get("code") for coding in medication.get("coding", []))


def _best_sig(facts: list[MedicationFact]) -> MedicationFact:
    """The member that says most about how the drug is taken."""
    return max(
        facts,
        key=lambda f: sum(v is not None for v in (f.dose_value, f.dose_unit, f.route, f.frequency)),
    )


def _dosage(fact: MedicationFact, context: MappingContext) -> tuple[JsonDict, bool]:
    """This drug's sig only, composed from its dose, route and frequency (the quote may be a
    whole paragraph or list line of several drugs; it stays in the evidence). A daily total
    ('90 mg/kg/d', divided BID) is no doseQuantity, which is one administration's amount: it
    stays in the text."""
    route, frequency = clean_text(fact.route), clean_text(fact.frequency)
    dose_value = f"{fact.dose_value:g}" if fact.dose_value is not None else None
    sig = " ".join(
        part for part in (dose_value, clean_text(fact.dose_unit), route, frequency) if part
    )
    dose, dropped = quantity_checked(fact.dose_value, fact.dose_unit, context)
    if (fact.dose_unit or "").endswith("/d"):
        dose = None
    route_code = _ROUTES.get((route or "").lower())
    timing = without_none(
        repeat=_timing_repeat(frequency), code={"text": frequency} if frequency else None
    )
    dosage = without_none(
        text=sig or None,
        timing=timing or None,
        asNeededBoolean=True if frequency and _AS_NEEDED.search(frequency) else None,
        route=(
            {**codeable(SNOMED, *route_code), "text": route}
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
    if hours and int(hours["period"]) > 0:
        most = int(hours["most"]) if hours["most"] else None
        period_max = most if most and most > int(hours["period"]) else None
        return without_none(
            frequency=1, period=int(hours["period"]), periodMax=period_max, periodUnit="h"
        )
    if times := _TIMES_A_DAY.search(frequency):
        count = times["count"].lower()
        return {"frequency": _COUNT_WORDS.get(count) or int(count), **_DAY}
    if every := _EVERY_PERIOD.search(frequency):
        count = every["count"].lower()
        period = _COUNT_WORDS[count] if count in _COUNT_WORDS else int(count)
        unit = _PERIOD_UNITS[every["unit"][0].lower()]
        return {"frequency": 1, "period": period, "periodUnit": unit} if period > 0 else None
    for pattern, repeat in _FREQUENCIES:
        if pattern.search(frequency):
            return dict(repeat)
    return None
