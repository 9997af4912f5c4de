"""Contract: the FHIR mapping asserts a fact only as the text does and gives one resource per
clinical fact of a document, whatever provider found it: negated, family and hypothetical
allergies are no AllergyIntolerance; a hypothetical or uncertain prescription is never an active
order; past-history chronic conditions stay active unless resolved; statuses are R4 codes of each
resource's own value set; synonyms, abbreviations, brand names and shared codes merge into one
resource carrying every mention's evidence (the most current status winning); `dosage.text` is
the drug's sig; results keep units and ranges; an ICU stay is an inpatient Encounter with its
period. Each row is a short note of our own, with the facts a provider would return for it."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from medpipeline.documents import SourceDocument
from medpipeline.extraction.schema import (
    AllergyFact,
    Assertion,
    ChunkOutcome,
    ChunkReport,
    ConditionFact,
    DocumentExtraction,
    EncounterFact,
    Evidence,
    MedicationFact,
    MedicationStatus,
    ObservationFact,
    ProcedureFact,
)
from medpipeline.fhir.bundle import (
    DERIVATION_REFERENCE,
    FLAG_CONTRADICTION,
    FLAG_SYSTEM,
    FLAG_UNCERTAIN_ORDER,
    ICD10_CM,
    UCUM,
    build_bundle,
)
from medpipeline.fhir.elements import observation_value
from medpipeline.fhir.validation import validate_bundle
from medpipeline_tests.helpers import document_on_disk, resources_of

CREATED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
PDF_BYTES = b"%PDF-1.7\n% mapping test document\n%%EOF\n"


@pytest.fixture
def document(tmp_path: Path) -> SourceDocument:
    return document_on_disk(tmp_path, PDF_BYTES, pages=1, stored_at=CREATED_AT)


def _grounded(note: str, fact: Any) -> Any:
    """The fact with evidence where its quote sits in the note (as grounding would set it)."""
    offset = note.index(fact.quote)
    evidence = Evidence(offset=offset, length=len(fact.quote), page=1, chunk_id="c", match="exact")
    return fact.model_copy(update={"evidence": evidence})


def _bundle(document: SourceDocument, note: str, **facts: list[Any]) -> dict[str, Any]:
    report = ChunkReport(chunk_id="c", outcome=ChunkOutcome.OK, provider="anthropic")
    grounded = {kind: [_grounded(note, fact) for fact in items] for kind, items in facts.items()}
    extraction = DocumentExtraction(
        doc_id=document.doc_id, prompt_version="t", chunks=[report], **grounded
    )
    built = build_bundle(document, extraction, created_at=CREATED_AT)
    assert validate_bundle(built.bundle) == []
    return built.bundle


def _code(concept: dict[str, Any]) -> str:
    [coding] = concept["coding"]
    return coding["code"]


def _offsets(resource: dict[str, Any]) -> list[int]:
    return [
        sub["valueInteger"]
        for extension in resource.get("extension", [])
        if extension["url"] == DERIVATION_REFERENCE
        for sub in extension["extension"]
        if sub["url"] == "offset"
    ]


def _flags(resource: dict[str, Any]) -> set[str]:
    tags = resource.get("meta", {}).get("tag", [])
    return {tag["code"] for tag in tags if tag["system"] == FLAG_SYSTEM}


# --- allergies ----------------------------------------------------------------------------------

ALLERGY_NOTE = "ALLERGIES: No allergy to penicillin. Mother is allergic to latex. Codeine (nausea)."


@pytest.mark.parametrize(
    ("fact", "expected"),
    [
        (AllergyFact(quote="No allergy to penicillin", substance="penicillin",
                     assertion=Assertion.NEGATED), None),
        (AllergyFact(quote="Mother is allergic to latex", substance="latex",
                     assertion=Assertion.FAMILY), None),
        (AllergyFact(quote="Codeine (nausea)", substance="Codeine", reaction="nausea"),
         ("active", "confirmed")),
        (AllergyFact(quote="Codeine (nausea)", substance="Codeine", assertion=Assertion.POSSIBLE),
         ("active", "unconfirmed")),
        (AllergyFact(quote="Codeine (nausea)", substance="Codeine",
                     assertion=Assertion.HISTORICAL), ("active", "confirmed")),
    ],
    ids=["negated-allergy", "family-allergy", "named-allergy", "possible-allergy", "history"],
)  # fmt: skip
def test_allergy_assertion(
    document: SourceDocument, fact: AllergyFact, expected: tuple[str, str] | None
) -> None:
    allergies = resources_of(
        _bundle(document, ALLERGY_NOTE, allergies=[fact]), "AllergyIntolerance"
    )
    if expected is None:
        assert allergies == [], "not the patient's allergy"
        return
    [allergy] = allergies
    assert (_code(allergy["clinicalStatus"]), _code(allergy["verificationStatus"])) == expected


def test_no_known_allergies_beside_a_named_allergy_is_flagged(document: SourceDocument) -> None:
    note = "Allergies: NKDA. Later in the note: allergic to codeine."
    bundle = _bundle(
        document,
        note,
        allergies=[
            AllergyFact(quote="NKDA", no_known_allergies=True),
            AllergyFact(quote="allergic to codeine", substance="codeine"),
        ],
    )
    nka, codeine = resources_of(bundle, "AllergyIntolerance")
    assert FLAG_CONTRADICTION in _flags(nka) and not _flags(codeine)


# --- medications: orders, statements, statuses ----------------------------------------------------

MED_NOTE = """DISCHARGE MEDICATIONS: Metformin 500 mg PO twice daily; lisinopril 10 mg daily.
If pain persists, take ibuprofen 400 mg every 6 hours. May need amoxicillin if fever returns.
HOME MEDICATIONS: aspirin 81 mg daily (completed course of prednisone)."""


@pytest.mark.parametrize(
    ("fact", "resource_type", "status", "intent"),
    [
        (MedicationFact(quote="Metformin 500 mg PO twice daily", text="Metformin",
                        prescribed=True), "MedicationRequest", "active", "order"),
        (MedicationFact(quote="If pain persists, take ibuprofen 400 mg every 6 hours",
                        text="ibuprofen", prescribed=True, assertion=Assertion.HYPOTHETICAL),
         "MedicationRequest", "draft", "proposal"),
        (MedicationFact(quote="May need amoxicillin if fever returns", text="amoxicillin",
                        prescribed=True, assertion=Assertion.POSSIBLE),
         "MedicationRequest", "draft", "proposal"),
        (MedicationFact(quote="lisinopril 10 mg daily", text="lisinopril", prescribed=True,
                        status=MedicationStatus.COMPLETED),
         "MedicationRequest", "completed", "order"),
        (MedicationFact(quote="lisinopril 10 mg daily", text="lisinopril", prescribed=True,
                        status=MedicationStatus.UNKNOWN), "MedicationRequest", "unknown", "order"),
        (MedicationFact(quote="lisinopril 10 mg daily", text="lisinopril", prescribed=True,
                        status=MedicationStatus.STOPPED), "MedicationRequest", "stopped", "order"),
        (MedicationFact(quote="lisinopril 10 mg daily", text="lisinopril", prescribed=True,
                        status=MedicationStatus.ON_HOLD), "MedicationRequest", "on-hold", "order"),
        (MedicationFact(quote="aspirin 81 mg daily", text="aspirin",
                        status=MedicationStatus.ON_HOLD), "MedicationStatement", "on-hold", None),
        (MedicationFact(quote="aspirin 81 mg daily", text="aspirin"),
         "MedicationStatement", "active", None),
        (MedicationFact(quote="completed course of prednisone", text="prednisone",
                        status=MedicationStatus.COMPLETED),
         "MedicationStatement", "completed", None),
        (MedicationFact(quote="aspirin 81 mg daily", text="aspirin",
                        status=MedicationStatus.UNKNOWN), "MedicationStatement", "unknown", None),
        (MedicationFact(quote="aspirin 81 mg daily", text="aspirin",
                        assertion=Assertion.POSSIBLE), "MedicationStatement", "unknown", None),
        (MedicationFact(quote="aspirin 81 mg daily", text="aspirin",
                        assertion=Assertion.HYPOTHETICAL), "MedicationStatement", "intended", None),
        (MedicationFact(quote="aspirin 81 mg daily", text="aspirin", prescribed=True,
                        assertion=Assertion.HISTORICAL), "MedicationStatement", "completed", None),
    ],
    ids=[
        "discharge-prescription", "hypothetical-prescription", "uncertain-prescription",
        "request-completed", "request-unknown", "request-stopped", "request-on-hold",
        "statement-on-hold", "medication-list",
        "statement-completed", "statement-unknown", "statement-possible",
        "statement-hypothetical", "historical-prescription",
    ],
)  # fmt: skip
def test_medication_resource_and_r4_status(
    document: SourceDocument,
    fact: MedicationFact,
    resource_type: str,
    status: str,
    intent: str | None,
) -> None:
    bundle = _bundle(document, MED_NOTE, medications=[fact])
    [resource] = resources_of(bundle, resource_type)
    assert resource["status"] == status
    assert resource.get("intent") == intent
    uncertain = FLAG_UNCERTAIN_ORDER in _flags(resource)
    assert uncertain == (intent == "proposal"), "a draft proposal is flagged for review"
    assert "uncoded" in _flags(resource), "named, without an RxNorm code: tagged uncoded"


def test_dosage_text_is_the_drugs_own_sig(document: SourceDocument) -> None:
    """Regression: the quote (here a list line of two drugs) was the dosage text."""
    fact = MedicationFact(
        quote="Metformin 500 mg PO twice daily; lisinopril 10 mg daily",
        text="Metformin",
        dose_value=500,
        dose_unit="mg",
        route="oral",
        frequency="twice daily",
        prescribed=True,
    )
    [request] = resources_of(_bundle(document, MED_NOTE, medications=[fact]), "MedicationRequest")
    [dosage] = request["dosageInstruction"]
    assert dosage["text"] == "500 mg oral twice daily"
    assert dosage["doseAndRate"] == [
        {"doseQuantity": {"value": 500, "unit": "mg", "system": UCUM, "code": "mg"}}
    ]


def test_a_daily_total_is_no_single_dose(document: SourceDocument) -> None:
    """'Amoxicillin 90 mg/kg/day divided BID': a doseQuantity of 90 mg/kg given BID would be
    twice the prescribed amount; the daily total stays in the text."""
    fact = MedicationFact(
        quote="Metformin 500 mg PO twice daily",
        text="Metformin",
        dose_value=90,
        dose_unit="mg/kg/d",
        frequency="BID",
    )
    [statement] = resources_of(
        _bundle(document, MED_NOTE, medications=[fact]), "MedicationStatement"
    )
    [dosage] = statement["dosage"]
    assert dosage["text"] == "90 mg/kg/d BID"
    assert "doseAndRate" not in dosage


@pytest.mark.parametrize(
    ("frequency", "repeat"),
    [
        ("BID", {"frequency": 2, "period": 1, "periodUnit": "d"}),
        ("every 3 weeks", {"frequency": 1, "period": 3, "periodUnit": "wk"}),
        ("q4w", {"frequency": 1, "period": 4, "periodUnit": "wk"}),
        ("every 6 months", {"frequency": 1, "period": 6, "periodUnit": "mo"}),
        ("every other day", {"frequency": 1, "period": 2, "periodUnit": "d"}),
        ("q6h", {"frequency": 1, "period": 6, "periodUnit": "h"}),
        ("every 6 (six) hours as needed", {"frequency": 1, "period": 6, "periodUnit": "h"}),
        ("twice daily", {"frequency": 2, "period": 1, "periodUnit": "d"}),
        ("FOUR TIMES DAILY", {"frequency": 4, "period": 1, "periodUnit": "d"}),
        ("2 (two) times daily with meals", {"frequency": 2, "period": 1, "periodUnit": "d"}),
        ("3 times a day", {"frequency": 3, "period": 1, "periodUnit": "d"}),
        ("twice weekly", {"frequency": 2, "period": 1, "periodUnit": "wk"}),
        ("three times weekly", {"frequency": 3, "period": 1, "periodUnit": "wk"}),
        ("3 times per week", {"frequency": 3, "period": 1, "periodUnit": "wk"}),
        ("q4-6h prn", {"frequency": 1, "period": 4, "periodMax": 6, "periodUnit": "h"}),
        ("every 4 to 6 hours", {"frequency": 1, "period": 4, "periodMax": 6, "periodUnit": "h"}),
        ("daily", {"frequency": 1, "period": 1, "periodUnit": "d"}),
    ],
)
def test_a_frequency_is_its_timing(document: SourceDocument, frequency: str, repeat: dict) -> None:
    """Regression: 'twice daily' and 'FOUR TIMES DAILY' were once a day ('daily' matched first),
    'every 3 weeks' (an infusion) and 'every other day' had no Timing.repeat."""
    fact = MedicationFact(quote="Metformin 500 mg PO twice daily", text="Metformin",
                          frequency=frequency)  # fmt: skip
    [statement] = resources_of(
        _bundle(document, MED_NOTE, medications=[fact]), "MedicationStatement"
    )
    assert statement["dosage"][0]["timing"]["repeat"] == repeat


# --- conditions ---------------------------------------------------------------------------------

CONDITION_NOTE = """PAST MEDICAL HISTORY: HTN, type 2 diabetes mellitus, appendicitis (resolved).
ASSESSMENT: Urinary tract infection. Hypertension, poorly controlled. UTI on nitrofurantoin.
Denies diabetes insipidus. No diabetes-related complications; diabetes well controlled."""


@pytest.mark.parametrize(
    ("fact", "expected"),
    [
        (ConditionFact(quote="type 2 diabetes mellitus", text="type 2 diabetes mellitus",
                       icd10_code="E11.9", assertion=Assertion.HISTORICAL),
         ("active", "confirmed", "problem-list-item")),
        (ConditionFact(quote="appendicitis (resolved)", text="appendicitis",
                       assertion=Assertion.HISTORICAL, resolved=True),
         ("resolved", "confirmed", "problem-list-item")),
        (ConditionFact(quote="Urinary tract infection", text="Urinary tract infection"),
         ("active", "confirmed", "encounter-diagnosis")),
        (ConditionFact(quote="type 2 diabetes mellitus", text="type 2 diabetes mellitus",
                       assertion=Assertion.HISTORICAL, in_remission=True),
         ("remission", "confirmed", "problem-list-item")),
        (ConditionFact(quote="Urinary tract infection", text="Urinary tract infection",
                       icd10_code="N39.0", assertion=Assertion.HISTORICAL),
         ("inactive", "confirmed", "problem-list-item")),
        (ConditionFact(quote="UTI", text="UTI", assertion=Assertion.HISTORICAL),
         ("inactive", "confirmed", "problem-list-item")),
        (ConditionFact(quote="HTN", text="HTN", assertion=Assertion.HISTORICAL),
         ("active", "confirmed", "problem-list-item")),
        (ConditionFact(quote="HTN", text="HTN", assertion=Assertion.HISTORICAL, inactive=True),
         ("inactive", "confirmed", "problem-list-item")),
    ],
    ids=["pmh-chronic-stays-active", "pmh-resolved", "current", "in-remission",
         "history-of-an-episode-is-inactive", "history-of-an-episode-named-by-the-lexicon",
         "history-of-a-chronic-condition-by-the-lexicon", "said-inactive"],
)  # fmt: skip
def test_condition_status(
    document: SourceDocument, fact: ConditionFact, expected: tuple[str, str, str]
) -> None:
    [condition] = resources_of(_bundle(document, CONDITION_NOTE, conditions=[fact]), "Condition")
    statuses = (
        _code(condition["clinicalStatus"]),
        _code(condition["verificationStatus"]),
        _code(condition["category"][0]),
    )
    assert statuses == expected


@pytest.mark.parametrize(
    ("facts", "code", "statuses"),
    [
        ([ConditionFact(quote="Urinary tract infection", text="Urinary tract infection"),
          ConditionFact(quote="UTI", text="UTI")], "N39.0", ("active", "encounter-diagnosis")),
        ([ConditionFact(quote="HTN", text="HTN", assertion=Assertion.HISTORICAL),
          ConditionFact(quote="Hypertension, poorly controlled", text="Hypertension",
                        icd10_code="I10")], "I10", ("active", "encounter-diagnosis")),
        ([ConditionFact(quote="UTI", text="urinary infection", icd10_code="N39.0"),
          ConditionFact(quote="Urinary tract infection", text="cystitis, site unspecified",
                        icd10_code="N39.0")], "N39.0", ("active", "encounter-diagnosis")),
    ],
    ids=["abbreviation-and-name", "history-and-current-keeps-current", "shared-code"],
)  # fmt: skip
def test_duplicate_pair_is_one_condition_with_both_evidence_offsets(
    document: SourceDocument, facts: list[ConditionFact], code: str, statuses: tuple[str, str]
) -> None:
    [condition] = resources_of(_bundle(document, CONDITION_NOTE, conditions=facts), "Condition")
    assert condition["code"]["coding"] == [{"system": ICD10_CM, "code": code}]
    assert sorted(_offsets(condition)) == sorted(CONDITION_NOTE.index(f.quote) for f in facts)
    assert (_code(condition["clinicalStatus"]), _code(condition["category"][0])) == statuses


def test_different_conditions_stay_apart_and_negation_beside_assertion_is_flagged(
    document: SourceDocument,
) -> None:
    facts = [
        ConditionFact(quote="type 2 diabetes mellitus", text="type 2 diabetes mellitus"),
        ConditionFact(quote="Denies diabetes insipidus", text="diabetes insipidus",
                      assertion=Assertion.NEGATED),
        ConditionFact(quote="No diabetes-related complications", text="type 2 diabetes mellitus",
                      assertion=Assertion.NEGATED),
    ]  # fmt: skip
    [diabetes] = resources_of(_bundle(document, CONDITION_NOTE, conditions=facts), "Condition")
    assert diabetes["code"]["text"] == "type 2 diabetes mellitus"
    assert FLAG_CONTRADICTION in _flags(diabetes)
    assert _offsets(diabetes) == [CONDITION_NOTE.index("type 2 diabetes mellitus")]


RULE_OUT_NOTE = """Clinical history: Right lower quadrant pain, rule out appendicitis.
Impression: 1. No evidence of appendicitis. 2. No pulmonary embolism; possible pulmonary embolism
on the earlier study, correlate clinically. 3. Rule out DVT - no evidence of DVT on duplex."""


def test_a_suspicion_the_work_up_answers_no_is_no_condition(document: SourceDocument) -> None:
    """Regression: 'rule out appendicitis' then 'No evidence of appendicitis' was a provisional
    appendicitis; a suspicion raised after the denial stays."""
    facts = [
        ConditionFact(quote="rule out appendicitis", text="appendicitis",
                      assertion=Assertion.POSSIBLE),
        ConditionFact(quote="No evidence of appendicitis", text="appendicitis",
                      assertion=Assertion.NEGATED),
        ConditionFact(quote="No pulmonary embolism", text="pulmonary embolism",
                      assertion=Assertion.NEGATED),
        ConditionFact(quote="possible pulmonary embolism", text="pulmonary embolism",
                      assertion=Assertion.POSSIBLE),
        # one sentence, quoted whole for both mentions (as the offline provider quotes)
        ConditionFact(quote="Rule out DVT - no evidence of DVT on duplex.", text="DVT",
                      assertion=Assertion.POSSIBLE),
        ConditionFact(quote="Rule out DVT - no evidence of DVT on duplex.", text="DVT",
                      assertion=Assertion.NEGATED),
    ]  # fmt: skip
    conditions = resources_of(_bundle(document, RULE_OUT_NOTE, conditions=facts), "Condition")
    assert [(c["code"]["text"], _code(c["verificationStatus"])) for c in conditions] == [
        ("pulmonary embolism", "provisional")
    ]


HEART_FAILURE_NOTE = """HPI: CHF with EF 35%. PMH: HFrEF, type 2 diabetes with diabetic neuropathy.
Assessment: Acute on chronic HFrEF exacerbation. Type 2 diabetes with hyperglycemia. Dyspnea.
Follow up of asthma. A/P: Mild persistent asthma. Other injury of the back."""


def test_an_unspecified_code_joins_the_one_specific_code_of_its_category(
    document: SourceDocument,
) -> None:
    """Regression: 'CHF' (I50.9), 'HFrEF' (I50.20) and 'Acute on chronic HFrEF' (I50.23) were
    three heart failures. Diabetic neuropathy, unspecified (E11.40) is no diabetes with
    hyperglycemia (E11.65): its subcategory E11.4 is not E11.6."""
    facts = [
        ConditionFact(quote="CHF with EF 35%", text="CHF", icd10_code="I50.9"),
        ConditionFact(quote="HFrEF", text="HFrEF", icd10_code="I50.20",
                      assertion=Assertion.HISTORICAL),
        ConditionFact(quote="diabetic neuropathy", text="diabetic neuropathy", icd10_code="E11.40",
                      assertion=Assertion.HISTORICAL),
        ConditionFact(quote="Acute on chronic HFrEF exacerbation", text="Acute on chronic HFrEF",
                      icd10_code="I50.23"),
        ConditionFact(quote="Type 2 diabetes with hyperglycemia",
                      text="Type 2 diabetes with hyperglycemia", icd10_code="E11.65"),
        ConditionFact(quote="Dyspnea", text="Dyspnea", icd10_code="R06.00"),
        # 'Unspecified asthma, uncomplicated' leaves all of J45 unspecified
        ConditionFact(quote="asthma", text="asthma", icd10_code="J45.909"),
        ConditionFact(quote="Mild persistent asthma", text="Mild persistent asthma",
                      icd10_code="J45.30"),
        # the package gives T14 as its own parent
        ConditionFact(quote="Other injury", text="injury", icd10_code="T14.8XXA"),
    ]  # fmt: skip
    conditions = resources_of(_bundle(document, HEART_FAILURE_NOTE, conditions=facts), "Condition")
    found = {
        c["code"]["text"]: (c["code"]["coding"][0]["code"], len(_offsets(c))) for c in conditions
    }
    assert found == {
        "Acute on chronic HFrEF": ("I50.23", 3),
        "diabetic neuropathy": ("E11.40", 1),
        "Type 2 diabetes with hyperglycemia": ("E11.65", 1),
        "Dyspnea": ("R06.00", 1),
        "Mild persistent asthma": ("J45.30", 2),
        "injury": ("T14.8XXA", 1),
    }


def test_a_condition_is_named_by_the_mention_its_code_describes(document: SourceDocument) -> None:
    """'panic attacks' in the history and 'F41.0 Panic disorder' in the diagnoses are one
    condition, named as its code says (before: by the first mention, 'panic attacks')."""
    facts = [
        ConditionFact(quote="panic attacks", text="panic attacks", icd10_code="F41.0"),
        ConditionFact(quote="Panic disorder", text="Panic disorder", icd10_code="F41.0"),
    ]
    bundle = _bundle(document, "panic attacks\nPanic disorder", conditions=facts)
    (condition,) = resources_of(bundle, "Condition")
    assert condition["code"]["text"] == "Panic disorder"
    assert len(_offsets(condition)) == 2


# --- medications, results, procedures merging -------------------------------------------------

MERGE_NOTE = """Home: Lasix 40 mg daily. Continue furosemide 40 mg PO daily.
Metoprolol 25 mg twice daily, increased to metoprolol 50 mg twice daily.
Potassium 3.1 mmol/L (3.5-5.0) L. Repeat potassium 3.1 mmol/L.
Underwent colonoscopy on 2024-05-02. The colonoscopy showed diverticulosis."""


def test_brand_and_generic_merge_and_a_different_dose_does_not(document: SourceDocument) -> None:
    facts = [
        MedicationFact(quote="Lasix 40 mg daily", text="Lasix", dose_value=40, dose_unit="mg"),
        MedicationFact(quote="Continue furosemide 40 mg PO daily", text="furosemide",
                       dose_value=40, dose_unit="mg", route="oral", frequency="daily"),
        MedicationFact(quote="Metoprolol 25 mg twice daily", text="Metoprolol", dose_value=25,
                       dose_unit="mg"),
        MedicationFact(quote="metoprolol 50 mg twice daily", text="metoprolol", dose_value=50,
                       dose_unit="mg"),
    ]  # fmt: skip
    statements = resources_of(
        _bundle(document, MERGE_NOTE, medications=facts), "MedicationStatement"
    )
    assert len(statements) == 3
    furosemide = statements[0]
    assert _offsets(furosemide) == [MERGE_NOTE.index("Lasix"), MERGE_NOTE.index("Continue")]
    assert furosemide["dosage"][0]["text"] == "40 mg oral daily", "the fullest sig of the two"


GIVEN_NOTE = """Medications: albuterol HFA 90 mcg 2 puffs every 4 hours as needed - Active.
Medications administered: albuterol HFA 90 mcg 2 puffs given in clinic.
Completed a 5-day course of prednisone. Prednisone 40 mg given in clinic today."""


def test_a_dose_given_in_the_visit_does_not_end_a_listed_drug(document: SourceDocument) -> None:
    """Regression: a listed inhaler also given once during the visit took the status of its
    last mention, the dose given, and was `completed` (no longer taken). A dose given says
    nothing of the course; a course said to be over still ends it."""
    facts = [
        MedicationFact(quote="albuterol HFA 90 mcg 2 puffs every 4 hours as needed - Active",
                       text="albuterol HFA", dose_value=2, dose_unit="{puff}"),
        MedicationFact(quote="albuterol HFA 90 mcg 2 puffs given in clinic", text="albuterol HFA",
                       dose_value=2, dose_unit="{puff}", status=MedicationStatus.COMPLETED,
                       administered=True),
        MedicationFact(quote="Completed a 5-day course of prednisone", text="prednisone",
                       status=MedicationStatus.COMPLETED),
        MedicationFact(quote="Prednisone 40 mg given in clinic today", text="prednisone",
                       status=MedicationStatus.COMPLETED, administered=True),
    ]  # fmt: skip
    albuterol, prednisone = resources_of(
        _bundle(document, GIVEN_NOTE, medications=facts), "MedicationStatement"
    )
    assert albuterol["status"] == "active"
    assert FLAG_CONTRADICTION not in _flags(albuterol), "a dose given contradicts no list"
    assert len(_offsets(albuterol)) == 2, "the dose given stays evidence of the one resource"
    assert prednisone["status"] == "completed"


NAMED_NOTE = """| Zolpidem 5 mg tab | 1 tab at bedtime | STOP |
Falls from zolpidem and orthostasis. Restarted sertraline. She takes sertraline."""


def test_a_drug_only_named_after_a_stop_does_not_restart_it(document: SourceDocument) -> None:
    """Regression: 'falls from zolpidem' in the assessment, after the table's STOP, was the last
    mention and made the zolpidem active again; a mention that only names the drug decides the
    status only when no other mention says one."""
    facts = [
        MedicationFact(quote="| Zolpidem 5 mg tab | 1 tab at bedtime | STOP |", text="Zolpidem",
                       dose_value=5, dose_unit="mg", status=MedicationStatus.STOPPED),
        MedicationFact(quote="Falls from zolpidem and orthostasis", text="zolpidem",
                       only_named=True),
        MedicationFact(quote="She takes sertraline", text="sertraline", only_named=True),
    ]  # fmt: skip
    zolpidem, sertraline = resources_of(
        _bundle(document, NAMED_NOTE, medications=facts), "MedicationStatement"
    )
    assert zolpidem["status"] == "stopped"
    assert FLAG_CONTRADICTION not in _flags(zolpidem)
    assert sertraline["status"] == "active", "named only, and nothing else: as named"


@pytest.mark.parametrize("named_too", [False, True], ids=["alone", "and-named"])
def test_a_dose_given_alone_is_completed(document: SourceDocument, named_too: bool) -> None:
    """A dose given and a mention that only names the drug: the dose given says more."""
    facts = [
        MedicationFact(quote="Prednisone 40 mg given in clinic today", text="prednisone",
                       status=MedicationStatus.COMPLETED, administered=True),
        MedicationFact(quote="course of prednisone", text="prednisone", only_named=True),
    ][: 2 if named_too else 1]  # fmt: skip
    [statement] = resources_of(
        _bundle(document, GIVEN_NOTE, medications=facts), "MedicationStatement"
    )
    assert statement["status"] == "completed"


def test_the_same_result_twice_is_one_observation_keeping_unit_and_range(
    document: SourceDocument,
) -> None:
    facts = [
        ObservationFact(quote="Potassium 3.1 mmol/L (3.5-5.0) L", name="Potassium", value=3.1,
                        unit="mmol/L", reference_text="3.5-5.0", interpretation="L"),
        ObservationFact(quote="Repeat potassium 3.1 mmol/L", name="potassium", value=3.1,
                        unit="mmol/L"),
    ]  # fmt: skip
    [potassium] = resources_of(_bundle(document, MERGE_NOTE, observations=facts), "Observation")
    assert len(_offsets(potassium)) == 2
    assert potassium["valueQuantity"] == {
        "value": 3.1,
        "unit": "mmol/L",
        "system": UCUM,
        "code": "mmol/L",
    }
    low, high = potassium["referenceRange"][0]["low"], potassium["referenceRange"][0]["high"]
    assert (low["value"], low["unit"], high["value"], high["unit"]) == (3.5, "mmol/L", 5, "mmol/L")


@pytest.mark.parametrize(
    ("value_text", "reference_text", "quantity", "bounds"),
    [
        ("6.7", "4.0-11.0", {"value": 6.7}, (4.0, 11.0)),
        ("< 1", "<5", {"value": 1, "comparator": "<"}, (None, 5)),
        ("245", "<200", {"value": 245}, (None, 200)),
        ("65", ">= 60", {"value": 65}, (60, None)),
    ],
    ids=["number-as-text", "comparator", "upper-limit", "lower-limit"],
)
def test_a_result_written_as_text_keeps_its_unit_and_written_range(
    document: SourceDocument,
    value_text: str,
    reference_text: str,
    quantity: dict[str, Any],
    bounds: tuple[float | None, float | None],
) -> None:
    """Regression: a value given only as text lost its unit (valueString), a written range its
    bounds."""
    note = f"Leukocytes {value_text} 10*9/L ({reference_text})"
    fact = ObservationFact(quote=note, name="Leukocytes", value_text=value_text, unit="10*9/L",
                           reference_text=reference_text)  # fmt: skip
    [result] = resources_of(_bundle(document, note, observations=[fact]), "Observation")
    assert "valueString" not in result
    assert result["valueQuantity"] == {**quantity, "unit": "10*9/L", "system": UCUM,
                                       "code": "10*9/L"}  # fmt: skip
    [written] = result["referenceRange"]
    assert (written.get("low", {}).get("value"), written.get("high", {}).get("value")) == bounds
    assert written["text"] == reference_text


@pytest.mark.parametrize(("unit", "shape"), [("/[HPF]", "valueRange"), (None, "valueString")])
def test_a_count_reported_as_a_range(
    document: SourceDocument, unit: str | None, shape: str
) -> None:
    """'UA RBC  25-50  /HPF': a Range of that unit (before: the value 25 with a unit '-50'); a
    range without a unit stays text."""
    note = "UA RBC 25-50 /HPF (0-2) H"
    fact = ObservationFact(quote=note, name="UA RBC", value_text="25-50", unit=unit,
                           reference_text="0-2", interpretation="H")  # fmt: skip
    [result] = resources_of(_bundle(document, note, observations=[fact]), "Observation")
    assert shape in result and "valueQuantity" not in result
    if unit:
        low, high = result["valueRange"]["low"], result["valueRange"]["high"]
        assert (low["value"], high["value"], high["code"]) == (25, 50, "/[HPF]")
        assert observation_value(result) == "25.0-50.0 /[HPF]"
    else:
        assert result["valueString"] == "25-50"


def test_an_undated_procedure_is_not_dated_by_the_encounter(document: SourceDocument) -> None:
    """Regression: a procedure the text does not date took the encounter's start, so a summary
    of care's 'Tonsillectomy' was done on the day of the visit."""
    note = "Seen in clinic 2024-04-02. PROCEDURES: Tonsillectomy."
    bundle = _bundle(
        document,
        note,
        encounters=[EncounterFact(quote="Seen in clinic 2024-04-02", encounter_class="clinic",
                                  start_date="2024-04-02")],
        procedures=[ProcedureFact(quote="Tonsillectomy", text="Tonsillectomy")],
    )  # fmt: skip
    [procedure] = resources_of(bundle, "Procedure")
    assert procedure["status"] == "completed"
    assert "performedDateTime" not in procedure


