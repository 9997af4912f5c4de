"""What the words around a drug say of it: ordered or listed, started, stopped, switched, held,
given once, proposed or an example; the lists of an after-visit summary that order or stop."""

import re

from spacy.tokens import Span

from medpipeline.extraction.offline.context_scope import (
    IF_WORD,
    has_own_verb,
    is_coordinated,
    reaches_target,
    sentence_mentions,
)
from medpipeline.extraction.offline.pipeline import assertion_of, has_modifier
from medpipeline.extraction.offline.section_rules import is_section_title
from medpipeline.extraction.offline.term_matcher import CONDITION, DRUG
from medpipeline.extraction.offline.text import (
    COLUMN_GAP,
    HEADING_MARK,
    Region,
    in_regions,
    next_line,
    sentence_region,
)
from medpipeline.extraction.schema import Assertion

# What the document sends the patient home with: orders of this document.
DISCHARGE_LIST = (
    r"(?:discharge|hospital discharge) medications?(?: reconciliation| list)?"
    r"|medications (?:at|on) discharge"
)


MEDICINES = r"(?:medications?|medicines?|meds)"


# The lists of an after-visit summary that order ('START taking these medications', 'CHANGE how
# you take these medications', 'New medicines:'), bulleted or not.
ORDER_LIST = (
    rf"new[ \t]+{MEDICINES}|start(?:[ \t]+taking)?(?:[ \t]+these)?(?:[ \t]+{MEDICINES})?"
    # 'Started Today', 'New medications started today'
    rf"|(?:(?:new[ \t]+)?{MEDICINES}[ \t]+)?started[ \t]+(?:today|this[ \t]+visit)"
    rf"|change[ \t]+how[ \t]+you[ \t]+take(?:[ \t]+these)?(?:[ \t]+{MEDICINES})?"
)


ORDER_LIST_HEADER = re.compile(
    rf"^[ \t]*{HEADING_MARK}(?:{ORDER_LIST})[ \t]*:?[ \t]*$", re.IGNORECASE | re.MULTILINE
)


