"""Procedures: listed under a procedures header, rows of procedure tables, and narrative
("underwent laparoscopic appendectomy"), named by the procedure; the rows of a planned-procedures
table are procedures not yet done (hypothetical: ServiceRequests).
"""

import re

from medpipeline.extraction.offline.demographics import DATE, first_date
from medpipeline.extraction.offline.section_rules import PRINTED_PLURAL
from medpipeline.extraction.offline.sections_tables import (
    PLANNED_PROCEDURES,
    PROCEDURES,
    Table,
    TableRow,
)
from medpipeline.extraction.offline.text import (
    CELL_FIELD,
    HEADING_MARK,
    LIST_ITEM_LINE,
    LIST_MARKER,
    Region,
    clean_name,
    in_regions,
    is_absence,
    labelled,
    list_items,
    mask_parentheses,
    next_line,
    normalize_space,
    parts_between,
    past_blank_lines,
    quote_for,
    wrapped_text_before,
)
from medpipeline.extraction.schema import Assertion, ProcedureFact

# 'Procedures', 'PROCEDURE(S) PERFORMED', 'Operation(s)'
PROCEDURE_WORD_OR_PLURAL = rf"procedure{PRINTED_PLURAL}?"
OPERATION_WORD_OR_PLURAL = rf"operation{PRINTED_PLURAL}?"
PROCEDURE_HEADER = re.compile(
    rf"^[ \t]*{HEADING_MARK}(?:\d{{1,2}}\.[ \t]+)?"  # a form's box number
    rf"(?:.*\bthe following procedures were (?:conducted|performed)|"
    rf"{PROCEDURE_WORD_OR_PLURAL}(?:[ \t]+(?:performed|done))?"
    r"(?:[ \t]+(?:this|during|at)[ \t]+[A-Za-z ]{1,30})?"
    rf"|{OPERATION_WORD_OR_PLURAL}(?: performed)?|(?:past[ \t]+)?surgical[ \t]+"
    r"(?:history|procedures?)|surgeries|(?:history[ \t]+of|past|previous|prior)[ \t]+"
    r"(?:procedures|surgeries|operations)"
    # a form's box label says what its codes and dates are ('13. Surgical Procedure (ICD / Date)')
    r"|procedure[ \t]+history)(?:[ \t]*\([^()\n]{1,30}\))?[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


SEMANTIC_TAG = re.compile(r"\s*\((?:procedure|regime/therapy)\)\s*$", re.IGNORECASE)
# What vendors print after a procedure's name in its cell or list item: the performer ('By:
# Seven, Henry'), the date ('- 2010', '05/2015', 'on 3/1/2015'), the patient's age ('age 7', 'as
# a child') and the status ('completed'); the name is what comes before.
PERFORMER = re.compile(r"\s+(?:performed[ \t]+)?by:?[ \t]+[A-Z].*$", re.IGNORECASE)
TRAILING_DETAIL = re.compile(
    r"(?:[\s,;:-]+(?:on|in|at|dated?)?[ \t]*:?[ \t]*(?:\d{1,2}[/-])?(?:\d{1,2}[/-])?(?:19|20)\d{2}"
    r"|[\s,;:-]+(?:at[ \t]+)?age[ \t]+\d{1,3}(?:[ \t]*(?:years?|yrs?|y/?o))?"
    r"|[\s,;:-]+(?:as[ \t]+an?[ \t]+(?:child|kid|teen(?:ager)?|infant|baby)"
    r"|in[ \t]+(?:childhood|infancy))"
    r"|[\s,;:-]+(?:date[ \t]*:?|completed|performed|done|active|resolved|historical|scheduled"
    r"|planned|pending|ordered|cancell?ed|aborted|refused|declined|status[ \t]*:?[ \t]*\w+)"
    r"|[\s,;:-]+\((?:[^()]*\d{4}[^()]*|completed|performed|done)\)"
    # what it found, in brackets ('Colonoscopy 2021 (normal)')
    r"|[\s,;:-]+\((?:normal|benign|negative|unremarkable|no[ \t]+polyps)\)"
    # a remark on it after its year ('Total abdominal hysterectomy 2012 (general anesthesia, PONV)')
    r"|(?<=(?:19|20)\d{2})[ \t]*\([^()]*\)"
    # a column of its own: '   Date: 8/2021'
    r"|(?:[ \t]*\t[ \t]*|[ \t]{2,})(?:(?:date|done|performed|on)[ \t]*:?[ \t]*)?[\d/.-]{4,10}"
    r")[\s.;,]*$",
    re.IGNORECASE,
)


def procedure_name(written: str) -> str:
    """The procedure's name in a cell or list item, without codes, performer, date, age or
    status printed after it ('DIAGNOSTIC COLONOSCOPY (45378) By: Seven, Henry',
    'Appendectomy - 2010 - completed')."""
    name = SEMANTIC_TAG.sub("", clean_name(PERFORMER.sub("", written)))
    while (shorter := TRAILING_DETAIL.sub("", name)) != name:
        name = SEMANTIC_TAG.sub("", clean_name(shorter))
    return TIMES_DONE.sub("", normalize_space(name)).strip(" .;,:-")


# 'C-section x2', 'cryotherapy x6 AKs on scalp': a count (and what it counts) after the name
TIMES_DONE = re.compile(r"[ \t]+x[ \t]?\d+\b.*$", re.IGNORECASE)


# A labelled line naming what was done ('PROCEDURE PERFORMED: Hemiarthroplasty, right hip.',
# 'Operations: Appendectomy; drain placement'); a sentence after the label is a description.
# After a bare 'Surgery:' only an operation's name: a label grid's 'DATE OF\nSURGERY:  West'
# wraps a date's label and another cell's word. So after a report's title ('PROCEDURE REPORT:
# EGD AND COLONOSCOPY', 'Operative Note: Right carpal tunnel release').
INLINE_PROCEDURES = re.compile(
    rf"^[ \t]*(?:(?:{PROCEDURE_WORD_OR_PLURAL}|{OPERATION_WORD_OR_PLURAL}|operative)"
    r"(?P<report>[ \t]+(?:report|note))?|(?P<surgery>surgery))"
    r"(?P<done>[ \t]+(?:performed|today|done))?"
    r"(?:[ \t]+(?:in|at)[ \t]+(?:the[ \t]+)?[A-Za-z]{2,12})?[ \t]*:"
    r"[ \t]*(?P<names>\S[^\n]*)$",
    re.IGNORECASE | re.MULTILINE,
)
MAX_INLINE_PROCEDURE_WORDS = 8
DESCRIPTION_WORDS = re.compile(r"\b(?:was|were|is|are|patient|then|after)\b", re.IGNORECASE)


# Between the procedures a label's line names: 'Left heart catheterization, coronary angiography',
# 'EGD and colonoscopy', 'Tonsillectomy & adenoidectomy'.
BETWEEN_PROCEDURES = re.compile(r"[ \t]*(?:,|&|\band\b)[ \t]*", re.IGNORECASE)


def inline_procedure_items(text: str) -> list[Region]:
    """The ';' parts of a procedures label's line that name a procedure, not describe one
    ('Chest CT (02/04/2026); echocardiogram; PICC line placement was not required'), and the
    ',' and 'and' parts of one that names several ('Left heart catheterization, coronary
    angiography', 'EGD and colonoscopy'; not 'Hemiarthroplasty, right hip')."""
    items = []
    for match in INLINE_PROCEDURES.finditer(text):
        if match["surgery"] and not match["done"] and not names_a_procedure(match["names"]):
            continue
        if match["report"] and not names_a_procedure_or_study(match["names"]):
            continue
        for part in re.finditer(r"[^;]+", match["names"]):
            start = match.start("names") + part.start()
            pieces = [
                (piece_start, piece)
                for piece_start, piece in parts_between(part.group(), BETWEEN_PROCEDURES, start)
                if piece.strip(" .")
            ]
            named = [piece for piece in pieces if names_a_procedure_or_study(piece[1])]
            for piece_start, piece in pieces if len(named) > 1 else [(start, part.group())]:
                name = piece.strip(" .")
                if DESCRIPTION_WORDS.search(name):
                    continue
                if 0 < len(name.split()) <= MAX_INLINE_PROCEDURE_WORDS:
                    name_start = piece_start + piece.index(name)
                    items.append((name_start, name_start + len(name)))
    return items


# A dictated list item may open with a label or with when it was done and go on to what it
# found: 'On 3/26/2009, head CT without contrast: 1) Air-fluid level ...', 'echocardiogram with
# bubble study. Impression: ...', 'carotid duplex ultrasound showed ...'. The procedure is the
# clause between.
LEADING_LABEL = re.compile(
    r"^(?:procedure|operation|surgery|description)(?:[ \t]+name)?[ \t]*:[ \t]*", re.IGNORECASE
)
LEADING_WHEN = re.compile(
    rf"^(?:on[ \t]+)?(?:{DATE}|[A-Za-z]{{3,9}}\.?[ \t]+\d{{1,2}}(?:st|nd|rd|th)?|[\d/-]{{6,10}})"
    r"[ \t]*,[ \t]*",
    re.IGNORECASE,
)
STATUS_POST = re.compile(r"^(?:s/p|status[ \t]+post)[ \t]+", re.IGNORECASE)
FINDINGS_START = re.compile(
    r":|\.[ \t]+(?=[A-Z])|[ \t]+(?:showed|shows|revealed|reveals|demonstrated|demonstrates)\b"
    # a dash after the date: 'Transthoracic echocardiogram 01/20/2025 - ejection fraction 30%'
    r"|(?<=\d)[ \t]+[-\u2013][ \t]+(?=[A-Za-z])"
)


def listed_procedure(item: str) -> str:
    """The procedure a list item names, without a label or the date it opens with or the
    findings after it."""
    clause = LEADING_WHEN.sub("", STATUS_POST.sub("", LEADING_LABEL.sub("", item)))
    return procedure_name(FINDINGS_START.split(clause, maxsplit=1)[0])


# A past medical history list often names the operations among the diseases ('- Appendectomy
# (2005)'): those items are procedures done.
PAST_MEDICAL_HEADER = re.compile(
    r"^[ \t]*(?:past[ \t]+medical[ \t]+history|medical[ \t]+history|PMHx?|PMH)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def names_a_procedure(name: str) -> bool:
    """The name's first part names an operation ('Appendectomy', 'Cholecystectomy, laparoscopic';
    not 'Breast cancer, s/p lumpectomy' nor 'Appendicitis s/p appendectomy')."""
    first_part = STATUS_POST_WITHIN.split(name.split(",")[0], maxsplit=1)[0]
    return bool(PROCEDURE_WORD.search(first_part))


# Under a procedures header an imaging or diagnostic study is a procedure too ('Chest CT with
# contrast (02/04/2026)', 'Transthoracic echocardiogram'); in a medical history it is not named.
STUDY_WORD = re.compile(
    r"(?<![A-Za-z])(?:(?-i:CT|MRI|MRA|PET|EKG|ECG|EEG|EMG|TTE|TEE)|echocardiogram|ultrasound"
    r"|x-ray|radiograph|angiogram|stress[ \t]+test|(?:bone|nuclear|CT|PET|VQ|V/Q)[ \t]+scan)\b",
    re.IGNORECASE,
)


def names_a_procedure_or_study(name: str) -> bool:
    return names_a_procedure(name) or bool(STUDY_WORD.search(name.split(",")[0]))


STATUS_POST_WITHIN = re.compile(r"(?<=\S)\s+(?:s/p|status[ \t]+post)\b", re.IGNORECASE)


# Operations on a surgical history label's line ('Past Surgical History: Appendectomy (1985).
# Right knee replacement 2018.', 'PSH: appendectomy, cholecystectomy'), at its start or after a
# sentence ('PMH: HTN. PSH: appendectomy'): its parts that name one.
INLINE_SURGICAL_HISTORY = re.compile(
    r"(?:^|(?<=[.;])[ \t])[ \t]*"
    r"(?:(?:past[ \t]+)?surgical[ \t]+history|PSHx?"
    r"|(?:(?:past|previous|prior)[ \t]+)?(?:surgeries|operations))"
    r"(?:[ \t]*\([^()\n]{1,30}\))?[ \t]*:"  # 'SURGERIES (list with year):'
    r"[ \t]*(?P<names>\S[^\n]*)$",
    re.IGNORECASE | re.MULTILINE,
)
SURGICAL_HISTORY_SEPARATOR = re.compile(r"[;,]|\.(?=\s|$)")
WRAPPED_LINE = re.compile(r"(?<![.;])\n[ \t]*[a-z][^\n]*")


def inline_surgical_history_items(text: str) -> list[Region]:
    """The parts of a surgical history label's line (and of a line it wraps onto, going on in
    lower case: 'Carpal tunnel\nrelease right 2018'), not parted inside brackets ('Total
    abdominal hysterectomy 2012 (general anesthesia, postoperative nausea)')."""
    items = []
    for match in INLINE_SURGICAL_HISTORY.finditer(text):
        end = match.end("names")
        if wrapped := WRAPPED_LINE.match(text, end):
            end = wrapped.end()
        names = text[match.start("names") : end]
        masked = mask_parentheses(names)
        parts = parts_between(masked, SURGICAL_HISTORY_SEPARATOR, match.start("names"))
        for start, masked_part in parts:
            part = text[start : start + len(masked_part)]
            if name := part.strip():
                offset = start + part.index(name)
                items.append((offset, offset + len(name)))
    return items


def operation_lines(text: str, header: re.Pattern[str]) -> list[Region]:
    """The lines right after each procedures header line that carry no list marker and each
    name an operation or a study ('Past Surgical History:' then 'Appendectomy (1985)' on a line
    of its own), up to the first that does not."""
    lines = []
    for match in header.finditer(text):
        end = past_blank_lines(text, match.end())
        while end < len(text):
            line, line_end = next_line(text, end)
            named = listed_procedure(line)
            if LIST_ITEM_LINE.match(line + " ") or not names_a_procedure_or_study(named):
                break
            lines += sentences_naming_procedures(line, end + 1) or [(end + 1, line_end)]
            end = line_end
    return lines


SENTENCE_END = re.compile(r"(?<=[a-z0-9)]\.)[ \t]+(?=[A-Z])")


def sentences_naming_procedures(line: str, start: int) -> list[Region]:
    """A line's sentences when each names an operation or a study ('Right inguinal hernia repair
    (2010). Colonoscopy 2021 (normal).'), else none."""
    parts = [(at, part) for at, part in parts_between(line, SENTENCE_END, start) if part.strip()]
    if len(parts) < 2 or not all(names_a_procedure_or_study(listed_procedure(p)) for _, p in parts):
        return []
    return [(at, at + len(part)) for at, part in parts]


# A year alone in a list item ('CABG x3 2015', 'TURP (2020)'): when it was done, to the year.
YEAR_WRITTEN = r"(?:19|20)\d{2}"
MONTH_YEAR_WRITTEN = rf"(?P<month>0?[1-9]|1[0-2])/(?P<year>{YEAR_WRITTEN})"
YEAR = re.compile(rf"(?<![\d/.-]){YEAR_WRITTEN}(?![\d/-]|\.\d)")
MONTH_YEAR = re.compile(rf"(?<![\d/]){MONTH_YEAR_WRITTEN}(?![\d/])")
# The date after a narrative procedure's name ('s/p right TKA on 01/12/2026', 'CABG in 2015').
DATE_AFTER = re.compile(
    rf"[ \t]*,?[ \t]*(?:\(|(?:on|in|dated)[ \t]+)?"
    rf"(?P<date>{DATE}|{MONTH_YEAR_WRITTEN}|{YEAR_WRITTEN})(?![\d/-]|\.\d)"
)


def performed_on(written: str) -> str | None:
    """The date a list item gives, or its month and year ('03/2011'), or its year."""
    if found := first_date(written):
        return found
    if month_year := MONTH_YEAR.search(written):
        return f"{month_year['year']}-{int(month_year['month']):02d}"
    year = YEAR.search(written)
    return year.group() if year else None


def date_after(text: str, end: int) -> str | None:
    after = DATE_AFTER.match(text, end)
    return performed_on(after["date"]) if after else None


def procedure_facts(text: str, skip_regions: list[Region]) -> list[ProcedureFact]:
    """The items listed under a procedures header line, those after a procedures label at a
    line's start (outside tables), and the operations in a past medical history list, on a
    surgical history label's line or on unmarked lines under a procedures header."""
    facts = []
    operations_only = set(
        list_items(text, PAST_MEDICAL_HEADER) + inline_surgical_history_items(text)
    )
    listed = (
        list_items(text, PROCEDURE_HEADER)
        + inline_procedure_items(text)
        + operation_lines(text, PROCEDURE_HEADER)
    )
    for start, end in sorted(set(listed) | operations_only):  # in the document's order
        if in_regions(start, skip_regions):
            continue
        item = normalize_space(LIST_MARKER.sub("", text[start:end], count=1))
        name = listed_procedure(item)
        if not name or len(name.split()) > 12 or is_absence(name):
            continue
        if (start, end) in operations_only and not names_a_procedure(name):
            continue  # a disease of the medical history, a remark
        facts.append(
            ProcedureFact(
                quote=quote_for(text, start, end),
                text=name,
                performed_date=performed_on(item),
                assertion=status_assertion(item),
            )
        )
    return facts


# A status that says the procedure has not happened yet ('Intent' is how some vendors print a
# C-CDA intent mood): it is not asserted as done.
NOT_YET = re.compile(
    r"\b(?:scheduled|planned|pending|ordered|requested|proposed|cancel|intent|future"
    r"|due\b(?![ \t]+to)|not[ \t]+yet|to[ \t]+be[ \t]+(?:done|performed|scheduled))",
    re.IGNORECASE,
)
# A status that says it was not done: a Procedure `not-done`.
NOT_DONE = re.compile(
    r"\b(?:aborted|refused|declined|not[ \t]+(?:done|performed|completed))\b", re.IGNORECASE
)


def status_assertion(status: str) -> Assertion:
    if NOT_DONE.search(status):
        return Assertion.NEGATED
    return Assertion.HYPOTHETICAL if NOT_YET.search(status) else Assertion.PRESENT


PROCEDURE_SUFFIXES = (
    r"ectomy|otomy|ostomy|plasty|scopy|graphy|pexy|rrhaphy|centesis|biopsy|repair|replacement"
    r"|bypass|transplant(?:ation)?|resection|excision|amputation|(?<![A-Za-z])fusion|transfusion"
    r"|catheterization|extraction|reconstruction"
    r"|angioplasty|cesarean section|(?:open|closed)[ \t]+reduction"
    r"(?:[ \t]+(?:and|with)[ \t]+(?:internal|external|percutaneous)[ \t]+fixation)?"
    r"|fixation|ablation|implantation|insertion|placement|removal|ligation|cardioversion"
    r"|debridement|drainage|grafting|stenting|arthroplasty|lithotripsy|dilation and curettage"
    r"|c-section|release|revision|closure"
    # abbreviations, as written and as whole words ('s/p CABG'; 'sleep' is no LEEP)
    r"|(?<![A-Za-z])(?-i:CABG|PCI|PTCA|TURP|TAVR|TAVI|ERCP|EGD|LEEP|ORIF|TKA|THA|TKR|THR|EVAR"
    r"|VATS|LVAD)"
)
PROCEDURE_WORD = re.compile(rf"(?:{PROCEDURE_SUFFIXES})\b", re.IGNORECASE)
# 'underwent laparoscopic appendectomy', 's/p total knee replacement', 'had a colonoscopy',
# 'underwent a biopsy of the sinus mass', 'Prior right femoral-popliteal bypass in 2020'; the
# sentence may wrap onto the next line.
SITE_WORD = (
    r"(?!(?:and|or|with|without|on|in|at|for|to|was|were|which|if|when|unless|after|before"
    r"|because|due|since|as|this|next|had|has|have|an?)\b)[a-z][a-z'-]*"
)
# The word that makes a name a procedure's, going on with a second procedure word ('coronary
# artery bypass grafting', 'knee replacement surgery').
PROCEDURE_NAME_END = (
    rf"[A-Za-z-]*(?:{PROCEDURE_SUFFIXES})\b"
    rf"(?:[ \t]+(?:[A-Za-z-]*(?:{PROCEDURE_SUFFIXES})|surgery)\b)?"
)
NARRATIVE_PROCEDURE = re.compile(
    r"\b(?:underwent|undergone|s/p|status[ \t]+post|(?:prior|previous)(?!\s+to\b)|hx(?:\s+of)?|h/o"
    r"|had\s+(?:an?\s+)?|performed\s+"
    r"(?:an?\s+)?|history[ \t]+of\s+(?:an?\s+)?"
    # 'hip fracture treated with ORIF', 'retinal detachment repaired with pneumatic retinopexy'
    r"|(?:treated|repaired|managed)\s+(?:surgically\s+)?(?:with|by)\s+"
    r"|taken\s+(?:emergently\s+|urgently\s+)?(?:to\s+the\s+(?:OR|operating\s+room"
    r"|cath(?:eterization)?\s+lab(?:oratory)?)\s+)?for\s+)\s*"
    # a toe or finger counted ('right 2nd toe amputation')
    r"(?:an?\s+|the\s+)?(?P<name>(?:(?:[A-Za-z][A-Za-z'-]*|\d(?:st|nd|rd|th))\s+){0,4}?"
    rf"{PROCEDURE_NAME_END}"
    rf"(?:\s+of\s+(?:the\s+|his\s+|her\s+)?(?:{SITE_WORD}\s+){{0,2}}{SITE_WORD}\b)?)",
    re.IGNORECASE,
)
# A further procedure the same sentence names ('underwent CABG in 2015 and cardiac
# catheterization last year', 'had an appendectomy, a cholecystectomy and a hernia repair').
COORDINATED_PROCEDURE = re.compile(
    r"(?:[ \t]+(?:in|on)[ \t]+[\w/]+)?(?:[ \t]*,[ \t]*(?:and[ \t]+)?|[ \t]+and[ \t]+)"
    rf"(?:an?[ \t]+|the[ \t]+)?(?P<name>(?:{SITE_WORD}[ \t]+){{0,4}}?{PROCEDURE_NAME_END})",
    re.IGNORECASE,
)
# The name first, then the verb: 'A laparoscopic cholecystectomy was performed', 'a
# drug-eluting stent was placed' (a device placed names its placement).
NAME_WORD = r"(?!(?:no|not|never|any)\b)[A-Za-z][A-Za-z'-]*[ \t]+"
OF_SITE = rf"(?:[ \t]+of[ \t]+(?:the[ \t]+)?(?:{SITE_WORD}[ \t]+){{0,2}}{SITE_WORD}\b)?"
WAS_DONE = r"[ \t]+(?:was|were)[ \t]+(?:[a-z]+ly[ \t]+)?"
NAME_THEN_DONE = re.compile(
    rf"(?:\b(?:an?|the)[ \t]+)?\b(?P<name>(?:{NAME_WORD}){{0,3}}?{PROCEDURE_NAME_END}{OF_SITE})"
    rf"(?:{WAS_DONE}(?:performed|done|completed|carried[ \t]+out)\b"
    # 'polysomnography performed 01/09/2025'
    r"|[ \t]+(?:performed|done|completed)[ \t]+(?:on[ \t]+)?(?=\d{1,2}/|(?:19|20)\d{2}\b))",
    re.IGNORECASE,
)
# A sentence that opens with an operation and its findings: 'Thoracentesis removed 1.2 L of
# fluid', 'EGD with biopsy showed a duodenal ulcer', 'Last paracentesis 10/2026 removed 5 L',
# 'EGD 08/2025: small varices', 'Colonoscopy 2021 was normal' (an imaging study is no operation
# here).
NAME_THEN_FINDINGS = re.compile(
    rf"(?:^|(?<=[.;:])[ \t])[ \t]*(?:(?:an?|the|his|her|their|last|prior|previous|recent)\s+)?"
    rf"(?P<name>(?:{NAME_WORD}){{0,2}}?"
    rf"{PROCEDURE_NAME_END}{OF_SITE})(?:[ \t]+with[ \t]+(?:{NAME_WORD}){{0,2}}?[A-Za-z-]+)?"
    r"(?:(?:\s+(?:(?:on|in)\s+[\w/-]+|\d[\d/.-]*))?\s+(?:showed|revealed|demonstrated"
    r"|removed|yielded|confirmed|found|(?:was|were)\s+(?:normal|unremarkable|negative|benign))\b"
    r"|[ \t]+(?:(?:on|in)[ \t]+)?\d[\d/.-]*[ \t]*:"  # 'Colonoscopy 2024: two adenomas removed'
    # 'Tonsillectomy in childhood.', 'Appendectomy at age 12'
    r"|[ \t]+(?:in[ \t]+(?:childhood|infancy)|as[ \t]+an?[ \t]+(?:child|teen(?:ager)?|infant|baby)"
    r"|at[ \t]+age[ \t]+\d{1,2})\b)",
    re.IGNORECASE | re.MULTILINE,
)
# An operation and its year, a sentence of a history ('Appendectomy 1962.', 'Cholecystectomy
# (2015);'; not 'Repeat colonoscopy in 2027.', a plan).
OPERATION_AND_YEAR = re.compile(
    rf"(?:^|(?<=[.;:])[ \t])[ \t]*(?!(?:repeat|next|planned|future)\b)"
    rf"(?P<name>(?:{NAME_WORD}){{0,2}}?{PROCEDURE_NAME_END}{OF_SITE})"
    r"[ \t]+\(?(?:\d{1,2}/){0,2}(?:19|20)\d{2}\)?(?=[ \t]*(?:[.;,]|$))",
    re.IGNORECASE | re.MULTILINE,
)
# (a lines-and-tubes list's 'R IJ triple-lumen CVC<tab>placed 01/16/2025', 'Biliary stent placed
# by ERCP on 05/20/2025': placed on a date or by someone, without 'was')
DEVICE_PLACED = re.compile(
    rf"(?:\b(?:an?|the)[ \t]+)?\b(?P<device>(?:{NAME_WORD}){{0,3}}?(?:stents?|pacemaker"
    r"|defibrillator|chest[ \t]+tube|PICC(?:[ \t]+line)?|central[ \t]+(?:venous[ \t]+)?"
    r"(?:line|catheter)|(?-i:CVC)|arterial[ \t]+(?:line|catheter)"
    r"|(?:AV|arteriovenous)[ \t]+(?:fistula|graft)|port-a-cath|(?:dialysis|tunneled)[ \t]+catheter"
    r"|IVC[ \t]+filter|feeding[ \t]+tube|G-tube|PEG(?:[ \t]+tube)?"
    rf"|nephrostomy[ \t]+tube))(?:{WAS_DONE}(?:placed|inserted|implanted)\b"
    r"|[ \t]+(?:placed|inserted|implanted)(?=[ \t]+(?:(?:on|in)[ \t]+)?\d|[ \t]+by\b))",
    re.IGNORECASE,
)
NEGATED_BEFORE = re.compile(r"\b(?:no|never|denies|without|not)\b[^.\n]{0,30}$", re.IGNORECASE)
# A relative's operation ('his brother having had a CABG at 62'): not the patient's.
RELATIVE_BEFORE = re.compile(
    r"\b(?:mother|father|brother|sister|son|daughter|aunt|uncle|grand(?:mother|father|parent)"
    r"|cousin|sibling|parent|family[ \t]+history)s?\b[^.\n]{0,80}$",
    re.IGNORECASE,
)
# A question the text answers no ('Prior C-section? No - prior vaginal delivery').
ANSWERED_NO_AFTER = re.compile(r"[^.?\n]{0,20}\?[ \t]*(?:no|none|denies|negative)\b", re.I)


def a_relatives_or_denied(text: str, start: int, end: int) -> bool:
    """The procedure named at start..end is a relative's, or asked about and denied."""
    return bool(
        RELATIVE_BEFORE.search(wrapped_text_before(text, start))
        or ANSWERED_NO_AFTER.match(text, end)
    )


OTHER_FIELD = re.compile(
    r"\b(?:indications?|surgeon|assistant|reason|diagnos[ie]s|dx|date|anesthesi\w*|provider"
    r"|physician|location|facility)\b",
    re.IGNORECASE,
)
PROCEDURE_LABEL = re.compile(
    rf"\b(?:{PROCEDURE_WORD_OR_PLURAL}|{OPERATION_WORD_OR_PLURAL}|surger(?:y|ies))\b", re.I
)


def procedure_from_row(table: Table, row: TableRow, text: str) -> ProcedureFact | None:
    """A procedures-table row: named by its name cell; a scheduled, pending or intended status
    (its status or details cell) or a planned-procedures table is not a procedure done
    (hypothetical), an aborted or refused one is not done (negated)."""
    cell = table.name_cell(row)
    if cell is None or is_absence(cell.text):
        return None
    written, scheduled = cell.text, False
    if field := CELL_FIELD.fullmatch(PERFORMER.sub("", written)):  # (not 'X By: Ortiz, Ana')
        # a form's field: 'Scheduled procedure: Laparoscopic cholecystectomy' is planned;
        # 'Indication: Symptomatic cholelithiasis' or 'Surgeon: ...' names no procedure (a name
        # with a colon of its own stays: 'DNA PROBE: other infectious agent')
        if PROCEDURE_LABEL.search(field["label"]):
            scheduled = NOT_YET.search(field["label"]) is not None
            written = field["value"]
        elif OTHER_FIELD.search(field["label"]):
            return None
    name = procedure_name(written)
    if not re.search(r"[A-Za-z]{3}", name):
        return None
    status_cells = [c for role in ("status", "details") if (c := table.cell(row, role))]
    status_text = " ".join(c.text for c in status_cells)
    status_text = status_text or labelled(table.row_text(row), "status") or ""
    date = table.cell(row, "date")
    planned = table.kind == PLANNED_PROCEDURES or scheduled
    return ProcedureFact(
        quote=quote_for(text, cell.start, cell.end),
        text=name,
        performed_date=first_date(date.text) if date else None,
        assertion=Assertion.HYPOTHETICAL if planned else status_assertion(status_text),
    )


def table_procedures(tables: list[Table], text: str) -> list[ProcedureFact]:
    facts = []
    for table in tables:
        if table.kind in (PROCEDURES, PLANNED_PROCEDURES):
            rows = [row for row in table.rows if not row.continues]
            facts += [f for row in rows if (f := procedure_from_row(table, row, text))]
    return facts


def without_treated_condition(name: str) -> str:
    """'R hip fracture with hemiarthroplasty' (after 's/p') is a hemiarthroplasty: the words
    before 'with' name what it treated when they name no procedure ('EGD with biopsy',
    'cholecystectomy with cholangiogram' stay whole)."""
    treated, with_word, procedure = name.rpartition(" with ")
    if with_word and not PROCEDURE_WORD.search(treated):
        return procedure
    return name


def narrative_procedures(text: str, skip_regions: list[Region]) -> list[ProcedureFact]:
    """Procedures a sentence says were done ('underwent laparoscopic appendectomy', 'A
    laparoscopic cholecystectomy was performed', 'a stent was placed'), in the text's order."""
    facts: list[tuple[int, ProcedureFact]] = []
    for match in NARRATIVE_PROCEDURE.finditer(text):
        if in_regions(match.start(), skip_regions):
            continue
        if a_relatives_or_denied(text, match.start(), match.end()):
            continue
        negated = NEGATED_BEFORE.search(wrapped_text_before(text, match.start()))
        named, quote_start = match, match.start()
        while named:
            fact = ProcedureFact(
                quote=quote_for(text, quote_start, named.end()),
                text=without_treated_condition(normalize_space(named["name"])),
                performed_date=date_after(text, named.end()),
                assertion=Assertion.NEGATED if negated else Assertion.PRESENT,
            )
            facts.append((quote_start, fact))
            named = COORDINATED_PROCEDURE.match(text, named.end())
            quote_start = named.start("name") if named else quote_start
    done = [(m, m["name"], m.end("name")) for m in NAME_THEN_DONE.finditer(text)]
    done += [(m, m["name"], m.end("name")) for m in NAME_THEN_FINDINGS.finditer(text)]
    done += [(m, m["name"], m.end("name")) for m in OPERATION_AND_YEAR.finditer(text)]
    done += [(m, m["name"], m.end("name")) for m in STUDY_REPORTED.finditer(text)]
    done += [(m, f"{m['device']} placement", m.end()) for m in DEVICE_PLACED.finditer(text)]
    for match, name, name_end in done:
        if (
            in_regions(match.start(), skip_regions)
            or NEGATED_BEFORE.search(wrapped_text_before(text, match.start()))
            or a_relatives_or_denied(text, match.start(), name_end)
        ):
            continue
        fact = ProcedureFact(
            quote=quote_for(text, match.start(), match.end()),
            text=normalize_space(name),
            performed_date=date_after(text, match.end())
            or performed_on(text[name_end : match.end()]),
            assertion=Assertion.PRESENT,
        )
        facts.append((match.start(), fact))
    return [fact for _, fact in sorted(facts, key=lambda found: found[0])]


# What the writer plans to have done ('We will order a repeat echocardiogram', 'will obtain MRI of
# the lumbar spine', 'Schedule colonoscopy.', 'due for her routine mammogram'): a procedure not
# done yet (hypothetical: a ServiceRequest). Only future and imperative wording: 'an
# echocardiogram was ordered and showed ...' reports one done.
PLANNED_HEAD = (
    r"(?:MRI|MRA|CT(?:[ \t]+scan)?|PET(?:[ \t]+scan)?|x-?rays?|(?-i:XR)|ultrasound"
    r"|(?!(?:pro|dia|kilo|milli|micro|nano)gram)[a-z]*gram"
    r"|EKG|ECG|EGD|DEXA(?:[ \t]+scan)?|(?:stress|glucose[ \t]+tolerance)[ \t]+test|O?GTT"
    rf"|sleep[ \t]+study|pulmonary[ \t]+function[ \t]+tests?|[A-Za-z-]*(?:{PROCEDURE_SUFFIXES})"
    r"|(?:video[ \t-]*)?EEG(?:[ \t]+monitoring)?|EMG|spirometry|biometry|phacoemulsification"
    r"|visual[ \t]+fields?|[a-z]+[ \t]+testing|(?:pulmonary|cardiac)[ \t]+rehab(?:ilitation)?"
    r"|(?:physical|occupational|speech)[ \t]+therapy)\b"
    # the body part an imaging study looks at ('low-dose CT chest ordered')
    r"(?:(?:[ \t]+(?:left|right|bilateral))?[ \t]+(?:chest|abdomen|pelvis|head|brain|neck"
    r"|(?:lumbar|cervical|thoracic)[ \t]+spine|sinus(?:es)?|foot|feet|ankle|knee|hip|shoulder|hand"
    r"|wrist|elbow|leg|arm|kidneys?|liver|thyroid|breast|heart|carotids?)\b)?"
    r"(?:[ \t]+(?:and|with|without)[ \t]+(?:pelvis|contrast|doppler)\b)?"
)
PLANNED_PROCEDURE = re.compile(
    r"(?:\b(?:will|to|we'll|I'll)[ \t]+(?:also[ \t]+)?"
    r"|(?:^|(?<=[.;:])[ \t])[ \t]*(?:[-\u2022*][ \t]*)?)"
    r"(?:obtain|order|schedule|arrange|perform|get|repeat)[ \t]+(?:for[ \t]+)?"
    r"|\b(?:due|scheduled|booked|referred)[ \t]+for[ \t]+|\brecommend(?:s|ed)?[ \t]+"
    r"|\brefer(?:ral)?[ \t]+to[ \t]+"  # 'Refer to pulmonary rehabilitation'
    r"|\breferred[ \t]+to[ \t]+(?:[A-Za-z-]+[ \t]+){1,3}?for[ \t]+"
    # a label: 'Procedure planned: Right total knee arthroplasty', 'Scheduled surgery: ...'
    r"|\b(?:(?:procedures?|surgery|operations?)[ \t]+(?:planned|scheduled)"
    r"|(?:planned|scheduled)[ \t]+(?:procedures?|surgery|operations?))[ \t]*:[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
PLANNED_NAME = re.compile(
    r"(?:an?[ \t]+|the[ \t]+|her[ \t]+|his[ \t]+)?"
    r"(?:(?:repeat|routine|screening|follow-up|elective|possible)[ \t]+)?"
    rf"(?P<name>(?:\b(?!(?:for|to|and|or|with|in|on|at|from|by)\b)[A-Za-z0-9][A-Za-z0-9'-]*[ \t]+)"
    rf"{{0,3}}?{PLANNED_HEAD}"
    rf"(?:[ \t]+of[ \t]+(?:the[ \t]+)?(?:{SITE_WORD}[ \t]+){{0,2}}{SITE_WORD}\b)?)",
    re.IGNORECASE,
)


# 'Colonoscopy is scheduled for next month', 'Echocardiogram ordered.', 'Colonoscopy due in
# 2026': the name comes first ('An echocardiogram was ordered and showed ...' reports one done).
NAME_THEN_PLANNED = re.compile(
    PLANNED_NAME.pattern + r"(?:[ \t]+\([^()\n]{1,30}\))?"  # 'Pre-op biometry (IOLMaster) ordered'
    r"(?:[ \t]+-|,)?[ \t]+(?:(?:is|are|has[ \t]+been|have[ \t]+been|will[ \t]+be)[ \t]+)?"
    r"(?:scheduled|planned|booked|arranged|recommended|ordered|requested|due(?![ \t]+to)"
    r"|referral[ \t]+(?:placed|sent|made))\b"
    r"(?![ \t]+(?:and|which|that|showed|revealed)\b)",
    re.IGNORECASE,
)


NOT_PLANNED_BEFORE = re.compile(
    r"\b(?:no|never|not|without|declin\w*|refus\w*)\b[^.\n]{0,30}$", re.IGNORECASE
)


# A plan the text calls off: 'Repeat colonoscopy not needed now; surveillance due 2026', 'Repeat
# CT adrenal in 12 months\nis not required per guidelines'.
NOT_NEEDED_AFTER = re.compile(
    r"(?:[ \t]*|[^.;:\n]{0,40}?(?:\n[^.;:\n]{0,40}?)?[ \t\n](?=is[ \t]+not\b))"
    r"(?:is[ \t]+|was[ \t]+)?(?:not[ \t]+(?:needed|indicated|required|necessary)"
    r"|no[ \t]+longer[ \t]+(?:needed|indicated))\b",
    re.IGNORECASE,
)


NEGATED_NAME_END = re.compile(r"\b(?:not|no[ \t]+longer|never)$", re.IGNORECASE)


# A study reported with its date, its findings after a colon ('Routine EEG 01/18/2024: left
# temporal sharp waves', 'MRI RIGHT KNEE (10/10/2023): COMPLETE ACL TEAR', 'ECG today: sinus
# rhythm'): it was done.
STUDY_REPORTED = re.compile(
    r"(?:^|(?<=[.;:])[ \t])[ \t]*(?:(?:an?|the|last|prior|previous|recent|routine)[ \t]+)?"
    rf"(?P<name>(?:{NAME_WORD}){{0,2}}?{PLANNED_HEAD}"
    r"(?:[ \t]+(?!(?:on|dated|today)\b)[A-Za-z0-9-]+){0,4}?)"
    r"[ \t]*\(?[ \t]*(?:(?:on|dated|today)[ \t]+)?(?:\d{1,2}/(?:\d{1,2}/)?\d{2,4}|today)[ \t]*\)?"
    r"[ \t]*:",  # ('XR RIGHT KNEE 2 VIEWS (TODAY 02/20/2024):')
    re.IGNORECASE | re.MULTILINE,
)


# A referral the writer makes ('Referral to individual cognitive behavioral therapy (CBT)',
# 'Cardiology referral - Dr. ...', 'Refer to nephrology'): a service to be given, as a planned
# procedure is. (Not 'consult': inpatient notes say a consult was done that way.)
SERVICE = (
    r"(?:[a-z]+olog(?:y|ist)|(?:general|vascular|orthopa?edic|plastic|colorectal|bariatric"
    r"|cardiothoracic)[ \t]+surgery|orthopa?edics|psychiatry|podiatry|(?:[a-z-]+[ \t]+){0,3}?"
    r"(?:therapy|rehab(?:ilitation)?|counsel+ing)|dentist(?:ry)?|nutrition(?:ist)?|dietitian"
    r"|social[ \t]+work(?:er)?|home[ \t]+health(?:[ \t]+nursing)?|hospice|palliative[ \t]+care"
    r"|sleep[ \t]+medicine|pain[ \t]+management)"
)
REFERRAL = re.compile(
    # (not one made before: 'was referred to cardiology in 2019')
    r"\b(?<!was )(?<!were )(?<!been )(?<!previously )(?<!had )"
    r"(?:referral|refer(?:red)?)[ \t]+(?:back[ \t]+)?to[ \t]+"
    r"(?:(?:an?|the|individual|outpatient|pediatric|local|group)[ \t]+)*"
    # (not 'Referred to general surgery for elective cholecystectomy': the plan is named after)
    rf"(?P<name>{SERVICE})\b(?![ \t]+for\b)"
    rf"|\b(?P<named_first>{SERVICE})[ \t]+referral\b(?![ \t]+(?:letter|note|report)\b)",
    re.IGNORECASE,
)


# Tests to be drawn ('Labs ordered: TSH, CMP, CBC and urine drug screen', 'Labs in AM: CBC,
# CMP', 'Recheck hemoglobin in 3 months', 'Basic metabolic panel (potassium, creatinine) in 1
# week'): each a planned test. Only names with no value: 'Labs: CBC normal' reports results.
LAB_TEST = (
    r"(?:CBC(?:[ \t]+with[ \t]+diff(?:erential)?)?|CMP|BMP|complete[ \t]+blood[ \t]+count"
    r"|(?:basic|comprehensive)[ \t]+metabolic[ \t]+panel|lipid[ \t]+panel|fasting[ \t]+lipids"
    r"|TSH|free[ \t]+T4|(?:hemoglobin[ \t]+)?A1c|HbA1c|urinalysis|urine[ \t]+(?:drug[ \t]+screen"
    r"|culture|toxicology)|UDS|LFTs|liver[ \t]+function[ \t]+tests|PT/INR|INR|BNP|troponins?"
    r"|magnesium|ferritin|iron[ \t]+studies|vitamin[ \t]+(?:D|B12)(?:[ \t]+level)?|PSA|ESR|CRP"
    r"|blood[ \t]+cultures|hemoglobin|potassium|creatinine|electrolytes)"
)
LAB_ORDER = re.compile(
    r"\blabs?[ \t]+(?:ordered|to[ \t]+be[ \t]+drawn|in[ \t]+(?:the[ \t]+)?(?:AM|morning)"
    r"|(?:at|before)[ \t]+(?:the[ \t]+)?next[ \t]+visit)[ \t]*:[ \t]*"
    r"|(?:^|(?<=[.;:])[ \t])[ \t]*(?:[-\u2022*][ \t]*|\d{1,2}[.)][ \t]+)?"
    r"(?:(?:re)?check|repeat|draw|order)[ \t]+(?=(?:a[ \t]+)?" + LAB_TEST + r"\b)"
    r"|(?:^|(?<=[.;:])[ \t])[ \t]*(?:[-\u2022*][ \t]*|\[[ xX]?\][ \t]*|\d{1,2}[.)][ \t]+)?"
    r"(?=" + LAB_TEST + r"(?:[ \t]+\([^()\n]{1,40}\))?[ \t]+in[ \t]+\d+[ \t]+(?:days?|weeks?"
    r"|months?)\b)",
    re.IGNORECASE | re.MULTILINE,
)
LAB_ITEM = re.compile(
    rf"(?:a[ \t]+)?(?P<name>{LAB_TEST})\b(?:[ \t]+\([^()\n]{{1,40}}\))?"
    r"(?P<sep>[ \t]*(?:,|and|&|/)[ \t]*(?:and[ \t]+)?)?",
    re.IGNORECASE,
)


def planned_tests(text: str) -> list[tuple[int, str, int]]:
    """(start, name, end) of each test a lab order names, one after another."""
    found = []
    for order in LAB_ORDER.finditer(text):
        position = order.end()
        while item := LAB_ITEM.match(text, position):
            found.append((item.start("name"), item["name"], item.end("name")))
            if not item["sep"]:
                break
            position = item.end()
    return found


def planned_procedures(text: str, skip_regions: list[Region]) -> list[ProcedureFact]:
    """Procedures, referrals and tests the text says will be done, named by what is done."""
    plans = [
        (cue.start(), named["name"], named.end())
        for cue in PLANNED_PROCEDURE.finditer(text)
        if (named := PLANNED_NAME.match(text, cue.end()))
    ] + [(named.start(), named["name"], named.end()) for named in NAME_THEN_PLANNED.finditer(text)]
    planned_at = {start for start, _, _ in plans}
    plans += [  # (not again what a plan names: 'Refer to pulmonary rehabilitation')
        (
            referral.start(),
            f"{referral['name'] or referral['named_first']} referral",
            referral.end(),
        )
        for referral in REFERRAL.finditer(text)
        if referral.start() not in planned_at
    ]
    plans += planned_tests(text)
    facts = []
    for start, name, end in sorted(plans, key=lambda plan: plan[0]):
        if (
            in_regions(start, skip_regions)
            or NOT_PLANNED_BEFORE.search(wrapped_text_before(text, start))
            or NOT_NEEDED_AFTER.match(text, end)
            or NEGATED_NAME_END.search(name)  # 'Staged PCI of RCA is not planned'
        ):
            continue
        facts.append(
            ProcedureFact(
                quote=quote_for(text, start, end),
                text=normalize_space(name),
                assertion=Assertion.HYPOTHETICAL,
            )
        )
    return facts
