"""Sections and tables: where in the text a kind of fact is listed, and what each column holds.

Sections come from the medspaCy sectionizer (`pipeline`), with the titles EHRs print as a line of
their own (`lexicon/section_titles.csv`: Problems, Medications, Allergies and Adverse Reactions,
Results, Vital Signs, Procedures, Immunizations, Plan of Care, Encounters, Social and Family
History ...) besides the 'Title:' headers of notes (`lexicon/section_rules.csv`).

Tables are the rows `medpipeline.pdf` writes one per line with cells between bars
('| Penicillin | Hives | Active |'). A table's header row ('| Substance | Reaction | Status |') is
recognised by its words and never read as a fact; it names each column's role (name, value, unit,
range, reaction, severity, status, date, ...). The table's kind is its section's; a table outside
any known section takes the kind its header row implies (Substance + Reaction -> allergies, Test +
Result + Unit -> results, vital-sign names as columns -> vital signs).
"""

import re
from dataclasses import dataclass, field

from spacy.tokens import Doc

from medpipeline.extraction.offline.demographics import parse_date
from medpipeline.extraction.offline.section_rules import (
    MEDICATIONS,
    is_section_title,
    section_title_category,
)
from medpipeline.extraction.offline.text import (
    CELL_FIELD,
    LIST_MARKER,
    Region,
    labelled,
    normalize_space,
)
from medpipeline.table_columns import header_offset

ALLERGY_CATEGORIES = {"allergy", "allergies"}
MEDICATION_CATEGORIES = {"medications"}
ASSESSMENT_AND_PLAN = "observation_and_plan"
PROBLEMS = "problem_list"
PAST_HISTORY = "past_medical_history"
ALLERGIES = "allergy"
RESULTS = "labs_and_studies"
VITALS = "vital_signs"
PROCEDURES = "procedures"
PLANNED_PROCEDURES = "planned_procedures"  # a plan's procedures: ServiceRequests, never done
ASSESSMENT = "observation_and_plan"
NARRATIVE_SECTIONS = {ASSESSMENT, "history_of_present_illness", "chief_complaint"}
CONTENTS = "contents"  # a rendered table of contents
ADMINISTRATIVE = "administrative"
# A microbiology susceptibility table ('Antibiotic | MIC (mcg/mL) | Interpretation'): each row an
# antibiotic tested against the isolate, neither a drug the patient takes nor a result of his.
SUSCEPTIBILITY = "susceptibility"

# A code system's name printed in a cell before the code ('| SNOMED- CT | 59621000 |').
CODE_SYSTEM = re.compile(
    r"SNOMED(?:[- ]+CT)?|LOINC|CPT(?:-?4)?|HCPCS|ICD-?(?:9|10)(?:-?(?:CM|PCS))?|RxNorm|NDF-RT"
    r"|UNII|CVX|NDC",
    re.IGNORECASE,
)
# The labels of a rendering's document details block (CDA.xsl and others print it after the last
# section: who the document is about, by and for, and its identifiers).
DETAILS_LABEL = re.compile(
    r"(?:document(?:[ \t]+id(?:entifier)?)?|custodian|patient(?:-?[ \t]*ids?)?"
    r"|date[ \t]+of[ \t]+birth|gender|sex|race|ethnicity|language(?:[ \t]+communication)?"
    r"|documentation[ \t]+of|performer"
    r"|author|(?:legal[ \t]+)?authenticator|encounter(?:[ \t]+id)?|responsible[ \t]+party"
    r"|information[ \t]+recipient|recipient|informant|participant|provider[ \t]+organization"
    r"|created[ \t]+on|contact[ \t]+(?:info|details)|guardian|care[ \t]+provision)[ \t]*:?",
    re.IGNORECASE,
)
# A column labelled by its code system ('| Problem | ICD-10 |', 'ICD-10 Code', 'SNOMED CT ID').
CODE_SYSTEM_LABEL = re.compile(
    rf"(?:{CODE_SYSTEM.pattern})(?:[ \t]+(?:codes?|ids?))?[ \t]*:?", re.IGNORECASE
)
TABLE_ROW = re.compile(r"^[ \t]*\|[^\n]*\|[ \t]*$", re.MULTILINE)
CELL = re.compile(r"(?<=\|)([^|\n]*)(?=\|)")
MAX_HEADER_CELL_WORDS = 5
# A problem's or an allergy's status: resolved, or no longer active without resolving.
RESOLVED_STATUS = re.compile(r"\bresolved\b", re.I)
INACTIVE_STATUS = re.compile(r"\b(?:inactive|historical|history|past)\b", re.I)


def status_says(written: str) -> tuple[bool, bool]:
    """(resolved, inactive) as a status says it: 'Resolved'; 'Inactive', 'Historical', 'Past'."""
    resolved = bool(RESOLVED_STATUS.search(written))
    return resolved, not resolved and bool(INACTIVE_STATUS.search(written))


# A questionnaire's or a yes/no column's answer ('| Arthritis | Y |', '| Active | No |').
YES_ANSWER = re.compile(r"y|yes|positive|present|true", re.IGNORECASE)
NO_ANSWER = re.compile(r"n|no|negative|absent|false|denies", re.IGNORECASE)

