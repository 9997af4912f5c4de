"""Sectionizer rules: the titles EHRs print (`lexicon/section_titles.csv`, `section_rules.csv`),
what a section asserts of its mentions, and which sections hold no facts."""

import functools
import re

from medspacy.section_detection import SectionRule
from spacy.language import Language
from spacy.tokens import Doc

from medpipeline.extraction.offline.lexicons import (
    read_lexicon,
    split_names,
)
from medpipeline.extraction.offline.text import (
    AS_OF_A_DATE,
)

MEDICATIONS = "medications"  # medspaCy's section category


def section_rules(nlp: Language, default_rules_path: str) -> list[SectionRule]:
    """medspaCy's default headers that end with a colon, plus ours (lexicon/section_rules.csv)."""
    rules = [
        rule for rule in SectionRule.from_json(default_rules_path) if rule.literal.endswith(":")
    ]
    for row in read_lexicon("section_rules.csv"):
        pattern = None
        if row["case_sensitive"] == "yes":
            pattern = [{"TEXT": token.text} for token in nlp.tokenizer(row["header"])]
        max_scope = int(row["max_scope"]) if row["max_scope"] else None
        rules.append(SectionRule(row["header"], row["category"], pattern, max_scope=max_scope))
    for row in read_lexicon("section_titles.csv"):
        rules.append(SectionRule(row["title"], row["category"], pattern=whole_line_title(row)))
        if row["category"] not in LISTS_NO_LABEL_STARTS:
            rules.append(SectionRule(row["title"], row["category"], pattern=labelled_title(row)))
    rules.append(SectionRule("medications label", MEDICATIONS, pattern=MEDICATIONS_LABEL))
    return rules


# A label naming the patient's medications with words of when or where ('Home meds continued:',
# 'Meds at discharge:'), at a line's start or after a sentence (`HEADER_LEAD`): a medication
# list starts there. Not one naming what was done to them ('Meds given:', 'Stopped meds:').
_MEDICATIONS_WORD = r"(?:meds|medications|medicines)"


MEDICATIONS_LABEL = (
    r"(?i)(?<![\w/-])(?:(?:home|current|outpatient|usual|chronic|daily|active|other)[ \t]+)?"
    rf"{_MEDICATIONS_WORD}(?:[ \t]+(?:continued|unchanged|reviewed|reconciled|list"
    r"|(?:at|on)[ \t]+(?:discharge|admission|transfer)))?[ \t]*:"
)


# A plural's ending as forms print it too: 'PROCEDURE(S)', 'Medication(s)'.
PRINTED_PLURAL = r"(?:s|\(s\))"


def title_word(word: str) -> str:
    """A title's word as printed: 'and' also as '&', a plural also as 'PROCEDURE(S)'."""
    if word == "and":
        return "(?:and|&)"
    if word.endswith("s") and len(word) > 3:
        return rf"{re.escape(word[:-1])}{PRINTED_PLURAL}"
    return re.escape(word)


def joined_titles(row: dict[str, str], status_titles: bool = True) -> str:
    """One of the row's titles (`title_word`: 'Assessment & Plan', 'Procedure(s) Performed'), or
    several of them joined by commas, '&', '/' or 'and' ('Allergies, Adverse Reactions and
    Alerts'); without those naming a status ('Stopped medications') unless `status_titles`."""
    titles = "|".join(
        r"[ \t]+".join(title_word(word) for word in title.split())
        for title in sorted(split_names(row["title"]), key=len, reverse=True)
        if status_titles or not STATUS_WORD.search(title)
    )
    return rf"(?:{titles})(?:[ \t]*(?:,|&|/|\band\b)[ \t]*(?:and[ \t]+)?(?:{titles}))*"


# A scan's specks around a title on its line: quotes, brackets or stops before it ('“ALLERGIES:',
# '(CURRENT MEDICATIONS:'; not a list's bullet, not a table's bar), marks after its colon ('PAST
# MEDICAL HISTORY: |', 'ALLERGIES: | ,™').
_SPECKS_BEFORE = "(?:[\"'“”‘’(\\[_.,;:~]){0,3}"


_SPECKS_AFTER = r"(?:[ \t]*(?:[^\w\s]|_)){1,4}"


