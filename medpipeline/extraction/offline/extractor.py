"""`OfflineExtractor`: every concern's facts for one chunk, deduplicated."""

import re

from spacy.language import Language

from medpipeline.extraction.document_parties import (
    organization_facts,
    practitioner_facts,
    practitioner_lines,
)
from medpipeline.extraction.offline.allergies import (
    allergy_facts,
    allergy_regions,
    named_allergy_regions,
    table_allergies,
)
from medpipeline.extraction.offline.conditions import (
    condition_facts,
    diagnosis_field_regions,
    listed_conditions,
    table_conditions,
)
from medpipeline.extraction.offline.demographics import encounter_facts, patient_fact
from medpipeline.extraction.offline.forms import allergy_choice_lines, mark_answers
from medpipeline.extraction.offline.immunizations import immunization_facts
from medpipeline.extraction.offline.medication_tables import listed_medications, table_medications
from medpipeline.extraction.offline.medications import medication_facts
from medpipeline.extraction.offline.pipeline import build_pipeline
from medpipeline.extraction.offline.procedures import (
    narrative_procedures,
    planned_procedures,
    procedure_facts,
    table_procedures,
)
from medpipeline.extraction.offline.result_tables import table_observations, vital_kind
from medpipeline.extraction.offline.results import lab_row_regions, observation_facts
from medpipeline.extraction.offline.section_rules import NO_FACT_SECTIONS
from medpipeline.extraction.offline.sections_tables import (
    MEDICATION_CATEGORIES,
    PAST_HISTORY,
    PROBLEMS,
    document_title_regions,
    find_tables,
    is_reading_grid,
    section_regions,
    table_regions,
    title_regions,
    vaccine_list_regions,
)
from medpipeline.extraction.offline.text import Region, join_wrapped_negations, most_informative
from medpipeline.extraction.prompts import DocumentType
from medpipeline.extraction.schema import (
    AllergyFact,
    ChunkExtraction,
    ConditionFact,
    MedicationFact,
    MedicationStatus,
    ObservationFact,
    iter_facts,
)
from medpipeline.extraction.sequences import unique


def condition_key(fact: ConditionFact) -> tuple:
    return fact.text.lower(), fact.assertion


def medication_key(fact: MedicationFact) -> tuple:
    """A mention that stops or holds the drug stays apart from the others: the bundle keeps the
    last one's status ('She was started on naproxen ... Discontinue naproxen.' is stopped,
    'Warfarin held on admission. ... Warfarin - STOP' stopped, not on hold), as does a course
    it says is over ('azithromycin IV (completed 11/30)'); a dose given ('was given aspirin in
    the ER') is no news against the list's 'Aspirin 325 mg daily'."""
    ended = fact.status == MedicationStatus.COMPLETED and not fact.administered
    paused = (
        fact.status
        if fact.status in (MedicationStatus.STOPPED, MedicationStatus.ON_HOLD) or ended
        else None
    )
    return fact.text.lower(), fact.assertion, fact.prescribed, paused


def one_fact_per_dose(facts: list[MedicationFact]) -> list[MedicationFact]:
    """The most informative mention per `medication_key` and dose: two doses of one drug are two
    facts ('Morphine ER 30 mg q12h', 'Morphine IR 10 mg q2h PRN'), a mention without a dose joins
    them, as in the bundle (`fhir.grouping.group_medications`)."""
    first_dose: dict[tuple, tuple] = {}
    for fact in facts:
        if fact.dose_value is not None:
            first_dose.setdefault(medication_key(fact), (fact.dose_value, fact.dose_unit))
    return most_informative(
        facts,
        lambda fact: (
            *medication_key(fact),
            (fact.dose_value, fact.dose_unit)
            if fact.dose_value is not None
            else first_dose.get(medication_key(fact)),
        ),
    )


def allergy_key(fact: AllergyFact) -> tuple:
    """Each mention is kept: ConText reads every one after extraction, and a later one may
    refute the allergy ('Penicillin allergy ruled out')."""
    return fact.no_known_allergies, (fact.substance or "").lower(), fact.quote


def observation_key(fact: ObservationFact) -> tuple:
    """One reading: the same value on another date (a flowsheet column) is another one."""
    name = fact.loinc_code or fact.name.lower()
    return name, fact.value, fact.value_text, fact.unit, fact.effective_date


# An em dash or a horizontal bar between an item and what is said of it is read as the hyphen
# the rules know ('Peanut \u2014 anaphylaxis' lost the allergy), in a copy of the same length.
DASHES = str.maketrans({"\u2014": "-", "\u2015": "-"})
# A bar between tabs inside a line (not a table's row) separates items as ';' does: 'CODEINE
# (vomiting) <tab>|<tab> SULFONAMIDE ANTIBIOTICS (rash)' lost the second allergy.
ITEM_BAR = re.compile(r"(?<=\S)\t\|\t(?=\S)")


