"""Grounding: locate each fact's quote in the document text, then merge chunk results.

A quote is looked for in its chunk three ways, the strictest first: exact, then with whitespace and
case normalised, then fuzzy (rapidfuzz's best partial alignment, accepted at or above
`GroundingConfig.fuzzy_threshold`, 0-100). A fact whose quote cannot be found is not evidence of
anything: it is counted as ungrounded and, by default, left out of the fact lists and kept apart in
`DocumentExtraction.ungrounded` for review (`keep_ungrounded=True` keeps it in the lists, without
evidence). Chunks overlap, so the same fact found twice is kept once.

A page OCR could not read may be read from its image by a vision model (`extraction.vision`):
its facts cannot be located in the text, so they are grounded to the page (`PAGE`): page number,
no offsets, each a review item.
"""

import re
from collections.abc import Iterable

from pydantic import BaseModel, Field
from rapidfuzz import fuzz

from medpipeline.chunking import Chunk, page_at
from medpipeline.extraction.schema import (
    FACT_LISTS,
    ChunkExtraction,
    ChunkReport,
    DocumentExtraction,
    Evidence,
    Fact,
)

_SPACE = re.compile(r"\s+")
EXACT, NORMALIZED, FUZZY, PAGE = "exact", "normalized", "fuzzy", "page"
MIN_FUZZY_QUOTE_CHARS = 8  # a short quote that is not found as written is not found


class GroundingConfig(BaseModel):
    fuzzy_threshold: float = Field(
        default=90.0, ge=0, le=100, description="Least rapidfuzz similarity of a fuzzy match."
    )
    keep_ungrounded: bool = Field(
        default=False, description="Keep facts whose quote is not in the text (flagged)."
    )


DEFAULT_GROUNDING = GroundingConfig()


def locate_quote(
    quote: str, text: str, fuzzy_threshold: float = DEFAULT_GROUNDING.fuzzy_threshold
) -> tuple[int, int, str] | None:
    """(offset, length, match kind) of `quote` in `text`: exact, normalised, then fuzzy."""
    located = locate_quote_scored(quote, text, fuzzy_threshold)
    return located[:3] if located else None


def locate_quote_scored(
    quote: str, text: str, fuzzy_threshold: float = DEFAULT_GROUNDING.fuzzy_threshold
) -> tuple[int, int, str, float] | None:
    """Like `locate_quote`, with the similarity score (100 for exact and normalised)."""
    quote = quote.strip()
    if not quote:
        return None
    position = text.find(quote)
    if position >= 0:
        return position, len(quote), EXACT, 100.0
    pattern = r"\s+".join(re.escape(word) for word in quote.split())
    found = re.search(pattern, text, flags=re.IGNORECASE)
    if found:
        return found.start(), found.end() - found.start(), NORMALIZED, 100.0
    return _fuzzy(quote, text, fuzzy_threshold)


def _fuzzy(quote: str, text: str, threshold: float) -> tuple[int, int, str, float] | None:
    """Best partial alignment of the (case-folded) quote in the text, if similar enough."""
    if len(quote) < MIN_FUZZY_QUOTE_CHARS or not text:
        return None
    alignment = fuzz.partial_ratio_alignment(
        " ".join(quote.lower().split()), text.lower(), score_cutoff=threshold
    )
    if alignment is None:
        return None
    start, end = alignment.dest_start, alignment.dest_end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end <= start:
        return None
    return start, end - start, FUZZY, round(alignment.score, 1)


def ground_fact(
    fact: Fact,
    chunk: Chunk,
    page_offsets: list[int],
    config: GroundingConfig = DEFAULT_GROUNDING,
) -> bool:
    """Attach `Evidence` to the fact if its quote is found in the chunk; report whether it was."""
    located = locate_quote_scored(fact.quote, chunk.text, config.fuzzy_threshold)
    if located is None:
        return False
    offset, length, kind, score = located
    start = chunk.start + offset
    fact.evidence = Evidence(
        offset=start,
        length=length,
        page=page_at(start, page_offsets),
        chunk_id=chunk.chunk_id,
        match=kind,
        score=score,
    )
    return True


