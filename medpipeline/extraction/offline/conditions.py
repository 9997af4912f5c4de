"""Conditions: lexicon and ICD-10-CM matches, asserted by ConText and sections; problem tables."""

import re

from spacy.tokens import Doc, Span

from medpipeline.extraction.offline.pipeline import assertion_of, has_modifier
from medpipeline.extraction.offline.procedures import names_a_procedure
from medpipeline.extraction.offline.sections_tables import (
    ASSESSMENT_AND_PLAN,
    ICD10_SYSTEM,
    NO_ANSWER,
    PAST_HISTORY,
    PROBLEMS,
    YES_ANSWER,
    Table,
    TableRow,
    printed_code,
    section_regions,
    status_says,
)
from medpipeline.extraction.offline.term_matcher import CONDITION, DRUG
from medpipeline.extraction.offline.text import (
    CELL_FIELD,
    CODE_IN_PARENTHESES,
    COLUMN_GAP,
    LIST_ITEM_LINE,
    LIST_MARKER,
    TRAILING_CODES,
    Region,
    clean_name,
    in_regions,
    is_absence,
    normalize_space,
    quote_for,
    sentence_region,
)
from medpipeline.extraction.offline.vocabularies import icd10_code, names_a_vaccine
from medpipeline.extraction.schema import Assertion, ConditionFact
from medpipeline.terminology import described_words, icd10cm_code

# In a lab report a disease name is interpretation (a reference chart, 'may be associated with'),
# not the patient's diagnosis, unless a labelled field of the request gives it.
# A label alone on its line ('FINAL DIAGNOSIS:' of a pathology report) heads the lines below it,
# up to a blank line or the next label.
DIAGNOSIS_FIELD = re.compile(
    r"^[ \t]*(?:(?:clinical|working|provisional|final|pathologic(?:al)?)[ \t]+)?"
    r"(?:diagnos[ie]s|indications?|clinical[ \t]+(?:information|history|details)"
    r"|reason[ \t]+for[ \t]+(?:test|testing))[ \t]*:(?:[ \t]*\n(?:(?![ \t]*\n)"
    r"(?![ \t]*[A-Za-z][\w /&-]{0,40}:[ \t]*\n)[^\n]*\n?)+|[^\n]*)",
    re.IGNORECASE | re.MULTILINE,
)


def diagnosis_field_regions(text: str) -> list[Region]:
    return [(match.start(), match.end()) for match in DIAGNOSIS_FIELD.finditer(text)]


# In a problem list written as lines: a sub-heading opening its resolved or its active part
# ('Resolved Concerns', 'Inactive Problems', 'Active Concerns'), and a line that gives the
# problem's resolution ('Pneumonia (onset Jul 3, 2013; resolution Aug 14, 2013)').
PART_HEADING = re.compile(
    r"^[ \t]*(?:(?P<resolved>resolved|inactive|past|historical|former)|active|current|ongoing)"
    r"(?:[ \t]+(?:medical[ \t]+|health[ \t]+)?(?:concerns|problems|issues|diagnoses"
    r"|conditions))?[ \t]*:?[ \t]*$",
    re.IGNORECASE,
)
# (not one the line denies: 'Cellulitis - not resolved', 'not yet resolved')
RESOLUTION = re.compile(
    r"(?<!\bnot )(?<!\bnot yet )(?<!\bnever )\bresol(?:ved|ution)\b", re.IGNORECASE
)
RESOLVED_COLUMN = re.compile(rf"\S(?:{COLUMN_GAP})resolved(?=$|{COLUMN_GAP})", re.IGNORECASE)


def resolved_lines(doc: Doc) -> list[Region]:
    """The lines of problem-list sections that list resolved problems."""
    regions = []
    for start, end in section_regions(doc, {PROBLEMS}):
        resolved_part = False
        for line in re.finditer(r"[^\n]+", doc.text[start:end]):
            if heading := PART_HEADING.match(line.group()):
                resolved_part = bool(heading["resolved"])
            elif resolved_part or is_a_resolution_line(line.group()):
                regions.append((start + line.start(), start + line.end()))
    return regions


