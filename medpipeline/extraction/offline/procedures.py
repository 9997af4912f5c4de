"""Procedures: listed under a procedures header, rows of procedure tables, and narrative
("underwent laparoscopic appendectomy"), named by the procedure.
"""

import re

from medpipeline.extraction.offline.text import (
    LIST_MARKER,
    listed_regions,
    normalize_space,
    quote_for,
)
from medpipeline.extraction.schema import (
    ProcedureFact,
)

PROCEDURE_HEADER = re.compile(
    r"^[ \t]*(?:#+[ \t]*)?(?:.*\bthe following procedures were (?:conducted|performed)|"
    r"procedures?(?: performed)?|operations?(?: performed)?)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


SEMANTIC_TAG = re.compile(r"\s*\((?:procedure|regime/therapy)\)\s*$", re.IGNORECASE)


def procedure_facts(text: str) -> list[ProcedureFact]:
    facts = []
    for start, end in listed_regions(text, PROCEDURE_HEADER):
        for line_match in re.finditer(r"[^\n]+", text[start:end]):
            line_start = start + line_match.start()
            item = LIST_MARKER.sub("", line_match.group(), count=1)
            name = SEMANTIC_TAG.sub("", item).strip(" .;")
            if not name or len(name.split()) > 12:
                continue
            facts.append(
                ProcedureFact(
                    quote=quote_for(text, line_start, start + line_match.end()),
                    text=normalize_space(name),
                )
            )
    return facts