# Column roles by the words of a header cell, the first that fits wins (order matters: 'Reaction
# Severity' is severity, 'Date Ordered' a date, 'Result Status' a status).
COLUMN_ROLES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern, re.IGNORECASE))
    for role, pattern in (
        (
            "name",
            r"\bcode[ \t]+(?:description|display|name|text)\b|\bdisplay[ \t]+name\b"
            r"|^(?:procedure|test|exam|study)[ \t]+type$",
        ),
        # a drug column that names its dose and route too ('Medication / dose / route')
        ("name", r"^(?:medications?|medicines?|drugs?)\b(?![ \t]+(?:class|group|category))"),
        # a questionnaire's answer to the row's question ('| Arthritis | Y |')
        ("answer", r"^(?:responses?|answers?|y/n|yes/no|present\?)$"),
        # whether the row's problem or drug is current ('| Active | Description |': Yes / No)
        ("active", r"^(?:active|current(?:ly[ \t]+taking)?|taking)\??$"),
        # what a fact is linked to, not the fact: 'Related Diagnosis', 'Indication'
        ("details", r"\b(?:related|associated|linked|indications?|reasons?|symptoms?)\b"),
        ("details", r"\b(?:group|category|class|classification)\b"),
        # a medication review's drug therapy problem ('Issue identified'), not the row's name
        ("details", r"^(?:issues?|problems?)[ \t]+(?:identified|found|noted)$"),
        ("severity", r"\b(?:severity|criticality)\b"),
        # a reconciliation's 'Action' or 'Decision' (CONTINUE / STOP; 'Action (Continue / Hold /
        # Discontinue)', 'Admission Action'), a trials table's 'Outcome' (stopped 2022)
        # a medication review's 'Recommendation / outcome' (STOP losartan - approved)
        (
            "status",
            r"\bstatus\b|^(?:\w+[ \t]+)?(?:action|decision)\b|^outcome$|^recommendations?\b",
        ),
        ("reaction", r"\b(?:reactions?|manifestations?)\b"),
        # a dialysis or diabetes flowsheet's 'Target' / 'Goal' column: the range it is read by
        ("range", r"\b(?:range|interval|reference|ref|normal)\b|^(?:target|goal)s?$"),
        ("unit", r"^units?$"),
        ("flag", r"\b(?:flags?|interpretation|abnormal)\b"),
        ("code", r"\b(?:code|cvx|lot|ndc|rxnorm|snomed|icd|id)\b|#"),
        ("sig", r"\b(?:sig|instructions?|directions|dose|dosage|frequency|route|quantity)\b"),
        (
            "date",
            r"\b(?:dates?|onset|time|period|when|resolved|start|stop|end|effective"
            r"|administered|ordered|expiration|performed|given|collected|collection|drawn"
            r"|resulted)\b",
        ),
        ("value", r"^(?:results?|values?|result values?|findings?|measurement|reading)$"),
        # a susceptibility table's ('Antibiotic | MIC (mcg/mL) | Interpretation')
        ("value", r"^(?-i:MIC)\b"),
        (
            "details",
            r"\b(?:details|comments?|notes?|context|provider|source|author|location|type"
            r"|manufacturer|mfg|priority|facility|performer|clinician|physician|organization"
            r"|documented|recorded|entered|percentiles?|z-?scores?)\b",
        ),
        (
            "name",
            r"\b(?:name|problems?|diagnos[ie]s|conditions?|medications?|drugs?|substance"
            r"|allergens?|agent|allerg(?:y|ies)|tests?|components?|procedures?|observations?"
            r"|items?|vaccines?|immunizations?|analytes?|descriptions?|products?|activity"
            r"|issues?|surgery|operation|concern|dx|rx|antibiotics?|antimicrobials?"
            r"|measures?|parameters?)\b",
        ),
    )
)

# What a table's header implies about its kind when no section title says it.
HEADER_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        (
            SUSCEPTIBILITY,
            # (not an allergy table's 'Susceptibility' column, EMERGE's word for a propensity)
            r"\b(?-i:MIC)\b|\b(?:antibiotics?|antimicrobials?)\b.*\b(?:interp\w*|S/I/R)",
        ),
        (
            ALLERGIES,
            r"\b(?:substance|allergen|allerg(?:y|ies))\b.*\breactions?\b"
            r"|\breactions?\b.*\b(?:substance|allergen)\b",
        ),
        (
            MEDICATIONS,
            r"\b(?:medications?|drugs?)\b.*\b(?:sig|dose|directions|instructions"
            r"|route|frequency)\b",
        ),
        (RESULTS, r"\b(?:tests?|components?|analytes?)\b.*\b(?:results?|values?)\b"),
        (PROBLEMS, r"\b(?:problems?|diagnos[ie]s|conditions?|dx)\b"),
        (PROCEDURES, r"\bprocedures?\b"),
        ("immunizations", r"\b(?:vaccines?|immunizations?|cvx)\b"),
    )
)


@dataclass(frozen=True)
class Cell:
    text: str
    start: int  # offsets of the stripped cell text in the chunk text
    end: int


@dataclass
class TableRow:
    cells: list[Cell]
    start: int
    end: int
    continues: bool = False  # more of the row above ('|  | ICD-10-CM | I10 | ... |'), no new fact
    listed_status: str = ""  # the status its column's header gives it (`status_lists`)

    def filled(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.text]


# A reconciliation's action columns, each marked or not ('| CONTINUE | STOP | HOLD |'), and the
# marks ticking one.
ACTION_COLUMN = re.compile(
    r"continue|stop|discontinue|d/c|hold|new|start|resume|change", re.IGNORECASE
)
MARK = re.compile(r"x|\[x\]|yes|y|[\u2713\u2714\u2611\u2612\u25cf]", re.IGNORECASE)


DIAGNOSIS_HEADER = re.compile(r"\b(?:diagnos[ie]s|dx)\b", re.IGNORECASE)


@dataclass
class Table:
    kind: str | None
    roles: list[str | None] = field(default_factory=list)  # per column, from the header row
    header: TableRow | None = None
    rows: list[TableRow] = field(default_factory=list)  # data rows: no header, no caption
    region: Region = (0, 0)
    # printed right below another table, without a header row: not the section's table (the
    # document's details block under the last section), read only by its cells
    detached: bool = False
    caption: str = ""  # the rows above its header row ('ED COURSE / MEDICATIONS ADMINISTERED')

    def cell(self, row: TableRow, role: str) -> Cell | None:
        """The row's first non-empty cell in a column of that role."""
        return next(iter(self.cells(row, role)), None)

    def cells(self, row: TableRow, role: str) -> list[Cell]:
        """The row's non-empty cells in the columns of that role."""
        return [
            row.cells[index]
            for index, column_role in enumerate(self.roles)
            if column_role == role and index < len(row.cells) and row.cells[index].text
        ]

    def status_text(self, row: TableRow) -> str:
        """The row's status column, else a 'Status: ...' written in its cells, else the status
        of the list it is in (`status_lists`)."""
        status = self.cell(row, "status")
        if status:
            return status.text
        return labelled(self.row_text(row), "status") or row.listed_status

    def marked_action(self, row: TableRow) -> str | None:
        """The one action column the row marks ('| CONTINUE | STOP | HOLD |' with an 'X' under
        'STOP'): that column's label."""
        if self.header is None:
            return None
        marked = [
            label.text
            for index, label in enumerate(self.header.cells)
            if ACTION_COLUMN.fullmatch(label.text)
            and index < len(row.cells)
            and MARK.fullmatch(row.cells[index].text)
        ]
        return marked[0] if len(marked) == 1 else None

    def says_not_current(self, row: TableRow) -> bool:
        """The row's 'Active' column answers no."""
        current = self.cell(row, "active")
        return bool(current and NO_ANSWER.fullmatch(current.text))

    def name_cell(self, row: TableRow) -> Cell | None:
        """The cell naming the row's fact: the 'name' column (in a table of diagnoses, the last
        one headed as a diagnosis: '| Site | Procedure | Clinical Dx | Path Dx |' names the
        pathology's), else the first filled cell that is not a date, code, status or value."""
        if self.kind == PROBLEMS and self.header is not None:
            diagnoses = [
                row.cells[index]
                for index, cell in enumerate(self.header.cells)
                if index < len(row.cells)
                and index < len(self.roles)
                and self.roles[index] == "name"
                and DIAGNOSIS_HEADER.search(cell.text)
            ]
            if diagnoses:
                return diagnoses[-1] if diagnoses[-1].text else None
        named = self.cell(row, "name")
        if named or "name" in self.roles:
            return named
        skip = {"date", "code", "status", "value", "unit", "range", "flag", "severity"}
        after_system = False
        for index, cell in enumerate(row.cells):
            role = self.roles[index] if index < len(self.roles) else None
            if cell.text and role not in skip and not after_system:
                if not CODE_SYSTEM.fullmatch(cell.text):
                    return cell
                after_system = True  # '| CPT | 83721 | Assay of blood lipoprotein |'
            elif cell.text:
                after_system = False
        return None

    def row_text(self, row: TableRow) -> str:
        return " ".join(cell.text for cell in row.cells if cell.text)