def is_a_resolution_line(line: str) -> bool:
    """A line giving its one problem's resolution, in a status column ('Depression, major,
    single episode      Resolved    2015') or not; in a line listing several ('Problems:
    Hypertension (resolved), diabetes, asthma') the word is about the item it follows."""
    if RESOLVED_COLUMN.search(line):
        return True
    return bool(RESOLUTION.search(line)) and not re.search(
        r"[,;]", re.sub(r"\([^()]*\)|\[[^\[\]]*\]", "", line)
    )


# A status written right after a problem's name: '2. Community acquired pneumonia - treated,
# clinically resolved', 'Gout flare - settled', 'C. diff colitis, has not recurred' (ConText's
# reach of four words stops short); only status words between ('Asthma - symptoms resolved' is
# no resolved asthma).
RESOLVED_WORDS = r"resolved|cleared|settled|corrected"
ITEM_RESOLVED_AFTER = re.compile(
    # where, between ('Deep vein thrombosis, left femoral vein, 2016 - resolved')
    r"(?:[ \t]*,[ \t]*[a-z][a-z-]*(?:[ \t]+[a-z][a-z-]*){0,2}(?=[ \t]*,))?"
    # its grade, between ('Neutropenia, grade 3 before cycle 4 - resolved with 1-week delay')
    r"(?:[ \t]*,[ \t]*grade[ \t]+\d[^,;.\n\u2013-]{0,40})?"
    # when, between ('Community-acquired pneumonia, 11/2022 - resolved')
    r"(?:[ \t]*,?[ \t]*\(?(?:\d{1,2}/){0,2}(?:19|20)\d{2}\)?)?"
    r"[ \t]*(?:[-\u2013:,][ \t]*|\([ \t]*)"
    r"(?:(?:now|clinically|fully|completely|since|treated|improved|and|has|have|essentially"
    r"|largely)[ \t,]+){0,3}"
    rf"(?:{RESOLVED_WORDS}|(?:has|have)[ \t]+not[ \t]+recurred)\b",
    re.IGNORECASE,
)


def is_resolved_after(text: str, ent: Span, following: Span | None) -> bool:
    """A status right after the name (`ITEM_RESOLVED_AFTER`) not followed on its line by another
    condition it qualifies ('Diabetes, hypertension, resolved pneumonia': the pneumonia's)."""
    status = ITEM_RESOLVED_AFTER.match(text, ent.end_char)
    return status is not None and not (
        following is not None and not text[status.end() : following.start_char].strip(" \t")
    )


# A sentence that opens with a condition and says it has resolved, however far on ('Her gout
# flare of the right knee in March was treated with a prednisone taper and has fully resolved';
# ConText's reach of four words stopped short): the subject's, unless another condition is
# named before the verb ('Her diabetes is stable and her rash has resolved': the rash's).
SUBJECT_BEFORE = re.compile(r"\s*(?:(?:her|his|their|the|patient'?s|pt'?s)\s+)?", re.IGNORECASE)
HAS_RESOLVED = re.compile(
    r"\b(?:has|have)[ \t\n]+(?:now[ \t\n]+|since[ \t\n]+)?(?:(?:fully|completely)[ \t\n]+)?"
    r"(?:resolved|cleared)\b",
    re.IGNORECASE,
)


# A relative clause after the condition saying it is over ('She had gestational diabetes with
# her second pregnancy in 1990, which resolved after delivery', 'hyponatremia (sodium 129),
# which has since corrected').
WHICH_RESOLVED = re.compile(
    r",\s*which\s+(?:(?:has|had|have)\s+)?(?:(?:since|now|fully|completely)\s+)*"
    r"(?:resolved|corrected|cleared|healed|normali[sz]ed)\b",
    re.IGNORECASE,
)