def items_by_bar(text: str) -> str:
    """The text with such bars as ';' (of one length)."""
    return ITEM_BAR.sub("\t;\t", text)


# Dot leaders between an item and its column ('Ondansetron 4 mg PO PRN ........ stopped') are the
# column gap they print: read as spaces, so the status column is one.
DOT_LEADER = re.compile(r"(?<=\S)[ \t]*\.{4,}[ \t]*(?=\S)")


def dot_leaders_as_gaps(text: str) -> str:
    """The text with dot leaders as spaces (of one length)."""
    return DOT_LEADER.sub(lambda match: " " * len(match[0]), text)


def written_as(quote: str, reading: str, text: str) -> str:
    """A quote of the reading (dashes folded, item bars as ';', dot leaders as spaces, a form's
    choices not made blanked, wrapped negations joined) as the text writes it (the two are of
    one length)."""
    position = reading.find(quote)
    return text[position : position + len(quote)] if position >= 0 else quote


class OfflineExtractor:
    """Rule-based extraction with medspaCy; the pipeline is built once per process, on first use."""

    @property
    def nlp(self) -> Language:
        return build_pipeline()

    def extract(self, text: str, document_type: DocumentType | None = None) -> ChunkExtraction:
        """Facts of one chunk. Tables are read row by row by their kind and columns; the
        narrative outside them by lexicon, ConText and sections. Section titles and table header
        rows are never facts; sections that list no patient facts of these kinds (immunizations,
        plan of care, social and family history ...) give none. In a lab report
        (`document_type`) conditions come only from a labelled diagnosis field or a problem list."""
        if not text.strip():
            return ChunkExtraction()
        reading = join_wrapped_negations(
            mark_answers(items_by_bar(dot_leaders_as_gaps(text.translate(DASHES))))
        )
        extraction = self.read(reading, document_type, allergy_choice_lines(text))
        if reading != text:
            for _, _, fact in iter_facts(extraction):
                fact.quote = written_as(fact.quote, reading, text)
        return extraction

    def read(
        self,
        text: str,
        document_type: DocumentType | None,
        allergy_choices: list[Region] | None = None,
    ) -> ChunkExtraction:
        doc = self.nlp(text)
        tables = find_tables(doc, vital_kind)
        in_tables = table_regions(tables)
        read_tables = table_regions(
            [
                table
                for table in tables
                if (table.kind or table.detached) and not is_reading_grid(table)
            ]
        )
        not_narrative = (
            in_tables
            + title_regions(doc)
            + document_title_regions(text)
            + section_regions(doc, NO_FACT_SECTIONS)
            + vaccine_list_regions(text)
        )
        allergy_areas = allergy_regions(doc) + (allergy_choices or [])
        named_allergies = named_allergy_regions(doc)
        medication_lists = section_regions(doc, MEDICATION_CATEGORIES)
        diagnosis_fields = (
            diagnosis_field_regions(text) + section_regions(doc, {PROBLEMS, PAST_HISTORY})
            if document_type == DocumentType.LAB_REPORT
            else None
        )
        not_conditions = (
            allergy_areas
            + named_allergies
            + medication_lists
            + not_narrative
            + practitioner_lines(text)
        )
        conditions = condition_facts(doc, not_conditions, diagnosis_fields)
        conditions += listed_conditions(doc, not_conditions)
        medications = medication_facts(doc, allergy_areas + lab_row_regions(text) + not_narrative)
        medications += listed_medications(doc, allergy_areas + not_narrative)
        procedures = (
            procedure_facts(text, in_tables)
            + narrative_procedures(text, not_narrative)
            + planned_procedures(text, in_tables + title_regions(doc))
        )
        return ChunkExtraction(
            patient=patient_fact(text),
            conditions=unique(table_conditions(doc, tables) + conditions, condition_key),
            medications=one_fact_per_dose(
                table_medications(tables, text, title_regions(doc)) + medications
            ),
            allergies=unique(
                table_allergies(tables, text) + allergy_facts(doc, allergy_areas, not_narrative),
                allergy_key,
            ),
            observations=unique(
                table_observations(tables, text) + observation_facts(doc, read_tables),
                observation_key,
            ),
            encounters=encounter_facts(text),
            procedures=unique(
                table_procedures(tables, text) + procedures,
                # 'Colonoscopy 2024: ...' and 'Repeat colonoscopy in 2027' are two
                lambda fact: (fact.text.lower(), fact.assertion, fact.performed_date),
            ),
            immunizations=unique(
                immunization_facts(doc, tables, allergy_areas),
                lambda fact: (fact.text.lower(), fact.assertion, fact.occurrence_date),
            ),
            organizations=organization_facts(text),
            practitioners=practitioner_facts(text),
        )