def test_an_undated_mention_joins_the_dated_procedure(document: SourceDocument) -> None:
    """'s/p CABG' in the history and 'CABG x3 2015' in the surgical history are one CABG, done
    in 2015 (a year is a FHIR partial date)."""
    note = "HPI: s/p CABG. PSH: CABG x3 2015."
    facts = [
        ProcedureFact(quote="s/p CABG", text="CABG"),
        ProcedureFact(quote="CABG x3 2015", text="CABG", performed_date="2015"),
    ]
    [procedure] = resources_of(_bundle(document, note, procedures=facts), "Procedure")
    assert procedure["performedDateTime"] == "2015"
    assert len(_offsets(procedure)) == 2


def test_one_procedure_mentioned_twice_is_one_procedure(document: SourceDocument) -> None:
    facts = [
        ProcedureFact(quote="Underwent colonoscopy on 2024-05-02", text="colonoscopy",
                      performed_date="2024-05-02"),
        ProcedureFact(quote="Underwent colonoscopy on 2024-05-02", text="Colonoscopy",
                      performed_date="2024-05-02"),
    ]  # fmt: skip
    [procedure] = resources_of(_bundle(document, MERGE_NOTE, procedures=facts), "Procedure")
    assert procedure["performedDateTime"] == "2024-05-02"