def resolved_as_the_subject(doc: Doc, ent: Span, mentions: list[Span]) -> bool:
    """The sentence opens with the condition and says it has resolved (`HAS_RESOLVED`), or a
    relative clause after it does (`WHICH_RESOLVED`), no other condition named between."""
    sentence = ent.sent
    cue = WHICH_RESOLVED.search(doc.text, ent.end_char, sentence.end_char)
    if cue is None and SUBJECT_BEFORE.fullmatch(doc.text, sentence.start_char, ent.start_char):
        cue = HAS_RESOLVED.search(doc.text, ent.end_char, sentence.end_char)
    return cue is not None and not any(
        ent.end_char <= other.start_char < cue.start() for other in mentions
    )


# A status clause ending a list item is about the item's problem, the first it names: '1. Acute
# kidney injury on CKD 3a: creatinine back to baseline, resolved.' resolved the CKD (the mention
# nearest the cue) and left the injury active; '4. Delirium secondary to UTI - resolved'.
ITEM_LINE = re.compile(rf"(?:{LIST_ITEM_LINE.pattern}|^[ \t]*#+[ \t]*)[^\n]+", re.MULTILINE)
STATUS_CUE = re.compile(rf"\b(?:{RESOLVED_WORDS})\b", re.IGNORECASE)
NOT_BEFORE = re.compile(r"(?:\b(?:not|never|yet)[ \t]+|\bun)$", re.IGNORECASE)
CLAUSE_SEPARATOR = re.compile(r"[,;:]|[ \t][-\u2013][ \t]")


def item_statuses(doc: Doc, mentions: list[Span]) -> tuple[set[int], set[int]]:
    """The starts of the problems a list item's closing status clause resolves (its first), and
    of the other problems of those items, which that clause does not resolve."""
    heads, others = set(), set()
    for item in ITEM_LINE.finditer(doc.text):
        named = [m for m in mentions if item.start() <= m.start_char < item.end()]
        cues = [
            cue
            for cue in STATUS_CUE.finditer(doc.text, item.start(), item.end())
            if not NOT_BEFORE.search(doc.text, max(0, cue.start() - 8), cue.start())
        ]
        if not named or not cues or cues[-1].start() < named[0].end_char:
            continue
        nearest = max(
            (m for m in named if m.end_char <= cues[-1].start()), key=lambda m: m.end_char
        )
        if CLAUSE_SEPARATOR.search(doc.text, nearest.end_char, cues[-1].start()):
            heads.add(named[0].start_char)
            others.update(m.start_char for m in named[1:])
    return heads, others


def only_resolved_by_a_cue(ent: Span) -> bool:
    """Historical only because a resolution cue reached it (no history cue of its own)."""
    return has_modifier(ent, "RESOLVED") and not (
        ent._.is_historical or has_modifier(ent, "INACTIVE")
    )


ECG_SEGMENT_BEFORE = re.compile(r"\b(?:ST|PR)(?:[ \t-]+segment)?[ \t-]+$")


