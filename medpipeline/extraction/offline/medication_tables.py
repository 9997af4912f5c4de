"""Medication tables and list lines: a table row's product name, sig and status; the lines of a
medication section naming a dictionary drug the term matcher missed."""

import re

from spacy.tokens import Doc

from medpipeline.extraction.offline.medication_context import (
    GIVEN_CAPTION,
    GIVEN_IN_ROW,
    GIVEN_LIST_HEADER,
    MEDICINES,
    PENDING_STATUS,
    PRESCRIBED_HEADER,
    STOP_LIST_HEADER,
    header_list_regions,
)
from medpipeline.extraction.offline.medications import (
    NEW_ACTION,
    curated_drugs,
    is_allergen,
    is_combination,
    medication_status,
)
from medpipeline.extraction.offline.sections_tables import (
    MEDICATION_CATEGORIES,
    Table,
    TableRow,
    is_note_row,
    section_regions,
)
from medpipeline.extraction.offline.sig import (
    names_a_dose,
    parse_dose,
    parse_frequency,
    parse_route,
    without_previous_sig,
)
from medpipeline.extraction.offline.term_matcher import DRUG
from medpipeline.extraction.offline.text import (
    LIST_MARKER,
    Region,
    clean_name,
    in_regions,
    is_absence,
    labelled,
    normalize_space,
    quote_for,
)
from medpipeline.extraction.offline.vocabularies import (
    drug_by_spelling,
    find_drug,
    is_drug_class,
    is_vaccine,
)
from medpipeline.extraction.schema import Assertion, MedicationFact, MedicationStatus

# Where a medication cell's product name ends and its instructions begin: an instruction verb
# or label, a count of dose units ('1 TABLET', '2 (two) Puff', '1 cap(s)') or a dose with a
# route abbreviation ('1 GM IV'); a product's own numbers are strengths ('500 MG', '20 MG/ML').
SIG_START = re.compile(
    r"\b(?:take|takes|taking|inhale|inject|apply|instill|use|place|chew|dissolve|give"
    r"|administer|insert|spray|dispense|quantity|qty|refills?|sig|directions)\b"
    r"|(?<![\w./,])\d+(?:\.\d+)?[ \t]*(?:\([a-z]+\)[ \t]*)?(?:tab(?:let)?s?|cap(?:sule)?s?|puffs?"
    r"|sprays?|drops?|patch(?:es)?|inhalations?|applications?|suppositor(?:y|ies)|lozenges?"
    r"|packets?|teaspoons?|tablespoons?)(?:\(s\)|\b)(?!/)"
    # ('1,000 mcg PO daily': the thousands too)
    r"|(?<![\w./,])(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)[ \t]*(?:mg|g|gm|mcg|ml|units?)[ \t]+"
    r"(?:IV|IVPB|IM|PO|SC|SQ|SL|PR|subq)\b",
    re.IGNORECASE,
)


def generic_of(product: str) -> str | None:
    """The generic name of the first drug named in a product name: the curated lexicon's for a
    name it starts with, else the drug dictionary's, else the curated lexicon's for any of its
    words ('acetaminophen-aspirin buffered': acetaminophen)."""
    words = product.lower().split()
    for length in (3, 2, 1):  # the name the narrative's matcher gives ('Docusate sodium': docusate)
        if " ".join(words[:length]) in curated_drugs():
            return curated_drugs()[" ".join(words[:length])]
    found = find_drug(product) or find_drug(product.replace("-", " "))
    if found:
        return found[2]
    return next((curated_drugs()[w] for w in words if w in curated_drugs()), None)


