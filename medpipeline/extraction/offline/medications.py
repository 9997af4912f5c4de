"""Medications in narrative and lists: drug names (shipped lexicon and the drug dictionary) with
their sig (dose, route, frequency), status and whether the document prescribes them (tables:
`medication_tables`).
"""

import functools
import re

from spacy.tokens import Doc, Span

from medpipeline.extraction.offline.lexicons import drug_names
from medpipeline.extraction.offline.medication_context import (
    CLOSED_COURSE_AFTER,
    COURSES_BEHIND,
    GIVEN_LIST_HEADER,
    LINE_END_ACTION,
    NOT_A_DOSE_GIVEN,
    ORDER_LIST_HEADER,
    PLAN_LABEL,
    PRESCRIBED_HEADER,
    REPLACEMENT_BEFORE,
    STATUS_COLUMN,
    STOP_LIST_HEADER,
    cue_before,
    given_as_a_list,
    header_list_regions,
    is_plan_order,
    is_prescribed,
    is_switched_from,
    last_cue,
    medication_assertion,
    taken_before_arrival,
    until_other_medications,
)
from medpipeline.extraction.offline.pipeline import has_modifier
from medpipeline.extraction.offline.sections_tables import (
    ASSESSMENT_AND_PLAN,
    MEDICATION_CATEGORIES,
    section_regions,
)
from medpipeline.extraction.offline.sig import (
    COMBINATION_NAME,
    parse_dose,
    parse_frequency,
    parse_route,
)
from medpipeline.extraction.offline.term_matcher import DRUG
from medpipeline.extraction.offline.text import (
    ADDED_TO_ALLERGIES,
    ALLERGY_WORD,
    ANAPHYLAXIS,
    TESTED,
    Region,
    in_regions,
    line_bounds,
    list_items,
    normalize_space,
    quote_for,
    sentence_region,
)
from medpipeline.extraction.offline.vocabularies import is_vaccine
from medpipeline.extraction.schema import Assertion, MedicationFact, MedicationStatus

# An EHR list's line may print a long product description before the sig: '(PROVENTIL
# HFA;VENTOLIN HFA) 108 (90 Base) MCG/ACT inhaler Inhale 2 puffs ... every 6 (six) hours'.
SIG_WINDOW_CHARS = 160


# Where a drug's sig ends: a sentence or item (a ';' inside brackets ends none), or a clause that
# changes the drug ('IV ceftriaxone and transitioned to oral ciprofloxacin': 'oral' is the
# ciprofloxacin's).
SIG_STOP = re.compile(
    r";(?![^()\n]*\))|\.\s+(?=[A-Z][a-z])|\n\s*\n|\n\s*(?:\d+[.)]|[-\u2022*])\s"
    r"|(?<!\.[A-Za-z])\.[ \t]*\n"  # a sentence ending its line (not 'b.i.d.')
    # the next line's label ('Eye drops: latanoprost'), not the drug's own 'Sig:'
    r"|\n[ \t]*(?!(?i:sig|instructions?|directions|dos(?:e|age)|route|frequency|take|qty"
    r"|quantity|dispense|refills?)\b)[A-Z][A-Za-z /&-]{1,40}:"
    # the next line names a drug of its own with its amount, even one the lexicon cannot read (a
    # scan's 'Acolarjnophen 650 mg PO q6h PRN'); not the drug's own instruction ('Take 2 tablets')
    r"|\n[ \t]*(?!(?i:take|inject|inhale|apply|instill|give|use|place|chew|dissolve|insert"
    r"|spray|sig|dose)\b)[A-Za-z][\w-]+[ \t]+\d+(?:\.\d+)?[ \t]*(?i:mg|mcg|g|units?|ml|meq)\b"
    r"|(?i:,?\s+(?:and|then|but)\s+(?:was\s+|were\s+|later\s+|subsequently\s+)?"
    r"(?:transition|chang|switch|start|stop|discontinu|increas|decreas|held|hold|resum|restart"
    r"|taper)\w*)"
    # another course's route: 'Start prednisone 40 mg daily after IV steroids'
    r"|(?i:\s+(?:after|following|instead[ \t]+of)\s+(?:the[ \t]+)?(?:IV|PO|IM|oral)\b)"
)


