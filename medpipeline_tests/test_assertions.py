"""Contract: every grounded fact of an LLM provider is re-read with ConText at its span; when the
text negates, gives to a relative, makes hypothetical or uncertain what the LLM called present,
ConText's assertion becomes the fact's (the LLM's word kept in `provider_assertion`) and the
disagreement is visible; a fact the LLM already called not the patient's is never made present;
offline-provider facts and "no known allergies" are not re-read."""

from typing import Any

import pytest

from medpipeline.chunking import Chunk
from medpipeline.extraction.assertions import disagrees, recheck_assertions
from medpipeline.extraction.grounding import merge_extractions
from medpipeline.extraction.offline.extractor import OfflineExtractor
from medpipeline.extraction.schema import (
    AllergyFact,
    Assertion,
    ChunkExtraction,
    ChunkOutcome,
    ChunkReport,
    ConditionFact,
    DocumentExtraction,
    ImmunizationFact,
    MedicationFact,
    ProcedureFact,
)

NOTE = """HISTORY OF PRESENT ILLNESS:
Patient presents with productive cough for five days. He denies chest pain or hemoptysis.
Possible pneumonia on chest x-ray; no pleural effusion.

REVIEW OF SYSTEMS:
Fever - denies. Headache: negative.

PAST MEDICAL HISTORY:
Hypertension and type 2 diabetes mellitus.

FAMILY HISTORY:
Father had colon cancer at 60.

ALLERGIES:
No allergy to penicillin. Mother is allergic to latex. Sulfa drugs cause hives.

PLAN:
Start azithromycin 250 mg daily for five days.
If pain persists, take ibuprofen 400 mg every 6 hours.
He has not had a colonoscopy.
She declined the flu shot.
"""


def _document(provider: str, text: str = NOTE, **facts: list[Any]) -> DocumentExtraction:
    """The facts grounded in the text as the pipeline grounds them (one chunk, one provider)."""
    chunk = Chunk(
        chunk_id="d-c000",
        index=0,
        start=0,
        end=len(text),
        pages=[1],
        tokens=0,
        starts_section=True,
        text=text,
    )
    report = ChunkReport(chunk_id=chunk.chunk_id, outcome=ChunkOutcome.OK, provider=provider)
    extraction = ChunkExtraction(**facts)
    merged = merge_extractions("d", "test", [0], [(chunk, report, extraction)])
    assert merged.ungrounded_facts == 0, "every quote of these rows is in the text"
    return merged


@pytest.mark.parametrize(
    ("fact_list", "fact", "expected"),
    [
        (
            "conditions",
            ConditionFact(quote="He denies chest pain", text="chest pain"),
            Assertion.NEGATED,
        ),
        (
            "conditions",
            ConditionFact(quote="Possible pneumonia on chest x-ray", text="pneumonia"),
            Assertion.POSSIBLE,
        ),
        (
            "conditions",
            ConditionFact(quote="Father had colon cancer at 60", text="colon cancer"),
            Assertion.FAMILY,
        ),
        (
            "conditions",
            ConditionFact(quote="no pleural effusion", text="pleural effusion"),
            Assertion.NEGATED,
        ),
        (
            "allergies",
            AllergyFact(quote="No allergy to penicillin", substance="penicillin"),
            Assertion.NEGATED,
        ),
        (
            "allergies",
            AllergyFact(quote="Mother is allergic to latex", substance="latex"),
            Assertion.FAMILY,
        ),
        (
            "medications",
            MedicationFact(
                quote="If pain persists, take ibuprofen 400 mg every 6 hours",
                text="ibuprofen",
                prescribed=True,
            ),
            Assertion.HYPOTHETICAL,
        ),
        (
            "procedures",
            ProcedureFact(quote="He has not had a colonoscopy", text="colonoscopy"),
            Assertion.NEGATED,
        ),
        (
            "immunizations",
            ImmunizationFact(quote="She declined the flu shot", text="flu shot"),
            Assertion.NEGATED,
        ),
        ("conditions", ConditionFact(quote="Fever - denies", text="Fever"), Assertion.NEGATED),
        (
            "conditions",
            ConditionFact(quote="Headache: negative", text="Headache"),
            Assertion.NEGATED,
        ),
    ],
    ids=[
        "denied-symptom",
        "uncertain-diagnosis",
        "family-history",
        "negated-finding",
        "negated-allergy",
        "family-allergy",
        "conditional-prescription",
        "negated-procedure",
        "declined-vaccine",
        "answered-denies",
        "answered-negative",
    ],
)
def test_context_overrides_an_llm_present_the_text_does_not_assert(
    fact_list: str, fact: Any, expected: Assertion
) -> None:
    checked = recheck_assertions(_document("anthropic", **{fact_list: [fact]}), NOTE)
    [result] = getattr(checked, fact_list)
    assert (result.assertion, result.provider_assertion, result.context_assertion) == (
        expected,
        Assertion.PRESENT,
        expected,
    )
    assert disagrees(result)
    assert (checked.assertions_rechecked, checked.assertions_changed) == (1, 1)


