"""Medications: drug names (shipped lexicon and the drug dictionary) with their sig (dose, route,
frequency), status and whether the document prescribes them; medication-table rows.
"""

import functools
import re

from spacy.tokens import Doc, Span

from medpipeline.extraction.offline.lexicons import sig_terms
from medpipeline.extraction.offline.pipeline import DRUG, assertion_of, has_modifier
from medpipeline.extraction.offline.text import (
    Region,
    in_regions,
    line_bounds,
    listed_regions,
    normalize_space,
    quote_for,
    sentence_region,
)
from medpipeline.extraction.schema import (
    MedicationFact,
    MedicationStatus,
)

SIG_WINDOW_CHARS = 80


SIG_STOP = re.compile(r";|\.\s+(?=[A-Z][a-z])|\n\s*\n|\n\s*(?:\d+[.)]|[-\u2022*])\s")


def sig_window(text: str, ent: Span, next_drug_start: int) -> str:
    """Text after a drug mention that may hold its dose, route and frequency."""
    limit = min(next_drug_start, ent.end_char + SIG_WINDOW_CHARS, len(text))
    window = text[ent.end_char : limit]
    stop = SIG_STOP.search(window)
    return window[: stop.start()] if stop else window


@functools.cache
def dose_pattern() -> re.Pattern[str]:
    units = "|".join(f"(?:{term.written})" for term in sig_terms("dose_unit"))
    return re.compile(
        rf"(?<![\w./])(?P<value>\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)[ \t]*(?P<unit>{units})"
        r"(?:[ \t]*/[ \t]*(?P<per>ml|actuat|hr|h|kg))?(?![A-Za-z])",
        re.IGNORECASE,
    )


PER_UNIT = {"ml": "/mL", "actuat": "/{actuat}", "hr": "/h", "h": "/h", "kg": "/kg"}


def parse_dose(window: str, anchored_at_end: bool = False) -> tuple[float, str] | None:
    """First 'value unit' in the window (or the one ending it), as (value, UCUM unit)."""
    matches = list(dose_pattern().finditer(window))
    if anchored_at_end:
        matches = [m for m in matches if not window[m.end() :].strip()]
    if not matches:
        return None
    match = matches[0]
    unit = next(
        term.value
        for term in sig_terms("dose_unit")
        if re.fullmatch(term.written, match["unit"], re.IGNORECASE)
    )
    if match["per"]:
        unit += PER_UNIT[match["per"].lower()]
    return float(match["value"].replace(",", "")), unit


def parse_route(window: str) -> str | None:
    found = [
        (m.start(), term.value)
        for term in sig_terms("route")
        for m in term.pattern.finditer(window)
    ]
    return min(found)[1] if found else None


def parse_frequency(window: str) -> str | None:
    """Frequency as written; adjacent phrases are joined ('twice daily as needed')."""
    spans = sorted(
        (m.start(), m.end())
        for term in sig_terms("frequency")
        for m in term.pattern.finditer(window)
    )
    if not spans:
        return None
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start < end or not window[end:next_start].strip(" \t\n,"):
            end = max(end, next_end)
        else:
            break
    return normalize_space(window[start:end])


def dose_before(text: str, ent: Span) -> tuple[float, str] | None:
    """A dose written just before the drug name ('81 mg aspirin')."""
    line_start = line_bounds(text, ent.start_char, ent.start_char)[0]
    before = text[max(line_start, ent.start_char - 16) : ent.start_char]
    return parse_dose(before, anchored_at_end=True)


def is_bracketed_brand(text: str, ent: Span, earlier_drugs: list[Span]) -> bool:
    """'acetaminophen 325 mg oral tablet [Tylenol]': the bracketed brand repeats the product."""
    opens_bracket = text[ent.start_char - 1 : ent.start_char] == "["
    closes_bracket = text[ent.end_char : ent.end_char + 1] == "]"
    if not (opens_bracket and closes_bracket and earlier_drugs):
        return False
    segment_start = max(text.rfind(";", 0, ent.start_char), text.rfind("\n", 0, ent.start_char))
    return earlier_drugs[-1].start_char > segment_start


PRESCRIBED_HEADER = re.compile(
    r"^[ \t]*(?:#+[ \t]*)?(?:.*\bprescribed the following medications?|new medications|"
    r"(?:new )?prescriptions|medications prescribed|rx)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


PRESCRIBED_IN_SENTENCE = re.compile(r"\b(?:prescribed|prescribe|prescribing)\b", re.IGNORECASE)


PREVIOUSLY = re.compile(r"\b(?:previously|formerly|was once|in the past)\b", re.IGNORECASE)


def is_prescribed(text: str, ent: Span, prescribed_lists: list[Region]) -> bool:
    if in_regions(ent.start_char, prescribed_lists):
        return True
    sentence_start, _ = sentence_region(ent)
    before = text[sentence_start : ent.start_char]
    return bool(PRESCRIBED_IN_SENTENCE.search(before)) and not PREVIOUSLY.search(before)


def medication_facts(doc: Doc, skip_regions: list[Region]) -> list[MedicationFact]:
    text = doc.text
    prescribed_lists = listed_regions(text, PRESCRIBED_HEADER)
    drugs = [ent for ent in doc.ents if ent.label_ == DRUG]
    facts = []
    for index, ent in enumerate(drugs):
        if in_regions(ent.start_char, skip_regions) or is_bracketed_brand(text, ent, drugs[:index]):
            continue
        next_start = drugs[index + 1].start_char if index + 1 < len(drugs) else len(text)
        window = sig_window(text, ent, next_start)
        dose = parse_dose(window) or dose_before(text, ent)
        stopped = has_modifier(ent, "MED_STOPPED")
        facts.append(
            MedicationFact(
                quote=quote_for(text, ent.start_char, ent.end_char, sentence_region(ent)),
                text=normalize_space(ent.text),
                generic_name=ent._.target_rule.metadata["generic_name"],
                dose_value=dose[0] if dose else None,
                dose_unit=dose[1] if dose else None,
                route=parse_route(window),
                frequency=parse_frequency(window),
                status=MedicationStatus.STOPPED if stopped else MedicationStatus.ACTIVE,
                # 'as needed' or an instructions section does not make a prescribed drug unreal
                assertion=assertion_of(ent, hypothetical_allowed=False),
                prescribed=is_prescribed(text, ent, prescribed_lists),
            )
        )
    return facts
