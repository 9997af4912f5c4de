"""Procedures: listed under a procedures header, rows of procedure tables, and narrative
("underwent laparoscopic appendectomy"), named by the procedure.
"""

import re

from medpipeline.extraction.offline.demographics import first_date
from medpipeline.extraction.offline.sections_tables import PROCEDURES, Table, TableRow
from medpipeline.extraction.offline.text import (
    LIST_MARKER,
    Region,
    clean_name,
    in_regions,
    is_absence,
    labelled,
    listed_regions,
    normalize_space,
    quote_for,
)
from medpipeline.extraction.schema import Assertion, ProcedureFact

PROCEDURE_HEADER = re.compile(
    r"^[ \t]*(?:#+[ \t]*)?(?:.*\bthe following procedures were (?:conducted|performed)|"
    r"procedures?(?: performed)?|operations?(?: performed)?)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


SEMANTIC_TAG = re.compile(r"\s*\((?:procedure|regime/therapy)\)\s*$", re.IGNORECASE)


def procedure_facts(text: str, skip_regions: list[Region]) -> list[ProcedureFact]:
    """The items listed under a procedures header line (outside tables)."""
    facts = []
    for start, end in listed_regions(text, PROCEDURE_HEADER):
        if in_regions(start, skip_regions):
            continue
        for line_match in re.finditer(r"[^\n]+", text[start:end]):
            line_start = start + line_match.start()
            item = LIST_MARKER.sub("", line_match.group(), count=1)
            name = SEMANTIC_TAG.sub("", clean_name(item)).strip(" .;")
            if not name or len(name.split()) > 12:
                continue
            facts.append(
                ProcedureFact(
                    quote=quote_for(text, line_start, start + line_match.end()),
                    text=normalize_space(name),
                )
            )
    return facts


# A status that says the procedure has not happened yet: it is not asserted as done.
NOT_YET = re.compile(r"\b(?:scheduled|planned|pending|ordered|requested|proposed|cancel)", re.I)
PROCEDURE_SUFFIXES = (
    r"ectomy|otomy|ostomy|plasty|scopy|graphy|pexy|rrhaphy|centesis|biopsy|repair|replacement"
    r"|bypass|transplant(?:ation)?|resection|excision|amputation|fusion|catheterization"
    r"|angioplasty|cesarean section|reduction|fixation|ablation|implantation|insertion|removal"
    r"|debridement|drainage|grafting|stenting|arthroplasty|lithotripsy|dilation and curettage"
)
# 'underwent laparoscopic appendectomy', 's/p total knee replacement', 'had a colonoscopy'.
NARRATIVE_PROCEDURE = re.compile(
    r"\b(?:underwent|undergone|s/p|status[ \t]+post|had[ \t]+(?:an?[ \t]+)?|performed[ \t]+"
    r"(?:an?[ \t]+)?|history[ \t]+of[ \t]+(?:an?[ \t]+)?)[ \t]*"
    r"(?:an?[ \t]+|the[ \t]+)?(?P<name>(?:[A-Za-z][A-Za-z'-]*[ \t]+){0,4}?[A-Za-z-]*"
    rf"(?:{PROCEDURE_SUFFIXES}))\b",
    re.IGNORECASE,
)
NEGATED_BEFORE = re.compile(r"\b(?:no|never|denies|without|not)\b[^.\n]{0,30}$", re.IGNORECASE)


def procedure_from_row(table: Table, row: TableRow, text: str) -> ProcedureFact | None:
    """A procedures-table row: named by its name cell; a scheduled or pending status is not a
    procedure done (hypothetical)."""
    cell = table.name_cell(row)
    if cell is None or is_absence(cell.text):
        return None
    name = SEMANTIC_TAG.sub("", clean_name(cell.text))
    if not re.search(r"[A-Za-z]{3}", name):
        return None
    status = table.cell(row, "status")
    status_text = status.text if status else labelled(table.row_text(row), "status") or ""
    date = table.cell(row, "date")
    return ProcedureFact(
        quote=quote_for(text, cell.start, cell.end),
        text=name,
        performed_date=first_date(date.text) if date else None,
        assertion=Assertion.HYPOTHETICAL if NOT_YET.search(status_text) else Assertion.PRESENT,
    )


def table_procedures(tables: list[Table], text: str) -> list[ProcedureFact]:
    facts = []
    for table in tables:
        if table.kind == PROCEDURES:
            rows = [row for row in table.rows if not row.continues]
            facts += [f for row in rows if (f := procedure_from_row(table, row, text))]
    return facts


def narrative_procedures(text: str, skip_regions: list[Region]) -> list[ProcedureFact]:
    """Procedures a sentence says were done ('underwent laparoscopic appendectomy')."""
    facts = []
    for match in NARRATIVE_PROCEDURE.finditer(text):
        if in_regions(match.start(), skip_regions):
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        negated = NEGATED_BEFORE.search(text[line_start : match.start()])
        facts.append(
            ProcedureFact(
                quote=quote_for(text, match.start(), match.end()),
                text=normalize_space(match["name"]),
                assertion=Assertion.NEGATED if negated else Assertion.PRESENT,
            )
        )
    return facts
