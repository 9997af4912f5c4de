"""Cutting a chunk's text in two (a reply too long for the context or the output limit) and
joining the two halves' extractions."""

from medpipeline.extraction.schema import FACT_LISTS, ChunkExtraction


def split_in_two(text: str) -> tuple[str, str] | None:
    """Cut at the line break nearest the middle (else a space); None if it cannot be cut."""
    middle = len(text) // 2
    for separator in ("\n", " "):
        before, after = text.rfind(separator, 0, middle), text.find(separator, middle)
        candidates = [cut for cut in (before, after) if 0 < cut < len(text) - 1]
        if candidates:
            cut = min(candidates, key=lambda position: abs(position - middle)) + 1
            return text[:cut], text[cut:]
    return None


def merge_two(first: ChunkExtraction, second: ChunkExtraction) -> ChunkExtraction:
    lists = {name: getattr(first, name) + getattr(second, name) for name in FACT_LISTS}
    return ChunkExtraction(patient=first.patient or second.patient, **lists)