def condition_facts(
    doc: Doc, skip_regions: list[Region], only_regions: list[Region] | None = None
) -> list[ConditionFact]:
    """Conditions named in the text, outside `skip_regions` (and inside `only_regions` if set);
    one listed as resolved in a problem list or said to be resolved is historical and resolved,
    one said to be inactive ('Migraine, inactive', 'not currently active') historical and inactive;
    one said to be in remission ('Breast cancer, currently in remission') is in remission; an
    inflammation of an organ since removed ('Appendicitis s/p appendectomy') is resolved."""
    resolved = resolved_lines(doc)
    facts = []
    mentions = [ent for ent in doc.ents if ent.label_ == CONDITION]
    resolved_items, not_the_items_status = item_statuses(doc, mentions)
    for index, ent in enumerate(mentions):
        following = mentions[index + 1] if index + 1 < len(mentions) else None
        if in_regions(ent.start_char, skip_regions) or names_the_next(doc.text, ent, following):
            continue
        if only_regions is not None and not in_regions(ent.start_char, only_regions):
            continue
        if has_modifier(ent, "NOT_A_CONDITION") or SCALE_NUMBER.match(doc.text, ent.end_char):
            continue
        if STATE_CODE.fullmatch(ent.text) and POSTAL_CODE_AFTER.match(doc.text, ent.end_char):
            continue  # 'Detroit, MI 48201': an address's state
        if IDENTIFIER_NUMBER_AFTER.match(doc.text, ent.end_char):
            continue  # 'MRN: BCC-771045': an identifier's prefix, not a basal cell carcinoma
        if ent.text.lower() == "depression" and ECG_SEGMENT_BEFORE.search(
            doc.text, max(0, ent.start_char - 16), ent.start_char
        ):
            continue  # '1.5 mm ST depression V4-V6': an ECG finding, not a mood disorder
        if TEST_RESULT_AFTER.match(doc.text, ent.end_char):
            continue  # 'HIV 1/2 Ag/Ab:   Nonreactive': a test of it
        if is_a_stopped_drugs_effect(doc, ent) or is_a_vaccines_disease(doc.text, ent):
            continue
        assertion = assertion_of(ent)
        if ent.start_char in not_the_items_status and only_resolved_by_a_cue(ent):
            assertion = Assertion.PRESENT  # 'AKI on CKD 3a: ..., resolved': the CKD goes on
        if assertion == Assertion.PRESENT and is_a_questions_example(doc.text, ent):
            assertion = Assertion.POSSIBLE
        listed_resolved = (
            (assertion == Assertion.PRESENT and in_regions(ent.start_char, resolved))
            or (
                assertion == Assertion.HISTORICAL
                and has_modifier(ent, "RESOLVED")
                and ent.start_char not in not_the_items_status
            )
            or (
                assertion in (Assertion.PRESENT, Assertion.HISTORICAL)
                and (
                    ent.start_char in resolved_items
                    or is_organ_removed(doc.text, ent)
                    or resolved_as_the_subject(doc, ent, mentions)
                    or (
                        is_resolved_after(doc.text, ent, following)
                        and ent.start_char not in not_the_items_status
                    )
                )
            )
        )
        facts.append(
            ConditionFact(
                quote=quote_for(doc.text, ent.start_char, ent.end_char, sentence_region(ent)),
                text=normalize_space(ent.text),
                icd10_code=printed_code_after(doc.text, ent, following)
                or ent._.target_rule.metadata["icd10_code"]
                or None,
                assertion=Assertion.HISTORICAL if listed_resolved else assertion,
                resolved=listed_resolved,
                inactive=has_modifier(ent, "INACTIVE") and not listed_resolved,
                in_remission=has_modifier(ent, "REMISSION"),
            )
        )
    return facts


# The code the writer printed after the condition, in its item ('Focal epilepsy (G40.209)',
# 'Major depressive disorder, recurrent, severe without psychotic features (F33.2)').
PRINTED_CODE_AFTER = re.compile(r"[^().;\n]{0,80}?\((?P<codes>[^()\n]{2,40})\)")


# The code a diagnosis list prints first on the line ('F33.1<tab>Major depressive disorder,
# recurrent episode, moderate', '2. I48.91 - Atrial fibrillation').
PRINTED_CODE_BEFORE = re.compile(
    r"[ \t]*(?:\d{1,2}[.)][ \t]+)?(?P<codes>[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?)"
    r"[ \t]*(?:[-\u2013:|][ \t]*)?"
)


def printed_code_after(text: str, ent: Span, following: Span | None) -> str | None:
    """A valid ICD-10-CM code printed after the mention, before the next one, or first on its
    line (`PRINTED_CODE_BEFORE`): the clinician's
    choice, often more specific than the index's ('BPH with LUTS (N40.1)', 'Postpartum anemia
    (O90.81)'); only in the index code's chapter letter or with a word of the mention in its
    description, so a code of words the lexicon does not know ('Hypertension; weight gain
    (R63.5)') stays theirs."""
    end = following.start_char if following else len(text)
    found = [
        PRINTED_CODE_AFTER.match(text, ent.end_char, end),
        PRINTED_CODE_BEFORE.fullmatch(
            text, text.rfind("\n", 0, ent.start_char) + 1, ent.start_char
        ),
    ]
    codes = [code for match in found if match for code in printed_icd10(match["codes"])]
    if not codes:
        return None
    indexed = ent._.target_rule.metadata["icd10_code"]
    if indexed and indexed[0] != codes[0][0] and not described_words(ent.text, codes[0], 4):
        return None
    return codes[0]