def medication_from_row(
    table: Table,
    row: TableRow,
    text: str,
    ordered: bool = False,
    listed_as: MedicationStatus | None = None,
    given: bool = False,
) -> MedicationFact | None:
    """A medication-table row: the product name is its name cell up to the instructions; the
    dose, route and frequency come from the row (its sig column first); a row naming no known
    drug (or only a class of drugs: 'Statins') and no dose is not a medication ('Medication
    Administration not documented'), nor is a vaccine. In a table the document `ordered` (under
    a discharge medications title) a row still active is prescribed; a stopped one is not. A row
    of a list of stopped or past medications, or answering no in an 'Active' column, takes that
    status unless its own status says another; a completed row of a table of doses `given`
    during the encounter is an administered dose."""
    cell = table.name_cell(row)
    if cell is None or is_absence(cell.text):
        return None
    sig_start = SIG_START.search(cell.text)
    product = clean_name(cell.text[: sig_start.start()] if sig_start else cell.text)
    if not re.search(r"[A-Za-z]{3}", product):
        return None
    sig_cell = table.cell(row, "sig")
    besides_status = " ".join(  # (not the drug a review's recommendation starts instead)
        cell.text
        for index, cell in enumerate(row.cells)
        if cell.text and (index >= len(table.roles) or table.roles[index] != "status")
    )
    sig = without_previous_sig(
        " ".join(part for part in (sig_cell.text if sig_cell else "", besides_status) if part)
    )
    written = f"{product} | {sig}"
    generic = generic_of(product)
    spelled = drug_by_spelling(product) if generic is None and names_a_dose(written) else None
    if spelled:
        generic = spelled[2]  # 'Ginko Biloba 1 Gram CPSP'
    # the instructions' dose ('inhale 2 puff', 'take 2 tablets' of a 500 mg tablet) before the
    # product's strength ('90 mcg/actuation')
    dose = parse_dose(written, combination=is_combination(product, generic))
    no_drug = not names_a_dose(written) and (generic is None or is_drug_class(generic))
    if no_drug or is_vaccine(product, generic):
        return None
    status = table.cell(row, "status") or table.cell(row, "details")
    marked = table.marked_action(row)
    instruction = INSTRUCTION_ACTION.match(sig_cell.text) if marked and sig_cell else None
    status_text = (
        (instruction["action"] if instruction else marked)
        or labelled(table.row_text(row), "status")
        or (status.text if status else "")
        or row.listed_status
    )
    status_code = medication_status(status_text)
    pending = re.fullmatch(PENDING_STATUS, status_text.strip(), re.IGNORECASE) is not None
    never_given = any(NOT_GIVEN.fullmatch(cell.text) for cell in row.filled())
    if table.says_not_current(row) or (listed_as and status_code == MedicationStatus.ACTIVE):
        status_code = listed_as or MedicationStatus.STOPPED
    return MedicationFact(
        quote=quote_for(text, cell.start, cell.end),
        text=product,
        generic_name=generic,
        dose_value=dose[0] if dose else None,
        dose_unit=dose[1] if dose else None,
        route=parse_route(sig),
        frequency=parse_frequency(sig),
        status=status_code,
        # a pending row ('Pending  start once prior auth approved') is not taken yet; an order
        # never given ('levofloxacin 750 mg PO x1 | NOT GIVEN | Transferred before 1st dose')
        # was not taken
        assertion=(
            Assertion.HYPOTHETICAL
            if pending
            else Assertion.NEGATED
            if never_given
            else Assertion.PRESENT
        ),
        prescribed=(ordered or NEW_ACTION.fullmatch(status_text.strip()) is not None)
        and status_code == MedicationStatus.ACTIVE
        and not pending,
        name_by_spelling=spelled is not None,
        administered=(given or bool(GIVEN_IN_ROW.search(table.row_text(row))))
        and status_code == MedicationStatus.COMPLETED,
    )


# A title listing medications the patient no longer takes ('Inactive Medications', 'Past
# Medications', 'Expired Medications'); 'Discontinued Medications' is a stop list.
ENDED_LIST_TITLE = re.compile(
    rf"(?:inactive|past|historical|expired|completed)[ \t]+{MEDICINES}", re.IGNORECASE
)


def line_above(text: str, start: int) -> str:
    """The line right above a table's first row: its title when it is printed without rules
    ('ED COURSE / MEDICATIONS ADMINISTERED' over 'Time  Medication  Dose  Route')."""
    end = text.rfind("\n", 0, start)
    return text[text.rfind("\n", 0, end) + 1 : end] if end > 0 else ""


# A note across a medication table opening with a label ('Discontinued in last 30 days (do NOT
# resume without review): quetiapine 25 mg PO at bedtime - discontinued 02/20/2025; ...'):
# its drugs are read as text (`table_regions`), each with its own status, not as one row named
# by the label.
NOTE_LABEL = re.compile(r"(?P<label>[^:\n]{3,80}):[ \t]")


def is_labelled_note(row: TableRow) -> bool:
    label = NOTE_LABEL.match(row.filled()[0].text) if is_note_row(row) else None
    return label is not None and generic_of(label["label"]) is None