# A word of when or where before a title printed as a whole line ('Current Medication List',
# 'Admission Labs', 'Admission Vital Signs (17:55)'), and a setting or a remark after it
# ('Medications Given in ED Prior to Arrival on Unit', 'Active Problems (per admission H&P)',
# 'Medication Reconciliation and Recommendations').
# Without them the title was no section's start, and the allergies above a 'Current Medication
# List' made every drug of its table an allergy. A setting only: 'Labs in 2 weeks' is a plan.
# ('Prenatal Labs', 'Hospital Discharge Labs', 'Medications Administered at Dialysis Today')
_TITLE_QUALIFIER = (
    r"(?:(?:current|active|home|admission|admitting|discharge|outpatient|inpatient|recent"
    r"|pertinent|latest|today'?s|ed|er|emergency[ \t]+department|hospital|nursing|initial"
    r"|prenatal|pre-?operative|pre-?procedure|baseline|last|most[ \t]+recent)[ \t]+){0,2}"
)


_TITLE_SETTING = (
    r"(?:[ \t]+and[ \t]+(?:recommendations|changes))?"
    r"(?:[ \t]+(?:in|at|on|during|prior[ \t]+to|before|after|upon)[ \t]+(?:the[ \t]+)?"
    r"(?:ed|er|emergency[ \t]+department|admission|discharge|arrival|transfer|clinic|office"
    r"|visit|presentation|triage|surgery|unit|floor|dialysis|hemodialysis|bedside"
    r"|(?:cath(?:eterization)?[ \t]+)?lab|procedure[ \t]+room|recovery|pacu)\b[^\n:()/]{0,40})?"
    r"(?:[ \t]*\([^()\n]{1,40}\))?"
    # what the list says besides ('HOME MEDICATIONS / STATUS AT TRANSFER', 'ACTIVE MEDICATIONS -
    # LAST DOSE GIVEN'; not an answer: 'Allergies - none')
    r"(?:[ \t]*[/\u2013-][ \t]*(?!(?:none|no|nil|nkda|nka|negative|denie[sd]|unknown|n/a)\b)"
    r"[A-Za-z][A-Za-z ]{0,30})?"
)


# A form's number before its section's title ('3. ALLERGIES', 'IV. MEDICATIONS', 'B) VITALS').
_SECTION_NUMBER = r"(?:(?:\d{1,2}|[IVX]{1,4}|[A-H])[.)][ \t]+)?"


# A table's caption row printing the title in its first cell and nothing in the others ('|
# MEDICATIONS |  |  |'): the section starts there (else the family history above went on over
# the medication and allergy tables, and re-reading an allergy there made it a relative's).
_CAPTION_CELL = r"(?:\|[ \t]*)?"
_EMPTY_CELLS = r"(?:\|[ \t]*)*"


def whole_line_title(row: dict[str, str]) -> str:
    """A regex (medspaCy's RegexMatcher) matching the row's titles as a whole line, any case, with
    an optional colon: 'Vital Signs', 'ALLERGIES AND ADVERSE REACTIONS:', '3. ALLERGIES', and
    OCR's specks."""
    return (
        rf"(?im)^[ \t]*{_CAPTION_CELL}{_SPECKS_BEFORE}[ \t]?{_SECTION_NUMBER}{_TITLE_QUALIFIER}"
        rf"{joined_titles(row)}"
        rf"{_TITLE_SETTING}{AS_OF_A_DATE}(?:[ \t]*:{_SPECKS_AFTER}|[ \t]*:?)[ \t]*"
        rf"{_EMPTY_CELLS}(?=\n|\Z)"
    )


def labelled_title(row: dict[str, str]) -> str:
    """The row's titles as a label its items follow on the same line ('Problems: HTN, DM2'),
    at a line's start or, in a note that runs its labels on, after a sentence (`HEADER_LEAD`)."""
    return (
        rf"(?i)(?<![\w/-]){joined_titles(row, status_titles=False)}{AS_OF_A_DATE}"
        rf"(?:[ \t]*\([^()\n]{{1,30}}\))?[ \t]*:(?=[ \t]*\S)"  # 'Surgeries (list with year):'
    )