# The parentheses right after a drug ('topiramate (cognitive slowing)'), up to the mention.
AFTER_A_DRUG = re.compile(r"[ \t]*\([^()\n]*$")


def is_a_stopped_drugs_effect(doc: Doc, ent: Span) -> bool:
    """The mention is in parentheses right after a drug the text says was stopped or failed
    ('Failed topiramate (cognitive slowing), propranolol (fatigue, bradycardia)'): why it was
    stopped, not a condition of the patient now."""
    opening = doc.text.rfind("(", 0, ent.start_char)
    if opening < 0 or not AFTER_A_DRUG.fullmatch(doc.text, opening, ent.start_char):
        return False
    return any(
        drug.label_ == DRUG
        and not doc.text[drug.end_char : opening].strip()
        and has_modifier(drug, "MED_STOPPED")
        for drug in doc.ents
        if drug.end_char <= opening
    )


# The examples in brackets of a question ('Have you had heart problems (angina, heart attack,
# stents)? [X] Yes'): a yes says one of them, not which.
BRACKET_BEFORE = re.compile(r"\((?:e\.g\.,?|such[ \t]+as|like)?[^()\n]*$", re.IGNORECASE)
QUESTION_BRACKET_AFTER = re.compile(  # the '?' of a question answered yes is read blanked
    r"[^()\n]*\)[ \t]*(?:\?|[ \t](?:yes|y)\b)", re.IGNORECASE
)


def is_a_questions_example(text: str, ent: Span) -> bool:
    line_start = text.rfind("\n", 0, ent.start_char) + 1
    return bool(
        BRACKET_BEFORE.search(text, line_start, ent.start_char)
        and QUESTION_BRACKET_AFTER.match(text, ent.end_char)
    )


# A state's postal abbreviation before a ZIP code ('Detroit, MI 48201', 'Boston, MA 02114').
STATE_CODE = re.compile(r"[A-Z]{2}")
POSTAL_CODE_AFTER = re.compile(r"[ \t]+\d{5}(?:-\d{4})?\b")
# The number an identifier's letters run on into ('BCC-771045', 'CHF0042317'); not a disease's
# own number ('COVID-19', 'HIV-1', 'CKD-5').
IDENTIFIER_NUMBER_AFTER = re.compile(r"-?\d{3,}")


# A test's qualitative result after the name and a colon: the name is a test's ('HIV 1/2 Ag/Ab:
# Nonreactive', 'Rubella: Immune', 'HIV (09/23/24): Nonreactive'); a review of systems answers
# 'Headache: negative' of the patient.
TEST_RESULT_AFTER = re.compile(
    r"[^\n:.;]{0,40}:[ \t]*(?:non-?reactive|reactive|not[ \t]+detected|detected|immune"
    r"|non-?immune|equivocal|indeterminate)\b",
    re.IGNORECASE,
)


# A questionnaire named after the condition it screens for ('GAD-7 = 14', 'PHQ-9', 'Edinburgh
# Postnatal Depression Scale: 6', 'Geriatric Depression Scale (GDS)'): a score.
SCALE_NUMBER = re.compile(
    r"-\d{1,2}\b|[ \t]+(?:rating[ \t]+)?(?:scales?|scores?|inventory|questionnaire|index)\b",
    re.IGNORECASE,
)


# A vaccine's product after the disease it prevents, in an immunization record's row ('Hep B
# (Engerix-B) 03/02/2024', 'HPV (Gardasil 9) dose 1'): the vaccine, no condition.
PRODUCT_AFTER = re.compile(r"[ \t]*\((?P<product>[^()\n]{2,40})\)")


