"""Immunizations as FHIR R4 Immunization: a dose given (`completed`; at this encounter it is the
document's own record, `primarySource` true, else a reported history) or one declined
(`not-done`). A vaccine only due, recommended or planned is no Immunization. The vaccine is
coded in CVX when the code given or the vaccine's name is one the project's table has."""

from medpipeline.extraction.schema import Assertion, ImmunizationFact
from medpipeline.fhir.elements import (
    UNNAMED,
    Carrying,
    MappingContext,
    codeable,
    concept,
    evidence_extensions,
    review_flags,
    without_none,
)
from medpipeline.fhir.grouping import iso_date, vaccine_code
from medpipeline.terminology import cvx_table

CVX = "http://hl7.org/fhir/sid/cvx"
GIVEN = (Assertion.PRESENT, Assertion.HISTORICAL)
UNKNOWN_DATE = "unknown"  # occurrence[x] is required: a history that gives no date says so


def immunization_resource(
    facts: list[ImmunizationFact], context: MappingContext
) -> Carrying | None:
    given = [fact for fact in facts if fact.assertion in GIVEN]
    declined = [fact for fact in facts if fact.assertion == Assertion.NEGATED]
    own = given or declined
    if not own:
        return None
    fact = next((f for f in own if f.occurrence_date), own[0])
    code = vaccine_code(fact)
    dropped = bool(fact.cvx_code) and code is None
    if dropped:
        context.dropped["cvx"] += 1
    now = any(f.assertion == Assertion.PRESENT for f in own) or not given
    occurred = iso_date(fact.occurrence_date) or (context.encounter_date if now else None)
    resource = without_none(
        resourceType="Immunization",
        meta=review_flags(own, context, dropped=dropped, contradiction=bool(given and declined)),
        extension=evidence_extensions(own, context.document),
        status="completed" if given else "not-done",
        vaccineCode=concept(
            fact.text, codeable(CVX, code, cvx_table()[code])["coding"] if code else []
        )
        or {"text": UNNAMED},
        patient={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter and now else None,
        occurrenceDateTime=occurred,
        occurrenceString=None if occurred else UNKNOWN_DATE,
        primarySource=now if given else None,
    )
    return resource, own