PRESCRIBED_HEADER = re.compile(
    rf"^[ \t]*{HEADING_MARK}(?:.*\bprescribed the following medications?"
    rf"|(?:new |discharge )?prescriptions|medications prescribed|rx|{ORDER_LIST}|{DISCHARGE_LIST})"
    # 'Discharge prescriptions / instructions:'
    r"(?:[ \t]*/[ \t]*(?:instructions|orders))?[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


# A list of the drugs to stop ('Stop taking:', 'STOP taking these medications', 'Discontinued
# medications:', 'Medications stopped:'): every drug named on its lines is stopped, however
# the list is written (bulleted or not), up to where `header_list_regions` ends it.
STOP_LIST_HEADER = re.compile(
    rf"^[ \t]*{HEADING_MARK}(?:stop(?:[ \t]+taking)?(?:[ \t]+these)?(?:[ \t]+{MEDICINES})?"
    rf"|(?:discontinued?|stopped|(?:not|no[ \t]+longer)[ \t-]+taking)(?:[ \t]+{MEDICINES})?"
    r"(?:[ \t]+(?:today|this[ \t]+visit))?"
    rf"|{MEDICINES}[ \t]+(?:stopped|discontinued|to[ \t]+stop)"
    # 'SECTION C - INPATIENT-ONLY MEDICATIONS NOT CONTINUED AT DISCHARGE'
    rf"|[^\n:]{{0,40}}\b{MEDICINES}[ \t]+not[ \t]+(?:continued|to[ \t]+be[ \t]+continued)"
    r"(?:[ \t]+(?:at|on|after)[ \t]+discharge)?"
    rf"|do[ \t]+not[ \t]+take(?:[ \t]+these)?(?:[ \t]+{MEDICINES})?)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


# Where a dose is given during the visit: 'in the ED', 'at the infusion center'.
GIVEN_PLACE = (
    r"(?:ed|er|emergency[ \t]+department|clinic|office|procedure|visit|bedside"
    r"|(?:hemo)?dialysis|infusion(?:[ \t]+cent(?:er|re))?)"
)


# A list of what was given during the visit or procedure ('Medications given in the ED:',
# 'PREMEDICATIONS GIVEN:', 'SEDATION/MEDICATIONS DURING PROCEDURE:', 'Medications / Sedation',
# 'Medications administered:', 'Medications Administered at Dialysis Today', 'Medications Given
# in ED Prior to Arrival on Unit', 'ADMINISTERED TODAY', 'Treatment given today (Day Unit)'):
# each drug is a dose given, not one the patient is on.
GIVEN_LIST_HEADER = re.compile(
    rf"^[ \t]*{HEADING_MARK}(?:{MEDICINES}[ \t]*/[ \t]*(?=sedation))?(?:sedation[ \t]*/[ \t]*)?"
    r"(?:premedications?|sedation"
    # 'SEDATION / MEDICATIONS (administered by anesthesia, MAC):'
    rf"|(?:{MEDICINES}|treatments?|infusions?)"
    r"(?=[ \t]+\(?(?:given|administered|received|during)\b)"
    # 'ADMINISTERED TODAY', 'Administered in clinic'
    r"|(?=(?:administered|given)[ \t]+(?:today|this[ \t]+visit|in|during|at)\b))"
    r"[ \t]*(?:(?:given|administered|received)[ \t]*)?"
    rf"(?:(?:today|this[ \t]+visit)|(?:in|during|at)[ \t]+(?:the[ \t]+)?{GIVEN_PLACE}"
    r"(?:[ \t]+today)?)?"
    r"(?:[ \t]+(?:prior[ \t]+to|before)[ \t]+[^\n:]{1,40})?"
    r"(?:[ \t]*\([^()\n]{1,40}\))?[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


# A table's caption naming doses given ('ED COURSE / MEDICATIONS ADMINISTERED', 'Medications
# Given in Clinic', 'Administered today'): its rows are completed administrations.
GIVEN_CAPTION = re.compile(
    rf"\b{MEDICINES}[ \t]+(?:given|administered|received)\b"
    r"|^(?:administered|given)[ \t]+(?:today|this[ \t]+visit|in|during|at)\b"
    # (not a nursing home's medication administration record: its rows are the regimen, each
    # scheduled dose initialled in the hours' columns)
    r"|\bmedication[ \t]+administration\b(?![ \t]+record)",
    re.IGNORECASE,
)


# A row's comment that its dose was given during a visit ('No Longer Active | Administered in
# office'): a dose given, no news against the row listing the drug the patient goes on taking.
GIVEN_IN_ROW = re.compile(
    rf"\b(?:administered|given)[ \t]+(?:in|at|during)[ \t]+(?:the[ \t]+)?{GIVEN_PLACE}\b",
    re.IGNORECASE,
)


# A status column of a medication row printed without bars, in any case, with the year it
# happened, at the row's end or before a comment column ('Lisinopril   10 mg daily   D/C',
# 'Escitalopram   20 mg   stopped 2022', 'Spironolactone  25 mg  daily  Hold  K 5.3; recheck');
# a pending one is not taken yet ('Dapagliflozin  10 mg  daily  Pending  start once approved').
PENDING_STATUS = r"pending|planned"


STATUS_COLUMN = re.compile(
    rf"[^\n]*?(?:{COLUMN_GAP})(?P<status>completed|discontinued?|d/c|stopped|expired|inactive"
    rf"|held|hold|on[ \t]+hold|active|not[ \t]+taking|(?P<pending>{PENDING_STATUS}))"
    r"(?:[ \t]+(?:\d{1,2}/)?(?:19|20)\d\d)?"
    rf"(?:(?:{COLUMN_GAP})[^\n]*)?[ \t]*$",
    re.IGNORECASE,
)


MAX_LIST_LINES = 30


# Where such a list ends: a label line ('Follow-up:'), the next list's header ('CONTINUE taking
# these medications') or another instruction ('Continue your other home medicines'), or a label
# of other medications with its items ('Inpatient-only medications not continued: ceftriaxone').
OTHER_MEDICATIONS_LABEL = rf"^[^\n:|]{{0,40}}\b{MEDICINES}\b[^\n:|]{{0,30}}:"
NEXT_LIST_LINE = re.compile(
    r"^[^\n]{1,60}:[ \t]*$"
    rf"|{OTHER_MEDICATIONS_LABEL}"
    r"|^[ \t]*(?:continue|keep|start|resume|restart|change|increase|decrease|stop)\b",
    re.IGNORECASE,
)


OTHER_MEDICATIONS_LINE = re.compile(OTHER_MEDICATIONS_LABEL, re.IGNORECASE | re.MULTILINE)


def until_other_medications(text: str, regions: list[Region]) -> list[Region]:
    """Each region up to a line labelling other medications ('Discharge Medications' then its
    table, then 'Inpatient-only medications not continued: ceftriaxone ...')."""
    cut = []
    for start, end in regions:
        first_line_end = text.find("\n", start, end)
        other = (
            OTHER_MEDICATIONS_LINE.search(text, first_line_end + 1, end)
            if first_line_end >= 0
            else None
        )
        cut.append((start, other.start() if other else end))
    return cut


def header_list_regions(text: str, header: re.Pattern[str]) -> list[Region]:
    """The lines after each header line up to a blank line or the next list or instruction."""
    regions = []
    for match in header.finditer(text):
        end = match.end()
        for _ in range(MAX_LIST_LINES):
            line, line_end = next_line(text, end)
            if (
                end >= len(text)
                or not line.strip()
                or NEXT_LIST_LINE.match(line)
                or is_section_title(line.strip())
            ):
                break
            end = line_end
        regions.append((match.end(), end))
    return regions


PRESCRIBED_IN_SENTENCE = re.compile(
    r"\b(?:prescribed|prescribe|prescribing|(?:a[ \t]+)?(?:new[ \t]+)?prescription[ \t]+for)\b",
    re.IGNORECASE,
)


# The writer's own decision to start or change a drug ('We will increase her lisinopril to 40 mg
# daily and initiate Lasix', 'Start metformin 500 mg', 'Add empagliflozin', 'Will trial
# omeprazole', 'Restart furosemide') is an order too, where 'continue' or 'was started on' (a
# hospital course) only says what the patient is on. Made on a condition after the drug ('we
# will start lisinopril if ...'), it is only planned.
# A sentence's start (after a list number: '1. Increase morphine ER to 45 mg'), or a clause's
# after a dash or ';' ('Depression screen positive - will start sertraline').
# (an assessment's numbered item may name its problem first: '3. Hypomagnesemia: start magnesium
# oxide'; not 'Options: resume bisphosphonate vs denosumab')
CLAUSE_START = (
    r"(?:^|\s[-\u2013]\s|;\s*)\W*(?:\d{1,2}[.)]\s*)?"
    # a problem's label ('Constipation: add polyethylene glycol'), not a choice's ('Options:')
    r"(?:(?!(?:options?|alternatives?|choices?)\b)[A-Za-z][\w ,'/()-]{0,40}:\s*)?"
    r"(?:(?:plan|rx)\s*:\s*)?"
)


# 'Switch adalimumab to tofacitinib', 'change from lisinopril to losartan', 'Narrowed
# vancomycin/cefepime to ceftriaxone', 'Stepped down from doxycycline to oral cefuroxime': the
# writer stops the first drug and orders the second.
SWITCH_VERB = (
    r"(?:(?:switch|convert|transition|narrow|broaden)(?:ed)?|changed?|de-?escalated?"
    r"|step(?:ped)?\s+down)"
)


SWITCH_FROM = re.compile(
    rf"{CLAUSE_START}(?:will\s+|plan\s+to\s+)?{SWITCH_VERB}\s+(?:(?:him|her)\s+)?(?:from\s+)?$",
    re.I,
)


SWITCH_TO_NEXT = r"[^.;:\n]{0,60}?\bto\s+(?:oral\s+|po\s+|iv\s+)?$"  # '... to (oral) <drug>'


SWITCH_TO = re.compile(SWITCH_TO_NEXT, re.IGNORECASE)


WRITER_STARTS = re.compile(
    r"\b(?:we|I)(?:\s+will|'ll|\s+am|'m|\s+are|'re|\s+have|'ve)\s+(?:also\s+|now\s+)?"
    r"(?:initiat|start|begin|add|increas|decreas|reduc|titrat|chang|switch)\w*\b"
    rf"|{CLAUSE_START}(?:will|plan\s+to)\s+(?:also\s+|now\s+)?"
    r"(?:initiat|start|begin|add|trial|try|restart|resum)\w*\b"
    rf"|{CLAUSE_START}(?:start|initiate|begin|increase|decrease|add|restart|resume)\b"
    rf"|{CLAUSE_START}(?:will\s+|plan\s+to\s+)?{SWITCH_VERB}\s+{SWITCH_TO_NEXT}",
    re.IGNORECASE,
)


# A course whose years the item closes ('Infliximab 2021-2024 - secondary loss of response',
# 'Efavirenz/emtricitabine/TDF 2014-2018'): the drug was stopped; 'since 2019', '2021-present'
# are not closed.
_YEAR = r"(?:\d{1,2}/)?(?:19|20)\d{2}\b"


CLOSED_COURSE_AFTER = re.compile(
    rf"[^.;:\n]{{0,40}}?(?<![\w/]){_YEAR}[ \t]*(?:-|\u2013|to)[ \t]*{_YEAR}",
    re.IGNORECASE,
)


def is_switched_from(text: str, ent: Span, next_drug_start: int) -> bool:
    """The writer switches from this drug to the next one ('Switch adalimumab to tofacitinib')."""
    sentence_start, sentence_end = sentence_region(ent)
    return (
        next_drug_start < sentence_end
        and bool(SWITCH_FROM.search(text[sentence_start : ent.start_char]))
        and bool(SWITCH_TO.fullmatch(text, ent.end_char, next_drug_start))
    )


# The drug a stopped one gave way to ('Fluticasone 44 mcg (replaced by budesonide-formoterol)',
# 'Aspirin 81 mg daily - stopped, now on apixaban' in a list of drugs not taken): that one is
# taken.
REPLACEMENT_BEFORE = re.compile(
    r"\b(?:replaced[ \t]+(?:by|with)|switched[ \t]+to|changed[ \t]+to|substituted[ \t]+(?:by|with)"
    # (a word between, 'replaced by oral ...'; not another drug's clause: 'replaced by
    # apixaban); insulin lispro')
    r"|in[ \t]+favou?r[ \t]+of|now[ \t]+(?:on|taking|using))[ \t]+(?:[^\s;,.)]+[ \t]+)?$",
    re.IGNORECASE,
)


CONDITION_AFTER = re.compile(rf"[^.;:\n]*{IF_WORD.pattern}", re.IGNORECASE)


# A character of a condition's clause: a decimal point ends none ('If K < 5.0 on repeat, resume
# spironolactone'), nor a line break the page wrapped it at ('If her blood pressure remains
# above 130/80 at her\nnext visit, I would add amlodipine', 'inadequate at\n24 hours, add'; a
# list's number opens a line as '2.' or '2)').
CLAUSE_CHARACTER = (
    r"(?:[^.;:\n]|\.(?=\d)|(?<=\b[A-Z])\.(?=[ \t]+[a-z])"  # 'If H. pylori positive'
    r"|\n(?=[ \t]*(?:[a-z]|\d+\.\d|\d+(?![\d.)]))))"
)


# A drug to start once a value crosses a bound ('patiromer 8.4 g daily if K >5.5', 'add
# hydrochlorothiazide if home BP > 130/80'): not yet taken, whoever writes it.
ON_A_BOUND_AFTER = re.compile(
    rf"{CLAUSE_CHARACTER}*\b(?:if|unless|once)\b[^;\n]{{0,30}}?"
    r"(?:[<>\u2264\u2265]|\b(?:above|below|greater[ \t]+than|less[ \t]+than)\b)",
    re.IGNORECASE,
)


# 'Discharge medications: lisinopril 10 mg daily', 'New Rx: tamsulosin 0.4 mg daily',
# 'Prescriptions sent: ...', 'NEW: Mirabegron 25 mg PO daily' (the label ends the sentence for
# medspaCy)
PRESCRIPTION_LABEL = re.compile(
    rf"^[ \t]*(?:[-*\u2022][ \t]*)?(?:{DISCHARGE_LIST}|(?:new[ \t]+)?(?:rx|prescriptions?)"
    rf"(?:[ \t]+(?:sent|given|written))?|new(?:[ \t]+{MEDICINES})?)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)


PREVIOUSLY = re.compile(r"\b(?:previously|formerly|was once|in the past)\b", re.IGNORECASE)


# A drug the sentence only proposes ('Consider starting metformin', 'may add lisinopril', 'he
# may receive penicillins in future', 'candidate for statin therapy') or makes conditional ('If
# pain persists, take ibuprofen'): planned, not taken, also across the line the page wrapped it
# over ('plan to\nadd adalimumab'). ConText's hypothetical cues are not used for drugs, since 'as
# needed' is one of them.
PROPOSED_BEFORE = re.compile(
    r"\b(?:consider(?:s|ed|ing)?|discuss(?:es|ed|ing)?|(?:may|could|might)\s+(?:start|try|add"
    r"|receive|begin|need|benefit\s+from|(?:transition|switch|change|convert|step\s+down)"
    # 'we may switch you to cephalexin'
    r"(?:\s+(?:you|him|her|them|the\s+patient))?\s+to)"
    # 'If pain persists, take ibuprofen', 'if BP > 160 take extra clonidine', 'If GBS positive
    # (or unknown at delivery), will give IV penicillin G'
    rf"|if\b{CLAUSE_CHARACTER}*(?:,|\s)\s*(?:(?:you|we|I)\s+)?"
    r"(?:(?:may|can|should|will|would)\s+)?"
    r"(?:take|use|start|try|begin|add|initiate|increase|resume|restart|give|administer"
    r"|treat\s+with|prescribe|offer)"
    r"|will\s+(?:convert|switch|change|transition)\b[^.;:\n]*\bto"
    # 'Should a reaction have occurred, the protocol allows chlorphenamine', 'in case of ...,'
    r"|(?:\bshould\s+(?:a|an|there|the|he|she|they|it|this)|\bin\s+(?:case|the\s+event)"
    rf"\s+of)\b{CLAUSE_CHARACTER}*,[^.;:\n]*\w"
    r"|plan(?:s|ning)?\s+to\s+(?:start|begin|add|initiate|try)|candidate\s+for"
    # 'plans levonorgestrel IUD (Mirena) insertion at 6-week postpartum visit'
    r"|plans(?!\s+to\b)"
    # what the patient asks for: 'asks about starting Ozempic', 'interested in trying melatonin'
    r"|(?:asks|asked|asking|inquires|inquired)\s+about|interested\s+in"
    # 'Requests codeine cough syrup' (not 'requested refills of lisinopril': taken)
    r"|(?:requests|requested|requesting|(?:asks|asked|asking)\s+for)(?!\s+(?:an?\s+)?refills?\b)"
    r"|(?:wants|would\s+like)\s+to\s+(?:start|try)"
    r"|pre-?medicat\w*\s+with"
    # a choice not made yet: 'Options: resume bisphosphonate vs denosumab', 'prior auth for'
    r"|options?(?:\s+(?:include|are|discussed))?\s*:|prior\s+auth(?:orization)?\s+for"
    r"|(?:vs|versus)(?=\.?\s+[^.;:\n]*$)"
    # (to the drug on the line the page wrapped the sentence onto)
    r"|recommend(?:s|ed)?\s+(?:starting|adding|trying|a\s+trial\s+of))\b"
    # (on to the drugs a regimen lists: 'will prescribe quadruple therapy: bismuth, ...')
    r"(?:[^.;:]|(?<=therapy):|(?<=regimen):)*$",
    re.IGNORECASE,
)


# A drug the patient is 'on' ('History of DVT on warfarin', 'PMH: hypertension on lisinopril',
# 'History of atrial fibrillation on metoprolol, diltiazem and apixaban'): the history is the
# condition's, the drugs are taken now; 'was on', 'previously on', 'being on' keep them past.
ON_DRUG_BEFORE = re.compile(
    r"(?<![\w-])(?:on|taking|takes|continues?|continuing)[ \t]+$"
    # 'History of eczema, controlled with emollients and hydrocortisone cream'
    r"|\b(?:controlled|managed|maintained)[ \t]+(?:with|on)\b[^.;:\n]*$",
    re.IGNORECASE,
)


WAS_ON_DRUG_BEFORE = re.compile(
    r"\b(?:was|were|been|being|previously|formerly|once)[ \t]+(?:on|taking)[ \t]+$", re.IGNORECASE
)


def list_start(text: str, ent: Span) -> int:
    """Where the list of drugs the mention belongs to begins ('on metoprolol, diltiazem and
    apixaban': at metoprolol)."""
    drugs = sentence_mentions(ent)
    index = drugs.index(ent)
    while index > 0 and is_coordinated(text, drugs[index - 1], drugs[index]):
        index -= 1
    return drugs[index].start_char


def cue_before(pattern: re.Pattern[str], text: str, ent: Span) -> bool:
    """The pattern matches in the drug's sentence before it, where it is about this drug (not
    only another item of the same list)."""
    sentence_start, _ = sentence_region(ent)
    return any(  # (where the cue's words start: a clause's ';' before them is the item before's)
        reaches_target(ent, sentence_start + match.end() - len(match.group().lstrip("; \t\n")))
        for match in pattern.finditer(text[sentence_start : ent.start_char])
    )


# What is proposed is to stop or lower the drug the patient takes ('considering stopping
# sertraline'), not to take it.
STOP_PROPOSED = re.compile(
    r"\b(?:stop\w*|discontinu\w*|hold\w*|taper\w*|wean\w*|reduc\w*|decreas\w*|lower\w*)"
    r"\s+(?:(?:his|her|the|their)\s+)?(?:\w+\s+)?$",
    re.IGNORECASE,
)


def changed_for_a_contraindication(ent: Span) -> bool:
    negations = [m for m in ent._.modifiers if m.category == "NEGATED_EXISTENCE"]
    return (has_modifier(ent, "MED_HELD") or has_modifier(ent, "MED_STOPPED")) and all(
        ent.doc[m.modifier_span[0] : m.modifier_span[1]].text.lower() == "contraindicated"
        for m in negations
    )


# Examples in brackets of what the patient is to avoid ('Avoid all NSAIDs (Aleve, Advil,
# Motrin)', 'avoid benzodiazepines (e.g., clonazepam)'): however far the bracket runs from the cue.
AVOIDED_EXAMPLE_BEFORE = re.compile(
    r"\b(?:avoid(?:ing)?|do[ \t]+not[ \t]+(?:use|take))\b[^.;()\n]{0,40}\([^()\n]*$",
    re.IGNORECASE,
)


def medication_assertion(text: str, ent: Span) -> Assertion:
    """ConText's assertion, hypothetical when the sentence only proposes the drug, present when
    a history names the drug the patient is on, present when it is held or stopped because it
    is contraindicated ('Hold sumatriptan (contraindicated in CAD)': on hold, not never taken)."""
    assertion = assertion_of(ent, hypothetical_allowed=False)
    if assertion == Assertion.NEGATED and changed_for_a_contraindication(ent):
        return Assertion.PRESENT
    sentence_start, _ = sentence_region(ent)
    if AVOIDED_EXAMPLE_BEFORE.search(text, sentence_start, ent.start_char):
        return Assertion.NEGATED
    before_list = text[sentence_start : list_start(text, ent)]
    if (
        assertion == Assertion.HISTORICAL
        and ON_DRUG_BEFORE.search(before_list)
        and not WAS_ON_DRUG_BEFORE.search(before_list)
    ):
        return Assertion.PRESENT
    condition = CONDITION_AFTER.match(text, ent.end_char)
    proposed = (
        (
            cue_before(PROPOSED_BEFORE, text, ent)
            and not STOP_PROPOSED.search(text, sentence_start, ent.start_char)
        )
        or is_a_proposed_example(text, ent, sentence_start)
        or starts_on_a_date(text, ent)
        or (condition and cue_before(WRITER_STARTS, text, ent))
        or (condition and opens_its_item(text, ent) and not is_an_indication(ent, condition))
        or PROPOSED_AFTER.match(text, ent.end_char)
        or ON_A_BOUND_AFTER.match(text, ent.end_char)
    )
    later = LATER_START_BEFORE.search(text, sentence_start, ent.start_char) and (
        STARTED_AFTER.match(text, ent.end_char)
    )
    if (proposed or later) and assertion == Assertion.PRESENT:
        return Assertion.HYPOTHETICAL
    return assertion


# An example of a class of drugs the sentence proposes ('considering a statin (e.g. atorvastatin
# 20 mg)', 'a TNF inhibitor such as adalimumab').
EXAMPLE_BEFORE = re.compile(
    r"[ \t]*\(?(?:\bsuch[ \t]+as|\be\.g\.,?|\bfor[ \t]+example,?)[ \t]*$", re.IGNORECASE
)


def is_a_proposed_example(text: str, ent: Span, sentence_start: int) -> bool:
    example = EXAMPLE_BEFORE.search(text, max(sentence_start, ent.start_char - 20), ent.start_char)
    return bool(example and PROPOSED_BEFORE.search(text, sentence_start, example.start()))


# A regimen to start on a later date, its drugs listed after the date ('Adjuvant chemotherapy
# TCHP x 6 cycles, to start 02/24/2025:\n  Docetaxel 75 mg/m2 IV, Carboplatin AUC 6 IV'): planned.
STARTS_ON_A_DATE = re.compile(
    r"\b(?:to|will)[ \t]+(?:start|begin)[ \t]+(?:on[ \t]+)?\d{1,2}/\d{1,2}(?:/\d{2,4})?[ \t]*:?"
    r"[^.;:]*$",
    re.IGNORECASE,
)


def starts_on_a_date(text: str, ent: Span) -> bool:
    """The drug's line, or the line above it, says its regimen starts on a later date."""
    line_start = text.rfind("\n", 0, ent.start_char) + 1
    above = text.rfind("\n", 0, max(0, line_start - 1)) + 1
    return bool(STARTS_ON_A_DATE.search(text, above, ent.start_char))


# A drug the sentence after it only proposes: 'Melatonin 3 mg at bedtime may be tried for sleep'.
PROPOSED_AFTER = re.compile(
    r"[^.;:\n]*?\b(?:may|might|could|can)[ \t]+be[ \t]+(?:tried|considered|started|added"
    r"|initiated|offered)\b"
    # 'Moderate-intensity statin (atorvastatin 20 mg) recommended for diabetes', 'SGLT2
    # inhibitor (empagliflozin) discussed' (not 'taken as recommended')
    r"|[^.;:\n(]*?\)?[ \t]+(?:is[ \t]+|was[ \t]+)?(?<!\bas[ \t])"
    r"(?:recommended|discussed|offered|suggested)\b"
    # one side of a choice: 'fezolinetant 45 mg daily is an option', 'denosumab vs ...'
    r"|[^.;:\n]*?\b(?:is[ \t]+an|as[ \t]+an|are)[ \t]+options?\b|[ \t]+(?:vs|versus)\b"
    # 'if opioid needed post-op, hydromorphone would be an alternative'
    r"|[ \t]+would[ \t]+be[ \t]+(?:an?|the)[ \t]+(?:\w+[ \t]+)?(?:alternative|option|choice)\b"
    # '...; vitamin K (phytonadione) 2.5 mg by mouth would then be given'
    rf"|{CLAUSE_CHARACTER}*?\bwould[ \t]+(?:then[ \t]+)?be[ \t]+(?:given|started|added|used"
    r"|prescribed)\b",
    re.IGNORECASE,
)


def is_an_indication(ent: Span, condition: re.Match[str]) -> bool:
    """The 'if' names a symptom right after it ('Nitroglycerin SL if chest pain'): when to take
    the drug, as 'as needed for' says, not a condition on ordering it."""
    return any(
        mention.label_ == CONDITION and 0 <= mention.start_char - condition.end() <= 2
        for mention in ent.doc.ents
    )


def opens_its_item(text: str, ent: Span) -> bool:
    """The drug opens its sentence or its ';' item ('- Azithromycin 250 mg three times weekly if
    exacerbations continue'): the item is about it."""
    sentence_start, _ = sentence_region(ent)
    item_start = max(sentence_start, text.rfind(";", sentence_start, ent.start_char) + 1)
    return bool(OPENS_PLAN_ITEM.match(text[item_start : ent.start_char]))


# A drug started only later ('Stop aspirin once apixaban started', 'when warfarin is started'):
# not yet taken ('when lisinopril was started' is past; 'until warfarin is therapeutic' is taken).
LATER_START_BEFORE = re.compile(r"\b(?:once|when)\s+$", re.IGNORECASE)


STARTED_AFTER = re.compile(r"\s+(?:is\s+|gets\s+)?(?:started|initiated|begun)\b", re.IGNORECASE)


# A plan's sentence or item that opens with a drug and its sig ('Plan: Cefdinir 14 mg/kg/day
# divided BID x 10 days. Ibuprofen 10 mg/kg q6h PRN fever.') orders it; 'Continue lisinopril',
# 'HTN: lisinopril 10 mg' or a drug named inside a sentence does not.
PLAN_LABEL = re.compile(r"^[ \t]*(?:plan|rx)[ \t]*:", re.IGNORECASE | re.MULTILINE)


OPENS_PLAN_ITEM = re.compile(
    r"^[ \t]*(?:(?:plan|rx)[ \t]*:)?[ \t]*(?:[-\u2022*]|\d{1,2}[.)])?[ \t]*$", re.IGNORECASE
)


def is_plan_order(text: str, ent: Span, plans: list[Region]) -> bool:
    """The drug opens an item of a plan: its sentence or a ';' part of it ('Plan: CT chest in
    12 months; azithromycin 250 mg three times weekly')."""
    return in_regions(ent.start_char, plans) and opens_its_item(text, ent)


# The sentence ends by saying the drug is prescribed ('Naloxone nasal spray prescribed.',
# 'Mirabegron 25 mg PO daily - Rx sent.', a table cell's 'start pantoprazole 40 mg PO daily -
# approved, new Rx sent |'), not that the patient takes it as prescribed or that
# it was before.
PRESCRIBED_AT_THE_END = re.compile(
    r"[^.;\n]{0,60}?(?:\n[^.;\n]{0,40}?)?"  # (its line may wrap: 'ticagrelor 90 mg\ntwice daily')
    r"(?:(?<!\bas )(?<!\bnot )(?<!\bpreviously )"
    r"\b(?:prescribed|e-?prescribed|rx[ \t]+sent|prescription[ \t]+sent"
    r"|sent[ \t]+to[ \t]+(?:the[ \t]+)?pharmacy)"
    r"(?:[ \t]+(?:today|at[ \t]+discharge|on[ \t]+discharge))?"
    r"|(?P<bracketed>\((?:new[ \t]*,[ \t]*)?started[ \t]+today\)))"  # '(new, started today)'
    r"[ \t]*(?:[.;|]|$)",
    re.IGNORECASE,
)


def is_prescribed(text: str, ent: Span, prescribed_lists: list[Region]) -> bool:
    if in_regions(ent.start_char, prescribed_lists):
        return True
    if PRESCRIPTION_LABEL.match(text, text.rfind("\n", 0, ent.start_char) + 1):
        return True
    sentence_start, sentence_end = sentence_region(ent)
    before = text[sentence_start : ent.start_char]
    at_the_end = PRESCRIBED_AT_THE_END.match(text[ent.end_char : sentence_end])
    prescribed = (
        cue_before(PRESCRIBED_IN_SENTENCE, text, ent)
        or cue_before(WRITER_STARTS, text, ent)
        or (  # (a bracket is its own drug's: 'aspirin (continue) plus ticagrelor (new, ...)')
            at_the_end is not None
            and not (
                at_the_end["bracketed"]
                and any(
                    other.label_ == DRUG
                    and ent.end_char < other.start_char < ent.end_char + at_the_end.end()
                    for other in ent.doc.ents
                )
            )
        )
    )
    return prescribed and not PREVIOUSLY.search(before)


# A reconciliation's action ending the drug's line, in capitals or as a form's ticked box
# ('Ibuprofen 600 mg tablet STOP', 'Digoxin 0.125 mg tablet 1 tab daily HOLD', 'warfarin 2 mg
# daily  [ ] Continue  [X] Stop': `forms.mark_answers` leaves ',   Stop'), or in its last column
# or after a dash with its reason ('Lisinopril 20 mg   20 mg PO daily   HOLD - AKI', 'Colchicine
# 500mcg BD - CEASED (diarrhoea)', 'Heparin 5000 units q8h - NOT ORDERED (on apixaban)'); a new
# one orders it ('Ferrous sulfate 325 mg PO every other day ...... NEW - started today').
LINE_END_ACTION = re.compile(
    r"[^\n]*?(?:[ \t](?-i:(?P<stop>STOP|STOPPED|DISCONTINUE|DISCONTINUED|CEASE|CEASED)"
    # 'Amoxicillin 875 mg - STOP taking this medicine', the line wrapped after 'taking'
    rf"(?:[ \t]+taking(?:[ \t]+this[ \t]+{MEDICINES})?)?"
    r"|(?P<hold>HOLD|HELD|WITHHOLD|WITHHELD)|(?P<not_given>NOT[ \t]+(?:ORDERED|NEEDED|REQUIRED"
    r"|STARTED|GIVEN)|DEFERRED)|(?P<completed>COMPLETED)|(?P<new>NEW|START|STARTED))"
    r"(?:[ \t]*[-\u2013:(,][^\n]*)?"
    r"|,[ \t]+(?:(?P<ticked_stop>stop|discontinue)|(?P<ticked_hold>hold)))[ \t.]*$",
    re.MULTILINE | re.IGNORECASE,
)


# Courses behind the patient: 's/p 4 cycles of carboplatin', 'status post lumpectomy and 6 cycles
# of docetaxel' (medspaCy keeps one rule per cue, and ours for 's/p' reaches conditions only),
# 'completed a 5-day course of prednisone', 'finished her course of amoxicillin'.
COURSES_BEHIND = re.compile(
    r"\b(?:(?:s/p|status\s+post)\b[^.;:]*"
    r"|(?:completed|finished)\s+(?:(?:a|an|the|his|her|their)\s+)?(?:[\w-]+\s+)?)"
    r"\b(?:cycles?|courses?|rounds?)\s+of\s+$",
    re.IGNORECASE,
)


# A dose taken or given before the patient came in ('She took aspirin 325 mg at home prior to
# arrival', 'received 2 SL nitroglycerin by EMS'): a completed administration, not a drug the
# patient is on.
BEFORE_ARRIVAL = re.compile(
    r"\b(?:(?:prior\s+to|before)\s+(?:arrival|presentation|coming\s+in)|PTA|by\s+EMS"
    r"|en\s+route|once\s+(?:at\s+home|this\s+morning|last\s+night|earlier(?:\s+today)?))\b",
    re.IGNORECASE,
)


TOOK_BEFORE = re.compile(r"\b(?:took|taken|received|given|administered)\b", re.IGNORECASE)


def taken_before_arrival(text: str, ent: Span) -> bool:
    start, end = sentence_region(ent)
    return bool(
        BEFORE_ARRIVAL.search(text, start, end) and TOOK_BEFORE.search(text, start, ent.start_char)
    )


# A list of drugs given or tried as a whole: ConText's cue reaches the list's first drug only
# ('Given heparin 4000 units IV, ticagrelor 180 mg PO, atorvastatin 80 mg PO'; 'Previously tried
# fluoxetine (GI upset) and escitalopram (ineffective)').
GIVEN_BEFORE_LIST = re.compile(
    r"(?:^|[\s:;(])(?:(?:was|were)\s+)?(?:given|received|administered|(?:previously\s+)?tried"
    r"|trialed)[ \t]*:?\s+$",  # 'Pre-medications given: ondansetron 16 mg IV, dexamethasone'
    re.IGNORECASE,
)


# A label in a line's text opening a list of doses given, its first item too ('22:05
# Medications administered in ED: cefTRIAXone 1 g IV once; azithromycin 500 mg IV once').
GIVEN_LABEL = re.compile(
    rf"\b{MEDICINES}[ \t]+(?:given|administered|received)"
    rf"(?:[ \t]+(?:today|(?:in|at|during)[ \t]+(?:the[ \t]+)?{GIVEN_PLACE}))?[ \t]*:",
    re.IGNORECASE,
)


def last_match(pattern: re.Pattern[str], text: str, start: int, end: int) -> re.Match[str] | None:
    return next(reversed(list(pattern.finditer(text, start, end))), None)


def given_as_a_list(text: str, ent: Span) -> bool:
    """The drug is a later item of a list that a 'given' or 'tried' cue opens, or any item of
    one a label in the line opens ('Medications administered in ED: ...')."""
    start = list_start(text, ent)
    sentence_start, _ = sentence_region(ent)
    if start < ent.start_char and GIVEN_BEFORE_LIST.search(text[sentence_start:start]):
        return not has_own_verb(ent, start, ent.start_char)
    label = last_match(GIVEN_LABEL, text, sentence_start, ent.start_char)
    return label is not None and not has_own_verb(ent, label.end(), ent.start_char)


# What a sentence says was given or received besides a dose: a prescription, instructions.
NOT_A_DOSE_GIVEN = re.compile(
    r"\b(?:prescri\w*|scripts?|refills?|instructions?|education|teaching|counsel\w*"
    r"|information|handouts?|samples?)\b",
    re.IGNORECASE,
)


def last_cue(ent: Span, category: str) -> int:
    """Where the last ConText cue of the category about the mention is (-1: none): of a stop
    and a start, the later one says what the drug is now ('held for hypotension and resumed
    on discharge', 'started on metformin, then stopped')."""
    return max((m.modifier_span[0] for m in ent._.modifiers if m.category == category), default=-1)