@pytest.mark.parametrize(
    ("fact_list", "fact"),
    [
        (
            "conditions",
            ConditionFact(quote="Hypertension and type 2 diabetes mellitus", text="Hypertension"),
        ),
        (
            "medications",
            MedicationFact(quote="Start azithromycin 250 mg daily", text="azithromycin"),
        ),
        ("allergies", AllergyFact(quote="Sulfa drugs cause hives", substance="Sulfa drugs")),
        ("conditions", ConditionFact(quote="productive cough", text="cough")),
    ],
    ids=["pmh-condition", "new-prescription", "named-allergy", "symptom"],
)
def test_an_asserted_fact_stays_as_the_llm_said(fact_list: str, fact: Any) -> None:
    checked = recheck_assertions(_document("openai", **{fact_list: [fact]}), NOTE)
    [result] = getattr(checked, fact_list)
    assert result.assertion == Assertion.PRESENT
    assert result.provider_assertion is None
    assert not disagrees(result)
    assert checked.assertions_changed == 0


def test_an_llm_negation_is_never_made_present_but_the_disagreement_shows() -> None:
    fact = ConditionFact(quote="productive cough", text="cough", assertion=Assertion.NEGATED)
    checked = recheck_assertions(_document("anthropic", conditions=[fact]), NOTE)
    [result] = checked.conditions
    assert (result.assertion, result.context_assertion) == (Assertion.NEGATED, Assertion.PRESENT)
    assert result.provider_assertion is None
    assert disagrees(result)


def test_offline_conditions_and_no_known_allergies_are_not_re_read() -> None:
    offline = _document(
        "offline", conditions=[ConditionFact(quote="He denies chest pain", text="chest pain")]
    )
    assert recheck_assertions(offline, NOTE).conditions[0].assertion == Assertion.PRESENT
    nka = AllergyFact(quote="No allergy to penicillin", no_known_allergies=True)
    checked = recheck_assertions(_document("anthropic", allergies=[nka]), NOTE)
    assert checked.assertions_rechecked == 0
    assert checked.allergies[0].context_assertion is None


def test_the_input_extraction_is_not_changed() -> None:
    merged = _document(
        "anthropic", conditions=[ConditionFact(quote="He denies chest pain", text="chest pain")]
    )
    recheck_assertions(merged, NOTE)
    assert merged.conditions[0].assertion == Assertion.PRESENT
    assert merged.conditions[0].context_assertion is None


@pytest.mark.parametrize(
    ("quote", "substance", "expected"),
    [
        ("No allergy to penicillin", "penicillin", Assertion.NEGATED),
        ("Mother is allergic to latex", "latex", Assertion.FAMILY),
        ("Sulfa drugs cause hives", "Sulfa drugs", Assertion.PRESENT),
    ],
    ids=["negated", "family", "named"],
)
def test_offline_allergies_get_contexts_assertion_without_a_disagreement(
    quote: str, substance: str, expected: Assertion
) -> None:
    """The offline allergy rules read lists, not ConText: the re-read gives them an assertion."""
    fact = AllergyFact(quote=quote, substance=substance)
    [allergy] = recheck_assertions(_document("offline", allergies=[fact]), NOTE).allergies
    assert (allergy.assertion, allergy.provider_assertion) == (expected, None)
    assert not disagrees(allergy)


