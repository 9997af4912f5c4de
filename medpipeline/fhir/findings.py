"""Conditions, allergies, results and procedures as FHIR: only what the text asserts of the
patient becomes a resource, with R4/US Core statuses; checked codes; results keep unit, comparator,
reference range and blood-pressure components."""

import re

from medpipeline.extraction.schema import (
    AllergyFact,
    Assertion,
    ConditionFact,
    ObservationFact,
    ProcedureFact,
)
from medpipeline.fhir.elements import (
    ICD10_CM,
    LOINC,
    SNOMED,
    UCUM,
    UNNAMED,
    Carrying,
    JsonDict,
    MappingContext,
    checked_code,
    clean_text,
    codeable,
    concept,
    evidence_extensions,
    quantity_checked,
    review_flags,
    without_none,
)
from medpipeline.fhir.grouping import is_episodic, iso_date, lexicon_icd10
from medpipeline.terminology import (
    described_words,
    icd10cm_code,
    loinc_code,
    unspecified_icd10_parent,
)

NO_KNOWN_ALLERGY = ("716186003", "No known allergy")
NO_KNOWN_DRUG_ALLERGY = ("409137002", "No known drug allergy")
NO_KNOWN_ALLERGY_CODES = frozenset({NO_KNOWN_ALLERGY[0], NO_KNOWN_DRUG_ALLERGY[0]})
# 'NKDA', 'No known drug allergies', 'Medication allergies: none' say nothing of foods or latex:
# 'No known allergy' would
_DRUGS_ONLY = re.compile(
    r"\bNKDA\b|\bno\s+(?:known\s+)?(?:drug|medication)\s+allerg"
    r"|\b(?:drug|medication)\s+allerg(?:y|ies)\s*:\s*(?:none|no)\b",  # 'Medication allergies: NONE'
    re.IGNORECASE,
)
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
    Assertion.HISTORICAL: (  # past medical history: a chronic condition stays active (an
        # episode that ends is inactive: `grouping.is_episodic`)
        ("active", "Active"),
        ("confirmed", "Confirmed"),
        ("problem-list-item", "Problem List Item"),
    ),
}
# Of several mentions of one condition or drug, the first assertion listed here decides.
_CONDITION_PRECEDENCE = (Assertion.PRESENT, Assertion.POSSIBLE, Assertion.HISTORICAL)
NOT_THE_PATIENTS = (Assertion.NEGATED, Assertion.FAMILY, Assertion.HYPOTHETICAL)
_OBSERVATION_CATEGORIES = {
    "laboratory": "Laboratory",
    "vital-signs": "Vital Signs",
    "imaging": "Imaging",
    "survey": "Survey",  # a questionnaire's score: PHQ-9, GAD-7, MoCA
}
_INTERPRETATIONS = {"H": "High", "L": "Low", "N": "Normal", "A": "Abnormal"}
_SEVERITIES = {"mild", "moderate", "severe"}
_PRESSURE_PAIR = re.compile(r"\s*(\d{2,3})\s*/\s*(\d{2,3})\s*")
# A result written with a comparator ('<1', '>= 60'): Quantity.comparator, so '<1' is not 1.
_COMPARATOR = re.compile(r"\s*(<=|>=|[<>\u2264\u2265])")
_COMPARATORS = {"\u2264": "<=", "\u2265": ">="}
# A result or range written as text: '6.7', '< 1', '3.5-5.0', '<200', '>= 60'
_NUMBER_WRITTEN = re.compile(r"(<=|>=|[<>\u2264\u2265])?\s*(\d+(?:\.\d+)?)")
# A count reported as a range with its unit ('25-50' /[HPF]): a valueRange
_RANGE_WRITTEN = re.compile(r"(\d+(?:\.\d+)?)\s*[-\u2013]\s*(\d+(?:\.\d+)?)")
_RANGE_WRITTEN = re.compile(
    r"(?:(?P<low>\d+(?:\.\d+)?)\s*(?:-|\u2013|to)\s*(?P<high>\d+(?:\.\d+)?))"
    r"|(?:(?P<comparator><=|>=|[<>\u2264\u2265])\s*(?P<bound>\d+(?:\.\d+)?))"
)