SIDED_NOTE = """Discharge diagnoses: status post hemiarthroplasty of the hip.
Procedure performed: Hemiarthroplasty, right hip.
He had right hip hemiarthroplasty. Left knee arthroscopy and right knee arthroscopy in 2019.
A knee arthroscopy is planned."""


def test_a_procedure_named_in_other_words_or_without_its_side_is_one_procedure(
    document: SourceDocument,
) -> None:
    """Word order and filler words do not make another procedure; a mention without a side joins
    the one sided procedure of its words, and not one of two sides."""
    facts = [
        ProcedureFact(quote="hemiarthroplasty of the hip", text="hemiarthroplasty of the hip"),
        ProcedureFact(quote="Hemiarthroplasty, right hip", text="Hemiarthroplasty, right hip"),
        ProcedureFact(quote="right hip hemiarthroplasty", text="right hip hemiarthroplasty"),
        ProcedureFact(quote="Left knee arthroscopy", text="Left knee arthroscopy"),
        ProcedureFact(quote="right knee arthroscopy", text="right knee arthroscopy"),
        ProcedureFact(quote="knee arthroscopy", text="knee arthroscopy"),
    ]
    bundle = _bundle(document, SIDED_NOTE, procedures=facts)
    names = sorted(p["code"]["text"] for p in resources_of(bundle, "Procedure"))
    assert names == [
        "Hemiarthroplasty, right hip",
        "Left knee arthroscopy",
        "knee arthroscopy",
        "right knee arthroscopy",
    ]
    [hip] = [p for p in resources_of(bundle, "Procedure") if "hip" in p["code"]["text"]]
    assert len(_offsets(hip)) == 3