ALLERGY_TABLE = """ALLERGIES
| Substance | Reaction | Status |
| Sulfa | Not reported | Active |
| Codeine | No reaction recorded | Active |
| Penicillin | Hives | Active |
"""


def test_a_cue_in_another_row_of_an_allergy_table_negates_nothing() -> None:
    """'Not reported' or 'No reaction recorded' in a row is no cue for the next row's substance:
    a table cell ends ConText's scope (before, the re-check dropped such allergies)."""
    found = OfflineExtractor().extract(ALLERGY_TABLE).allergies
    checked = recheck_assertions(
        _document("offline", ALLERGY_TABLE, allergies=found), ALLERGY_TABLE
    )
    assert [(a.substance, a.assertion) for a in checked.allergies] == [
        ("Sulfa", Assertion.PRESENT),
        ("Codeine", Assertion.PRESENT),
        ("Penicillin", Assertion.PRESENT),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "ALLERGIES\n| Latex (latex free environment) | Rash | Active |\n",
        "ALLERGIES\nLatex - use latex free gloves\n",
    ],
    ids=["table-cell", "list-item"],
)
def test_a_latex_free_precaution_does_not_negate_the_latex_allergy(text: str) -> None:
    """'latex free' keeps latex away from an allergic patient; medspaCy's 'free' negated it."""
    found = OfflineExtractor().extract(text).allergies
    checked = recheck_assertions(_document("offline", text, allergies=found), text)
    [allergy] = checked.allergies
    assert allergy.substance.startswith("Latex") and allergy.assertion == Assertion.PRESENT


def test_pain_free_still_negates_the_pain() -> None:
    result = OfflineExtractor().extract("She has been chest pain free since the stent.")
    assert [(c.text, c.assertion) for c in result.conditions] == [("chest pain", Assertion.NEGATED)]


MEDICATION_LIST = "MEDICATIONS:\nAspirin 81 mg daily, no warfarin, metoprolol 25 mg BID.\n"


def test_a_negation_in_one_item_of_a_drug_list_does_not_reach_the_llms_next_item() -> None:
    """The re-read reads a list of drugs by its items, as the offline provider does: the 'no' of
    'no warfarin' made the LLM's metoprolol (its own item, with its dose) not taken."""
    facts = [
        MedicationFact(quote="Aspirin 81 mg daily", text="Aspirin"),
        MedicationFact(quote="metoprolol 25 mg BID", text="metoprolol"),
    ]
    checked = recheck_assertions(
        _document("anthropic", MEDICATION_LIST, medications=facts), MEDICATION_LIST
    )
    assert [(m.text, m.assertion, disagrees(m)) for m in checked.medications] == [
        ("Aspirin", Assertion.PRESENT, False),
        ("metoprolol", Assertion.PRESENT, False),
    ]


FORM = """HEALTH HISTORY
Diabetes                [ ] Yes   [X] No
Asthma                  [X] Yes   [ ] No
Constitutional:   [ ] fever  [ ] chills  [X] fatigue
"""


def test_a_choice_a_printed_form_does_not_make_is_not_the_llms_present_finding() -> None:
    facts = [
        ConditionFact(quote="Diabetes                [ ] Yes   [X] No", text="Diabetes"),
        ConditionFact(quote="[ ] fever", text="fever"),
        ConditionFact(quote="Asthma                  [X] Yes   [ ] No", text="Asthma"),
        ConditionFact(quote="[X] fatigue", text="fatigue"),
    ]
    checked = recheck_assertions(_document("anthropic", text=FORM, conditions=facts), FORM)
    assert {fact.text: fact.assertion for fact in checked.conditions} == {
        "Diabetes": Assertion.NEGATED,
        "fever": Assertion.NEGATED,
        "Asthma": Assertion.PRESENT,
        "fatigue": Assertion.PRESENT,
    }
    assert [disagrees(fact) for fact in checked.conditions] == [True, True, False, False]