def is_ruled_out_later(facts: list[ConditionFact], own: list[ConditionFact]) -> bool:
    """Only ever suspected ('Clinical history: rule out appendicitis'), and denied after the last
    suspicion ('Impression: No evidence of appendicitis') or in its sentence ('Rule out PE - no
    evidence of PE on CTA'; a quote may be the whole sentence): the work-up answered no."""
    if any(member.assertion != Assertion.POSSIBLE for member in own):
        return False
    last_suspected = max(_offset(member) for member in own)
    return any(
        fact.assertion == Assertion.NEGATED and _offset(fact) >= last_suspected for fact in facts
    )


def is_refuted_later(facts: list[AllergyFact], own: list[AllergyFact]) -> bool:
    """Named as the patient's, then denied after its last such mention ('Reported penicillin
    allergy' ... 'Penicillin allergy ruled out', 'label removed from chart'): a refuted allergy,
    which tells the next prescriber more than no resource would."""
    last_named = max(_offset(member) for member in own)
    return any(fact.assertion == Assertion.NEGATED and _offset(fact) > last_named for fact in facts)


def _offset(fact: ConditionFact | AllergyFact) -> int:
    return fact.evidence.offset if fact.evidence and fact.evidence.offset is not None else -1


def condition_resource(facts: list[ConditionFact], context: MappingContext) -> Carrying | None:
    """The patient's condition, however often the document names it: the most current assertion
    decides (a condition both current and in the history is current). Negated mentions beside
    asserted ones are an in-document contradiction; alone they are no Condition."""
    own = sorted(
        (fact for fact in facts if fact.assertion in _CONDITION_STATUS),
        key=lambda fact: _CONDITION_PRECEDENCE.index(fact.assertion),
    )
    if not own or is_ruled_out_later(facts, own):
        return None
    checked = [checked_code(member.icd10_code, icd10cm_code, "icd10cm", context) for member in own]
    codes = [code for code in checked if code is not None]
    coded = [
        (member, known)
        for member, code in zip(own, checked, strict=True)
        if (known := code or lexicon_icd10(member.text))
    ]
    # the most specific code names the condition ('Acute on chronic HFrEF', not 'CHF'), by the
    # mention its code's description says best ('Panic disorder', not 'panic attacks': F41.0)
    named, icd10 = min(
        coded,
        key=lambda pair: (
            unspecified_icd10_parent(pair[1]) is not None,
            -len(described_words(pair[0].text, pair[1])),
        ),
        default=(own[0], None),
    )
    fact = own[0]
    if fact.assertion == Assertion.POSSIBLE and not is_episodic(icd10):
        # a chronic condition the history confirms is no less certain for a 'likely' today
        # ('PMH: GERD' ... 'Likely GERD-related'); an episode may be suspected again
        fact = next((m for m in own if m.assertion == Assertion.HISTORICAL), fact)
    clinical, verification, category = _CONDITION_STATUS[fact.assertion]
    if all(member.resolved for member in own):
        clinical = ("resolved", "Resolved")
    elif all(member.in_remission for member in own):
        clinical = ("remission", "Remission")
    elif all(member.resolved or member.inactive for member in own):
        clinical = ("inactive", "Inactive")  # 'Migraine, inactive': it may come back
    elif fact.assertion == Assertion.HISTORICAL and is_episodic(icd10):
        clinical = ("inactive", "Inactive")  # 'History of DVT (2015)' is no DVT now
    contradicted = any(member.assertion == Assertion.NEGATED for member in facts)
    is_encounter_diagnosis = category[0] == "encounter-diagnosis"
    resource = without_none(
        resourceType="Condition",
        meta=review_flags(own, context, dropped=False in codes, contradiction=contradicted),
        extension=evidence_extensions(own, context.document),
        clinicalStatus=codeable(_CONDITION_CLINICAL, *clinical),
        verificationStatus=codeable(_CONDITION_VERIFICATION, *verification),
        category=[codeable(_CONDITION_CATEGORY, *category)],
        code=concept(named.text, [{"system": ICD10_CM, "code": icd10}] if icd10 else []),
        subject={"reference": context.patient},
        encounter=(
            {"reference": context.encounter}
            if context.encounter and is_encounter_diagnosis
            else None
        ),
        onsetDateTime=next((d for m in own if (d := iso_date(m.onset_date))), None),
    )
    return resource, own