# A dose changed from one to another: the sig is the new one ('was reduced from 40 mg BID to 20
# mg daily', 'Metformin 1000 mg BID -> 500 mg BID', 'quetiapine 25 mg qHS - tapering, decreased
# to 12.5 mg qHS').
CHANGED_FROM = re.compile(
    r"\bfrom\b[^;]*?\bto\b(?=\s*\d)|(?:->|\u2192|=>)(?=[^;\n]{0,15}?\d)"
    r"|\b(?:increased|decreased|reduced|titrated|changed)\s+to\b(?=\s*\d)",
    re.IGNORECASE,
)


# A route written right before the next drug is that drug's ('ramipril 5 mg daily, and ...
# uses topical diclofenac gel').
ROUTE_BEFORE_NEXT_DRUG = re.compile(
    r"\b(?:topical|oral|IV|intravenous|inhaled|nebulized|PO|SQ|SC|IM|sublingual|transdermal"
    r"|intranasal|rectal)[ \t]*$",
    re.IGNORECASE,
)


# An equation whose other side is the next drug's dose ('60 mg oral oxycodone = 90 mg oral
# morphine equivalents'; not 'Cefdinir 14 mg/kg/day = 240 mg PO daily', the dose worked out).
EQUALS_NEXT_DRUG = re.compile(r"[ \t]=[ \t][^=\n]*$")


def sig_window(text: str, ent: Span, next_drug_start: int) -> str:
    """Text after a drug mention that may hold its dose, route and frequency."""
    limit = min(next_drug_start, ent.end_char + SIG_WINDOW_CHARS, len(text))
    window = text[ent.end_char : limit]
    if limit == next_drug_start:
        window = ROUTE_BEFORE_NEXT_DRUG.sub("", window)
        if next_drug_start < len(text):
            window = EQUALS_NEXT_DRUG.sub("", window)
    stop = SIG_STOP.search(window)
    window = window[: stop.start()] if stop else window
    changed = CHANGED_FROM.search(window)
    return window[changed.end() :] if changed else window


def words_before(text: str, ent: Span) -> str:
    """The words just before the drug name on its line, where a dose or route may be written
    ('81 mg aspirin', 'IV ceftriaxone') - of its sentence ('80 mg PO. Nitroglycerin drip' is
    no oral nitroglycerin)."""
    line_start = line_bounds(text, ent.start_char, ent.start_char)[0]
    sentence_start, _ = sentence_region(ent)
    return text[max(line_start, sentence_start, ent.start_char - 16) : ent.start_char]


# 'lisinopril 20 MG tablet\nCommonly known as: PRINIVIL,ZESTRIL': the product's other names.
ANOTHER_NAME_BEFORE = re.compile(
    r"\b(?:commonly|also)[ \t]+known[ \t]+as[ \t]*:?[ \t]*(?:[\w-]+[ \t]*,[ \t]*)*$", re.IGNORECASE
)


def is_another_name(text: str, ent: Span) -> bool:
    line_start = line_bounds(text, ent.start_char, ent.start_char)[0]
    return bool(ANOTHER_NAME_BEFORE.search(text[line_start : ent.start_char]))


def is_bracketed_brand(text: str, ent: Span, earlier_drugs: list[Span]) -> bool:
    """'acetaminophen 325 mg oral tablet [Tylenol]', 'Iron sucrose (Venofer) 100 mg IV': the
    bracketed brand repeats the product (in round brackets, one of the same generic)."""
    brackets = text[ent.start_char - 1 : ent.start_char] + text[ent.end_char : ent.end_char + 1]
    if brackets not in ("[]", "()") or not earlier_drugs:
        return False
    earlier = earlier_drugs[-1]
    segment_start = max(text.rfind(";", 0, ent.start_char), text.rfind("\n", 0, ent.start_char))
    return earlier.start_char > segment_start and (
        brackets == "[]"
        or ent._.target_rule.metadata["generic_name"]
        == earlier._.target_rule.metadata["generic_name"]
    )


