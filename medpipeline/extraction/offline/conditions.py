"""Conditions: lexicon and ICD-10-CM matches, asserted by ConText and sections; problem tables."""

import re

from spacy.tokens import Doc

from medpipeline.extraction.offline.pipeline import CONDITION, assertion_of, has_modifier
from medpipeline.extraction.offline.text import (
    Region,
    in_regions,
    normalize_space,
    quote_for,
    sentence_region,
)
from medpipeline.extraction.schema import (
    ConditionFact,
)

# In a lab report a disease name is interpretation (a reference chart, 'may be associated with'),
# not the patient's diagnosis, unless a labelled field of the request gives it.
DIAGNOSIS_FIELD = re.compile(
    r"^[ \t]*(?:(?:clinical|working|provisional)[ \t]+)?(?:diagnos[ie]s|indications?"
    r"|clinical[ \t]+(?:information|history|details)|reason[ \t]+for[ \t]+(?:test|testing))"
    r"[ \t]*:[^\n]*",
    re.IGNORECASE | re.MULTILINE,
)


def diagnosis_field_regions(text: str) -> list[Region]:
    return [(match.start(), match.end()) for match in DIAGNOSIS_FIELD.finditer(text)]


def condition_facts(
    doc: Doc, skip_regions: list[Region], only_regions: list[Region] | None = None
) -> list[ConditionFact]:
    """Conditions named in the text, outside `skip_regions` (and inside `only_regions` if set)."""
    facts = []
    for ent in doc.ents:
        if ent.label_ != CONDITION or in_regions(ent.start_char, skip_regions):
            continue
        if only_regions is not None and not in_regions(ent.start_char, only_regions):
            continue
        if has_modifier(ent, "NOT_A_CONDITION"):
            continue
        facts.append(
            ConditionFact(
                quote=quote_for(doc.text, ent.start_char, ent.end_char, sentence_region(ent)),
                text=normalize_space(ent.text),
                icd10_code=ent._.target_rule.metadata["icd10_code"] or None,
                assertion=assertion_of(ent),
            )
        )
    return facts