def _identity(kind: str, fact: Fact) -> tuple:
    """What makes two facts the same fact (overlapping chunks report it twice)."""
    values = fact.model_dump(exclude={"quote", "evidence"})
    return (kind, _SPACE.sub(" ", str(sorted(values.items()))).lower())


def merge_extractions(
    doc_id: str,
    prompt_version: str,
    page_offsets: list[int],
    results: Iterable[tuple[Chunk, ChunkReport, ChunkExtraction | None]],
    config: GroundingConfig = DEFAULT_GROUNDING,
) -> DocumentExtraction:
    """All chunks' facts grounded and deduplicated; counts of grounded and ungrounded facts.

    A fact is one mention: overlapping chunks report it twice at the same place, while the
    same words at another place are another mention, kept (the mapping groups mentions into one
    resource; a later one may deny what an earlier one named, 'Penicillin allergy ruled out')."""
    merged = DocumentExtraction(
        doc_id=doc_id, prompt_version=prompt_version, ungrounded_kept=config.keep_ungrounded
    )
    seen: set[tuple] = set()
    mentions: set[tuple] = set()
    set_aside: set[tuple] = set()
    for chunk, report, extraction in results:
        merged.chunks.append(report)
        if extraction is None:
            continue
        if extraction.patient and merged.patient is None:
            if ground_fact(extraction.patient, chunk, page_offsets, config):
                merged.patient = extraction.patient
                merged.grounded_facts += 1
            else:
                merged.ungrounded_facts += 1
                if config.keep_ungrounded:
                    merged.patient = extraction.patient
                elif merged.ungrounded.patient is None:
                    merged.ungrounded.patient = extraction.patient
        for kind in FACT_LISTS:
            for fact in getattr(extraction, kind):
                identity = _identity(kind, fact)
                if ground_fact(fact, chunk, page_offsets, config):
                    mention = (identity, fact.evidence.offset if fact.evidence else None)
                    if mention in mentions:
                        continue
                    mentions.add(mention)
                    merged.grounded_facts += 1
                else:
                    if identity in seen:
                        continue
                    merged.ungrounded_facts += 1
                    if not config.keep_ungrounded:  # an overlapping chunk may still ground it
                        if identity not in set_aside:
                            set_aside.add(identity)
                            getattr(merged.ungrounded, kind).append(fact)
                        continue
                seen.add(identity)
                getattr(merged, kind).append(fact)
    return merged


def add_page_extractions(
    merged: DocumentExtraction,
    results: Iterable[tuple[int, ChunkReport, ChunkExtraction | None]],
) -> DocumentExtraction:
    """A copy of `merged` with the facts read from page images, (page, report, extraction)
    each: every fact grounded to its page (`PAGE`), a fact already found in the text kept once."""
    combined = merged.model_copy(deep=True)
    seen = {_identity(kind, fact) for kind in FACT_LISTS for fact in getattr(combined, kind)}
    for page, report, extraction in results:
        combined.chunks.append(report)
        if extraction is None:
            continue
        evidence = Evidence(
            offset=None, length=None, page=page, chunk_id=report.chunk_id, match=PAGE
        )
        if extraction.patient and combined.patient is None:
            combined.patient = extraction.patient.model_copy(update={"evidence": evidence})
            combined.grounded_facts += 1
        for kind in FACT_LISTS:
            for fact in getattr(extraction, kind):
                identity = _identity(kind, fact)
                if identity in seen:
                    continue
                seen.add(identity)
                getattr(combined, kind).append(fact.model_copy(update={"evidence": evidence}))
                combined.grounded_facts += 1
    return combined


def grounding_rate(extraction: DocumentExtraction) -> float | None:
    """Share of the facts providers returned whose quote was found (None when there were none)."""
    total = extraction.grounded_facts + extraction.ungrounded_facts
    return extraction.grounded_facts / total if total else None
