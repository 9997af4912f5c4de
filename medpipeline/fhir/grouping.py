"""Which of one document's facts are the same clinical fact (one FHIR resource each).

A document names a condition several ways ("UTI", "urinary tract infection", "N39.0"), lists a
drug by brand and by generic name, and overlapping chunks return a result twice. Facts are the
same fact when they share an ICD-10-CM code (the code the provider gave, else the one the curated
synonym lexicon `extraction/lexicon/conditions.csv` gives the name), the same generic drug
(`drugs.csv`: brands and synonyms map to the generic; a different dose is a different fact), the
same allergen, the same result (test, value, unit, date) or the same procedure (its words in any
order; a mention naming no side joins the one sided mention) on the same date;
encounter facts are one stay when their dates agree (each chunk's view of one admission, or the
emergency visit that led to it). The class of a stay comes from the words the document uses
(ICU, ward, admission: inpatient; emergency department: emergency; clinic, office: ambulatory).
Groups keep the extraction's order and every member's index, so each resource can carry every
member's evidence and each review item can name its fact.
"""

import csv
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import Generic, TypeVar

from medpipeline.extraction.schema import (
    AllergyFact,
    Assertion,
    ConditionFact,
    EncounterFact,
    Fact,
    ImmunizationFact,
    MedicationFact,
    ObservationFact,
    ProcedureFact,
)
from medpipeline.terminology import (
    cvx_code,
    cvx_for_vaccine_name,
    icd10cm_code,
    unspecified_icd10_parent,
)

F = TypeVar("F", bound=Fact)
_NOT_A_WORD = re.compile(r"[^\w]+")
# Words for the stay in the encounter's class or type, the first that matches deciding.
_ENCOUNTER_WORDS = [
    (code, re.compile(pattern))
    for code, pattern in (
        ("IMP", r"\b(?:inpatient|icu|micu|sicu|ccu|intensive care|critical care|admission|"
                r"admitted|hospital stay|hospitali[sz]ation|ward|acute care)\b"),
        ("EMER", r"\b(?:emergency|ed|er|a&e)\b"),
        ("VR", r"\b(?:virtual|telehealth|telemedicine|video|telephone)\b"),
        ("HH", r"\bhome\b"),
        ("AMB", r"\b(?:ambulatory|outpatient|clinic|office|visit|consult(?:ation)?|follow-up)\b"),
    )
]  # fmt: skip


@dataclass
class FactGroup(Generic[F]):
    """Facts of one list that are one clinical fact, with their indices in that list."""

    indices: list[int]
    facts: list[F]


def normalized(name: str | None) -> str:
    """Case, punctuation and spacing ignored: 'Type 2 Diabetes,' == 'type 2 diabetes'."""
    return " ".join(_NOT_A_WORD.sub(" ", name or "").casefold().split())


def _lexicon(file_name: str) -> list[dict[str, str]]:
    path = files("medpipeline.extraction").joinpath("lexicon", file_name)
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _names(row: dict[str, str], *columns: str) -> list[str]:
    return [name for column in columns for name in row.get(column, "").split("|") if name.strip()]


@functools.cache
def _condition_terms() -> dict[str, tuple[str, str | None]]:
    """Every condition name and synonym -> (preferred term, ICD-10-CM code or None)."""
    terms: dict[str, tuple[str, str | None]] = {}
    for row in _lexicon("conditions.csv"):
        concept = (normalized(row["term"]), icd10cm_code(row["icd10_code"]))
        for name in _names(row, "term", "synonyms"):
            terms.setdefault(normalized(name), concept)
    return terms


@functools.cache
def _drug_generics() -> dict[str, str]:
    """Every generic, brand and synonym drug name -> its generic name."""
    generics: dict[str, str] = {}
    for row in _lexicon("drugs.csv"):
        for name in _names(row, "generic_name", "brand_names", "synonyms"):
            generics.setdefault(normalized(name), normalized(row["generic_name"]))
    return generics