# Between two ingredients of one combination product: the first one's strength, then '/'
# ('amoxicillin 250 mg / clavulanate 125 mg oral tablet', 'amoxicillin/clavulanate'), or a
# hyphen ('calcium carbonate-vitamin D3').
COMBINATION_JOINT = re.compile(r"[ \t]*(?:\d+(?:\.\d+)?[ \t]*[A-Za-z]{1,5}[ \t]*)?/[ \t]*|-")


def is_combination_part(text: str, ent: Span, earlier_drugs: list[Span]) -> bool:
    """The drug is the second ingredient of the product named before it: no medication of its
    own."""
    return bool(earlier_drugs) and bool(
        COMBINATION_JOINT.fullmatch(text, earlier_drugs[-1].end_char, ent.start_char)
    )


def is_combination(name: str, generic: str | None) -> bool:
    """A combination product by its name ('sacubitril-valsartan') or, for a brand, by its
    generic name ('Norco' is hydrocodone-acetaminophen): a strength like '10-325 mg' is its
    parts', no dose (read as 325 mg it was thirty times the opioid)."""
    return any(COMBINATION_NAME.search(written or "") for written in (name, generic))


def combination_name(text: str, parts: list[Span]) -> str:
    """A product's name from its ingredients' names, as written between them ('amoxicillin /
    clavulanate' from 'amoxicillin 875 mg / clavulanate 125 mg', 'sacubitril-valsartan')."""
    name = normalize_space(parts[0].text)
    for earlier, part in zip(parts, parts[1:], strict=False):
        joint = "-" if text[earlier.end_char : part.start_char] == "-" else " / "
        name += joint + normalize_space(part.text)
    return name


def combination_generic(parts: list[Span]) -> str | None:
    """The generic name of a product from its ingredients: the curated lexicon's for the
    combination ('amoxicillin / clavulanate' is 'amoxicillin-clavulanate', as 'Augmentin' is),
    else the ingredients' generic names joined by '-'."""
    if len(parts) == 1:
        return parts[0]._.target_rule.metadata["generic_name"]
    names = [normalize_space(part.text).lower() for part in parts]
    curated = curated_drugs().get("/".join(names)) or curated_drugs().get("-".join(names))
    return curated or "-".join(
        part._.target_rule.metadata["generic_name"] or name
        for part, name in zip(parts, names, strict=True)
    )


# What the patient is allergic or intolerant to, wherever it is written ('Allergy to penicillin'
# in a problem list, 'codeine intolerance', 'anaphylactic reaction to cefazolin'): an allergen,
# never a medication.
ALLERGEN_BEFORE = re.compile(
    r"\b(?:allerg(?:y|ies|ic)|intoleran(?:ce|t)|hypersensitivity|(?:adverse|allergic)[ \t]+"
    rf"(?:drug[ \t]+)?reactions?|{ANAPHYLAXIS})[ \t]+"
    r"(?:to|with|due[ \t]+to|caused[ \t]+by)[ \t]+(?:[\w-]+[ \t]+){0,2}$",
    re.IGNORECASE,
)


ALLERGEN_AFTER = re.compile(
    rf"^[ \t]*(?:\([^()\n]*\)[ \t]*)?(?:{ALLERGY_WORD}|{ADDED_TO_ALLERGIES}"
    r"|to[ \t]+(?:(?:the|his|her)[ \t]+)?allerg(?:y|ies)\b)",  # 'Add heparin to allergy list'
    re.IGNORECASE,
)


def is_allergen(text: str, start: int, end: int) -> bool:
    """The drug named at text[start:end] is named as an allergen."""
    line_start, line_end = line_bounds(text, start, end)
    return bool(
        ALLERGEN_BEFORE.search(text[line_start:start]) or ALLERGEN_AFTER.match(text[end:line_end])
    )


