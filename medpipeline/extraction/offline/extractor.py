"""`OfflineExtractor`: every concern's facts for one chunk, deduplicated."""

from spacy.language import Language

from medpipeline.extraction.offline.allergies import allergy_facts, allergy_regions
from medpipeline.extraction.offline.conditions import condition_facts, diagnosis_field_regions
from medpipeline.extraction.offline.demographics import encounter_facts, patient_fact
from medpipeline.extraction.offline.medications import medication_facts
from medpipeline.extraction.offline.pipeline import build_pipeline
from medpipeline.extraction.offline.procedures import procedure_facts
from medpipeline.extraction.offline.results import lab_row_regions, observation_facts
from medpipeline.extraction.offline.sections_tables import MEDICATION_CATEGORIES, section_regions
from medpipeline.extraction.offline.text import most_informative, unique
from medpipeline.extraction.prompts import DocumentType
from medpipeline.extraction.schema import (
    AllergyFact,
    ChunkExtraction,
    ConditionFact,
    MedicationFact,
    ObservationFact,
)


def condition_key(fact: ConditionFact) -> tuple:
    return fact.text.lower(), fact.assertion


def medication_key(fact: MedicationFact) -> tuple:
    return fact.text.lower(), fact.assertion, fact.prescribed


def allergy_key(fact: AllergyFact) -> tuple:
    return fact.no_known_allergies, (fact.substance or "").lower()


def observation_key(fact: ObservationFact) -> tuple:
    return fact.loinc_code or fact.name.lower(), fact.value, fact.value_text, fact.unit


class OfflineExtractor:
    """Rule-based extraction with medspaCy; the pipeline is built once per process, on first use."""

    @property
    def nlp(self) -> Language:
        return build_pipeline()

    def extract(self, text: str, document_type: DocumentType | None = None) -> ChunkExtraction:
        """Facts of one chunk; in a lab report (`document_type`) conditions only from a labelled
        diagnosis or clinical-information field."""
        if not text.strip():
            return ChunkExtraction()
        doc = self.nlp(text)
        allergy_areas = allergy_regions(doc)
        medication_lists = section_regions(doc, MEDICATION_CATEGORIES)
        diagnosis_fields = (
            diagnosis_field_regions(text) if document_type == DocumentType.LAB_REPORT else None
        )
        return ChunkExtraction(
            patient=patient_fact(text),
            conditions=unique(
                condition_facts(doc, allergy_areas + medication_lists, diagnosis_fields),
                condition_key,
            ),
            medications=most_informative(
                medication_facts(doc, allergy_areas + lab_row_regions(text)), medication_key
            ),
            allergies=unique(allergy_facts(doc, allergy_areas), allergy_key),
            observations=unique(observation_facts(doc), observation_key),
            encounters=encounter_facts(text),
            procedures=unique(procedure_facts(text), lambda fact: fact.text.lower()),
        )