ABBREVIATED_SIDE_NOTE = """HPI: s/p right ACL reconstruction with hamstring autograft.
PROBLEM LIST: 1. S/P R ACL RECONSTRUCTION (12/05/2023) .... RECOVERING
2. S/P L ACL RECONSTRUCTION (2015)"""


def test_a_side_abbreviated_names_the_same_procedure(document: SourceDocument) -> None:
    """'R ACL RECONSTRUCTION' is the right one: the HPI's mention without a date joins it, the
    left one stays apart (before: two Procedures for the right knee's operation)."""
    facts = [
        ProcedureFact(quote="right ACL reconstruction", text="right ACL reconstruction"),
        ProcedureFact(quote="R ACL RECONSTRUCTION", text="R ACL RECONSTRUCTION",
                      performed_date="2023-12-05"),
        ProcedureFact(quote="L ACL RECONSTRUCTION", text="L ACL RECONSTRUCTION",
                      performed_date="2015"),
    ]  # fmt: skip
    bundle = _bundle(document, ABBREVIATED_SIDE_NOTE, procedures=facts)
    found = sorted((p["code"]["text"], len(_offsets(p))) for p in resources_of(bundle, "Procedure"))
    assert found == [("L ACL RECONSTRUCTION", 1), ("R ACL RECONSTRUCTION", 2)]