# A drug named as what a test measures ('digoxin level', 'vancomycin trough', 'digoxin 1.2
# ng/mL', 'lithium 0.8 mmol/L': a concentration in blood; a dose is mg, or mg per mL of the
# product), what a drug screen found ('Fentanyl negative', 'Buprenorphine positive') or what an
# allergy test tests ('Penicillin skin testing', 'amoxicillin challenge'), or an antibody's
# target ('tissue transglutaminase IgA'): no medication.
MEASURED_AFTER = re.compile(
    rf"[ \t]*(?:(?:levels?|concentrations?|trough|peak|(?:release[ \t]+)?assay|{TESTED}"
    # an antibody to it ('tissue transglutaminase IgA', 'insulin antibodies')
    r"|ig[agem]|antibod(?:y|ies)|ab)\b"
    r"|:?[ \t]*(?:positive|negative|(?:not[ \t]+)?detected)\b"
    r"|:?[ \t]*[<>]?\d*\.?\d+[ \t]*"
    r"(?:(?:ng|pg)/(?:ml|dl|l)|(?:ug|mcg|\u00b5g|mg|mmol|umol|\u00b5mol|meq)/(?:dl|l))\b)",
    re.IGNORECASE,
)


# A drug named in a condition ('Vitamin B12 deficiency', 'lithium toxicity', 'acetaminophen
# overdose', 'opioid withdrawal'): no medication the patient takes.
CONDITION_OF_THE_DRUG = re.compile(
    r"[ \t]*(?:deficiency|deficient|toxicity|overdose|poisoning|intoxication|withdrawal"
    r"|dependence|use[ \t]+disorder|abuse|induced)\b",
    re.IGNORECASE,
)


# A drug's abbreviation naming a scale ('ASA Physical Status', 'ASA class II': the American
# Society of Anesthesiologists' classification, not aspirin), or its name a measure of other
# drugs' doses ('90 mg oral morphine equivalents/day', 'morphine milligram equivalents').
SCALE_AFTER = re.compile(
    r"[ \t]*(?:physical[ \t]+status|class(?:ification)?|score|grade"
    r"|(?:milligram[ \t]+)?equivalents?)\b",
    re.IGNORECASE,
)


# An antibiotic a culture was tested against ('E. coli resistant to ciprofloxacin', 'MRSA:
# methicillin resistant', an antibiogram's 'Oxacillin >=4 R'): no drug the patient takes.
SUSCEPTIBILITY_WORD = r"(?:resistant|resistance|sensitive|susceptible|susceptibility|intermediate)"


SUSCEPTIBILITY_BEFORE = re.compile(
    rf"\b{SUSCEPTIBILITY_WORD}[ \t]+(?:to[ \t]+)?"
    r"(?:[\w/-]+(?:[ \t]*,[ \t]*|[ \t]+(?:and|or)[ \t]+))*$",
    re.IGNORECASE,
)


SUSCEPTIBILITY_AFTER = re.compile(
    rf"[ \t-]*{SUSCEPTIBILITY_WORD}\b"
    r"|[ \t]+(?:MIC[ \t]+)?(?:[<>]=?|\u2264|\u2265)?[ \t]*\d+(?:\.\d+)?(?:[ \t]+(?:ug|mcg)/ml)?"
    r"[ \t]+(?-i:R|S|I)\b",
    re.IGNORECASE,
)


def is_a_susceptibility(text: str, ent: Span) -> bool:
    line_start, line_end = line_bounds(text, ent.start_char, ent.end_char)
    return bool(
        SUSCEPTIBILITY_BEFORE.search(text, line_start, ent.start_char)
        or SUSCEPTIBILITY_AFTER.match(text, ent.end_char, line_end)
    )


# 'ALBUTEROL HFA 90 MCG INH', '2 PUFFS INH': the inhaler's dose form or route after its
# strength or count, not isoniazid.
DOSE_FORM_ABBREVIATION = re.compile(r"INH|TAB|CAP|SOL|SUSP")


UNIT_BEFORE = re.compile(
    r"\d[ \t]*(?:mcg|mg|ug|g|ml|units?|puffs?|inhalations?|sprays?|tabs?|caps?)[ \t]+$",
    re.IGNORECASE,
)