def is_a_vaccines_disease(text: str, ent: Span) -> bool:
    product = PRODUCT_AFTER.match(text, ent.end_char)
    return product is not None and names_a_vaccine(product["product"])


def names_the_next(text: str, ent: Span, following: Span | None) -> bool:
    """The mention only qualifies the condition right after it ('Stress hyperglycemia', 'stress
    urinary incontinence'), written as one name with it: no condition of its own."""
    return following is not None and text[ent.end_char : following.start_char] == " "


# 'Appendicitis s/p appendectomy', 'cholecystitis, status post laparoscopic cholecystectomy':
# the inflamed organ ('-itis') was removed ('-ectomy' of the same stem), so the inflammation is
# over. A cancer is not ('Thyroid cancer s/p thyroidectomy' stays a current problem).
REMOVED_AFTER = re.compile(
    r"[ \t,]*(?:s/p|status[ \t]+post)[ \t]+(?:an?[ \t]+)?(?:[a-z-]+[ \t]+){0,2}?"
    r"(?P<organ>[a-z]{5,})ectomy\b",
    re.IGNORECASE,
)
ORGAN_STEM = 5


def is_organ_removed(text: str, ent: Span) -> bool:
    removed = REMOVED_AFTER.match(text, ent.end_char)
    if removed is None:
        return False
    organ = removed["organ"][:ORGAN_STEM].lower()
    return any(
        word.endswith("itis") and word.startswith(organ) for word in ent.text.lower().split()
    )


MAX_LISTED_CONDITION_WORDS = 12


def printed_icd10(written: str) -> list[str]:
    """The valid ICD-10-CM codes printed in a name ('Asthma (493.90, J45.909)': J45.909)."""
    return [valid for code in CODE_IN_PARENTHESES.findall(written) if (valid := icd10cm_code(code))]


def listed_conditions(doc: Doc, skip_regions: list[Region]) -> list[ConditionFact]:
    """The lines right under a problem or diagnosis title (before any other line) that print a
    condition with its code ('Malignant neoplasm of upper-inner quadrant of female breast
    (174.2)' under 'Preoperative Diagnosis') or name an ICD-10-CM description, which the lexicon
    may not know: one condition per line, named by the line without its code."""
    text = doc.text
    matched = [(ent.start_char, ent.end_char) for ent in doc.ents if ent.label_ == CONDITION]
    resolved = resolved_lines(doc)
    facts = []
    for section in doc._.sections:
        listing = section.category in (PROBLEMS, PAST_HISTORY)
        if (
            not (listing or section.category == ASSESSMENT_AND_PLAN)
            or section.body_end <= section.body_start
        ):
            continue
        start = doc[section.body_start].idx
        last = doc[section.body_end - 1]
        for line in re.finditer(r"[^\n]+", text[start : last.idx + len(last.text)]):
            line_start, line_end = start + line.start(), start + line.end()
            if any(line_start <= a < line_end for a, _ in matched):
                continue  # the lexicon's condition (condition_facts)
            fact = coded_condition_line(text, line_start, line_end, printed_only=not listing)
            if not listing:  # an assessment's item the writer coded ('1. ACL tear (S83.512A)')
                if fact is not None and not in_regions(line_start, skip_regions):
                    facts.append(fact)
                continue
            if fact is None or in_regions(line_start, skip_regions):
                break
            if in_regions(line_start, resolved):
                fact.assertion, fact.resolved = Assertion.HISTORICAL, True
            facts.append(fact)
    return facts


DATE_ONLY = re.compile(r"\s*[\[(][\d/ -]*(?:19|20)\d{2}[\])]\s*")