PLANNED_NOTE = """Procedures
| 03/01/2015 | Total knee arthroplasty | Completed |
| 04/02/2024 | Colonoscopy | Scheduled |
| 05/06/2024 | Knee arthroscopy | Refused by patient |"""


def test_a_planned_procedure_is_a_service_request_never_a_procedure(
    document: SourceDocument,
) -> None:
    """Scheduled, ordered or pending is not done: a ServiceRequest (intent plan) keeps it for the
    clinician without asserting it happened; a refused one is a `not-done` Procedure."""
    facts = [
        ProcedureFact(quote="Total knee arthroplasty", text="Total knee arthroplasty",
                      performed_date="2015-03-01", assertion=Assertion.PRESENT),
        ProcedureFact(quote="Colonoscopy", text="Colonoscopy", performed_date="2024-04-02",
                      assertion=Assertion.HYPOTHETICAL),
        ProcedureFact(quote="Knee arthroscopy", text="Knee arthroscopy",
                      performed_date="2024-05-06", assertion=Assertion.NEGATED),
    ]  # fmt: skip
    bundle = _bundle(document, PLANNED_NOTE, procedures=facts)
    procedures = {p["code"]["text"]: p["status"] for p in resources_of(bundle, "Procedure")}
    assert procedures == {"Total knee arthroplasty": "completed", "Knee arthroscopy": "not-done"}
    [planned] = resources_of(bundle, "ServiceRequest")
    assert (planned["code"]["text"], planned["status"], planned["intent"]) == (
        "Colonoscopy",
        "active",
        "plan",
    )
    assert planned["occurrenceDateTime"] == "2024-04-02"
    assert _offsets(planned) == [PLANNED_NOTE.index("Colonoscopy")]