# A class named by what its drugs act on ('calcineurin inhibitor', 'dopamine agonist', 'estrogen
# receptor positive'): no drug the patient takes.
CLASS_NAMED_AFTER = re.compile(
    r"[ \t-]*(?:inhibitors?|blockers?|antagonists?|agonists?|receptors?)\b", re.IGNORECASE
)
# A device that carries the drug ('everolimus-eluting stent', 'paclitaxel-coated balloon'): no
# drug the patient takes.
DEVICE_CARRYING_AFTER = re.compile(r"-(?:eluting|coated)\b", re.IGNORECASE)


# 'APAP' is acetaminophen, and in a sleep study's or a pulmonary note the auto-titrating PAP
# machine ('Mode/pressure ...... APAP 5-15 cm H2O', 'well controlled on APAP').
AUTO_PAP = "APAP"
AIRWAY_PRESSURE_TEXT = re.compile(r"\bcm[ \t]*H2O\b|\b(?:CPAP|BiPAP|BPAP)\b")


def is_a_pap_machine(text: str, ent: Span) -> bool:
    return ent.text == AUTO_PAP and AIRWAY_PRESSURE_TEXT.search(text) is not None


# A substance the patient uses, not a medication ('Tobacco / nicotine vaping', 'nicotine use',
# 'Vapes nicotine daily').
SUBSTANCE_USE_BEFORE = re.compile(
    r"\b(?:vap(?:e|es|ed|ing)|smok(?:e|es|ed|ing)|chew(?:s|ed|ing)?)[ \t]+$", re.IGNORECASE
)


def is_substance_use(text: str, ent: Span) -> bool:
    return ent._.target_rule.metadata["generic_name"] == "nicotine" and bool(
        SUBSTANCE_USE_AFTER.match(text, ent.end_char)
        or SUBSTANCE_USE_BEFORE.search(text, max(0, ent.start_char - 20), ent.start_char)
    )


SUBSTANCE_USE_AFTER = re.compile(
    r"[ \t]*(?:vap(?:e|es|ed|ing)|e-?cig\w*|use|user|dependence|pouch(?:es)?)\b", re.IGNORECASE
)