def allergy_resource(
    facts: list[AllergyFact], context: MappingContext, named: bool
) -> Carrying | None:
    """A documented allergy is active and confirmed (resolved or inactive when every mention
    lists it so), an uncertain one unconfirmed; a negated
    ("no allergy to penicillin"), family or hypothetical one is not the patient's allergy (no
    resource). "No known allergy" is SNOMED 716186003, confirmed, flagged as a contradiction
    when the same document names an allergy."""
    own = [fact for fact in facts if fact.assertion not in NOT_THE_PATIENTS]
    if not own:
        return None
    fact = min(own, key=lambda member: member.assertion == Assertion.POSSIBLE)
    if fact.no_known_allergies:
        drugs_only = all(_DRUGS_ONLY.search(member.quote) for member in own)
        code = codeable(SNOMED, *(NO_KNOWN_DRUG_ALLERGY if drugs_only else NO_KNOWN_ALLERGY))
        contradicted = named
    else:
        code = concept(fact.substance, []) or {"text": UNNAMED}
        contradicted = any(member.assertion == Assertion.NEGATED for member in facts)
    clinical = ("active", "Active")
    if all(member.resolved for member in own):
        clinical = ("resolved", "Resolved")
    elif all(member.resolved or member.inactive for member in own):
        clinical = ("inactive", "Inactive")
    if fact.assertion == Assertion.POSSIBLE:
        verification = ("unconfirmed", "Unconfirmed")
    else:
        verification = ("confirmed", "Confirmed")
    if not fact.no_known_allergies and is_refuted_later(facts, own):
        clinical, verification = ("inactive", "Inactive"), ("refuted", "Refuted")
    described = next((m for m in own if clean_text(m.reaction) or clean_text(m.severity)), fact)
    reaction = clean_text(described.reaction)
    severity = (described.severity or "").strip().lower()
    reaction_entry = without_none(
        manifestation=[{"text": reaction}] if reaction else None,
        severity=severity if severity in _SEVERITIES else None,
    )
    if reaction_entry and "manifestation" not in reaction_entry:
        reaction_entry["manifestation"] = [{"text": "not stated"}]
    resource = without_none(
        resourceType="AllergyIntolerance",
        meta=review_flags(own, context, contradiction=contradicted),
        extension=evidence_extensions(own, context.document),
        clinicalStatus=codeable(_ALLERGY_CLINICAL, *clinical),
        verificationStatus=codeable(_ALLERGY_VERIFICATION, *verification),
        code=code,
        patient={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        reaction=[reaction_entry] if reaction_entry else None,
    )
    return resource, own


def observation_resource(facts: list[ObservationFact], context: MappingContext) -> Carrying:
    """A result keeps its unit and reference range: a number written as text ('6.7', '<1') is a
    Quantity in the fact's unit, a value written as a range with a unit ('25-50' /[HPF]) a
    Range, a written reference range ('3.5-5.0', '<200') its low and high."""
    fact = facts[0]
    category = "-".join(fact.category.strip().lower().replace("_", " ").split())
    category_display = _OBSERVATION_CATEGORIES.get(category)
    loinc = checked_code(fact.loinc_code, loinc_code, "loinc", context)
    interpretation = (fact.interpretation or "").strip().upper()
    value_text = clean_text(fact.value_text)
    number = _NUMBER_WRITTEN.fullmatch(value_text or "")
    value_number = fact.value if fact.value is not None else (float(number[2]) if number else None)
    value, unit_dropped = quantity_checked(value_number, fact.unit, context)
    comparator = _COMPARATOR.match(value_text or "")
    if value and comparator:
        value["comparator"] = _COMPARATORS.get(comparator[1], comparator[1])
    components = _blood_pressure_components(loinc, value_text, fact.unit)
    value_range = _value_range(value_text, fact.unit, context) if value is None else None
    reference_range = _reference_range(fact, context)
    resource = without_none(
        resourceType="Observation",
        meta=review_flags(facts, context, dropped=loinc is False or unit_dropped),
        extension=evidence_extensions(facts, context.document),
        status="final",
        category=(
            [codeable(_OBSERVATION_CATEGORY, category, category_display)]
            if category_display
            else None
        ),
        code=concept(
            clean_text(fact.name) or UNNAMED, [{"system": LOINC, "code": loinc}] if loinc else []
        ),
        subject={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        effectiveDateTime=iso_date(fact.effective_date) or context.encounter_date,
        valueQuantity=value,
        valueRange=value_range,
        valueString=value_text if value is None and not components and not value_range else None,
        interpretation=(
            [codeable(_INTERPRETATION, interpretation, _INTERPRETATIONS[interpretation])]
            if interpretation in _INTERPRETATIONS
            else None
        ),
        referenceRange=reference_range,
        component=components,
    )
    return resource, facts


def _value_range(
    value_text: str | None, unit: str | None, context: MappingContext
) -> JsonDict | None:
    written = _RANGE_WRITTEN.fullmatch(value_text or "")
    if written is None or not clean_text(unit):
        return None
    low, _ = quantity_checked(float(written[1]), unit, context)
    high, _ = quantity_checked(float(written[2]), unit, context, count=False)
    return {"low": low, "high": high}


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
            "code": codeable(LOINC, *code),
            "valueQuantity": {"value": int(value), "unit": ucum, "system": UCUM, "code": ucum},
        }
        for code, value in ((SYSTOLIC, pair[1]), (DIASTOLIC, pair[2]))
    ]


