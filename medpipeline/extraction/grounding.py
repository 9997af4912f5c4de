"""Grounding: locate each fact's quote in the document text, then merge chunk results.

A fact whose quote cannot be found in its chunk is not evidence of anything: it is counted as
ungrounded and left out. Chunks overlap, so the same fact found twice is kept once.
"""

import re
from collections.abc import Iterable

from medpipeline.chunking import Chunk, page_at
from medpipeline.extraction.schema import (
    ChunkExtraction,
    ChunkReport,
    DocumentExtraction,
    Evidence,
    Fact,
)

_SPACE = re.compile(r"\s+")
FACT_LISTS = ("conditions", "medications", "allergies", "observations")


def locate_quote(quote: str, text: str) -> tuple[int, int, str] | None:
    """(offset, length, match kind) of `quote` in `text`: exact, then whitespace/case-normalised."""
    quote = quote.strip()
    if not quote:
        return None
    position = text.find(quote)
    if position >= 0:
        return position, len(quote), "exact"
    pattern = r"\s+".join(re.escape(word) for word in quote.split())
    found = re.search(pattern, text, flags=re.IGNORECASE)
    if found:
        return found.start(), found.end() - found.start(), "normalized"
    return None


def ground_fact(fact: Fact, chunk: Chunk, page_offsets: list[int]) -> bool:
    """Attach `Evidence` to the fact if its quote is found in the chunk; report whether it was."""
    located = locate_quote(fact.quote, chunk.text)
    if located is None:
        return False
    offset, length, kind = located
    start = chunk.start + offset
    fact.evidence = Evidence(
        offset=start,
        length=length,
        page=page_at(start, page_offsets),
        chunk_id=chunk.chunk_id,
        match=kind,
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
) -> DocumentExtraction:
    merged = DocumentExtraction(doc_id=doc_id, prompt_version=prompt_version)
    seen: set[tuple] = set()
    for chunk, report, extraction in results:
        merged.chunks.append(report)
        if extraction is None:
            continue
        if extraction.patient and merged.patient is None:
            if ground_fact(extraction.patient, chunk, page_offsets):
                merged.patient = extraction.patient
            else:
                merged.ungrounded_facts += 1
        for kind in FACT_LISTS:
            for fact in getattr(extraction, kind):
                identity = _identity(kind, fact)
                if identity in seen:
                    continue
                if not ground_fact(fact, chunk, page_offsets):
                    merged.ungrounded_facts += 1
                    continue
                seen.add(identity)
                getattr(merged, kind).append(fact)
    return merged