def medication_facts(doc: Doc, skip_regions: list[Region]) -> list[MedicationFact]:
    text = doc.text
    # a discharge list's items, bulleted or not (a PDF's text layer often drops the bullets)
    prescribed_lists = (
        list_items(text, PRESCRIBED_HEADER)
        + header_list_regions(text, ORDER_LIST_HEADER)
        + until_other_medications(
            text, section_regions(doc, MEDICATION_CATEGORIES, titled=PRESCRIBED_HEADER)
        )
    )
    stop_lists = header_list_regions(text, STOP_LIST_HEADER)
    given_lists = header_list_regions(text, GIVEN_LIST_HEADER)
    medication_lists = section_regions(doc, MEDICATION_CATEGORIES)
    plans = section_regions(doc, {ASSESSMENT_AND_PLAN}) + [
        line_bounds(text, m.start(), m.end()) for m in PLAN_LABEL.finditer(text)
    ]
    drugs = [ent for ent in doc.ents if ent.label_ == DRUG and not is_another_name(text, ent)]
    facts = []
    comments: list[Region] = []  # a row's cells after its status column ('Discontinue  NSAID')
    for index, ent in enumerate(drugs):
        if (
            in_regions(ent.start_char, skip_regions + comments)
            or is_bracketed_brand(text, ent, drugs[:index])
            or is_combination_part(text, ent, drugs[:index])
            or is_vaccine(ent.text, ent._.target_rule.metadata["generic_name"])
            or is_allergen(text, ent.start_char, ent.end_char)
            or MEASURED_AFTER.match(text, ent.end_char)
            or SCALE_AFTER.match(text, ent.end_char)
            or CLASS_NAMED_AFTER.match(text, ent.end_char)
            or DEVICE_CARRYING_AFTER.match(text, ent.end_char)
            or is_a_pap_machine(text, ent)
            or is_substance_use(text, ent)
            or is_a_susceptibility(text, ent)
            or (
                DOSE_FORM_ABBREVIATION.fullmatch(ent.text)
                and UNIT_BEFORE.search(text, max(0, ent.start_char - 12), ent.start_char)
            )
            or CONDITION_OF_THE_DRUG.match(text, ent.end_char)
        ):
            continue
        parts = [ent]
        for later, drug in enumerate(drugs[index + 1 :], start=index + 1):
            if not is_combination_part(text, drug, drugs[:later]):
                break
            parts.append(drug)
        following = index + len(parts)
        while following < len(drugs) and is_bracketed_brand(
            text, drugs[following], drugs[:following]
        ):
            following += 1  # 'Iron sucrose (Venofer) 100 mg IV': the sig goes on after the brand
        next_start = drugs[following].start_char if following < len(drugs) else len(text)
        window = sig_window(text, ent, next_start)
        before = words_before(text, ent)
        combination = len(parts) > 1 or is_combination(
            ent.text, ent._.target_rule.metadata["generic_name"]
        )
        dose = parse_dose(window, combination=combination) or parse_dose(
            before, anchored_at_end=True, combination=combination
        )
        started = last_cue(ent, "MED_STARTED")
        line_end = line_bounds(text, ent.start_char, ent.end_char)[1]
        action = LINE_END_ACTION.match(text, ent.end_char, min(line_end, next_start))
        stopped = (
            last_cue(ent, "MED_STOPPED") > started
            or is_switched_from(text, ent, next_start)
            or (
                in_regions(ent.start_char, stop_lists)
                and not REPLACEMENT_BEFORE.search(
                    text, line_bounds(text, ent.start_char, ent.end_char)[0], ent.start_char
                )
            )
            or bool(CLOSED_COURSE_AFTER.match(text, ent.end_char, next_start))
            or bool(action and (action["stop"] or action["ticked_stop"]))
        )
        held = last_cue(ent, "MED_HELD") > max(started, last_cue(ent, "MED_STOPPED")) or bool(
            action and (action["hold"] or action["ticked_hold"])
        )
        frequency = parse_frequency(window)
        prescribed = (
            is_prescribed(text, ent, prescribed_lists)
            or bool(action and action["new"])
            or (
                bool(dose or frequency)
                and is_plan_order(text, ent, plans)
                # 'Zoledronic acid 4 mg IV administered today in the infusion center': given
                and not has_modifier(ent, "MED_GIVEN")
            )
        )
        # a course the text says is over ('azithromycin IV (completed 11/30)', 'prednisone
        # taper completed'): completed, but no single dose given
        course_completed = has_modifier(ent, "MED_COMPLETED")
        # a dose the text says was given ('was given aspirin in the ED') is a completed
        # administration, as is a course behind the patient ('s/p 4 cycles of carboplatin'),
        # not a drug the patient is on; a prescription or a later start is
        dose_given = (
            has_modifier(ent, "MED_GIVEN")
            or given_as_a_list(text, ent)
            or in_regions(ent.start_char, given_lists)
            or taken_before_arrival(text, ent)
        )
        given = (dose_given or course_completed or cue_before(COURSES_BEHIND, text, ent)) and not (
            prescribed
            # 'Should a reaction occur, the protocol allows chlorphenamine' in a list of doses given
            or medication_assertion(text, ent) == Assertion.HYPOTHETICAL
            # 'Started a course ..., now completed'
            or started > max(last_cue(ent, "MED_GIVEN"), last_cue(ent, "MED_COMPLETED"))
            or NOT_A_DOSE_GIVEN.search(text[slice(*sentence_region(ent))])
        )
        column = STATUS_COLUMN.match(text, ent.end_char, line_end)
        if column and column.end("status") > next_start:
            column = None  # the status of a drug named after this one on the line
        elif column:
            comments.append((column.end("status"), line_end))
        if held:
            status = MedicationStatus.ON_HOLD
        elif stopped:
            status = MedicationStatus.STOPPED
        elif column:  # '  Rivaroxaban 20 mg   1 tablet daily   Completed'
            status = medication_status(column["status"])
        elif action and action["completed"]:
            status = MedicationStatus.COMPLETED
        else:
            status = MedicationStatus.COMPLETED if given else MedicationStatus.ACTIVE
        route = parse_route(window) or parse_route(before, anchored_at_end=True)
        only_named = not (
            dose
            or route
            or frequency
            or prescribed
            or given
            or started >= 0
            or status != MedicationStatus.ACTIVE
            or in_regions(ent.start_char, medication_lists)
        )
        facts.append(
            MedicationFact(
                quote=quote_for(text, ent.start_char, parts[-1].end_char, sentence_region(ent)),
                text=combination_name(text, parts),
                generic_name=combination_generic(parts),
                dose_value=dose[0] if dose else None,
                dose_unit=dose[1] if dose else None,
                route=route,
                frequency=frequency,
                status=status,
                # 'as needed' or an instructions section does not make a prescribed drug unreal
                assertion=Assertion.NEGATED
                if action and action["not_given"]
                else Assertion.HYPOTHETICAL
                if column and column["pending"]
                else medication_assertion(text, ent),
                # a drug a discharge list stops ('Stopped medications: lisinopril'), or whose
                # course it says is over ('Prednisolone 30mg OD - COMPLETED'), is no order
                prescribed=prescribed
                and status not in (MedicationStatus.STOPPED, MedicationStatus.COMPLETED),
                administered=dose_given and given and status == MedicationStatus.COMPLETED,
                only_named=only_named,
            )
        )
    return facts