def coded_condition_line(
    text: str, start: int, end: int, printed_only: bool = False
) -> ConditionFact | None:
    """The condition a list line names, by its printed code or the ICD-10-CM index (only by a
    valid printed ICD-10-CM code when `printed_only`)."""
    item = LIST_MARKER.sub("", text[start:end], count=1).strip()
    name = clean_name(item)
    printed = TRAILING_CODES.search(item)
    if printed and DATE_ONLY.fullmatch(printed.group()):
        printed = None  # '(2005)' is when, not a code
    if printed_only and not (printed and printed_icd10(printed.group())):
        return None
    code = icd10_code(name)
    if not (printed or code) or names_a_procedure(name):
        return None
    if not 0 < len(name.split()) <= MAX_LISTED_CONDITION_WORDS:
        return None
    if is_absence(name) or not re.search(r"[A-Za-z]{3}", name):
        return None
    return ConditionFact(
        quote=quote_for(text, start, end),
        text=name,
        icd10_code=code or next(iter(printed_icd10(item)), None),
        assertion=Assertion.PRESENT,
    )


# A verification status printed after the problem's name ('Angina(Confirmed)'): not part of the
# name; an unconfirmed one makes it possible, a refuted one negated.
VERIFICATION = re.compile(
    r"[ \t]*\((?:(?P<confirmed>confirmed)|(?P<unconfirmed>suspected|provisional|differential"
    r"|probable|possible|working)|(?P<refuted>refuted|ruled[ \t]+out))\)[ \t]*$",
    re.IGNORECASE,
)
REMISSION_STATUS = re.compile(r"\bremission\b", re.I)  # a current problem, not a resolved one


# A problem-list item of the patient's past ('History of right hip fracture s/p ORIF 2022
# (healed)'): historical, resolved when a remark says it healed or resolved.
HISTORY_OF = re.compile(r"(?:(?:personal[ \t]+)?history[ \t]+of|hx[ \t]+of|h/o)[ \t]+", re.I)
RESOLVED_REMARK = re.compile(r"[ \t]*\([^()]*\b(?:resolved|healed)\b[^()]*\)", re.I)


def condition_from_row(
    table: Table, row: TableRow, text: str, listed_resolved: bool = False
) -> ConditionFact | None:
    """A problem-list row: its name cell is the condition (codes after it dropped, an ICD-10-CM
    code printed there or in a code column kept, else looked up in the ICD-10-CM index); a
    resolved status, or none in a list of resolved problems, makes it historical and resolved,
    an inactive, historical or past one, or 'No' in an 'Active' column, historical and inactive
    (a problem merely listed stays active), a remission status in remission; a verification status
    after the name ('(Suspected)', '(Refuted)') makes it possible or negated; 'History of ...'
    historical, and resolved with a remark that it healed or resolved. A form's field answered
    none ('Isolation: [X] None') is no fact. In a questionnaire
    ('Condition | Response') a 'N' answer negates it and a question left unanswered, or answered
    otherwise, is no fact."""
    cell = table.name_cell(row)
    field = CELL_FIELD.fullmatch(cell.text) if cell else None
    if cell is None or is_absence((field["value"] if field else cell.text).strip(" ,;")):
        return None  # (a form's field answered none: 'Isolation: [ ] MRSA [X] None')
    answer = table.cell(row, "answer")
    answer_text = answer.text.strip() if answer else ""
    answered_no = bool(NO_ANSWER.fullmatch(answer_text))
    if "answer" in table.roles and not (answered_no or YES_ANSWER.fullmatch(answer_text)):
        return None
    verification = VERIFICATION.search(cell.text)
    written = cell.text[: verification.start()] if verification else cell.text
    history = HISTORY_OF.match(written)
    healed = RESOLVED_REMARK.search(written)
    if history:  # 'History of right hip fracture s/p ORIF 2022 (healed)'
        written = RESOLVED_REMARK.sub("", written[history.end() :]).split(" s/p ")[0]
    name = clean_name(written)
    if not name or not re.search(r"[A-Za-z]{3}", name):
        return None
    printed = printed_icd10(cell.text)
    status_text = table.status_text(row)
    resolved, inactive = status_says(status_text)
    resolved = resolved or (listed_resolved and not status_text) or bool(history and healed)
    inactive = not resolved and (inactive or table.says_not_current(row))
    in_code_columns = [icd10cm_code(code.text) for code in table.cells(row, "code")]
    printed = [icd10cm_code(printed_code(row, ICD10_SYSTEM)), *in_code_columns, *printed]
    past = resolved or inactive or history
    assertion = Assertion.HISTORICAL if past else Assertion.PRESENT
    if answered_no:
        assertion = Assertion.NEGATED
    elif verification and verification["unconfirmed"]:
        assertion = Assertion.POSSIBLE
    elif verification and verification["refuted"]:
        assertion = Assertion.NEGATED
    return ConditionFact(
        quote=quote_for(text, cell.start, cell.end),
        text=name,
        icd10_code=next((code for code in printed if code), None) or icd10_code(name),
        assertion=assertion,
        resolved=resolved,
        inactive=inactive,
        in_remission=bool(REMISSION_STATUS.search(status_text)),
    )