def section_regions(
    doc: Doc, categories: set[str], titled: re.Pattern[str] | None = None
) -> list[Region]:
    """Character regions (title and body) of the sections of the given categories (and, with
    `titled`, whose title the pattern matches in full)."""
    regions = []
    for section in doc._.sections:
        title = doc[section.title_start : section.title_end].text.strip()
        if titled and not titled.fullmatch(title):
            continue
        if section.category in categories and section.body_end > section.title_start:
            start = doc[section.title_start].idx
            last = doc[section.body_end - 1]
            regions.append((start, last.idx + len(last.text)))
    return regions


def section_spans(doc: Doc) -> list[tuple[int, int, str | None]]:
    """(start, end, category) of every section, title included, in text order."""
    spans = []
    for section in doc._.sections:
        if section.body_end <= section.title_start:
            continue
        start = doc[section.title_start].idx if section.title_end > section.title_start else 0
        last = doc[section.body_end - 1]
        spans.append((start, last.idx + len(last.text), section.category))
    return spans


# What a label says lists vaccines, to its sentence's or line's end ('Immunizations given
# today: MMR, varicella, hepatitis A', 'Patient was given the following immunizations: ..., hep
# b, adult.'); a label opening its line goes on over the next sentences that read as vaccine
# items ('Immunization history: Tdap 2019. MMR x2. Hep B series complete.'; not 'Immunizations:
# up to date. Hypertension, diabetes.'), or over the bulleted lines below it when it ends the
# line ('Vaccines administered today:\n- Hepatitis A (Havrix) dose 1'): the sectionizer knows
# the bare title only, and a vaccine's disease is no condition of the patient.
_VACCINE_LABEL = r"\b(?:immuni[sz]ations?|vaccines?|vaccinations?)\b[^:.\n]{0,40}:"
_VACCINE_ITEM = (
    r"[^.\n]*?\b(?:series|doses?|boost\w*|x[ \t]?\d|vaccin\w*|shots?|given|completed?|UTD"
    r"|up[ \t]+to[ \t]+date|(?:19|20)\d\d)\b[^.\n]*?"
)
_SENTENCE_END = r"(?=\.[ \t]+[A-Z]|\.?[ \t]*$)"
VACCINE_LIST = re.compile(
    rf"^[ \t]*{_VACCINE_LABEL}(?:[ \t]*\n(?:[ \t]*(?:[-*\u2022]|\d+[.)])[^\n]*(?:\n|$))+"
    rf"|[^\n]*?(?:\.[ \t]+{_VACCINE_ITEM})*{_SENTENCE_END})"
    rf"|{_VACCINE_LABEL}[^\n]*?{_SENTENCE_END}",
    re.IGNORECASE | re.MULTILINE,
)


def vaccine_list_regions(text: str) -> list[Region]:
    return [(match.start(), match.end()) for match in VACCINE_LIST.finditer(text)]


# A document's own title, in capitals, naming its kind ('NEUROLOGY STROKE DISCHARGE SUMMARY',
# 'INFECTIOUS DISEASE CONSULTATION', 'HEART FAILURE CLINIC NOTE'): what the document is about,
# not a fact the document asserts.
DOCUMENT_TITLE = re.compile(
    r"^[ \t]*(?:(?:[A-Z][A-Z&/'-]*|[-\u2013])[ \t]+){0,8}"  # ('INFECTIOUS DISEASE - HIV ...')
    r"(?:NOTE|SUMMARY|REPORT|CONSULT|CONSULTATION|VISIT|LETTER|EVALUATION|FOLLOW-UP)[ \t]*$",
    re.MULTILINE,
)


def document_title_regions(text: str) -> list[Region]:
    return [match.span() for match in DOCUMENT_TITLE.finditer(text)]


def title_regions(doc: Doc) -> list[Region]:
    """The section titles themselves: never a fact."""
    regions = []
    for section in doc._.sections:
        if section.title_end > section.title_start:
            first, last = doc[section.title_start], doc[section.title_end - 1]
            regions.append((first.idx, last.idx + len(last.text)))
    return regions


def category_at(spans: list[tuple[int, int, str | None]], position: int) -> str | None:
    found = None
    for start, end, category in spans:
        if start <= position < end or (start <= position and end == position):
            found = category
    return found


def cell_of(raw: str, start: int) -> Cell:
    """The cell written `raw` from `start`: its text stripped, at the offsets of what is left."""
    stripped = raw.strip()
    offset = start + (len(raw) - len(raw.lstrip()))
    return Cell(normalize_space(stripped), offset, offset + len(stripped))


def parse_row(text: str, start: int, end: int) -> TableRow:
    cells = [cell_of(match.group(1), match.start(1)) for match in CELL.finditer(text, start, end)]
    return TableRow(cells=cells, start=start, end=end)


def column_role(header: str) -> str | None:
    words = header.strip(" :").lower()
    for role, pattern in COLUMN_ROLES:
        if pattern.search(words):
            return role
    return None


def header_roles(header: TableRow) -> list[str | None]:
    """Each column's role; of two value columns with no name column ('Result | Value | Units'),
    the first names the test."""
    roles = [column_role(cell.text) for cell in header.cells]
    if "name" not in roles and roles.count("value") > 1:
        roles[roles.index("value")] = "name"
    return roles


# A header label's remark in parentheses, not counted among its words ('Action (Continue / Hold /
# Discontinue)').
REMARK = re.compile(r"\([^()]*\)")


TIME_OF_DAY = re.compile(r"(?:[01]\d|2[0-3]):?[0-5]\d")
# A label and the number read ('HR 92', 'BP 148/86', 'SpO2 94% RA', 'Temp 97.9 F').
LABELLED_READING = re.compile(
    r"[A-Za-z][A-Za-z0-9 ()/.-]*?[ \t:]+[<>]?\d+(?:\.\d+)?(?:/\d+)?"
    r"(?:[ \t]*%|[ \t]*[A-Za-z\u00b0/]+){0,2}[ \t]*"
)