# --- encounters ---------------------------------------------------------------------------------

STAY_NOTE = """Presented to the emergency department on 2024-03-01 and was admitted to the ICU.
Admission date: 2024-03-01. Discharge date: 2024-03-06. Seen in clinic 2024-04-02."""


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ([EncounterFact(quote="admitted to the ICU", encounter_class="ICU",
                        start_date="2024-03-01", end_date="2024-03-06")],
         [("IMP", {"start": "2024-03-01", "end": "2024-03-06"})]),
        ([EncounterFact(quote="Presented to the emergency department on 2024-03-01",
                        encounter_class="emergency", type_text="hospital stay",
                        start_date="2024-03-01")],
         [("IMP", {"start": "2024-03-01"})]),
        ([EncounterFact(quote="Admission date: 2024-03-01", encounter_class="inpatient",
                        start_date="2024-03-01"),
          EncounterFact(quote="Discharge date: 2024-03-06", encounter_class="inpatient",
                        end_date="2024-03-06")],
         [("IMP", {"start": "2024-03-01", "end": "2024-03-06"})]),
        ([EncounterFact(quote="Presented to the emergency department on 2024-03-01",
                        encounter_class="ED visit", start_date="2024-03-01")],
         [("EMER", {"start": "2024-03-01"})]),
        ([EncounterFact(quote="Seen in clinic 2024-04-02", encounter_class="clinic",
                        start_date="2024-04-02")],
         [("AMB", {"start": "2024-04-02"})]),
        ([EncounterFact(quote="Admission date: 2024-03-01", encounter_class="",
                        start_date="2024-03-01", end_date="2024-03-06")],
         [("IMP", {"start": "2024-03-01", "end": "2024-03-06"})]),
    ],
    ids=["icu", "emergency-then-admitted", "admission-and-discharge-in-two-chunks", "emergency",
         "clinic", "dated-stay"],
)  # fmt: skip
def test_encounter_class_and_period_come_from_the_document(
    document: SourceDocument, facts: list[EncounterFact], expected: list[tuple[str, dict]]
) -> None:
    encounters = resources_of(_bundle(document, STAY_NOTE, encounters=facts), "Encounter")
    assert [(e["class"]["code"], e["period"]) for e in encounters] == expected
