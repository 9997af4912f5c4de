"""Sections and tables: where in the text a kind of fact is listed."""

from spacy.tokens import Doc

from medpipeline.extraction.offline.text import Region

ALLERGY_CATEGORIES = {"allergy", "allergies"}


MEDICATION_CATEGORIES = {"medications"}


def section_regions(doc: Doc, categories: set[str]) -> list[Region]:
    """Character regions (title and body) of the sections of the given categories."""
    regions = []
    for section in doc._.sections:
        if section.category in categories and section.body_end > section.title_start:
            start = doc[section.title_start].idx
            last = doc[section.body_end - 1]
            regions.append((start, last.idx + len(last.text)))
    return regions