def lexicon_icd10(name: str | None) -> str | None:
    """The ICD-10-CM code the curated lexicon gives this exact name or synonym ("UTI": N39.0)."""
    return _condition_terms().get(normalized(name), (None, None))[1]


@functools.cache
def _episodic_prefixes() -> tuple[str, ...]:
    return tuple(row["icd10_prefix"] for row in _lexicon("episodic_conditions.csv"))


def is_episodic(icd10_code: str | None) -> bool:
    """Whether the ICD-10-CM code names an episode that ends (a pneumonia, a DVT, a fracture), so
    that 'history of' it is over, where 'history of hypertension' is a condition the patient
    still has (lexicon/episodic_conditions.csv)."""
    return bool(icd10_code) and icd10_code.startswith(_episodic_prefixes())


def condition_identity(fact: ConditionFact) -> str:
    term, lexicon_code = _condition_terms().get(normalized(fact.text), (None, None))
    code = icd10cm_code(fact.icd10_code) or lexicon_code
    return f"icd10:{code}" if code else f"name:{term or normalized(fact.text)}"


def group_conditions(facts: Iterable[tuple[int, ConditionFact]]) -> list[FactGroup[ConditionFact]]:
    """The same condition is one fact: the same code or name, and a mention whose code leaves
    its (sub)category unspecified ('CHF', I50.9; 'dyspnea', R06.00) joins the one more specific
    code of that (sub)category the document gives ('Acute on chronic HFrEF', I50.23; 'shortness
    of breath', R06.02); with two such it stays apart."""
    groups = group_facts(facts, condition_identity)
    kept: list[FactGroup[ConditionFact]] = []
    for group in groups:
        parent = _unspecified_parent(group)
        fuller = [
            other
            for other in groups
            if parent
            and other is not group
            and not _unspecified_parent(other)
            and (_code(other) or "").startswith(parent)
        ]
        if len(fuller) == 1:
            fuller[0].indices.extend(group.indices)
            fuller[0].facts.extend(group.facts)
        else:
            kept.append(group)
    for group in kept:  # members in document order
        pairs = sorted(zip(group.indices, group.facts, strict=True), key=lambda pair: pair[0])
        group.indices[:] = [index for index, _ in pairs]
        group.facts[:] = [fact for _, fact in pairs]
    return kept


def _code(group: FactGroup[ConditionFact]) -> str | None:
    identity = condition_identity(group.facts[0])
    return identity.removeprefix("icd10:") if identity.startswith("icd10:") else None


def _unspecified_parent(group: FactGroup[ConditionFact]) -> str | None:
    code = _code(group)
    return unspecified_icd10_parent(code) if code else None


# How a combination's parts are joined: 'nirmatrelvir-ritonavir', 'nirmatrelvir and ritonavir'.
_PART_JOINERS = {"and", "with", "plus"}


def _parts_key(generic: str) -> str:
    """A generic name's words without joiners, in order of the alphabet: a combination is the
    same drug however its parts are joined or ordered."""
    return " ".join(sorted(set(generic.split()) - _PART_JOINERS))


def drug_identity(name: str | None) -> str:
    key = normalized(name)
    return _parts_key(_drug_generics().get(key, key))


def medication_identity(fact: MedicationFact) -> str:
    names = (fact.generic_name, fact.text)
    known = [_drug_generics()[normalized(n)] for n in names if normalized(n) in _drug_generics()]
    return _parts_key(known[0]) if known else drug_identity(fact.generic_name or fact.text)


def allergy_identity(fact: AllergyFact) -> str:
    return "no-known-allergy" if fact.no_known_allergies else drug_identity(fact.substance)


def observation_identity(fact: ObservationFact) -> str:
    name = fact.loinc_code or normalized(fact.name)
    return "|".join(
        str(part)
        for part in (name, fact.value, normalized(fact.value_text), fact.unit, fact.effective_date)
    )