def is_header_row(row: TableRow, vital_name) -> bool:
    """Every filled cell a short label without digits, and at least one a known column word or
    vital-sign name ('Name | Dates | Details', 'Date | BP-Sys(mm[Hg]) | HR(bpm)'). One label
    across a wide table ('| Current Medications (continue as prescribed) |  |  |') is a caption.
    A row naming three vital signs may have one long label among them ('Pain severity - 0-10
    verbal numeric rating [Score] - Reported', a LOINC display name) and labels of other
    readings ('BP | Pulse | Weight | Fundal | FHR | Edema', a prenatal flow sheet). Two or more
    hours of the day label an administration record's columns ('| Medication / dose / route |
    0600 | 0800 |')."""
    filled = row.filled()
    if not filled or (len(filled) == 1 and len(row.cells) >= 3):
        return False
    known = vitals = unlike_a_label = 0
    times = sum(1 for cell in filled if TIME_OF_DAY.fullmatch(cell.text))
    for cell in filled:
        if times >= 2 and TIME_OF_DAY.fullmatch(cell.text):
            known += 1  # an administration record's hours ('Medication / dose / route | 0600')
        elif LABELLED_READING.fullmatch(cell.text):
            unlike_a_label += 1  # 'BP 148/86', 'Temp 97.9 F': a vital sign read, not its label
        elif CELL_FIELD.fullmatch(cell.text):
            unlike_a_label += 1  # 'Surgeon: R. Abernathy, MD': a form's field filled in
        elif vital_name(cell.text) and len(cell.text.split()) <= MAX_HEADER_CELL_WORDS:
            known += 1
            vitals += 1
        elif CODE_SYSTEM_LABEL.fullmatch(cell.text):
            known += 1  # 'ICD-10', 'ICD-10 Code': a code column's label, digits and all
        elif label_words(REMARK.sub("", cell.text)) > MAX_HEADER_CELL_WORDS or re.search(
            r"\d", cell.text
        ):
            unlike_a_label += 1
        elif column_role(REMARK.sub("", cell.text)):  # ('Sulfa (sulfonamide antibiotics)')
            known += 1
        elif ACTION_COLUMN.fullmatch(cell.text):
            known += 1  # a reconciliation's checkbox columns ('| Continue | Stop | Change |')
    if unlike_a_label > (1 if vitals >= 3 else 0):
        return False
    return vitals >= 3 or known >= max(1, (len(filled) + 1) // 2)


def label_words(label: str) -> int:
    """The words of a label, not its slashes ('Medication / dose / route / frequency': 4)."""
    return sum(1 for word in label.split() if word not in SLASHES)


SLASHES = frozenset({"/", "|", "&", "-"})


def is_caption_row(row: TableRow, width: int) -> bool:
    """One short filled cell in a wide table above its header row ('LABORATORY INFORMATION'), or
    one naming a section ('Home Medications (prior to admission)')."""
    filled = row.filled()
    if width < 2 or len(filled) != 1:
        return False
    return len(REMARK.sub("", filled[0].text).split()) <= 3 or is_titled_caption(row, width)


def is_titled_caption(row: TableRow, width: int) -> bool:
    """A lone cell naming a section in a wide table: a form's section inside its grid."""
    filled = row.filled()
    return width >= 2 and len(filled) == 1 and section_title_category(filled[0].text) is not None


def captions_a_header(rows: list[TableRow], index: int, width: int, vital_name) -> bool:
    """The row at `index` is a caption: a short or a section's title, or any lone label of a
    wide table with its header row right below ('| ED COURSE / MEDICATIONS ADMINISTERED |  |  |'
    above '| Time | Medication | Dose / Route |')."""
    row = rows[index]
    return is_caption_row(row, width) or (
        width >= 2
        and len(row.filled()) == 1
        # (a reading is no caption; the dates it covers are: 'MEDICATION ADMINISTRATION RECORD -
        # 11/02/2025 to 11/03/2025')
        and not READING.search(DATE_VALUE.sub("", row.filled()[0].text.split("(")[0]))
        and index + 1 < len(rows)
        and is_header_row(rows[index + 1], vital_name)
    )


# A status printed as a row of its own, heading the rows below it ('Expired', 'Active').
STATUS_CAPTION = re.compile(
    r"(?:active|inactive|expired|resolved|current|completed|historical|past|discontinued"
    r"|cancell?ed|pending|on hold)(?:[ \t]+\w+)?",
    re.IGNORECASE,
)


def is_status_caption(row: TableRow, width: int) -> bool:
    """A data row that is only a status heading the rows below it, not a fact. Another lone
    cell is a row whose other cells are empty ('| codeine sulfate |  |  |' in an allergy table)."""
    filled = row.filled()
    return width > 1 and len(filled) == 1 and bool(STATUS_CAPTION.fullmatch(filled[0].text))


ICD10_SYSTEM = r"ICD-?10(?:-CM)?"


def printed_code(row: TableRow, system: str) -> str | None:
    """The code a row prints after its system ('| LOINC | 14646-4 |', '| ICD-10-CM | I10 |')."""
    cells = [cell.text for cell in row.cells]
    for index, cell in enumerate(cells[:-1]):
        if re.fullmatch(system, cell, re.IGNORECASE) and cells[index + 1]:
            return cells[index + 1]
    return None


def same_width(above: TableRow, row: TableRow) -> bool:
    """Rows of one table: as many cells, or the wider one's extra cells empty at its edges (a
    chunk's header row from its context above rows with empty edge columns)."""
    narrow, wide = sorted((above, row), key=lambda r: len(r.cells))
    extra = len(wide.cells) - len(narrow.cells)
    texts = [cell.text for cell in wide.cells]
    return any(
        not any(texts[:lead]) and not any(texts[len(texts) - (extra - lead) :])
        for lead in range(extra + 1)
    )


def table_blocks(text: str) -> list[list[TableRow]]:
    """Runs of consecutive table lines; a blank line (a page break) starts a new run, since the
    table finder may see the rest of a table with other edge columns on the next page, and so
    does a change of width that the next line keeps (`new_tables`)."""
    runs: list[list[TableRow]] = []
    last_end = -2
    for match in TABLE_ROW.finditer(text):
        row = parse_row(text, match.start(), match.end())
        if runs and text[last_end : match.start()].strip(" \t") == "\n":
            runs[-1].append(row)
        else:
            runs.append([row])
        last_end = match.end()
    return [block for run in runs for block in new_tables(run)]


def new_tables(run: list[TableRow]) -> list[list[TableRow]]:
    """A run of table lines split where lines of another width begin for good: the next table
    printed right below ('| Patient-IDs | ... |' under the vital signs, a second header row).
    Lines of another width followed later by lines of the table's width are rows whose cells
    the table finder cut in more pieces."""
    blocks, width_of = [[run[0]]], run[0]
    for index, row in enumerate(run[1:], 1):
        if same_width(width_of, row):
            blocks[-1].append(row)
            width_of = row
        elif any(len(later.cells) == len(width_of.cells) for later in run[index + 1 :]):
            blocks[-1].append(row)
        else:
            blocks.append([row])
            width_of = row
    return blocks


def filled_columns(rows: list[TableRow]) -> list[int]:
    """The indexes of the columns with text in some row."""
    width = max((len(row.cells) for row in rows), default=0)
    return [i for i in range(width) if any(i < len(r.cells) and r.cells[i].text for r in rows)]


def without_empty_edges(rows: list[TableRow]) -> list[TableRow]:
    """The rows without the edge columns that are empty in every row ('|  | Aspirin | 81 mg |  |'):
    the table finder may give a table, or its later pages, extra empty columns at its edges."""
    filled = filled_columns(rows)
    first, last = (filled[0], filled[-1] + 1) if filled else (0, 0)
    return [TableRow(row.cells[first:last], row.start, row.end, row.continues) for row in rows]


def fit_columns(rows: list[TableRow], width: int) -> list[TableRow] | None:
    """The header-less rows of a table's later page as the `width` columns of its header: the
    table finder may give them extra empty columns at either edge ('|  | 1/2/2013 | Biopsy |  |'),
    cut here, the leading ones first; None when they do not fit."""
    first = header_offset([[cell.text for cell in row.cells] for row in rows], width)
    if first is None:
        return None
    return [TableRow(row.cells[first : first + width], row.start, row.end) for row in rows]


def header_kind(header: TableRow | None, vital_name) -> str | None:
    if header is None:
        return None
    words = " ".join(cell.text for cell in header.filled())
    if sum(1 for cell in header.filled() if vital_name(cell.text)) >= 2:
        return VITALS
    return next((kind for kind, pattern in HEADER_KINDS if pattern.search(words)), None)


def is_contents(rows: list[TableRow]) -> bool:
    """A one-column table of section titles: the table of contents a renderer prints before the
    sections (CDA.xsl), each title a link, not a fact."""
    if any(len(row.filled()) > 1 for row in rows):
        return False
    titles = sum(1 for row in rows if row.filled() and is_section_title(row.filled()[0].text))
    return titles >= max(2, len(rows) / 2)


def is_details_block(rows: list[TableRow]) -> bool:
    """A table whose rows are mostly labelled by the document's details (Document ID, Custodian,
    Patient, Date of Birth, Author ...): the rendering's details block, wherever it stands (under
    the last section it is no row of that section)."""
    labelled = sum(
        1 for row in rows if row.filled() and DETAILS_LABEL.fullmatch(row.filled()[0].text)
    )
    return labelled >= max(3, len(rows) / 2)


def split_off_details(block: list[TableRow]) -> tuple[list[TableRow], list[TableRow]]:
    """A block's rows before the rendering's details block, and the block: the details printed
    right below a table of the same width ('| Document ID | ... | Created On | ... |' under a
    four-column vital-signs table) are no rows of it, nor is it part of them."""
    for index, row in enumerate(block):
        if (
            row.filled()
            and DETAILS_LABEL.fullmatch(row.filled()[0].text)
            and is_details_block(block[index:])
        ):
            return block[:index], block[index:]
    return block, []


def starts_other_table(part: list[TableRow], row: TableRow, vital_name) -> bool:
    """Under a caption row, a row of labels (three or more, no figures) in a table of vital
    signs: another table's header the table finder joined to it ('| CORONARY ANGIOGRAPHY |'
    then '| VESSEL | LESION | % STENOSIS |' below a hemodynamics table's '| SITE | SYSTOLIC |
    DIASTOLIC |' rows), whose rows are no readings of those vital signs."""
    filled = row.filled()
    labels = len(filled) >= 3 and not any(
        re.search(r"\d", cell.text)
        or len(REMARK.sub("", cell.text).split()) > MAX_HEADER_CELL_WORDS
        for cell in filled
    )
    header = next((above for above in part if is_header_row(above, vital_name)), None)
    return labels and header_kind(header, vital_name) == VITALS


def split_at_header_rows(block: list[TableRow], vital_name) -> list[list[TableRow]]:
    """A block cut where a second header row of the same width begins another table ('| Name |
    Dates | Details |' rows, then '| Date | Description | Value | Details |' rows): a row below
    the first whose cells, three or more, all name a column (or repeat the first's but for the
    first cell, a panel's name) and that does not repeat the first; another table's labels
    under a caption below vital signs (`starts_other_table`); a flowsheet's dates row; a
    caption naming a section (`is_titled_caption`)."""
    parts = [[block[0]]]
    width = max(len(row.cells) for row in block)
    for index, row in enumerate(block[1:], start=1):
        filled = row.filled()
        labels = [c.text for c in row.cells]
        if is_titled_caption(row, width):
            parts.append([row])  # a form's next section ('| 4. ACTIVE DIAGNOSES |  |  |')
            continue
        # the caption rows right above this row ('| TRIAGE VITALS |' under the allergies)
        captions = 0
        while captions < index and captions_a_header(
            block, index - captions - 1, width, vital_name
        ):
            captions += 1
        captions_only = captions >= len(parts[-1])
        above = [c.text for c in parts[-1][0].cells]
        if (
            not captions_only
            and (  # a caption stays with the header row below it
                (
                    len(filled) >= 3
                    and (
                        all(column_role(cell.text) or vital_name(cell.text) for cell in filled)
                        # the header again under the next panel's name ('| Hepatic Function Panel |
                        # Value | Units |' below '| Lipid Panel | Value | Units |')
                        or (labels[1:] == above[1:] and len(labels) == len(above))
                    )
                    and is_header_row(row, vital_name)
                    and labels != above
                )
                or (captions and starts_other_table(parts[-1], row, vital_name))
                # a flowsheet's dates row under a table of other rows ('| LAB | 06/05 | 06/04 |'
                # below a row of vital signs): a table of its own
                or (row_dates(row) is not None and row_dates(parts[-1][0]) is None)
            )
        ):
            moved = parts[-1][len(parts[-1]) - captions :] if captions else []
            del parts[-1][len(parts[-1]) - len(moved) :]
            parts.append([*moved, row])
        else:
            parts[-1].append(row)
    return parts


# A line of a table printed without rules: three or more cells a column gap apart, as
# `medpipeline.page_layout` writes them (a tab each), no bars ('BP\tHR\tRR\tTemp').
TAB_ROW = re.compile(
    r"^[^\n\t|]*[^\s|][^\n\t|]*(?:\t+[^\n\t|]*\S[^\n\t|]*){2,}[ \t]*$", re.MULTILINE
)
TAB_CELL = re.compile(r"[^\t\n]+")


def parse_tab_row(text: str, start: int, end: int) -> TableRow:
    cells = [
        cell_of(match.group(), match.start())
        for match in TAB_CELL.finditer(text, start, end)
        if match.group().strip()
    ]
    return TableRow(cells=cells, start=start, end=end)


# The rest of a header's labels the page wrapped onto the next line ('BP  Weight  Fundal\n
# ht  prot/glu' under 'Fundal' and 'Urine'): short words in lower case, no figures.
WRAPPED_LABELS = re.compile(
    r"\n[ \t]*[a-z][a-z/.()' -]{0,15}(?:\t+[a-z][a-z/.()' -]{0,15})*[ \t]*\n"
)


# A date where a value would be ('05/15/2014'): the row is a date line, not a result.
DATE_VALUE = re.compile(r"\d{1,2}[ \t]*[/.-][ \t]*\d{1,2}[ \t]*[/.-][ \t]*\d{2,4}\b")


# A column's date without its year, with a remark or not ('11/28 (Admit)', '12/02 (Discharge)').
MONTH_DAY = re.compile(r"(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])")
# and a trend's month ('| Test | 02/2024 | 08/2024 | 08/12/2025 | Units |')
MONTH_YEAR = re.compile(r"(?:0?[1-9]|1[0-2])/(?:19|20)\d{2}")


def is_date(written: str) -> bool:
    date = REMARK.sub("", written).strip()
    return bool(
        DATE_VALUE.fullmatch(date)
        or MONTH_DAY.fullmatch(date)
        or MONTH_YEAR.fullmatch(date)
        or parse_date(date)
    )


# The columns a dates row may name besides its dates.
DATED_ROW_LABELS = ("unit", "range", "flag")


# A word before a column's date ('PRE-OP 05/24', 'Admit 06/01'): which one it is.
WORD_BEFORE_DATE = re.compile(r"^[A-Za-z][A-Za-z-]{1,12}[ \t]+(?=\d)")


def row_dates(row: TableRow) -> dict[int, str] | None:
    """A flowsheet's dates row: its cells after the first are dates, two or more ('| Vital Sign
    | 01/15/2013 | 03/04/2013 |', '| Date / Time: | Nov 1, 2011 | Aug 6, 2012 |'), but for the
    labels of unit, range or flag columns after them ('| Test | 02/10/2025 | 03/12/2025 | Units
    | Reference Range |'); each date by column, or None."""
    if len(row.cells) < 3:
        return None
    filled = {index: cell.text for index, cell in enumerate(row.cells[1:], 1) if cell.text}
    dated = {
        index: date
        for index, written in filled.items()
        if is_date(date := written if is_date(written) else WORD_BEFORE_DATE.sub("", written))
    }
    labels = [written for index, written in filled.items() if index not in dated]
    if len(dated) < 2 or not all(column_role(label) in DATED_ROW_LABELS for label in labels):
        return None
    return dated


def with_unlabelled_names(row: TableRow) -> TableRow:
    """A dates row that prints nothing over the names' column ('18/11/2024  14/01/2025
    05/03/2025  Units  Range' over 'Haemoglobin  102  96  91  g/L'), with an empty first cell
    so that its columns line up with the rows below."""
    if not row.cells or not is_date(row.cells[0].text):
        return row
    padded = TableRow([Cell("", row.start, row.start), *row.cells], row.start, row.end)
    return padded if row_dates(padded) else row


# Where a printout set two cells a single space apart ('37.6 C (99.7 F) 16' under 'TEMP  RESP'):
# a figure after a closing bracket, a percent sign or a unit.
RUN_TOGETHER = re.compile(r"(?<=[)%A-Za-z]) (?=\d[\d./]*(?:[ \t]|$))", re.MULTILINE)


def with_cells_apart(text: str, row: TableRow, width: int) -> TableRow | None:
    """The row with the cells a single space ran together split, when exactly so many places
    to split them give the header's `width` cells."""
    splits = [
        (index, match.start())
        for index, cell in enumerate(row.cells)
        for match in RUN_TOGETHER.finditer(text, cell.start, cell.end)
    ]
    if not splits or len(row.cells) + len(splits) != width:
        return None
    cells = []
    for index, cell in enumerate(row.cells):
        start = cell.start
        for at in (at for split, at in splits if split == index):
            cells.append(cell_of(text[start:at], start))
            start = at + 1
        cells.append(cell_of(text[start : cell.end], start))
    return TableRow(cells=cells, start=row.start, end=row.end)


def lines_up(row: TableRow, header: TableRow) -> bool:
    """The row's cells are the header's columns: as many, or, under a dates row, a reading under
    every date and only the last columns (units, range) left empty ('INR  1.5  1.5  1.6' under
    'LABS  12/12/24  02/13/25  03/18/25  units')."""
    if len(row.cells) == len(header.cells):
        return True
    dates = row_dates(header)
    return bool(dates) and max(dates) < len(row.cells) < len(header.cells)


UNIT_CELL = re.compile(r"[A-Za-z%/(\[][^\t\n]{0,14}|x?10\^?\d+/[A-Za-z]+")


def with_units_column(dates: TableRow, row: TableRow) -> TableRow | None:
    """A flowsheet's dates row that prints no label over the units its rows end with ('LABS
    01/17  01/18  01/19' over 'Platelets  188  160  142  x10^3/uL'): with that label."""
    if not row_dates(dates) or len(row.cells) != len(dates.cells) + 1:
        return None
    if not UNIT_CELL.fullmatch(row.cells[-1].text) or READING.match(row.cells[-1].text):
        return None
    return TableRow([*dates.cells, Cell("Units", dates.end, dates.end)], dates.start, dates.end)


def tab_tables(text: str, vital_name) -> list[list[TableRow]]:
    """Tables printed without rules: a header row of three or more column labels
    (`is_header_row`) or a flowsheet's dates row (`row_dates`), and the lines right below it
    with as many cells (past a line of the header's wrapped labels). An empty cell prints
    nothing, so a line with fewer cells cannot say which column each is and ends the table; it
    and lines with tabs under no such header are read by the narrative rules. A header row alone
    is a table too: its labels are never facts ('Edema' over the readings of a prenatal flow
    sheet)."""
    rows = [
        with_unlabelled_names(parse_tab_row(text, m.start(), m.end()))
        for m in TAB_ROW.finditer(text)
    ]
    blocks: list[list[TableRow]] = []
    for row in rows:
        above = blocks[-1] if blocks else None
        gap = text[above[-1].end : row.start] if above else ""
        wrapped_header = above is not None and len(above) == 1 and WRAPPED_LABELS.fullmatch(gap)
        if above and (gap == "\n" or wrapped_header) and lines_up(row, above[0]):
            above.append(row)
        elif (
            above
            and gap == "\n"
            and len(above) == 1
            and (units := with_units_column(above[0], row))
        ):
            above[0] = units
            above.append(row)
        elif above and gap == "\n" and (apart := with_cells_apart(text, row, len(above[0].cells))):
            above.append(apart)
        elif is_header_row(row, vital_name) or row_dates(row):
            blocks.append([row])
    return [
        block
        for block in blocks
        if len(block) > 1 or not any(READING.search(cell.text) for cell in block[0].cells)
    ]


# A figure of a reading ('Temp 36.6 C'), not of a label ('SpO2'): a line of readings may pass
# for a header row ('Temp 36.6 C  BP 124/78  HR 84'), but alone it is no table.
READING = re.compile(r"(?<![A-Za-z])\d")


def side_by_side_width(roles: list[str | None]) -> int | None:
    """The width of a group of columns the header repeats across the table ('| TEST | RESULT |
    UNITS | REF RANGE | TEST | RESULT | UNITS | REF RANGE |': two tables printed side by side),
    when the group names its rows."""
    for width in range(2, len(roles) // 2 + 1):
        group = roles[:width]
        if len(roles) % width == 0 and "name" in group and roles == group * (len(roles) // width):
            return width
    return None


def side_by_side(row: TableRow, width: int) -> list[TableRow]:
    """The row cut into its groups of `width` columns."""
    parts = []
    for first in range(0, len(row.cells), width):
        cells = row.cells[first : first + width]
        parts.append(TableRow(cells=cells, start=cells[0].start, end=cells[-1].end))
    return parts


# A header whose every column is a list of items of one status ('| ACTIVE PROBLEMS | PAST /
# RESOLVED |', '| Current Medications | Discontinued |'), not columns of one item's attributes.
_LIST_STATUS = (
    r"(?:active|current|ongoing|chronic|resolved|inactive|past|historical|former|previous"
    r"|prior|discontinued|stopped)"
)
STATUS_LIST_HEADER = re.compile(
    rf"{_LIST_STATUS}(?:[ \t]*(?:/|&|\band\b|\bor\b)[ \t]*{_LIST_STATUS})*"
    r"(?:[ \t]+(?:medical[ \t]+|health[ \t]+)?(?:problems|concerns|issues|diagnoses"
    r"|conditions|history|medications|meds))?",
    re.IGNORECASE,
)


def status_lists(header: TableRow, rows: list[TableRow]) -> tuple[TableRow, list[TableRow]]:
    """A table of lists side by side, each headed by its status (`STATUS_LIST_HEADER`), read as
    one list: the header's first cell, then each column's items carrying their list's status."""
    labels = [cell.text for cell in header.cells]
    if len(labels) < 2 or not all(STATUS_LIST_HEADER.fullmatch(label) for label in labels):
        return header, rows
    items = [
        TableRow([cell], cell.start, cell.end, listed_status=labels[column])
        for column in range(len(labels))
        for row in rows
        if column < len(row.cells) and (cell := row.cells[column]).text
    ]
    first = header.cells[0]
    return TableRow([first], first.start, first.end), items


# A cell that is an item of a list, not an attribute of one: opening with a word, no 'Label:'.
LIST_ITEM_CELL = re.compile(r"(?:[-\u2022*]|\d{1,2}[.)])?[ \t]*(?P<item>[A-Za-z][^:|\n]*)")
LIST_KINDS = {PROBLEMS, PAST_HISTORY, ALLERGIES, "allergies"}


def items_across(row: TableRow) -> list[TableRow]:
    """A row of a list printed across a form's grid without a header, three items or more or
    numbered ('| Alzheimer's dementia | Heart failure (EF 35%, 2023) | Hypothyroidism |', '| 1.
    Codeine - nausea | 2. Ciprofloxacin - tendinitis |'): one row per item, its list number
    dropped. A row of a date, a status or a 'Label: value' is no such list, nor is a diagnosis
    with its kind ('| Principal | Acute cholangitis |')."""
    filled = row.filled()
    items = [LIST_ITEM_CELL.fullmatch(cell.text) for cell in filled]
    numbered = all(LIST_MARKER.match(cell.text) for cell in filled)
    if (
        len(filled) < (2 if numbered else 3)
        or not all(items)
        or any(is_date(cell.text) or STATUS_CAPTION.fullmatch(cell.text) for cell in filled)
    ):
        return [row]
    cells = [
        Cell(item["item"], cell.start + item.start("item"), cell.end)
        for cell, item in zip(filled, items, strict=True)
        if item is not None
    ]
    return [TableRow([cell], cell.start, cell.end) for cell in cells]


def find_tables(doc: Doc, vital_name) -> list[Table]:
    """The chunk's tables with their kind and column roles; `vital_name(text)` tells whether a
    header cell names a vital sign (results.vital_kind)."""
    text = doc.text
    spans = section_spans(doc)
    titles = title_regions(doc)
    tables: list[Table] = []
    previous: Table | None = None
    blocks = []
    for block in table_blocks(text):
        rows, details = split_off_details(block)
        blocks += split_at_header_rows(rows, vital_name) if rows else []
        blocks += [details] if details else []
    blocks = sorted(blocks + tab_tables(text, vital_name), key=lambda block: block[0].start)
    for block in blocks:
        width = max(len(row.cells) for row in block)
        rows = list(block)
        header = None
        caption_kind = None  # a caption naming a section ('| Allergies |  |  |') says the kind
        captions = []
        while rows and captions_a_header(rows, 0, width, vital_name):
            captions.append(rows.pop(0).filled()[0].text)
            caption_kind = section_title_category(captions[-1]) or caption_kind
        if rows and is_header_row(rows[0], vital_name):
            header, *rows = without_empty_edges(rows)
            rows = fit_columns(rows, len(header.cells)) or rows  # rows wider by empty edges
        if header:
            header, rows = status_lists(header, rows)
        roles = header_roles(header) if header else []
        if header and (group := side_by_side_width(roles)):
            header = side_by_side(header, group)[0]
            parts = [side_by_side(row, group) for row in rows]
            rows = [  # the left table's rows, then the right one's
                row_parts[column]
                for column in range(len(roles) // group)
                for row_parts in parts
                if column < len(row_parts) and row_parts[column].filled()
            ]
            roles = roles[:group]
        # no header row and no section title since the last table: that table going on after
        # a page break if its columns fit, else another table printed there (the document's
        # details block under the last section), as is one right below it
        detached = False
        if (
            header is None
            and previous is not None
            and not (rows and row_dates(rows[0]))  # a flowsheet's own dates row heads it
            and not any(previous.region[1] <= start < block[0].start for start, _ in titles)
        ):
            adjacent = text[previous.region[1] : block[0].start].strip(" \t") == "\n"
            fitted = None
            if previous.roles and not adjacent:
                fitted = fit_columns(rows, len(previous.roles))
            if fitted is not None:  # the rows of that table after a gap, under its caption
                rows, roles = fitted, previous.roles
                caption_kind = previous.kind
                captions = [previous.caption] if previous.caption else []
            # (right below a table without a heading row, lines of another width are more of
            # that listing: a results list whose rows the table finder cut differently)
            detached = previous.detached or (bool(previous.roles) and (adjacent or fitted is None))
        kind = None if detached else category_at(spans, block[0].start)
        header_says = header_kind(header, vital_name)
        if header is None and rows and row_dates(rows[0]) and rows[0].cells:
            # a dates row's first cell titles the flowsheet ('LABS  12/12/24  02/13/25  units')
            caption_kind = section_title_category(rows[0].cells[0].text) or caption_kind
        if caption_kind and not detached:
            kind = caption_kind
        elif header_says in (ALLERGIES, MEDICATIONS, SUSCEPTIBILITY) or (
            header_says == RESULTS and kind != VITALS
        ):
            kind = header_says  # 'Substance | Reaction', 'Medication | Dose', 'Test | Result'
            # in any section (an exam's point-of-care tests, labs below an allergy list)
        if (
            kind == ALLERGIES
            and not caption_kind
            and header_says != ALLERGIES
            and (
                (header is not None and (header_says is not None or not any(roles)))
                or sum(1 for row in rows if numbers_in(row) >= 2) >= max(2, len(rows) / 2)
            )
        ):
            # a table printed under an 'Allergies:' line whose header names other columns
            # ('| Site | Procedure | Clinical Dx |') or whose rows are readings ('| FEV1 (L) |
            # 3.02 | 1.48 | 49 |'): its rows are no allergies
            kind = header_says
        if is_contents(block):
            kind = CONTENTS
        elif is_details_block(block):
            kind = ADMINISTRATIVE  # whatever a heading row printed above it says
        elif kind in (None, "other", ADMINISTRATIVE) or header_says == VITALS:
            kind = header_says or kind
        elif kind in NARRATIVE_SECTIONS and header_says == PROBLEMS:
            # an assessment's table of diagnoses (its other tables may be plans), a problem table
            # under a subjective part ('Subjective ... History | Problem | Status |')
            kind = PROBLEMS
        if kind is None and header is None and previous is not None and roles is previous.roles:
            kind = previous.kind
        elif (
            header is None
            and rows
            and row_dates(rows[0])
            and kind not in (RESULTS, VITALS, *MEDICATION_CATEGORIES)
        ):
            kind = RESULTS  # a flowsheet under no results title ('| LAB | 06/05 | 06/04 |')
        if header is None and not roles and kind in LIST_KINDS:
            rows = [item for row in rows for item in items_across(row)]
        repeated = [cell.text for cell in header.cells] if header else None
        data = [
            row
            for row in rows
            if row.filled()
            and not is_status_caption(row, width)
            and [cell.text for cell in row.cells] != repeated  # header again after a page break
        ]
        if roles and roles[0] in ("name", "details"):
            for row in data[1:]:
                row.continues = not row.cells[0].text
        table = Table(
            kind, roles, header, data, (block[0].start, block[-1].end), detached, " ".join(captions)
        )
        tables.append(table)
        previous = table
    return tables


# A cell holding a reading with its label ('WBC 18.4 K/uL', 'HR 102 (AF)', 'INR 1.3').
READING_CELL = re.compile(r"[A-Za-z][A-Za-z0-9 .,'/()%-]{0,30}?[ \t]+[<>]?\d[^|]*")


NUMBER_CELL = re.compile(r"[<>+-]?\d+(?:\.\d+)?[ \t]*%?")


def numbers_in(row: TableRow) -> int:
    return sum(1 for cell in row.filled() if NUMBER_CELL.fullmatch(cell.text))


def is_reading_grid(table: Table) -> bool:
    """A table without a header whose cells are mostly a label and its reading ('| WBC 18.4 K/uL
    | Hgb 11.2 g/dL | Plt 142 K/uL |', a transfer form's '| BP 148/86 | PULSE 92 irregular |
    ... | LAST BM 11/02/2025 |' under its caption row): its columns say nothing, the cells are
    read as text."""
    rows = [row for row in table.rows if len(row.filled()) >= 2]
    captions = [row.filled()[0].text for row in table.rows if len(row.filled()) == 1]
    cells = [cell.text for row in rows for cell in row.filled()]
    readings = sum(1 for cell in cells if READING_CELL.fullmatch(cell))
    return (
        table.header is None
        and bool(cells)
        and not any(READING_CELL.fullmatch(caption) for caption in captions)
        and readings >= MIN_GRID_READINGS_SHARE * len(cells)
    )


MIN_GRID_READINGS_SHARE = 2 / 3


# A cell of prose: many words and a sentence's end ('Reason for transfer: Acute change in mental
# status since 16:00 (increased confusion, lethargy), fever 38.6 C. Suspected urinary tract
# infection'; 'Stop omeprazole; start pantoprazole 40 mg PO daily - approved, new Rx sent').
MIN_PROSE_WORDS = 10
SENTENCE_STOP = re.compile(r"[.;](?:\s|$)")


def is_prose(cell: Cell) -> bool:
    return len(cell.text.split()) >= MIN_PROSE_WORDS and SENTENCE_STOP.search(cell.text) is not None


def is_note_row(row: TableRow) -> bool:
    """A row whose one cell across a table of columns is prose: a note on the table, read as
    text (`table_regions`), not a row of it."""
    filled = row.filled()
    return len(filled) == 1 and len(row.cells) > 1 and is_prose(filled[0])


def table_regions(tables: list[Table]) -> list[Region]:
    """Where the tables are, but their cells of prose other than the row's name (a form's
    free-text field, a review's recommendation, a note across the table), which are read as
    text too."""
    regions = []
    for table in tables:
        start = table.region[0]
        for row in table.rows:
            # (a row's one cell across the table is a note on it: 'Discontinued in last 30 days:
            # Nitrofurantoin 50 mg nightly - discontinued 01/15/2025 ...')
            named = table.kind is not None and len(row.filled()) > 1
            name = table.name_cell(row) if named else None
            for cell in row.filled():
                if cell != name and is_prose(cell):
                    regions.append((start, cell.start))
                    start = cell.end
        regions.append((start, table.region[1]))
    return regions