def procedure_resource(facts: list[ProcedureFact], context: MappingContext) -> Carrying | None:
    """Done when the text says it was; `not-done` when it is only ever negated. Performed when
    the text dates it: not on the encounter's date, since a procedures list holds procedures of
    past years ('Tonsillectomy' in a summary of care is not this visit's)."""
    done = [fact for fact in facts if fact.assertion not in NOT_THE_PATIENTS]
    negated = [fact for fact in facts if fact.assertion == Assertion.NEGATED]
    own = done or negated
    if not own:
        return None
    fact = own[0]
    status = "completed" if done else "not-done"
    performed = iso_date(fact.performed_date)
    resource = without_none(
        resourceType="Procedure",
        meta=review_flags(own, context, contradiction=bool(done and negated)),
        extension=evidence_extensions(own, context.document),
        status=status,
        code=concept(fact.text, []) or {"text": UNNAMED},
        subject={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        performedDateTime=performed,
    )
    return resource, own


def service_request_resource(
    facts: list[ProcedureFact], context: MappingContext
) -> Carrying | None:
    """A procedure the text only plans, schedules, orders or proposes (hypothetical): a
    ServiceRequest with intent `plan`, never a Procedure (done or not)."""
    planned = [fact for fact in facts if fact.assertion == Assertion.HYPOTHETICAL]
    if not planned:
        return None
    fact = planned[0]
    resource = without_none(
        resourceType="ServiceRequest",
        meta=review_flags(planned, context),
        extension=evidence_extensions(planned, context.document),
        status="active",
        intent="plan",
        code=concept(fact.text, []) or {"text": UNNAMED},
        subject={"reference": context.patient},
        encounter={"reference": context.encounter} if context.encounter else None,
        occurrenceDateTime=iso_date(fact.performed_date),
    )
    return resource, planned


def _reference_range(fact: ObservationFact, context: MappingContext) -> list[JsonDict] | None:
    low_value, high_value = fact.reference_low, fact.reference_high
    written = _RANGE_WRITTEN.fullmatch(clean_text(fact.reference_text) or "")
    if written and low_value is None and high_value is None:
        if written["low"]:
            low_value, high_value = float(written["low"]), float(written["high"])
        elif written["comparator"] in ("<", "<=", "\u2264"):
            high_value = float(written["bound"])
        else:
            low_value = float(written["bound"])
    low, _ = quantity_checked(low_value, fact.unit, context, count=False)
    high, _ = quantity_checked(high_value, fact.unit, context, count=False)
    reference_range = without_none(low=low, high=high, text=clean_text(fact.reference_text))
    return [reference_range] if reference_range else None