# Words that do not change which procedure a name says ('hemiarthroplasty of the hip').
_PROCEDURE_FILLER = {"of", "the", "a", "an", "his", "her", "their", "to", "on", "at"}
_SIDES = {"left", "right", "bilateral"}
# A side as printouts abbreviate it ('S/P R ACL RECONSTRUCTION' is the right one).
_SIDE_ABBREVIATIONS = {"r": "right", "rt": "right", "l": "left", "lt": "left", "bilat": "bilateral"}


def _procedure_words(fact: ProcedureFact) -> frozenset[str]:
    words = (_SIDE_ABBREVIATIONS.get(word, word) for word in normalized(fact.text).split())
    return frozenset(words) - _PROCEDURE_FILLER


def procedure_identity(fact: ProcedureFact) -> str:
    """The procedure's words in any order ('Hemiarthroplasty, right hip' is 'right hip
    hemiarthroplasty') and its date."""
    return f"{' '.join(sorted(_procedure_words(fact)))}|{fact.performed_date}"


def _specificity(fact: ProcedureFact) -> int:
    return bool(_procedure_words(fact) & _SIDES) + bool(fact.performed_date)


def _names_more(fuller: ProcedureFact, fact: ProcedureFact) -> bool:
    """`fuller` is `fact`'s procedure with a side or a date that `fact` leaves out (a planned
    one and one done stay apart: a ServiceRequest and a Procedure)."""
    words, fuller_words = _procedure_words(fact), _procedure_words(fuller)
    planned = Assertion.HYPOTHETICAL
    return (
        (fact.assertion == planned) == (fuller.assertion == planned)
        and fuller_words - _SIDES == words - _SIDES
        and (not words & _SIDES or words & _SIDES == fuller_words & _SIDES)
        and (fact.performed_date is None or fact.performed_date == fuller.performed_date)
        and _specificity(fuller) > _specificity(fact)
    )


def group_procedures(facts: Iterable[tuple[int, ProcedureFact]]) -> list[FactGroup[ProcedureFact]]:
    """The same procedure on the same date is one fact; a mention naming no side or no date
    ('status post hemiarthroplasty of the hip', 's/p CABG') joins the one procedure of its words
    with a side or a date ('right hip hemiarthroplasty', 'CABG x3 2015'), whose name and date
    then name the resource; with two such it stays apart."""
    return joined_into_fuller(group_facts(facts, procedure_identity), _specificity, _names_more)


def joined_into_fuller(
    groups: list[FactGroup[F]],
    specificity: Callable[[F], int],
    says_more: Callable[[F, F], bool],
) -> list[FactGroup[F]]:
    """Each group, the most specific first, joins the one group kept before it whose fact
    `says_more(kept, fact)` of it; with two or more such it stays apart. In order of mention."""
    kept: list[FactGroup[F]] = []
    for group in sorted(groups, key=lambda group: -specificity(group.facts[0])):
        fuller = [other for other in kept if says_more(other.facts[0], group.facts[0])]
        if len(fuller) == 1:
            fuller[0].indices.extend(group.indices)
            fuller[0].facts.extend(group.facts)
        else:
            kept.append(group)
    return sorted(kept, key=lambda group: min(group.indices))


def group_facts(facts: Iterable[tuple[int, F]], identity: Callable[[F], str]) -> list[FactGroup[F]]:
    """(index, fact) pairs with the same identity, in order of first appearance."""
    groups: dict[str, FactGroup[F]] = {}
    for index, fact in facts:
        group = groups.setdefault(identity(fact), FactGroup([], []))
        group.indices.append(index)
        group.facts.append(fact)
    return list(groups.values())


def vaccine_code(fact: ImmunizationFact) -> str | None:
    """The CVX code of the vaccine: the table's for the name written ('Shingrix'), else the code
    given if the table has it."""
    return cvx_for_vaccine_name(fact.text) or cvx_code(fact.cvx_code)