ENDED_STATUS = re.compile(
    r"\b(?:completed|expired|inactive|finished|ended|(?:not|no[ \t]+longer)[ \t-]+active)\b",
    re.IGNORECASE,
)


STOPPED_STATUS = re.compile(
    r"\b(?:discontinued|stopped|cancel+ed|(?:tapered|weaned)[ \t]+off"
    r"|(?:not|no[ \t]+longer)[ \t-]+taking)\b",
    re.IGNORECASE,
)


# A reconciliation's action column ('| LORAZEPAM | ... | STOP |'): the whole cell, or the action
# and its reason ('HOLD - AKI', 'HOLD while inpatient', 'Stop (bleeding risk)'); not a condition
# ('Hold if SBP < 95').
_ACTION_REASON = (
    r"(?:[ \t]*(?:[-\u2013:(,;]|\b(?:while|until|for|due|because|on|per|pending|x)\b)[^\n]*)?"
)
# the drug the action names ('STOP losartan - approved', 'Stop omeprazole; start pantoprazole');
# not a condition ('Hold if SBP < 95')
_ACTION_OBJECT = r"(?:[ \t]+(?!(?:if|when|unless)\b)[A-Za-z][\w-]*)?"
STOP_ACTION = re.compile(
    rf"(?:stop(?:[ \t]+taking)?|discontinue|d/c){_ACTION_OBJECT}{_ACTION_REASON}", re.I
)


HELD_STATUS = re.compile(r"\b(?:held|on[ \t]+hold|suspended|paused)\b", re.IGNORECASE)
# a status column's 'Hold', as 'Stop' above
HOLD_ACTION = re.compile(rf"hold{_ACTION_OBJECT}{_ACTION_REASON}", re.IGNORECASE)
# a status column's 'NEW' or 'Start': prescribed now, not a drug the patient was taking
NEW_ACTION = re.compile(
    rf"(?:new(?:[ \t]+(?:rx|prescription|medication))?|start(?:ed)?|newly[ \t]+(?:started"
    rf"|prescribed)){_ACTION_REASON}",
    re.IGNORECASE,
)


@functools.cache
def curated_drugs() -> dict[str, str]:
    """Lower-cased name -> generic name from `lexicon/drugs.csv` (names and spellings the
    package's dictionary lacks, e.g. 'APAP')."""
    return {name.lower(): metadata["generic_name"] for name, metadata in drug_names()}


def medication_status(written: str) -> MedicationStatus:
    if STOPPED_STATUS.search(written) or STOP_ACTION.fullmatch(written.strip()):
        return MedicationStatus.STOPPED
    if HELD_STATUS.search(written) or HOLD_ACTION.fullmatch(written.strip()):
        return MedicationStatus.ON_HOLD
    if ENDED_STATUS.search(written):
        return MedicationStatus.COMPLETED
    return MedicationStatus.ACTIVE