def table_medications(tables: list[Table], text: str, titles: list[Region]) -> list[MedicationFact]:
    """Rows of medication tables; a table under a discharge medications title ('Discharge
    Medications', 'New Prescriptions', also as the caption right above it) is what the document
    orders, one under a stop list's title ('Discontinued Medications') is stopped, one under a
    past list's or a list of doses given ('Medications Given in ED Prior to Arrival on Unit', or
    a table so captioned) completed."""
    facts = []
    stop_lists = header_list_regions(text, STOP_LIST_HEADER)
    given_lists = header_list_regions(text, GIVEN_LIST_HEADER)
    for table in tables:
        if table.kind in MEDICATION_CATEGORIES:
            above = [(start, end) for start, end in titles if end <= table.region[0]]
            title = text[above[-1][0] : above[-1][1]].strip() if above else ""
            captions = (table.caption, line_above(text, table.region[0]))
            ordered = any(PRESCRIBED_HEADER.fullmatch(label) for label in (title, *captions))
            given = in_regions(table.region[0], given_lists) or any(
                GIVEN_CAPTION.search(caption) for caption in captions
            )
            listed_as = None
            if in_regions(table.region[0], stop_lists):
                listed_as = MedicationStatus.STOPPED
            elif ENDED_LIST_TITLE.fullmatch(title) or given:
                listed_as = MedicationStatus.COMPLETED
            rows = [row for row in table.rows if not (row.continues or is_labelled_note(row))]
            facts += [
                fact
                for row in rows
                if (fact := medication_from_row(table, row, text, ordered, listed_as, given))
            ]
    return facts


# A cell saying the row's order was never carried out ('NOT GIVEN'): the drug was not taken.
NOT_GIVEN = re.compile(r"not[ \t]+(?:given|administered|started|taken)", re.IGNORECASE)


# Instructions opening with an action other than the one the row marks ('Change' ticked,
# 'HOLD - do not take until you see Dr. ...'): the instructions' action is the drug's status.
INSTRUCTION_ACTION = re.compile(r"[ \t]*(?P<action>hold|stop|discontinue)\b", re.IGNORECASE)


# The status a listed drug's line ends with after a dash ('Calcium acetate 667 mg with meals -
# discontinued 09/2024 after hypercalcemia').
DASH_STATUS = re.compile(r"[ \t][-\u2013][ \t]*(?P<status>[^-\u2013\n]+)$")


def listed_status(line_after_drug: str) -> MedicationStatus:
    status = DASH_STATUS.search(line_after_drug)
    return medication_status(status["status"]) if status else MedicationStatus.ACTIVE


def listed_medications(doc: Doc, skip_regions: list[Region]) -> list[MedicationFact]:
    """The lines of a medication section outside tables ('1. Lasix - 40mg by mouth once daily')
    that name a drug of the dictionary the lexicon matcher missed: one medication per line, its
    status the one after a dash at its end; a class of drugs named without a dose ('on a
    statin') is no product."""
    text = doc.text
    matched = [(e.start_char, e.end_char) for e in doc.ents if e.label_ == DRUG]
    stop_lists = header_list_regions(text, STOP_LIST_HEADER)
    facts = []
    for start, end in section_regions(doc, MEDICATION_CATEGORIES):
        for line in re.finditer(r"[^\n]+", text[start:end]):
            line_start = start + line.start()
            if in_regions(line_start, skip_regions) or any(
                line_start <= a < start + line.end() for a, _ in matched
            ):
                continue
            item = LIST_MARKER.sub("", line.group(), count=1)
            drug = find_drug(item)
            by_spelling = drug is None and names_a_dose(item)
            if by_spelling:
                drug = drug_by_spelling(item)  # 'gliburide - 2.5mg by mouth once daily'
            if drug is None or is_absence(item) or is_vaccine(item, drug[2]):
                continue
            offset = line_start + (len(line.group()) - len(item))
            if is_allergen(text, offset + drug[0], offset + drug[1]):
                continue
            window = item[drug[1] :]
            name = item[drug[0] : drug[1]]
            dose = parse_dose(window, combination=is_combination(name, drug[2]))
            if not names_a_dose(window) and is_drug_class(drug[2]):
                continue  # 'on a statin': a class of drugs, not a product
            facts.append(
                MedicationFact(
                    quote=quote_for(text, offset + drug[0], offset + drug[1]),
                    text=normalize_space(item[drug[0] : drug[1]]),
                    generic_name=drug[2],
                    dose_value=dose[0] if dose else None,
                    dose_unit=dose[1] if dose else None,
                    route=parse_route(window),
                    frequency=parse_frequency(window),
                    status=MedicationStatus.STOPPED
                    if in_regions(offset, stop_lists)
                    else listed_status(window),
                    name_by_spelling=by_spelling,
                )
            )
    return facts