def group_immunizations(
    facts: Iterable[tuple[int, ImmunizationFact]],
) -> list[FactGroup[ImmunizationFact]]:
    """The same vaccine on the same date is one dose (given or declined); a mention with no date
    or only a coarser one ('Shingrix given today', 'Flu shot 10/2025') joins the one dose of its
    vaccine whose date it holds ('Influenza 10/01/2025'); with two or more it stays apart (which
    dose it speaks of, the text does not say)."""

    def vaccine(fact: ImmunizationFact) -> str:
        declined = fact.assertion == Assertion.NEGATED  # a dose declined is not one given
        return f"{vaccine_code(fact) or normalized(fact.text)}|{declined}"

    def holds_its_date(dose: ImmunizationFact, fact: ImmunizationFact) -> bool:
        return vaccine(dose) == vaccine(fact) and (dose.occurrence_date or "").startswith(
            fact.occurrence_date or ""
        )

    groups = group_facts(facts, lambda fact: f"{vaccine(fact)}|{fact.occurrence_date}")
    return joined_into_fuller(groups, lambda fact: len(fact.occurrence_date or ""), holds_its_date)


def group_medications(
    facts: Iterable[tuple[int, MedicationFact]],
) -> list[FactGroup[MedicationFact]]:
    """The same drug is one fact per dose: a mention without a dose joins the first dose."""
    split: list[FactGroup[MedicationFact]] = []
    for group in group_facts(facts, medication_identity):
        by_dose: dict[tuple, list[tuple[int, MedicationFact]]] = {}
        undosed = []
        for pair in zip(group.indices, group.facts, strict=True):
            if pair[1].dose_value is None:
                undosed.append(pair)
            else:
                by_dose.setdefault((pair[1].dose_value, normalized(pair[1].dose_unit)), []).append(
                    pair
                )
        doses = list(by_dose.values()) or [[]]
        doses[0] = sorted(doses[0] + undosed)
        split.extend(FactGroup([i for i, _ in pairs], [f for _, f in pairs]) for pairs in doses)
    return sorted(split, key=lambda group: group.indices[0])


def encounter_class_code(fact: EncounterFact) -> str:
    """v3 ActCode of the stay, from the words the document uses for it: an ICU or ward stay or
    an admission is inpatient even when it began in the emergency department."""
    words = " ".join((part or "") for part in (fact.encounter_class, fact.type_text)).lower()
    for code, pattern in _ENCOUNTER_WORDS:
        if pattern.search(words):
            return code
    start, end = iso_date(fact.start_date), iso_date(fact.end_date)
    return "IMP" if start and end and end > start else "AMB"


def group_encounters(encounters: list[EncounterFact]) -> list[FactGroup[EncounterFact]]:
    """Encounter facts whose dates agree (equal or one unstated) and whose classes agree (or are
    emergency and inpatient: the visit that led to the admission) are one stay."""
    groups: list[FactGroup[EncounterFact]] = []
    for index, fact in enumerate(encounters):
        for group in groups:
            if all(_same_stay(fact, other) for other in group.facts):
                group.indices.append(index)
                group.facts.append(fact)
                break
        else:
            groups.append(FactGroup([index], [fact]))
    return groups


def _same_stay(one: EncounterFact, other: EncounterFact) -> bool:
    classes = {encounter_class_code(one), encounter_class_code(other)}
    if len(classes) > 1 and classes != {"IMP", "EMER"}:
        return False
    for attribute in ("start_date", "end_date"):
        first, second = iso_date(getattr(one, attribute)), iso_date(getattr(other, attribute))
        if first and second and first != second:
            return False
    return True


def iso_date(value: str | None) -> str | None:
    """The ISO date written, or its year or year and month ('2015', '2015-03': FHIR's partial
    dates), None when it is not one."""
    if value and PARTIAL_DATE.fullmatch(value.strip()):
        return value.strip()
    try:
        return date.fromisoformat(value.strip()).isoformat() if value else None
    except ValueError:
        return None


PARTIAL_DATE = re.compile(r"(?:19|20)\d{2}(?:-(?:0[1-9]|1[0-2]))?")