# The first cell of a diagnoses table's row that says what kind its diagnoses are ('| Principal |
# Acute cholangitis (K80.33) |', '| Ruled out | Acute pancreatitis; acute coronary syndrome |'):
# a label, never a condition; the conditions are those named in the row's other cells.
DIAGNOSIS_LABEL = re.compile(
    r"(?:principal|primary|secondary|admitting|admission|discharge|final|working|other"
    r"|additional|chronic|active|comorbidit(?:y|ies)|(?P<excluded>ruled[ \t]+out|excluded)"
    r"|(?P<past>history|past|resolved))(?:[ \t]+(?:diagnos[ie]s|problems?|dx))?[ \t]*:?",
    re.IGNORECASE,
)


def labelled_row_conditions(doc: Doc, row: TableRow, label: re.Match[str]) -> list[ConditionFact]:
    """The conditions a labelled row names after its label, as its label says: ruled out is
    negated, history past; the others as the text says."""
    start, end = row.filled()[1].start, row.filled()[-1].end
    facts = []
    for ent in doc.ents:
        if ent.label_ != CONDITION or not start <= ent.start_char < end:
            continue
        assertion = assertion_of(ent)
        if label["excluded"]:
            assertion = Assertion.NEGATED
        elif label["past"] and assertion == Assertion.PRESENT:
            assertion = Assertion.HISTORICAL
        facts.append(
            ConditionFact(
                quote=quote_for(doc.text, ent.start_char, ent.end_char),
                text=normalize_space(ent.text),
                icd10_code=printed_code_after(doc.text, ent, None)
                or ent._.target_rule.metadata["icd10_code"]
                or None,
                assertion=assertion,
                in_remission=has_modifier(ent, "REMISSION"),
            )
        )
    return facts


def row_label(table: Table, row: TableRow) -> re.Match[str] | None:
    """The label opening a row of a table without a header row (with one, its first column is
    what the header says: '| Status | Problem |' rows are read by their columns)."""
    filled = row.filled()
    if table.header is not None or len(filled) < 2:
        return None
    return DIAGNOSIS_LABEL.fullmatch(filled[0].text)


def table_conditions(doc: Doc, tables: list[Table]) -> list[ConditionFact]:
    """Problem-list rows (resolved ones under a 'Resolved Problems' heading); a continuation row
    printing the ICD-10-CM code codes the row above; a row labelled with its diagnoses' kind
    (`DIAGNOSIS_LABEL`) gives the conditions its other cells name."""
    text = doc.text
    resolved = resolved_lines(doc)
    facts: list[ConditionFact] = []
    for table in tables:
        if table.kind not in (PROBLEMS, PAST_HISTORY):
            continue
        last: ConditionFact | None = None
        for row in table.rows:
            if label := row_label(table, row):
                facts += labelled_row_conditions(doc, row, label)
                last = None
            elif not row.continues:
                last = condition_from_row(table, row, text, in_regions(row.start, resolved))
                facts += [last] if last else []
            elif last and (code := icd10cm_code(printed_code(row, ICD10_SYSTEM))):
                last.icd10_code = code
    return facts