# A title's word that says what became of its items: on the items' line, ConText reads it there
# ('Stopped medications: lisinopril (because of AKI)').
STATUS_WORD = re.compile(
    r"\b(?:discontinued|stopped|inactive|past|expired|administered|resolved|held)\b", re.I
)


@functools.cache
def section_title_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each row's whole-line title pattern with its section category."""
    return tuple(
        (re.compile(whole_line_title(row)), row["category"])
        for row in read_lexicon("section_titles.csv")
    )


def section_title_category(text: str) -> str | None:
    """The category of the section title the text is ('Home Medications (prior to admission)':
    medications; of two titles joined by a slash, the first's: 'Past Medical History / Problem
    List'), or None."""
    for title in (text, text.split("/")[0]):
        for pattern, category in section_title_patterns():
            if pattern.search(title):
                return category
    return None


def is_section_title(text: str) -> bool:
    """Whether the text is a section title EHRs print ('Vital Signs', 'Allergies, Adverse
    Reactions & Alerts'), as in a table cell of a rendered table of contents."""
    return any(pattern.search(text) for pattern, _ in section_title_patterns())


# What a section says about its mentions: medspaCy's defaults but the allergy section (handled
# here: an allergy is neither a condition nor a medication).
SECTION_ASSERTIONS = {
    "past_medical_history": {"is_historical": True},
    "sexual_and_social_history": {"is_historical": True},
    "family_history": {"is_family": True},
    "patient_instructions": {"is_hypothetical": True},
    "education": {"is_hypothetical": True},
    "plan_of_care": {"is_hypothetical": True},
    "planned_procedures": {"is_hypothetical": True},
}


# Sections whose items are none of the extracted kinds (a vaccine is not a medication statement,
# a planned activity not a condition): no condition or medication is read from their narrative.
# Family and social history are read: ConText and the section mark them family or historical.
NO_FACT_SECTIONS = {
    "immunizations",
    "obstetric_history",  # counts and dates of pregnancies and screenings, not conditions
    "plan_of_care",
    "planned_procedures",
    "functional_status",
    "administrative",
    "encounters",
    "contents",  # a rendered table of contents
}


# Sections a label with its items on the same line does not open: what they say of their items
# (not facts, hypothetical) would reach the prose after the label's line ('Immunizations: up
# to date. Hypertension, diabetes.'); only a title on a line of its own opens them.
LISTS_NO_LABEL_STARTS = NO_FACT_SECTIONS | {
    category
    for category, attributes in SECTION_ASSERTIONS.items()
    if "is_hypothetical" in attributes
}


# What the token before a section header ends with: a line break, or a sentence's full stop or a
# ';' in a note that runs its labels on in one paragraph ('Allergies: penicillin (hives).
# Medications: lisinopril 10 mg daily. PMH: HTN.'), where the allergy section ran over the
# medications and problems.
HEADER_LEAD = r"(?:[\n\r]+[\s]*|^[.;][ \t]+)$"


PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


LABELLED_PARAGRAPHS = "medpipeline_labelled_paragraphs"


@Language.component(LABELLED_PARAGRAPHS)
def labelled_paragraphs(doc: Doc) -> Doc:
    """A section a label opens on its content's line ('Family history: Her mother has MS.') is
    that paragraph: what follows a blank line is not the family's, the past's or the plan's
    (the sectionizer runs a section on to the next title, so the patient's own drugs and
    allergies below were the mother's)."""
    text = doc.text
    for section in doc._.sections:
        attributes = SECTION_ASSERTIONS.get(section.category)
        if not attributes or section.title_end <= section.title_start:
            continue
        title_end = doc[section.title_end - 1].idx + len(doc[section.title_end - 1])
        line_end = text.find("\n", title_end)
        body_end = doc[section.body_end - 1].idx if section.body_end > section.body_start else 0
        if line_end < 0 or not text[title_end:line_end].strip(" \t:"):
            continue  # a title on a line of its own heads the whole section
        paragraph_end = PARAGRAPH_BREAK.search(text, line_end, body_end)
        if paragraph_end is None:
            continue
        targets = [*doc.ents, *(span for group in doc.spans.values() for span in group)]
        for target in targets:
            if paragraph_end.end() <= target.start_char <= body_end:
                for attribute in attributes:
                    setattr(target._, attribute, False)
    return doc
