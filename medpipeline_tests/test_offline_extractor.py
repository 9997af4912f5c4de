"""Contract: OfflineExtractor().extract(text) -> ChunkExtraction; every quote is exact input text.

Rule-based (medspaCy) extraction, offline: lexicon conditions with ICD-10-CM codes and ConText
assertions, lexicon medications with dose/route/frequency/status, allergies (NKDA or substances
with reactions), labs and vitals with UCUM units, LOINC codes, ranges and flags, and patient
demographics. No log record ever carries document text.
"""

import json
import logging
from pathlib import Path

import pdfplumber
import pytest
from loguru import logger

from medpipeline.extraction.offline import LEXICON_DIR, OfflineExtractor, read_lexicon
from medpipeline.extraction.prompts import DocumentType
from medpipeline.extraction.schema import Assertion, ChunkExtraction, MedicationStatus


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def all_facts(result: ChunkExtraction) -> list:
    facts = [*result.conditions, *result.medications, *result.allergies, *result.observations]
    return facts + ([result.patient] if result.patient else [])


def assert_quotes_are_exact(result: ChunkExtraction, text: str) -> None:
    for fact in all_facts(result):
        assert fact.quote, fact
        assert fact.quote in text, fact
        assert len(fact.quote) <= 250, fact


def condition(result: ChunkExtraction, text: str):
    matches = [c for c in result.conditions if c.text.lower() == text.lower()]
    assert matches, f"{text!r} not in {[c.text for c in result.conditions]}"
    return matches[0]


def medication(result: ChunkExtraction, generic_name: str):
    matches = [m for m in result.medications if m.generic_name == generic_name]
    assert matches, f"{generic_name!r} not in {[m.generic_name for m in result.medications]}"
    return matches[0]


def observation(result: ChunkExtraction, name: str):
    matches = [o for o in result.observations if o.name.lower() == name.lower()]
    assert matches, f"{name!r} not in {[o.name for o in result.observations]}"
    return matches[0]


# --- conditions ---------------------------------------------------------------------------------


def test_negated_condition(extractor):
    result = extractor.extract("Denies chest pain. Reports shortness of breath.")
    assert condition(result, "chest pain").assertion == Assertion.NEGATED
    assert condition(result, "shortness of breath").assertion == Assertion.PRESENT


@pytest.mark.parametrize(
    ("text", "mention"),
    [
        ("Chest x-ray was negative for pneumonia.", "pneumonia"),
        ("Urinalysis is negative for urinary tract infection.", "urinary tract infection"),
        ("Both CT scans were negative for appendicitis.", "appendicitis"),
    ],
)
def test_a_test_negative_for_a_condition_negates_it(extractor, text, mention):
    """medspaCy's 'was negative' (about what precedes it) hid its 'negative for'."""
    assert condition(extractor.extract(text), mention).assertion == Assertion.NEGATED


@pytest.mark.parametrize(
    ("text", "negated", "present"),
    [
        (
            "Review of Systems:\nConstitutional: No fevers, chills, or weight loss.\n"
            "Cardiovascular: No chest pain or palpitations.\nRespiratory: Positive for cough.\n",
            ["fevers", "chills", "weight loss", "chest pain", "palpitations"],
            ["cough"],
        ),
        ("Fever: no\nCough: yes\nChest pain: no.\n", ["Fever", "Chest pain"], ["Cough"]),
        ("Nausea: No, vomiting: yes", ["Nausea"], ["vomiting"]),
        (
            "Fever - denies. Headache: negative. Vomiting - no. Shortness of breath: yes.\n"
            "Cardiovascular: denies chest pain, palpitations.\n",
            ["Fever", "Headache", "Vomiting", "chest pain", "palpitations"],
            ["Shortness of breath"],
        ),
        (
            "Respiratory: + cough, - wheezing. (-) fever, (+) dyspnea. GI: nausea absent. Edema"
            " not present.\nProblem list:\n- Hypertension\n- Asthma\nDiabetes - no complications.",
            ["wheezing", "fever", "nausea", "Edema"],
            ["cough", "dyspnea", "Hypertension", "Asthma", "Diabetes"],
        ),
    ],
    ids=["review-of-systems", "answers", "answer-then-comma", "answer-words", "minus-signs"],
)
def test_a_labelled_no_negates_what_it_answers(extractor, text, negated, present):
    """'Constitutional: No fevers' negates the fevers; before, medspaCy's ': no' (which negates
    what precedes it, as in 'Fever: no') took the 'No' and negated nothing."""
    result = extractor.extract(text)
    assert [condition(result, mention).assertion for mention in negated] == [
        Assertion.NEGATED
    ] * len(negated)
    assert [condition(result, mention).assertion for mention in present] == [
        Assertion.PRESENT
    ] * len(present)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Impression: 1. Community-acquired pneumonia. 2. Sepsis ruled out.",
            {"Community-acquired pneumonia": Assertion.PRESENT, "Sepsis": Assertion.NEGATED},
        ),
        (
            "Pneumonia; sepsis ruled out. He was ruled out for myocardial infarction.",
            {
                "Pneumonia": Assertion.PRESENT,
                "sepsis": Assertion.NEGATED,
                "myocardial infarction": Assertion.NEGATED,
            },
        ),
        ("Rule out pneumonia.", {"pneumonia": Assertion.POSSIBLE}),
        ("He was told he may have sleep apnea.", {"sleep apnea": Assertion.POSSIBLE}),
    ],
)
def test_ruled_out_and_may_have(extractor, text, expected):
    """What was ruled out is absent whichever side it is written on (medspaCy's 'ruled out'
    looks forward only; its 'was ruled out' backward only); what the patient may have is
    possible."""
    result = extractor.extract(text)
    assert {c.text: c.assertion for c in result.conditions} == expected


def test_a_lab_reports_interpretation_chart_names_no_condition_of_the_patient(extractor):
    text = (
        "Clinical information: type 2 diabetes mellitus\n"
        "TEST RESULT FLAG UNITS REFERENCE INTERVAL\n"
        "Hemoglobin A1c 8.1 H % 4.8-5.6\n"
        "Note: results above 6.4 % may be associated with diabetes; see the chart:\n"
        "Pattern Suggested disease association\n"
        "Nucleolar Scleroderma\n"
        "Nuclear Dot Primary biliary cirrhosis\n"
    )
    as_lab_report = extractor.extract(text, DocumentType.LAB_REPORT)
    assert [fact.text.lower() for fact in as_lab_report.conditions] == ["type 2 diabetes mellitus"]
    assert len(as_lab_report.observations) == 1
    as_unknown_type = extractor.extract(text)  # any other document: every mention is read
    assert len(as_unknown_type.conditions) > 1


@pytest.mark.parametrize(
    "text",
    [
        "Family history: mother with type 2 diabetes mellitus.",
        "FAMILY HISTORY:\nType 2 diabetes mellitus in her father.",
        "Her mother has type 2 diabetes mellitus.",
        "Family History:\nType 2 diabetes mellitus.\nSocial History: lives alone.",
        "FH: positive for type 2 diabetes mellitus in father.",
        "Family hx: type 2 diabetes mellitus.",
        "Hypertension in the patient, type 2 diabetes mellitus in his maternal grandmother.",
    ],
)
def test_family_history(extractor, text):
    result = extractor.extract(text)
    assert condition(result, "type 2 diabetes mellitus").assertion == Assertion.FAMILY


def test_possible_and_historical(extractor):
    result = extractor.extract(
        "Possible pneumonia on chest x-ray.\nHistory of atrial fibrillation."
    )
    assert condition(result, "pneumonia").assertion == Assertion.POSSIBLE
    assert condition(result, "atrial fibrillation").assertion == Assertion.HISTORICAL


@pytest.mark.parametrize(
    ("text", "in_remission"),
    [
        (
            "History of breast cancer, currently in remission. Hypertension.",
            {"breast cancer": True, "Hypertension": False},
        ),
        (
            "Major depressive disorder, in full remission; generalized anxiety disorder.",
            {"Major depressive disorder": True, "generalized anxiety disorder": False},
        ),
        (
            "Hypertension. Hodgkin lymphoma in remission.",
            {"Hypertension": False, "Hodgkin lymphoma": True},
        ),
        (
            "Remote history of breast cancer, s/p lumpectomy 2008, no recurrence. Asthma.",
            {"breast cancer": True, "Asthma": False},
        ),
        (
            "Diabetes, hypertension, breast cancer in remission.",
            {"Diabetes": False, "hypertension": False, "breast cancer": True},
        ),
        ("Prostate cancer, s/p prostatectomy 2012, in remission.", {"Prostate cancer": True}),
        ("Remote history of alcohol abuse, sober since 2005.", {"alcohol abuse": True}),
        ("Hx of breast cancer, NED. Asthma.", {"breast cancer": True, "Asthma": False}),
        ("Colon cancer 2015, no evidence of disease.", {"Colon cancer": True}),
    ],
)
def test_a_condition_in_remission(extractor, text, in_remission):
    """'in remission' is said of the condition before it, not of the next one, nor of the
    conditions listed before it (the diabetes and hypertension were in remission)."""
    result = extractor.extract(text)
    assert {name: condition(result, name).in_remission for name in in_remission} == in_remission


@pytest.mark.parametrize(
    ("text", "mention", "assertion", "resolved"),
    [
        ("AKI improved to baseline with fluids.", "AKI", Assertion.HISTORICAL, True),
        ("Creatinine back to baseline; AKI resolved.", "AKI", Assertion.HISTORICAL, True),
        ("Status post MI 2019.", "MI", Assertion.HISTORICAL, False),
        ("S/p DVT in 2015, off anticoagulation.", "DVT", Assertion.HISTORICAL, False),
    ],
)
def test_a_condition_back_to_baseline_or_status_post_is_over(
    extractor, text, mention, assertion, resolved
):
    """'AKI improved to baseline' was an active AKI; 'Status post MI 2019' an active MI."""
    found = condition(extractor.extract(text), mention)
    assert (found.assertion, found.resolved) == (assertion, resolved)


def test_hypothetical_condition_but_prn_drug_is_real(extractor):
    text = "Acetaminophen 650 mg PO as needed for fever.\nReturn to the ED for chest pain."
    result = extractor.extract(text)
    assert condition(result, "chest pain").assertion == Assertion.HYPOTHETICAL
    assert condition(result, "fever").assertion == Assertion.HYPOTHETICAL
    assert medication(result, "acetaminophen").assertion == Assertion.PRESENT


@pytest.mark.parametrize(
    ("text", "mention", "code"),
    [
        ("Assessment: UTI, started antibiotics.", "UTI", "N39.0"),
        ("Admitted with acute CVA.", "CVA", "I63.9"),
        ("Diagnoses: Hypercholesterolemia.", "Hypercholesterolemia", "E78.00"),
        ("Known CHF, stable.", "CHF", "I50.9"),
        ("Problem list: Alzheimer's disease", "Alzheimer's disease", "G30.9"),
        ("A urinary tract\ninfection was treated.", "urinary tract infection", "N39.0"),
        ("AKI on chronic kidney disease stage 3a.", "chronic kidney disease stage 3a", "N18.31"),
        ("History of sleep apnea.", "sleep apnea", "G47.30"),  # unspecified, not obstructive
        ("PMH: SLE, on hydroxychloroquine.", "SLE", "M32.9"),
        ("Discoid lupus of the scalp.", "Discoid lupus", "L93.0"),  # not systemic
        ("Drug-induced lupus from hydralazine.", "Drug-induced lupus", "M32.0"),
        ("PMH: Type 2 DM, diet-controlled.", "Type 2 DM", "E11.9"),
        ("Oncology: NSCLC on pembrolizumab.", "NSCLC", "C34.90"),
        ("Hx of non-Hodgkin lymphoma.", "non-Hodgkin lymphoma", "C85.90"),
        ("Admitted with NSTEMI.", "NSTEMI", "I21.4"),
        ("Multiple myeloma on lenalidomide.", "Multiple myeloma", "C90.00"),
        ("45F with HIV on Biktarvy.", "HIV", "B20"),
        ("# AKI on CKD3a - prerenal.", "CKD3a", "N18.31"),
        ("28F with bipolar I disorder and GAD.", "bipolar I disorder", "F31.9"),
        ("Recurrent AOM (3 episodes this year).", "AOM", "H66.90"),
        ("H/o latent TB s/p INH.", "latent TB", "Z22.7"),
        ("Alzheimer dementia, severe.", "Alzheimer dementia", "G30.9"),  # not F03.90
        ("Diabetic retinopathy, mild NPDR.", "Diabetic retinopathy", None),  # coded by type
    ],
)
def test_condition_codes_from_lexicon(extractor, text, mention, code):
    result = extractor.extract(text)
    assert condition(result, mention).icd10_code == code


@pytest.mark.parametrize(
    ("text", "mention", "code"),
    [
        ("Chest CT showed a small left pneumothorax.", "pneumothorax", "J93.9"),
        ("History of cholecystitis.", "cholecystitis", "K81.9"),
        ("She reports 2-pillow orthopnea.", "orthopnea", "R06.01"),
        ("New expressive aphasia.", "aphasia", "R47.01"),
    ],
)
def test_a_one_word_disease_of_the_icd10_index(extractor, text, mention, code):
    """One-word ICD-10-CM terms with a disease's suffix are read in sentences (before, only
    the curated one-word names were)."""
    assert condition(extractor.extract(text), mention).icd10_code == code


@pytest.mark.parametrize(
    ("text", "mention", "code"),
    [
        ("28 weeks gestation. Gestational diabetes, diet controlled.", "gestational diabetes",
         "O24.419"),
        ("PMH: Thyroid cancer s/p thyroidectomy 2015.", "thyroid cancer", "C73"),
        ("3 month old with bronchiolitis.", "bronchiolitis", "J21.9"),
    ],
)  # fmt: skip
def test_a_curated_name_the_index_words_differently(extractor, text, mention, code):
    """'Gestational diabetes' was read as 'diabetes' (E11-E14 in a pregnancy); the ICD-10-CM
    index names these only in longer words ('gestational diabetes mellitus in pregnancy')."""
    assert condition(extractor.extract(text), mention).icd10_code == code


def test_narrative_conditions_from_the_icd10_index(extractor):
    """ICD-10-CM terms the curated list lacks are read in prose, with their codes; a finding of
    imaging ('low density mass') is none."""
    text = "He reports night sweats. Colonoscopy found internal hemorrhoids. A low density mass."
    result = extractor.extract(text)
    assert [(c.text, c.icd10_code) for c in result.conditions] == [
        ("night sweats", "R61"),
        ("internal hemorrhoids", "K64.8"),
    ]


@pytest.mark.parametrize(
    ("text", "mention", "code"),
    [
        ("PMHx: Back pain and muscle spasms.", "muscle spasms", "M62.83"),
        ("History of recurrent urinary tract infections.", "urinary tract infections", "N39.0"),
        ("She has panic attacks at night.", "panic attacks", "F41.0"),
        ("Stage 2 pressure ulcers on both heels.", "pressure ulcers", "L89.90"),
    ],
)
def test_a_condition_written_in_the_plural(extractor, text, mention, code):
    assert condition(extractor.extract(text), mention).icd10_code == code


@pytest.mark.parametrize(
    ("text", "mention", "code"),
    [
        ("Worsening chronic kidney\ndisease stage 3.", "chronic kidney disease stage 3", "N18"),
        ("Night\nsweats for a month.", "Night sweats", "R61"),
        ("Recurrent urinary tract\ninfections.", "urinary tract infections", "N39.0"),
    ],
)
def test_a_term_wrapped_at_a_line_end_is_one_mention(extractor, text, mention, code):
    """A PDF's line breaks fall inside terms: the mention spans the break."""
    found = condition(extractor.extract(text), mention)
    assert found.icd10_code.startswith(code)


@pytest.mark.parametrize(
    ("text", "drugs"),
    [
        ("Started INH for latent TB.", ["INH"]),
        ("Albuterol 90 mcg/inh 2 puffs.", ["Albuterol"]),
        ("Insulin\nglargine 10 units at bedtime.", ["Insulin glargine"]),
    ],
)
def test_drug_names_as_written(extractor, text, drugs):
    """A short capitalised abbreviation is a drug only as written ('INH' is isoniazid, 'mcg/inh'
    per inhalation); a name wrapped at a line end is still one drug."""
    assert [m.text for m in extractor.extract(text).medications] == drugs


def test_longest_match_wins(extractor):
    result = extractor.extract("Chronic kidney disease stage 3 and type 2 diabetes mellitus.")
    assert [c.text for c in result.conditions] == [
        "Chronic kidney disease stage 3",
        "type 2 diabetes mellitus",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Monitor for signs of hypoglycemia.", {"hypoglycemia": Assertion.HYPOTHETICAL}),
        ("Watch for fever or increasing redness.", {"fever": Assertion.HYPOTHETICAL}),
        ("Prophylaxis for DVT with enoxaparin 40 mg daily.", {}),
        ("Resume home meds, DVT prophylaxis, aspirin, and compression stockings.", {}),
        ("Aspirin 81 mg daily to prevent stroke.", {}),
        ("# DVT ppx - heparin 5000 u SQ q8h.", {}),
        ("Shows signs of dehydration.", {"dehydration": Assertion.PRESENT}),
    ],
)
def test_what_to_monitor_for_or_prevent_is_no_condition_of_the_patient(extractor, text, expected):
    """'Monitor for signs of hypoglycemia' and 'prophylaxis for DVT' were active conditions."""
    result = extractor.extract(text)
    assert {c.text: c.assertion for c in result.conditions} == expected


def test_vaccines_and_screening_are_not_conditions(extractor):
    result = extractor.extract("She got her COVID-19 vaccine.\n- depression screening (procedure)")
    assert result.conditions == []


@pytest.mark.parametrize(
    "text",
    [
        "Risk factors for coronary artery disease were reviewed.",
        "Patient counseled on weight loss.",
        "Education about diabetes provided.",
        "Counseling regarding hypertension given.",
        "Warning signs of stroke were reviewed with the patient.",
        "Assessed for depression; PHQ-9 score 2.",
        "Discussed risks of DVT and bleeding with the patient.",
        "Risks include infection and bleeding.",
        "Patient worried she has diabetes like her mother.",
        "She is afraid of getting breast cancer.",
    ],
)
def test_a_topic_of_counseling_or_risk_is_not_a_condition(extractor, text):
    """The sentence names the condition as a subject, not as the patient's."""
    assert extractor.extract(text).conditions == []


@pytest.mark.parametrize(
    "text",
    ["Negative for chest pain, positive for cough.", "Denies chest pain but endorses cough."],
)
def test_what_the_review_of_systems_affirms_ends_the_negation(extractor, text):
    result = extractor.extract(text)
    assert [(c.text, c.assertion) for c in result.conditions] == [
        ("chest pain", Assertion.NEGATED),
        ("cough", Assertion.PRESENT),
    ]


def test_a_disease_named_by_its_test_is_not_a_condition(extractor):
    """'Hepatitis C antibody negative' reports a test, not hepatitis C."""
    result = extractor.extract(
        "Hepatitis C antibody negative. HIV PCR not detected. Hepatitis B surface antigen"
        " nonreactive. Lyme serology pending. Check hepatitis B sAb. CMV IgG positive."
    )
    assert [c.text for c in result.conditions if c.assertion == Assertion.PRESENT] == []


@pytest.mark.parametrize(
    ("text", "generic", "assertion"),
    [
        ("History of DVT on warfarin.", "warfarin", Assertion.PRESENT),
        ("Hx of atrial fibrillation, taking apixaban 5 mg BID.", "apixaban", Assertion.PRESENT),
        ("PAST MEDICAL HISTORY:\nHypertension on lisinopril.\n", "lisinopril", Assertion.PRESENT),
        ("History of DVT, was on warfarin for six months.", "warfarin", Assertion.HISTORICAL),
        ("History of DVT, previously on warfarin.", "warfarin", Assertion.HISTORICAL),
        ("Past history of being on prednisone.", "prednisone", Assertion.HISTORICAL),
        ("History of warfarin use.", "warfarin", Assertion.HISTORICAL),
    ],
)
def test_a_drug_a_history_says_the_patient_is_on_is_taken_now(extractor, text, generic, assertion):
    """'History of DVT on warfarin': the history is the DVT's; the patient is on warfarin now.
    Written as a past drug ('was on', 'previously on'), it stays historical."""
    assert medication(extractor.extract(text), generic).assertion == assertion


def test_a_later_mention_with_another_status_is_kept(extractor):
    """'She was recently started on naproxen ... Discontinue naproxen.': both mentions are kept
    (the bundle takes the last one's status); before, the first (active) hid the stop."""
    result = extractor.extract(
        "She was recently started on naproxen for knee pain.\nPlan: Discontinue naproxen.\n"
    )
    assert [(m.text, m.status) for m in result.medications] == [
        ("naproxen", MedicationStatus.ACTIVE),
        ("naproxen", MedicationStatus.STOPPED),
    ]


def test_a_drug_the_patient_is_off_is_stopped(extractor):
    result = extractor.extract("Patient has been off warfarin since January.")
    assert [(m.text, m.status) for m in result.medications] == [
        ("warfarin", MedicationStatus.STOPPED)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Aspirin 81 mg daily - patient not taking. Lisinopril 10 mg daily.",
            [
                ("Aspirin", Assertion.NEGATED, MedicationStatus.ACTIVE),
                ("Lisinopril", Assertion.PRESENT, MedicationStatus.ACTIVE),
            ],
        ),
        (
            "Lisinopril caused cough, switched to losartan 50 mg daily.",
            [
                ("Lisinopril", Assertion.PRESENT, MedicationStatus.STOPPED),
                ("losartan", Assertion.PRESENT, MedicationStatus.ACTIVE),
            ],
        ),
        (
            "He was switched from metoprolol to carvedilol.",
            [
                ("metoprolol", Assertion.PRESENT, MedicationStatus.STOPPED),
                ("carvedilol", Assertion.PRESENT, MedicationStatus.ACTIVE),
            ],
        ),
        (
            "Prednisone taper completed last week.",
            [("Prednisone", Assertion.PRESENT, MedicationStatus.COMPLETED)],
        ),
        (
            "Prior to admission she was taking metoprolol 50 mg twice daily, which was changed"
            " to carvedilol 6.25 mg twice daily.",
            [
                ("metoprolol", Assertion.PRESENT, MedicationStatus.STOPPED),
                ("carvedilol", Assertion.PRESENT, MedicationStatus.ACTIVE),
            ],
        ),
        (
            "Lisinopril was changed to 20 mg daily.",
            [("Lisinopril", Assertion.PRESENT, MedicationStatus.ACTIVE)],
        ),
        (
            "Lisinopril 10 mg daily, metformin held.",
            [
                ("Lisinopril", Assertion.PRESENT, MedicationStatus.ACTIVE),
                ("metformin", Assertion.PRESENT, MedicationStatus.ON_HOLD),
            ],
        ),
        (
            "She ran out of her lisinopril two weeks ago.",
            [("lisinopril", Assertion.PRESENT, MedicationStatus.STOPPED)],
        ),
        (
            "Previously tried and failed gabapentin.",
            [("gabapentin", Assertion.HISTORICAL, MedicationStatus.STOPPED)],
        ),
        (
            "Patient refuses insulin.",
            [("insulin", Assertion.NEGATED, MedicationStatus.ACTIVE)],
        ),
        (
            "His home diltiazem was held for hypotension and resumed on discharge.",
            [("diltiazem", Assertion.PRESENT, MedicationStatus.ACTIVE)],
        ),
        (
            "Started on metformin, then stopped due to GI upset.",
            [("metformin", Assertion.PRESENT, MedicationStatus.STOPPED)],
        ),
        (
            "He was treated with ceftriaxone and azithromycin with improvement.",
            [
                ("ceftriaxone", Assertion.PRESENT, MedicationStatus.COMPLETED),
                ("azithromycin", Assertion.PRESENT, MedicationStatus.COMPLETED),
            ],
        ),
        (
            "She finished a course of amoxicillin last week.",
            [("amoxicillin", Assertion.PRESENT, MedicationStatus.COMPLETED)],
        ),
        (
            "Completed 7 days of ciprofloxacin for UTI.",
            [("ciprofloxacin", Assertion.PRESENT, MedicationStatus.COMPLETED)],
        ),
        (
            "Prednisone taper was completed last month.",
            [("Prednisone", Assertion.PRESENT, MedicationStatus.COMPLETED)],
        ),
        (
            "Antibiotic course with amoxicillin not completed.",
            [("amoxicillin", Assertion.PRESENT, MedicationStatus.ACTIVE)],
        ),
        (
            "Insulin was not given due to hypoglycemia.",
            [("Insulin", Assertion.NEGATED, MedicationStatus.ACTIVE)],
        ),
        (
            "Metformin contraindicated given CKD stage 4.",
            [("Metformin", Assertion.NEGATED, MedicationStatus.ACTIVE)],
        ),
        (
            "2. Lisinopril 20 mg daily (patient reports not taking)",
            [("Lisinopril", Assertion.NEGATED, MedicationStatus.ACTIVE)],
        ),
        (
            "3. Atorvastatin 40 mg nightly - on hold",
            [("Atorvastatin", Assertion.PRESENT, MedicationStatus.ON_HOLD)],
        ),
        (
            "He has been taking ibuprofen 800 mg three times daily for knee pain, which we"
            " advised him to stop.",
            [("ibuprofen", Assertion.PRESENT, MedicationStatus.STOPPED)],
        ),
    ],
    ids=[
        "not-taking-after",
        "switched-to",
        "switched-from",
        "taper-completed",
        "changed-to-a-drug",
        "changed-to-a-dose",
        "held-after-the-next-item",
        "ran-out-of",
        "failed",
        "refuses",
        "held-then-resumed",
        "started-then-stopped",
        "treated-with-in-a-hospital-course",
        "finished-a-course",
        "completed-days-of",
        "taper-was-completed",
        "not-completed",
        "not-given",
        "contraindicated",
        "reports-not-taking",
        "on-hold-after-the-sig",
        "advised-to-stop",
    ],
)
def test_medication_reconciliation_wording(extractor, text, expected):
    """Each sentence's drugs with their assertion and status (before, a course 'completed' or
    'finished' was active, and 'Insulin was not given' an active drug)."""
    result = extractor.extract(text)
    assert [(m.text, m.assertion, m.status) for m in result.medications] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Anesthesia: intracameral lidocaine.", {"lidocaine": "completed"}),
        ("The eye was prepped with povidone-iodine.", {"povidone-iodine": "completed"}),
        ("Bupivacaine 0.25% was infiltrated at the incision site.", {"bupivacaine": "completed"}),
        ("Cefuroxime was injected intracamerally.", {"cefuroxime": "completed"}),
        ("Healon was used to fill the anterior chamber.", {"hyaluronic acid": "completed"}),
        # the dose between the drug and the verb
        (
            "Bupivacaine 0.25% 20 mL was infiltrated at the port sites.",
            {"bupivacaine": "completed"},
        ),
        ("The wound was irrigated with normal saline.", {"sodium chloride": "completed"}),
        ("The catheter was flushed with heparin 100 units/mL.", {"heparin": "completed"}),
    ],
)
def test_a_drug_given_during_a_procedure_is_an_administration(extractor, text, expected):
    """A drug an operative note says was injected, instilled, infiltrated, used, prepped,
    irrigated or flushed with is given once, not a drug the patient is on (before: active
    MedicationStatements)."""
    result = extractor.extract(text)
    assert {m.generic_name: m.status.value for m in result.medications} == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Changed to oral cefpodoxime 200 mg twice daily.",
            {"cefpodoxime": ("cefpodoxime", 200.0)},
        ),
        ("She takes Plendil 5 mg daily.", {"felodipine": ("Plendil", 5.0)}),
        ("Started dapagliflozin 10 mg daily.", {"dapagliflozin": ("dapagliflozin", 10.0)}),
        # English words or abbreviations the narrative reads from the curated list only
        ("Glucagon 1 mg IM PRN.", {"glucagon": ("Glucagon", 1.0)}),
        ("MVI daily, melatonin 3 mg qHS.", {"multivitamin": ("MVI", None),
                                            "melatonin": ("melatonin", 3.0)}),
        ("IVIG 2 g/kg.", {"immune globulin": ("IVIG", 2.0)}),
        ("Meds: PNV daily.", {"prenatal vitamin": ("PNV", None)}),
    ],
)  # fmt: skip
def test_a_sentence_names_a_drug_of_the_dictionary(extractor, text, expected):
    """The narrative matcher reads the drug dictionary's one-word names that are no English
    word, besides the curated ~300 (before, 'cefpodoxime' in a sentence was no drug)."""
    result = extractor.extract(text)
    assert {m.generic_name: (m.text, m.dose_value) for m in result.medications} == expected


@pytest.mark.parametrize(
    "text",
    [
        "Procalcitonin was 0.5 and haptoglobin was low.",
        "Admitted with DKA (glucose 612, pH 7.08, beta-hydroxybutyrate 8.2).",
    ],
)
def test_an_analyte_the_drug_dictionary_lists_is_no_drug_in_a_sentence(extractor, text):
    assert extractor.extract(text).medications == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amoxicillin 250 mg / clavulanate 125 mg oral tablet",
         ("amoxicillin / clavulanate", "amoxicillin-clavulanate", 250.0, "oral")),
        # a strength of each part is no dose of the product
        ("Sacubitril-valsartan 49-51 mg tablet twice daily",
         ("Sacubitril-valsartan", "sacubitril-valsartan", None, None)),
        ("Calcium carbonate-vitamin D3 600 mg-400 unit tablet daily",
         ("Calcium carbonate-vitamin D3", "calcium carbonate-cholecalciferol", None, None)),
        ("Amlodipine-benazepril 5-20 mg daily",
         ("Amlodipine-benazepril", "amlodipine-benazepril", None, None)),
        # a combined pill is not its progestin alone plus an 'estradiol' of the strengths
        ("norethindrone-ethinyl estradiol 1 mg-20 mcg tablet, 1 tablet by mouth daily",
         ("norethindrone-ethinyl estradiol", "norethindrone-ethinyl estradiol", None, "oral")),
    ],
)  # fmt: skip
def test_a_combination_product_is_one_drug_with_no_part_as_its_dose(extractor, text, expected):
    """Regression: 'Sacubitril-valsartan 49-51 mg' was a dose of 51 mg, 'Calcium
    carbonate-vitamin D3 600 mg-400 unit' a vitamin D3 of 600 mg."""
    found = [
        (m.text, m.generic_name, m.dose_value, m.route) for m in extractor.extract(text).medications
    ]
    assert found == [expected]


def test_a_drug_to_avoid_is_not_taken(extractor):
    result = extractor.extract("She was advised to avoid ibuprofen because of her kidneys.")
    assert [(m.text, m.assertion) for m in result.medications] == [("ibuprofen", Assertion.NEGATED)]


@pytest.mark.parametrize(
    "text",
    [
        "PROCEDURES\n1. Cataract Removal (2004/02/01)\n2. Tonsillectomy (1944)",
        "Past surgical history: inguinal hernia repair in 2010.",
        "s/p cataract extraction, left eye.",
        "Skin lesion excision, 2019; breast cancer surgery 2015.",
    ],
)
def test_what_a_procedure_removed_or_repaired_is_not_an_active_condition(extractor, text):
    """After 'Cataract Removal' the patient has no cataract: the condition named in a procedure's
    name is the procedure's target."""
    result = extractor.extract(text)
    assert [c.text for c in result.conditions if c.assertion == Assertion.PRESENT] == []


@pytest.mark.parametrize(
    ("text", "mention"),
    [
        ("REASON FOR REFERRAL\nGeriatric assessment for concerns about dementia.", "dementia"),
        ("Referred because of the high fever and suspected anemia.", "anemia"),
        ("Pneumonia suspected; chest X-ray ordered.", "Pneumonia"),
        ("Dr Lee is suspecting gout based on the history.", "gout"),
        ("Assessment: probable asthma.", "asthma"),
        ("Presumed urinary tract infection, culture pending.", "urinary tract infection"),
        ("Cellulitis cannot be excluded.", "Cellulitis"),
        ("Concern for sepsis; blood cultures drawn.", "sepsis"),
        ("Right lower lobe opacity concerning for pneumonia.", "pneumonia"),
        ("Differential includes appendicitis and ovarian torsion.", "appendicitis"),
        ("Cellulitis versus gout of the right foot.", "gout"),
        ("We discussed the possibility of multiple sclerosis.", "multiple sclerosis"),
        ("Worked up for pulmonary embolism, CTA negative.", "pulmonary embolism"),
        ("Evaluated for appendicitis; CT negative.", "appendicitis"),
    ],
)
def test_a_suspected_condition_is_possible_not_present(extractor, text, mention):
    """medspaCy's default ConText rules have 'possible' and 'rule out' but not 'suspected'."""
    assert condition(extractor.extract(text), mention).assertion == Assertion.POSSIBLE


@pytest.mark.parametrize(
    ("text", "mention"),
    [
        ("Resolved problems: pneumonia (2019).", "pneumonia"),
        ("Asthma - resolved in childhood.", "Asthma"),
        ("His cellulitis has now resolved.", "cellulitis"),
        ("Hepatitis C, treated and cured in 2018.", "Hepatitis C"),
        ("Old healed rib fractures.", "rib fractures"),
        ("She was treated for pneumonia last month and has fully recovered.", "pneumonia"),
    ],
)
def test_a_resolved_condition_is_history_not_absent(extractor, text, mention):
    """medspaCy negates 'resolved'; the patient had the condition and it is over: historical and
    resolved (a Condition with clinicalStatus resolved), never active, never dropped."""
    found = condition(extractor.extract(text), mention)
    assert (found.assertion, found.resolved) == (Assertion.HISTORICAL, True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Non-alcoholic fatty liver disease.", {"K76.0"}),  # not alcoholic fatty liver K70.0
        ("Non-Hodgkin lymphoma.", {"C85.90"}),  # not Hodgkin lymphoma
        ("Non-ST elevation myocardial infarction.", {"I21.4"}),  # not STEMI
        ("Non-insulin dependent diabetes mellitus.", {"E11.9"}),  # not type 1
    ],
)
def test_a_term_after_non_is_not_what_it_names(extractor, text, expected):
    result = extractor.extract(text)
    assert {c.icd10_code for c in result.conditions} == expected
    assert result.medications == []  # 'non-insulin dependent' names no insulin


@pytest.mark.parametrize(
    ("text", "mention", "inactive"),
    [
        ("PMH:\n1. Asthma, not currently active.\n2. Hypertension.", "Asthma", True),
        ("PMH:\n1. Asthma, not currently active.\n2. Hypertension.", "Hypertension", False),
        ("Migraine, inactive.", "Migraine", True),
        ("Gout - no longer active.", "Gout", True),
        ("Psoriasis, currently inactive.", "Psoriasis", True),
        ("She is inactive because of osteoarthritis.", "osteoarthritis", False),
    ],
)
def test_a_condition_said_inactive_is_history_not_resolved(extractor, text, mention, inactive):
    """'Inactive' is not 'resolved': the condition may come back (FHIR clinicalStatus
    'inactive'); an inactive patient is not an inactive condition."""
    found = condition(extractor.extract(text), mention)
    assert (found.inactive, found.resolved) == (inactive, False)
    if inactive:
        assert found.assertion == Assertion.HISTORICAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Diabetes, hypertension, asthma - resolved.",
            {"Diabetes": False, "hypertension": False, "asthma": True},
        ),
        ("Pneumonia and UTI, both resolved.", {"Pneumonia": True, "UTI": True}),
    ],
)
def test_a_resolution_after_a_list_of_conditions_is_about_its_last_item(extractor, text, expected):
    """'- resolved' after a list of conditions is said of the item before it (before, of the
    hypertension too), unless the list is joined by 'and'."""
    result = extractor.extract(text)
    assert {name: condition(result, name).resolved for name in expected} == expected


@pytest.mark.parametrize(
    "text",
    [
        "Pneumonia unlikely given clear chest x-ray.",
        "Low suspicion for pulmonary embolism.",
    ],
)
def test_an_unlikely_condition_is_not_asserted(extractor, text):
    assert [c.assertion for c in extractor.extract(text).conditions] == [Assertion.NEGATED]


@pytest.mark.parametrize(
    ("text", "mention"),
    [
        ("Her cough has not resolved.", "cough"),
        ("Pneumonia, not yet resolved.", "Pneumonia"),
        ("He has not fully recovered from the stroke.", "stroke"),
        ("Hepatitis C, not cured.", "Hepatitis C"),
        ("Cellulitis of the left leg hasn't resolved.", "Cellulitis"),
    ],
)
def test_a_resolution_the_text_denies_is_a_current_condition(extractor, text, mention):
    """'has not resolved' is no resolution, and 'not fully recovered from the stroke' does not
    deny the stroke: before, the cough was resolved history and the stroke absent."""
    found = condition(extractor.extract(text), mention)
    assert (found.assertion, found.resolved) == (Assertion.PRESENT, False)


def test_resolved_ends_at_but(extractor):
    result = extractor.extract("His cough resolved but the fever persists.")
    assert [(c.text, c.assertion, c.resolved) for c in result.conditions] == [
        ("cough", Assertion.HISTORICAL, True),
        ("fever", Assertion.PRESENT, False),
    ]


def test_conditions_deduplicated_by_text_and_assertion(extractor):
    result = extractor.extract("Hypertension.\nHypertension, stable.\nNo hypertension in sister.")
    keys = [(c.text.lower(), c.assertion) for c in result.conditions]
    assert keys.count(("hypertension", Assertion.PRESENT)) == 1


# --- medications --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "generic", "dose", "unit", "route", "frequency"),
    [
        ("Metoprolol 25 mg PO BID", "metoprolol", 25.0, "mg", "oral", "BID"),
        ("aspirin 81 mg by mouth daily", "aspirin", 81.0, "mg", "oral", "daily"),
        ("Zocor 20 mg p.o. at bedtime.", "simvastatin", 20.0, "mg", "oral", "at bedtime"),
        ("Cipro 250 mg p.o. b.i.d. for 7 days", "ciprofloxacin", 250.0, "mg", "oral", "b.i.d."),
        (
            "levothyroxine 50 mcg orally once daily",
            "levothyroxine",
            50.0,
            "ug",
            "oral",
            "once daily",
        ),
        ("Lantus 20 units SC qhs", "insulin glargine", 20.0, "[iU]", "subcutaneous", "qhs"),
        ("heparin 5,000 units subq q8h", "heparin", 5000.0, "[iU]", "subcutaneous", "q8h"),
        ("enoxaparin 40 mg every 12 hours", "enoxaparin", 40.0, "mg", None, "every 12 hours"),
        ("vancomycin 1 g IV q12h", "vancomycin", 1.0, "g", "intravenous", "q12h"),
        ("albuterol 2 puffs inhaled as needed", "albuterol", 2.0, "{puff}", "inhaled", "as needed"),
        ("Tylenol 650 mg PO q6h PRN pain", "acetaminophen", 650.0, "mg", "oral", "q6h PRN"),
        ("lactulose 30 mL PO TID", "lactulose", 30.0, "mL", "oral", "TID"),
        ("Augmentin 875 mg BID", "amoxicillin-clavulanate", 875.0, "mg", None, "BID"),
        ("Lasix 40 mg IV once", "furosemide", 40.0, "mg", "intravenous", None),
        (
            "hydrocortisone topical twice a day",
            "hydrocortisone",
            None,
            None,
            "topical",
            "twice a day",
        ),
        ("81 mg aspirin daily", "aspirin", 81.0, "mg", None, "daily"),
        # a concentration is no dose ('insulin lispro 100 unit/mL')
        ("budesonide 0.25 mg/ml inhalation", "budesonide", None, None, "inhaled", None),
        (
            "Her furosemide was reduced from 40 mg BID to 20 mg daily.",
            "furosemide",
            20.0,
            "mg",
            None,
            "daily",
        ),
        ("Lisinopril increased from 10 mg to 20 mg daily", "lisinopril", 20.0, "mg", None, "daily"),
        ("Amoxicillin 90 mg/kg/day divided BID", "amoxicillin", 90.0, "mg/kg/d", None, "BID"),
        ("Prednisone 40 mg per day for 5 days", "prednisone", 40.0, "mg/d", None, None),
        ("Tylenol 500 mg prn. Flovent 110 mcg BID.", "acetaminophen", 500.0, "mg", None, "prn"),
        ("Continue glargine 20 u qHS + SSI.", "insulin glargine", 20.0, "[iU]", None, "qHS"),
    ],
)
def test_dose_route_frequency(extractor, text, generic, dose, unit, route, frequency):
    med = medication(extractor.extract(text), generic)
    assert (med.dose_value, med.dose_unit, med.route, med.frequency) == (
        dose,
        unit,
        route,
        frequency,
    )
    assert med.status == MedicationStatus.ACTIVE
    assert med.assertion == Assertion.PRESENT


def test_brand_name_keeps_text_and_fills_generic(extractor):
    med = medication(extractor.extract("Continue ZOCOR 40 mg daily."), "simvastatin")
    assert med.text == "ZOCOR"


@pytest.mark.parametrize(
    "text",
    [
        "Aspirin was discontinued.",
        "Stop aspirin before surgery.",
        "Aspirin d/c'd for GI bleed.",
        "Aspirin was d/c'ed.",
        "D/c aspirin.",
    ],
)
def test_stopped_medication(extractor, text):
    assert medication(extractor.extract(text), "aspirin").status == MedicationStatus.STOPPED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No side effects from atorvastatin, no chest pain.", {"atorvastatin": Assertion.PRESENT}),
        ("No problems with lisinopril. No aspirin.",
         {"lisinopril": Assertion.PRESENT, "aspirin": Assertion.NEGATED}),
        ("Medications:\nhydroCHLOROthiazide 12.5 mg capsule - 1 capsule daily - NOT TAKING\n"
         "amLODIPine 5 mg tablet - take 1 tablet by mouth once daily\n",
         {"hydrochlorothiazide": Assertion.NEGATED, "amlodipine": Assertion.PRESENT}),
    ],
)  # fmt: skip
def test_what_a_drug_does_not_cause_is_no_negation_and_a_trailing_status_is_the_lines(
    extractor, text, expected
):
    """'No side effects from atorvastatin' dropped the atorvastatin she takes; '... - NOT
    TAKING' at a list line's end was a sentence of its own and reached no drug."""
    result = extractor.extract(text)
    assert {m.generic_name: m.assertion for m in result.medications} == expected


@pytest.mark.parametrize(
    ("text", "conditions", "medications"),
    [
        ("Discussed risks\nof DVT with her.", {}, {}),
        ("She has no\nhistory of stroke.", {"stroke": Assertion.NEGATED}, {}),
        ("Skin: no\nrash.", {"rash": Assertion.NEGATED}, {}),
        ("Skin: warm, dry, no\nrash.", {"rash": Assertion.NEGATED}, {}),
        ("Fever: no\nRash: yes", {"Fever": Assertion.NEGATED, "Rash": Assertion.PRESENT}, {}),
        ("Nicotine patch offered,\ndeclined.", {}, {"nicotine": (Assertion.NEGATED, "active")}),
        (
            "She is considering\nstopping sertraline.",
            {},
            {"sertraline": (Assertion.PRESENT, "active")},
        ),
        (
            "Her furosemide was reduced from 40 mg BID to\n20 mg daily.",
            {},
            {"furosemide": (Assertion.PRESENT, "active")},
        ),
    ],
)
def test_a_cue_the_page_wrapped_onto_the_next_line_is_still_read(
    extractor, text, conditions, medications
):
    """A PDF's text layer breaks long lines wherever they reach the margin: 'risks\nof DVT'
    made an active DVT, 'considering\nstopping sertraline' a stopped sertraline and 'Skin:
    no\nrash.' an active rash (the 'no' was read as the answer about the skin)."""
    result = extractor.extract(text)
    assert {c.text: c.assertion for c in result.conditions} == conditions
    assert {m.generic_name: (m.assertion, m.status.value) for m in result.medications} == (
        medications
    )
    if "furosemide" in text:
        assert result.medications[0].dose_value == 20.0


@pytest.mark.parametrize(
    "text",
    ["Aspirin offered, declined.", "Aspirin recommended but refused.", "Patient declined aspirin."],
)
def test_a_drug_offered_and_declined_is_not_taken(extractor, text):
    assert medication(extractor.extract(text), "aspirin").assertion == Assertion.NEGATED


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Aspirin held for bleeding.", MedicationStatus.ON_HOLD),
        ("Home aspirin stays on hold.", MedicationStatus.ON_HOLD),
        ("Hold aspirin until the hemoglobin is stable.", MedicationStatus.ON_HOLD),
        ("Aspirin was held for bleeding, then discontinued.", MedicationStatus.STOPPED),
        ("Aspirin was held for bleeding and resumed on day 3.", MedicationStatus.ACTIVE),
    ],
)
def test_a_held_medication_is_on_hold_not_stopped(extractor, text, status):
    """A drug held is paused (FHIR on-hold): a clinician reads 'stopped' as for good. The
    later of a hold, a stop and a restart says what the drug is now."""
    assert medication(extractor.extract(text), "aspirin").status == status


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("If INR is above 3, hold warfarin.", {"warfarin": "active"}),
        ("If creatinine rises, will hold lisinopril.", {"lisinopril": "active"}),
        ("Stop metformin if eGFR falls below 30.", {"metformin": "active"}),
        (
            "Hold lisinopril and metformin if creatinine rises.",
            {"lisinopril": "active", "metformin": "active"},
        ),
        (
            "Metformin was held for AKI, and will be restarted if renal function recovers.",
            {"metformin": "on-hold"},
        ),
        ("If needed, stop aspirin.", {"aspirin": "stopped"}),
        (
            "Aspirin was stopped. If pain recurs, take ibuprofen.",
            {"aspirin": "stopped", "ibuprofen": "active"},
        ),
        ("She is considering stopping sertraline.", {"sertraline": "active"}),
        ("May need to hold lisinopril.", {"lisinopril": "active"}),
        ("Hyperkalemia - resolved after stopping lisinopril.", {"lisinopril": "stopped"}),
        ("We are holding metformin for the contrast study.", {"metformin": "on-hold"}),
        (
            "Her home lisinopril was held due to AKI and can be resumed at follow-up.",
            {"lisinopril": "on-hold"},
        ),
    ],
    ids=[
        "if-then-hold",
        "if-then-will-hold",
        "stop-if",
        "hold-list-if",
        "held-then-restart-if",
        "if-needed-is-no-condition",
        "condition-in-the-next-sentence",
        "considering-stopping",
        "may-need-to-hold",
        "after-stopping",
        "holding",
        "held-can-be-resumed",
    ],
)
def test_a_change_made_on_a_condition_has_not_happened(extractor, text, expected):
    """'If INR is above 3, hold warfarin' says what to do, not that warfarin is held: a
    clinician reading 'on hold' would not give it."""
    result = extractor.extract(text)
    assert {m.generic_name: m.status.value for m in result.medications} == expected


@pytest.mark.parametrize(
    ("text", "routes"),
    [
        (
            "He was treated with IV ceftriaxone and transitioned to oral ciprofloxacin 500 mg BID.",
            {"ceftriaxone": "intravenous", "ciprofloxacin": "oral"},
        ),
        ("Inhaled fluticasone twice daily.", {"fluticasone": "inhaled"}),
        ("Metoprolol 25 mg PO BID.", {"metoprolol": "oral"}),
    ],
)
def test_a_route_is_the_drugs_own(extractor, text, routes):
    """A route written before the drug is its own; one in the next clause, before another drug,
    is that drug's."""
    result = extractor.extract(text)
    assert {m.generic_name: m.route for m in result.medications} == routes


ACTIVE, STOPPED = MedicationStatus.ACTIVE, MedicationStatus.STOPPED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Current medications:\nMetformin 500 mg PO BID\n"
            "Lisinopril 10 mg daily (discontinued due to cough)\nAtorvastatin 40 mg nightly\n",
            {"metformin": ACTIVE, "lisinopril": STOPPED, "atorvastatin": ACTIVE},
        ),
        (
            "Medications: Metformin 500 mg PO BID; Lisinopril 10 mg daily, stopped for cough; "
            "Atorvastatin 40 mg nightly.",
            {"metformin": ACTIVE, "lisinopril": STOPPED, "atorvastatin": ACTIVE},
        ),
        (
            "Medications: Metformin 500 mg PO BID, Lisinopril 10 mg daily (discontinued due to "
            "cough), Atorvastatin 40 mg nightly.",
            {"metformin": ACTIVE, "lisinopril": STOPPED, "atorvastatin": ACTIVE},
        ),
        (
            "Aspirin, clopidogrel (stopped 2 weeks ago), and metoprolol.",
            {"aspirin": ACTIVE, "clopidogrel": STOPPED, "metoprolol": ACTIVE},
        ),
        (
            "Home medications:\n1. Metformin 500 mg tablet\n"
            "   Take 1 tablet twice daily - stopped on admission\n2. Aspirin 81 mg daily\n",
            {"metformin": STOPPED, "aspirin": ACTIVE},
        ),
        (
            "Metformin was stopped; continue lisinopril.",
            {"metformin": STOPPED, "lisinopril": ACTIVE},
        ),
        (
            "Stopped metformin, lisinopril and aspirin.",
            {"metformin": STOPPED, "lisinopril": STOPPED, "aspirin": STOPPED},
        ),
        (
            "Medications: aspirin 81 mg daily, atorvastatin 40 mg nightly, no longer taking "
            "warfarin, metoprolol 25 mg BID",
            {"aspirin": ACTIVE, "atorvastatin": ACTIVE, "warfarin": STOPPED, "metoprolol": ACTIVE},
        ),
        (
            "She takes lisinopril 10 mg daily, discontinued metformin, and takes insulin "
            "glargine 20 units nightly.",
            {"lisinopril": ACTIVE, "metformin": STOPPED, "insulin glargine": ACTIVE},
        ),
        (
            "Hold warfarin 5 mg, resume metoprolol 25 mg BID.",
            {"warfarin": MedicationStatus.ON_HOLD, "metoprolol": ACTIVE},
        ),
        (
            "Stopped lisinopril 10 mg daily, amlodipine 5 mg daily.",
            {"lisinopril": STOPPED, "amlodipine": STOPPED},
        ),
    ],
)
def test_a_status_written_in_one_item_of_a_list_is_that_items(extractor, text, expected):
    """A medication list's item says nothing of the next item's drug: before, one
    '(discontinued due to cough)' or 'no longer taking warfarin' stopped every drug of the list
    after it, and 'discontinued metformin' the one before it too. A status written before the
    list's first drug is every item's, but an item with a verb of its own ('resume ...')."""
    result = extractor.extract(text)
    assert {m.generic_name: m.status for m in result.medications} == expected


def test_a_remark_in_brackets_is_about_the_condition_before_it(extractor):
    result = extractor.extract("Problems: Hypertension (resolved), diabetes, asthma.")
    assert condition(result, "Hypertension").resolved
    assert not condition(result, "diabetes").resolved
    assert condition(result, "diabetes").assertion == Assertion.PRESENT


def test_negated_medication(extractor):
    med = medication(extractor.extract("The patient is not on aspirin."), "aspirin")
    assert med.assertion == Assertion.NEGATED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Medications: aspirin 81 mg daily, no warfarin, metoprolol 25 mg BID.",
            {"aspirin": "present", "warfarin": "negated", "metoprolol": "present"},
        ),
        (
            "He takes lisinopril 10 mg daily but denies taking aspirin, ibuprofen or naproxen.",
            {
                "lisinopril": "present",
                "aspirin": "negated",
                "ibuprofen": "negated",
                "naproxen": "negated",
            },
        ),
        (
            "If pain persists, take ibuprofen 400 mg, continue lisinopril 10 mg daily.",
            {"ibuprofen": "hypothetical", "lisinopril": "present"},
        ),
        (
            "If the rash spreads, use hydrocortisone cream or triamcinolone cream.",
            {"hydrocortisone": "hypothetical", "triamcinolone": "hypothetical"},
        ),
        (  # the condition wrapped onto the next line by the page
            "Continue lisinopril. If her blood pressure remains above 130/80 at her\nnext visit,"
            " I would add amlodipine 5 mg daily.",
            {"lisinopril": "present", "amlodipine": "hypothetical"},
        ),
    ],
)
def test_a_cue_in_one_item_of_a_drug_list_is_that_items(extractor, text, expected):
    """A negation or a condition written in one item of a list of drugs does not reach an item
    with its own dose, nor a later item with a verb of its own; before, 'no warfarin' made the
    metoprolol after it not taken."""
    result = extractor.extract(text)
    assert {m.generic_name: m.assertion.value for m in result.medications} == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Amlodipine was discontinued due to edema; started hydrochlorothiazide 25 mg daily.",
            {"amlodipine": "stopped", "hydrochlorothiazide": "active"},
        ),
        (
            "Amlodipine was discontinued due to edema, started hydrochlorothiazide 25 mg daily.",
            {"amlodipine": "stopped", "hydrochlorothiazide": "active"},
        ),
        (
            "Warfarin was stopped and apixaban 5 mg twice daily was started.",
            {"warfarin": "stopped", "apixaban": "active"},
        ),
        (
            "Warfarin was stopped and apixaban 5 mg twice daily was continued.",
            {"warfarin": "stopped", "apixaban": "active"},
        ),
        (
            "Stopped atorvastatin due to myalgias, now on rosuvastatin 10 mg.",
            {"atorvastatin": "stopped", "rosuvastatin": "active"},
        ),
        (
            "Aspirin and clopidogrel were discontinued.",
            {"aspirin": "stopped", "clopidogrel": "stopped"},
        ),
        (
            "Lisinopril 10 mg daily and metformin 500 mg BID were held.",
            {"lisinopril": "on-hold", "metformin": "on-hold"},
        ),
        (
            "Furosemide was held on admission for mild AKI and resumed at discharge.",
            {"furosemide": "active"},
        ),
        (
            "He was treated with IV methylprednisolone, then transitioned to prednisone 40 mg"
            " daily, and ceftriaxone and azithromycin, later changed to oral cefpodoxime.",
            {
                "methylprednisolone": "stopped",
                "prednisone": "active",
                "ceftriaxone": "stopped",
                "azithromycin": "stopped",
                "cefpodoxime": "active",
            },
        ),
    ],
)
def test_a_cue_in_another_clause_is_not_about_a_drug_with_a_verb_of_its_own(
    extractor, text, expected
):
    """Before, the later 'started' made the discontinued amlodipine active and the 'stopped' of
    the warfarin's clause stopped the rosuvastatin; drugs sharing one verb still share it."""
    result = extractor.extract(text)
    assert {m.generic_name: m.status.value for m in result.medications} == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No fever, takes aspirin daily.", {"aspirin": "present"}),
        (
            "Denies chest pain. Not on aspirin, takes clopidogrel 75 mg.",
            {"aspirin": "negated", "clopidogrel": "present"},
        ),
        (
            "Denies taking aspirin, ibuprofen or naproxen.",
            {"aspirin": "negated", "ibuprofen": "negated", "naproxen": "negated"},
        ),
    ],
)
def test_a_negation_does_not_reach_a_drug_with_a_verb_of_its_own(extractor, text, expected):
    """Before, the 'No' of 'No fever, takes aspirin daily' made the aspirin not taken."""
    result = extractor.extract(text)
    assert {m.generic_name: m.assertion.value for m in result.medications} == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "History of DVT on aspirin and warfarin.",
            {"aspirin": "present", "warfarin": "present"},
        ),
        (
            "History of atrial fibrillation on metoprolol 25 mg BID, diltiazem and apixaban.",
            {"metoprolol": "present", "diltiazem": "present", "apixaban": "present"},
        ),
        (
            "History of DVT, was on warfarin and aspirin.",
            {"warfarin": "historical", "aspirin": "historical"},
        ),
    ],
)
def test_every_drug_of_a_list_a_history_says_the_patient_is_on_is_taken_now(
    extractor, text, expected
):
    """'on aspirin and warfarin' in a history: both are taken now (before, only the first)."""
    result = extractor.extract(text)
    assert {m.generic_name: m.assertion.value for m in result.medications} == expected


def test_most_informative_mention_is_kept(extractor):
    result = extractor.extract("He was given aspirin in the ER. Aspirin 325 mg daily.")
    assert len(result.medications) == 1
    assert result.medications[0].dose_value == 325.0


def test_bracketed_brand_is_not_a_second_medication(extractor):
    result = extractor.extract("acetaminophen 325 mg oral tablet [tylenol]; lisinopril 10 mg")
    assert [m.generic_name for m in result.medications] == ["acetaminophen", "lisinopril"]


# --- allergies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "ALLERGIES: NKDA",
        "Allergies: No known drug allergies.",
        "# Allergies\nNo Known Allergies.\n\n# Medications\nlisinopril 10 mg oral tablet",
        "Allergies: None",
    ],
)
def test_no_known_allergies(extractor, text):
    result = extractor.extract(text)
    assert len(result.allergies) == 1
    assert result.allergies[0].no_known_allergies is True
    assert result.allergies[0].substance is None


def test_allergy_substances_and_reactions(extractor):
    text = "ALLERGIES: Penicillin (hives, rash); sulfa - anaphylaxis\nMEDICATIONS: aspirin 81 mg"
    result = extractor.extract(text)
    found = {(a.substance, a.reaction) for a in result.allergies}
    assert found == {("Penicillin", "hives, rash"), ("sulfa", "anaphylaxis")}
    assert [m.generic_name for m in result.medications] == ["aspirin"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ALLERGIES: Codeine - nausea; Sulfa (hives); Latex.",
            [("Codeine", "nausea"), ("Sulfa", "hives"), ("Latex", None)],
        ),
        ("Allergic reaction to contrast dye in 2015.", [("contrast dye", None)]),
        ("Intolerant of statins (myalgia).", [("statins", "myalgia")]),
        ("Allergy to Bee Pollen", [("Bee Pollen", None)]),
        (
            "Penicillin allergy (anaphylaxis). Latex allergy. Takes aspirin 81 mg daily.",
            [("Penicillin", "anaphylaxis"), ("Latex", None)],
        ),
        (
            "Allergies: Penicillin - hives; Codeine - nausea. Sulfa: rash",
            [("Penicillin", "hives"), ("Codeine", "nausea"), ("Sulfa", "rash")],
        ),
        (
            "Allergies: NKDA. Intolerance: statins (myalgias).",
            [(None, None), ("statins", "myalgias")],
        ),
        (
            "Drug allergies: None known. Food allergies: peanuts (anaphylaxis).",
            [(None, None), ("peanuts", "anaphylaxis")],
        ),
        (
            "Allergies: Latex allergy; peanut allergy (hives); sulfa allergies",
            [("Latex", None), ("peanut", "hives"), ("sulfa", None)],
        ),
        (
            "Allergies: vancomycin (red man syndrome - tolerates with slow infusion).",
            [("vancomycin", "red man syndrome")],
        ),
    ],
    ids=[
        "last-item-with-period",
        "allergic-reaction-to",
        "intolerant-of",
        "allergy-to",
        "substance-allergy",
        "items-ending-in-periods",
        "intolerance-label",
        "food-allergies-label",
        "list-items-named-with-allergy",
        "reaction-then-a-remark",
    ],
)
def test_ways_of_writing_an_allergy(extractor, text, expected):
    result = extractor.extract(text)
    assert [(a.substance, a.reaction) for a in result.allergies] == expected


@pytest.mark.parametrize(
    ("text", "allergens", "medications"),
    [
        ("He is allergic to shellfish and takes atorvastatin.", ["shellfish"], ["atorvastatin"]),
        (
            "She is allergic to sulfa drugs, which cause a rash, and to codeine.",
            ["sulfa drugs", "codeine"],
            [],
        ),
        ("She is allergic to penicillin but tolerates cephalexin.", ["penicillin"], ["cephalexin"]),
        ("Allergic to penicillin, sulfa and codeine.", ["penicillin", "sulfa", "codeine"], []),
    ],
)
def test_what_allergic_to_names_ends_with_its_clause(extractor, text, allergens, medications):
    """The atorvastatin of 'allergic to shellfish and takes atorvastatin' was an allergen."""
    result = extractor.extract(text)
    assert [a.substance for a in result.allergies] == allergens
    assert [m.text for m in result.medications] == medications


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Allergies: penicillin (rash), but tolerates cephalexin.", ["penicillin"]),
        ("Allergies: sulfa (hives). Has since tolerated amoxicillin.", ["sulfa"]),
        ("ALLERGIES:\nCodeine - nausea\nAmoxicillin - tolerated", ["Codeine"]),
        ("Allergies: Penicillin. Seasonal allergies.", ["Penicillin"]),
        (
            "ALLERGIES:\nPenicillin (rash) - tolerated amoxicillin during this admission.",
            ["Penicillin"],
        ),
    ],
)
def test_a_tolerated_drug_or_a_kind_of_allergy_in_an_allergy_list_is_no_allergen(
    extractor, text, expected
):
    """Before, 'but tolerates cephalexin' in an allergy list made cephalexin an allergy, and
    'Seasonal allergies' an allergy to 'Seasonal'."""
    assert [a.substance for a in extractor.extract(text).allergies] == expected


@pytest.mark.parametrize(
    ("text", "allergens", "medications"),
    [
        (
            "Adverse reactions: metformin - GI upset; statins - myalgia.",
            [("metformin", "GI upset"), ("statins", "myalgia")],
            [],
        ),
        (
            "Allergies reviewed: Iodine contrast - premedicate with prednisone and"
            " diphenhydramine.",
            [("Iodine contrast", None)],
            [("prednisone", Assertion.HYPOTHETICAL), ("diphenhydramine", Assertion.HYPOTHETICAL)],
        ),
        (
            "She developed hives after starting amoxicillin, which was discontinued. Amoxicillin"
            " added to allergy list.",
            [("Amoxicillin", None)],
            [("amoxicillin", Assertion.PRESENT)],
        ),
    ],
    ids=["adverse-reactions-label", "premedication-instruction", "added-to-allergy-list"],
)
def test_an_allergy_written_as_a_reaction_or_with_an_instruction(
    extractor, text, allergens, medications
):
    """'Adverse reactions:' lists allergies (its drugs were active medications); the drugs of
    'premedicate with prednisone and diphenhydramine' were allergens; 'Amoxicillin added to
    allergy list' was an active amoxicillin and no allergy."""
    result = extractor.extract(text)
    assert [(a.substance, a.reaction) for a in result.allergies] == allergens
    assert [(m.text, m.assertion) for m in result.medications] == medications


def test_allergic_to_is_an_allergy_not_a_medication(extractor):
    result = extractor.extract("She is allergic to penicillin. Takes lisinopril 10 mg daily.")
    assert [a.substance for a in result.allergies] == ["penicillin"]
    assert [m.generic_name for m in result.medications] == ["lisinopril"]


def test_allergy_section_holds_no_conditions(extractor):
    result = extractor.extract("Allergies:\nCodeine (nausea)\nAssessment: pneumonia.")
    assert [c.text for c in result.conditions] == ["pneumonia"]
    assert [(a.substance, a.reaction) for a in result.allergies] == [("Codeine", "nausea")]


def test_allergy_line_after_a_bare_header(extractor):
    text = (
        "ALLERGIES:\nPenicillin (rash) - tolerated amoxicillin-clavulanate during this admission."
    )
    result = extractor.extract(text)
    assert [(a.substance, a.reaction) for a in result.allergies] == [("Penicillin", "rash")]
    assert result.medications == []


def test_allergy_section_ends_before_prose(extractor):
    text = "ALLERGIES:\nNKDA.\nThe patient lives with his wife and dog.\nHe has hypertension."
    result = extractor.extract(text)
    assert [a.no_known_allergies for a in result.allergies] == [True]
    assert [c.text for c in result.conditions] == ["hypertension"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # 'NKDA' says nothing of latex: the list goes on
            "ALLERGIES:\nNKDA\nLatex .................. contact dermatitis\n",
            [(None, None, True), ("Latex", "contact dermatitis", False)],
        ),
        (  # dot leaders between a substance and its reaction
            "ALLERGIES:\nPenicillin .......... hives\nSulfa ... rash\n",
            [("Penicillin", "hives", False), ("Sulfa", "rash", False)],
        ),
        (  # 'No known allergies' of any kind ends the list
            "Allergies: No known allergies\nLatex gloves used for the exam.\n",
            [(None, None, True)],
        ),
    ],
    ids=["latex-after-nkda", "dot-leaders", "none-of-any-kind"],
)
def test_a_non_drug_allergy_after_nkda_and_dot_leaders(extractor, text, expected):
    """Regression: 'NKDA' ended the list, so the latex allergy below it was lost and its
    reaction became the patient's contact dermatitis; a dot leader was no separator."""
    result = extractor.extract(text)
    found = [(a.substance, a.reaction, a.no_known_allergies) for a in result.allergies]
    assert found == expected
    assert result.conditions == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "She is allergic to codeine, which causes severe nausea and vomiting.\n",
            [("codeine", "severe nausea and vomiting")],
        ),
        (
            "ALLERGIES: codeine, which gives her nausea and vomiting; penicillin (rash)\n",
            [("codeine", "nausea and vomiting"), ("penicillin", "rash")],
        ),
        ("Allergies: penicillin and sulfa\n", [("penicillin", None), ("sulfa", None)]),
    ],
    ids=["sentence", "list", "two-substances"],
)
def test_the_reactions_a_relative_clause_lists_are_one_allergys(extractor, text, expected):
    """Regression: 'and' in 'which causes severe nausea and vomiting' began another item, so
    vomiting was an allergy of its own."""
    found = [(a.substance, a.reaction) for a in extractor.extract(text).allergies]
    assert found == expected


# --- observations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "loinc", "value", "unit", "low", "high", "flag"),
    [
        ("Sodium 138 mmol/L", "Sodium", "2951-2", 138.0, "mmol/L", None, None, None),
        ("Glucose: 182 mg/dL (70-99) H", "Glucose", "2345-7", 182.0, "mg/dL", 70.0, 99.0, "H"),
        (
            "Hemoglobin | 11.2 | g/dL | 13.5-17.5 | L",
            "Hemoglobin",
            "718-7",
            11.2,
            "g/dL",
            13.5,
            17.5,
            "L",
        ),
        ("Hemoglobin 11.2 g/dL 13.5-17.5 L", "Hemoglobin", "718-7", 11.2, "g/dL", 13.5, 17.5, "L"),
        ("HbA1c 7.8 % 4.0-5.6 H", "HbA1c", "4548-4", 7.8, "%", 4.0, 5.6, "H"),
        ("Creatinine 1.4 mg/dL 0.7-1.3 High", "Creatinine", "2160-0", 1.4, "mg/dL", 0.7, 1.3, "H"),
        ("WBC 6.1 x10^3/uL 4.0-11.0", "WBC", "26464-8", 6.1, "10*3/uL", 4.0, 11.0, None),
        ("TSH 2.1 uIU/mL", "TSH", "3016-3", 2.1, "m[IU]/L", None, None, None),
        ("Vitamin B12 350 pg/mL 200-900", "Vitamin B12", None, 350.0, "pg/mL", 200.0, 900.0, None),
        ("Potassium: 3.1 mmol/L L", "Potassium", "2823-3", 3.1, "mmol/L", None, None, "L"),
        ("BNP 45 pg/mL 0-100", "BNP", "30934-4", 45.0, "pg/mL", 0.0, 100.0, None),
        ("Troponin T 0.03 ng/mL", "Troponin T", "6598-7", 0.03, "ng/mL", None, None, None),
        ("Lactate 4.1 mmol/L H", "Lactate", "2524-7", 4.1, "mmol/L", None, None, "H"),
        ("Lipase 32 U/L", "Lipase", "3040-3", 32.0, "U/L", None, None, None),
        ("Troponin 0.02 ng/mL", "Troponin", None, 0.02, "ng/mL", None, None, None),
    ],
)
def test_lab_rows(extractor, text, name, loinc, value, unit, low, high, flag):
    obs = observation(extractor.extract(text), name)
    assert obs.category == "laboratory"
    assert (obs.loinc_code, obs.value, obs.unit) == (loinc, value, unit)
    assert (obs.reference_low, obs.reference_high, obs.interpretation) == (low, high, flag)


def test_vitals(extractor):
    text = (
        "Vitals: BP 138/84 mmHg, HR 88 bpm, Temp 37.9 C, SpO2 95%, RR 18\n"
        "Weight 82 kg, Height 178 cm"
    )
    result = extractor.extract(text)
    assert {o.category for o in result.observations} == {"vital-signs"}
    bp = observation(result, "BP")
    assert (bp.value_text, bp.unit, bp.loinc_code) == ("138/84", "mm[Hg]", "85354-9")
    expected = {
        "HR": (88.0, "/min", "8867-4"),
        "Temp": (37.9, "Cel", "8310-5"),
        "SpO2": (95.0, "%", "59408-5"),
        "RR": (18.0, "/min", "9279-1"),
        "Weight": (82.0, "kg", "29463-7"),
        "Height": (178.0, "cm", "8302-2"),
    }
    for name, (value, unit, loinc) in expected.items():
        obs = observation(result, name)
        assert (obs.value, obs.unit, obs.loinc_code) == (value, unit, loinc), name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Physical exam: T 37.2 C, P 88, BP 128/76, R 16, O2 sat 97% on RA.",
            {("8310-5", 37.2, "Cel"), ("8867-4", 88.0, "/min"), ("9279-1", 16.0, "/min")},
        ),
        (
            "VS: T 101.2F P 118 R 24 BP 96/58",
            {("8310-5", 101.2, "[degF]"), ("8867-4", 118.0, "/min"), ("9279-1", 24.0, "/min")},
        ),
        ("Vitals: T 98.6  P 72  R 18", {("8310-5", 98.6, "[degF]"), ("8867-4", 72.0, "/min"),
                                        ("9279-1", 18.0, "/min")}),
        ("Plan: T 3 weeks. P 2 tabs. R knee pain.", set()),  # no line of vital signs
        ("BP 142/90. Phos: P 3.2.", set()),  # no pulse of 3
    ],
)  # fmt: skip
def test_one_letter_vital_signs_on_a_line_of_vitals(extractor, text, expected):
    """'T 37.2 C, P 88, R 16' as notes write vitals; a lone letter elsewhere is no vital sign."""
    result = extractor.extract(text)
    one_letter = {"Temperature", "Pulse", "Respiratory rate"}
    found = {(o.loinc_code, o.value, o.unit) for o in result.observations if o.name in one_letter}
    assert found == expected


def test_abbreviated_labs_in_a_sentence(extractor):
    """Mixed-case abbreviations ('Na', 'Cl', 'Cr', 'Hgb', 'Plt') as notes write them."""
    text = "Labs: Na 138, K 4.1, Cl 102, BUN 18, Cr 1.1. Hgb 13.5, Plt 250, hr 76."
    result = extractor.extract(text)
    found = {(o.name, o.value, o.loinc_code) for o in result.observations}
    assert found == {
        ("Na", 138.0, "2951-2"),
        ("K", 4.1, "2823-3"),
        ("Cl", 102.0, "2075-0"),
        ("BUN", 18.0, "3094-0"),
        ("Cr", 1.1, "2160-0"),
        ("Hgb", 13.5, "718-7"),
        ("Plt", 250.0, "26515-7"),
        ("hr", 76.0, "8867-4"),
    }


def test_a_value_written_with_a_thousands_separator(extractor):
    result = extractor.extract("WBC 7300, platelet count 256,000. INR 1.1.")
    found = {(o.name, o.value) for o in result.observations}
    assert found == {("WBC", 7300.0), ("platelet count", 256000.0), ("INR", 1.1)}


@pytest.mark.parametrize(
    ("text", "name", "value", "unit"),
    [
        ("Vitals: Wt 180 lb, Ht 5' 10\"", "Ht", 70.0, "[in_i]"),
        ("Height 6 ft 1 in", "Height", 73.0, "[in_i]"),
        ("VS: Temp 101.2, HR 112", "Temp", 101.2, "[degF]"),
        ("Temp 37.2, HR 80", "Temp", 37.2, "Cel"),
        ("Temp 12, HR 80", "Temp", 12.0, None),  # no unit fits: none is made up
    ],
)
def test_the_only_unit_a_vital_sign_can_have(extractor, text, name, value, unit):
    """A height in feet and inches is in inches, not 5 of nothing; a temperature without its
    unit is in the one scale its value fits."""
    obs = observation(extractor.extract(text), name)
    assert (obs.value, obs.unit) == (value, unit)


def test_a_drug_held_in_a_long_list_line_is_not_taken(extractor):
    text = "MEDICATIONS ON ADMISSION:\nWarfarin 5 mg PO qHS (held on admission for INR 4.2)\n"
    result = extractor.extract(text)
    assert [(m.text, m.status) for m in result.medications] == [
        ("Warfarin", MedicationStatus.ON_HOLD)
    ]


def test_specimen_other_than_blood_drops_the_loinc_code(extractor):
    obs = observation(extractor.extract("Urine sodium 42 mmol/L."), "Urine sodium")
    assert (obs.loinc_code, obs.value, obs.unit) == (None, 42.0, "mmol/L")


def test_a_range_is_not_a_value(extractor):
    result = extractor.extract("Point-of-care glucose 142-188 mg/dL.")
    assert result.observations == []


def test_prose_numbers_are_not_observations(extractor):
    text = "Plan Number Assigned By The Plan 511\nBody mass index 30+ - obesity (finding)"
    assert extractor.extract(text).observations == []


def test_qualitative_lab_row(extractor):
    obs = observation(
        extractor.extract("Antinuclear Antibodies, IFA Positive Abnormal 01"),
        "Antinuclear Antibodies, IFA",
    )
    assert (obs.value, obs.value_text, obs.interpretation) == (None, "Positive", "A")


# A results table as pdfplumber writes one: a heading row, then a row per test, cells separated by
# spaces, in the column order of the heading (here TEST RESULT FLAG UNITS REFERENCE INTERVAL).
RESULTS_TABLE = """\
Collected: 02/03/2025 08:10
TEST RESULT FLAG UNITS REFERENCE INTERVAL
Basic Panel
Sodium 131 L mmol/L 136-145
Ferritin 8 L ng/mL 15-150
Urine Specific Gravity 1.015 1.005-1.030
Urine Nitrite Negative Negative
Urine Ketones Trace
Troponin I <0.01 ng/mL <0.04
HDL cholesterol 38 mg/dL >39
Microalbumin/Creatinine Ratio 45 H mg/g <30
Imaginary Analyte 7 zorbs/kL 1-9
Comments: specimen received at room temperature.
Page 1 of 2
"""


def test_results_table_rows(extractor):
    result = extractor.extract(RESULTS_TABLE)
    assert_quotes_are_exact(result, RESULTS_TABLE)
    sodium = observation(result, "Sodium")
    assert (sodium.value, sodium.unit, sodium.loinc_code) == (131.0, "mmol/L", "2951-2")
    assert (sodium.reference_low, sodium.reference_high, sodium.interpretation) == (136, 145, "L")
    ferritin = observation(result, "Ferritin")
    assert (ferritin.value, ferritin.unit, ferritin.interpretation) == (8.0, "ng/mL", "L")
    gravity = observation(result, "Urine Specific Gravity")  # no unit: read under the heading
    assert (gravity.value, gravity.unit) == (1.015, None)
    assert (gravity.reference_low, gravity.reference_high) == (1.005, 1.030)
    nitrite = observation(result, "Urine Nitrite")
    assert (nitrite.value, nitrite.value_text, nitrite.reference_text) == (
        None,
        "Negative",
        "Negative",
    )
    assert observation(result, "Urine Ketones").value_text == "Trace"
    troponin = observation(result, "Troponin I")  # '<0.04': an upper limit only
    assert (troponin.value, troponin.value_text, troponin.unit) == (0.01, "<0.01", "ng/mL")
    assert (troponin.reference_low, troponin.reference_high) == (None, 0.04)
    hdl = observation(result, "HDL cholesterol")  # '>39': a lower limit only
    assert (hdl.value, hdl.reference_low, hdl.reference_high) == (38.0, 39.0, None)
    ratio = observation(result, "Microalbumin/Creatinine Ratio")
    assert (ratio.value, ratio.unit, ratio.reference_high, ratio.interpretation) == (
        45.0,
        "mg/g",
        30.0,
        "H",
    )
    unknown = observation(result, "Imaginary Analyte")  # a unit the lexicon lacks stays as written
    assert (unknown.value, unknown.unit, unknown.loinc_code) == (7.0, "zorbs/kL", None)
    names = {o.name for o in result.observations}
    assert not names & {"Basic Panel", "Collected", "Comments", "Page 1 of"}
    assert len(result.observations) == 9  # one per test row


def test_results_table_ends_at_a_blank_line(extractor):
    text = "Test Result Units Reference Range\nSodium 140 mmol/L 135-145\n\nVisit count 3\n"
    result = extractor.extract(text)
    assert [o.name for o in result.observations] == ["Sodium"]


def test_results_table_with_rules_and_late_flag(extractor):
    text = (
        "Test | Result | Units | Reference Range | Flag\n"
        "Platelet Count | 98 | x10^9/L | 150-400 | L\n"
        "Specific gravity | 1.020 | | |\n"
    )
    result = extractor.extract(text)
    assert_quotes_are_exact(result, text)
    platelets = observation(result, "Platelet Count")
    assert (platelets.value, platelets.unit, platelets.loinc_code) == (98.0, "10*9/L", "26515-7")
    assert (platelets.reference_low, platelets.reference_high) == (150.0, 400.0)
    assert platelets.interpretation == "L"
    gravity = observation(result, "Specific gravity")  # empty cells between the rules
    assert (gravity.value, gravity.unit, gravity.reference_low) == (1.02, None, None)


@pytest.mark.parametrize(
    "text",
    [
        # a bracketed flag after the result
        "Test Name Result Units Reference Range\nWBC 12.8 (H) x10^3/uL 4.0-11.0\n"
        "Hemoglobin 9.1 (L) g/dL 12.0-16.0\neGFR 31 (L) mL/min/1.73m2 >60\n",
        # the unit printed in the reference range's column, after the interval
        "Component     Value     Ref Range     Flag\n"
        "WBC           12.8      4.0 - 11.0 x10^3/uL   H\n"
        "Hemoglobin    9.1       12.0 - 16.0 g/dL     L\n"
        "eGFR          31        >60 mL/min/1.73m2    L\n",
    ],
)
def test_a_results_row_never_takes_its_reference_limit_for_its_value(extractor, text):
    """Regression: 'WBC 12.8 (H) x10^3/uL 4.0-11.0' was WBC 11.0 (named 'WBC 12.8 (H)
    x10^3/uL 4.0-'), 'eGFR 31 >60 mL/min/1.73m2 L' an eGFR of 60: a reference limit as the
    patient's value."""
    result = extractor.extract(text)
    found = {
        o.name: (o.value, o.unit, o.reference_low, o.reference_high, o.interpretation)
        for o in result.observations
    }
    assert found == {
        "WBC": (12.8, "10*3/uL", 4.0, 11.0, "H"),
        "Hemoglobin": (9.1, "g/dL", 12.0, 16.0, "L"),
        "eGFR": (31.0, "mL/min/{1.73_m2}", 60.0, None, "L"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a flag attached to the result or starred
            "Test                 Result     Flag    Units      Reference Interval\n"
            "Potassium            5.6H               mmol/L     3.5-5.2\n"
            "Hemoglobin A1c       8.2        *H      %          4.8-5.6\n",
            {"Potassium": (5.6, "mmol/L", 3.5, 5.2, "H"),
             "Hemoglobin A1c": (8.2, "%", 4.8, 5.6, "H")},
        ),
        (  # a bracketed flag and interval after a labelled value
            "Na 131 (L) [135-145]\nHemoglobin: 10.2 g/dL (ref 12.0-15.5)\n",
            {"Na": (131.0, None, 135.0, 145.0, "L"),
             "Hemoglobin": (10.2, "g/dL", 12.0, 15.5, None)},
        ),
        (  # a bracketed one-sided interval: a limit, not a value
            "Troponin I: 2.4 ng/mL (<0.04) H\nCRP 1.8 mg/dL (<0.5) H, ALT 28 U/L [>5]\n",
            {"Troponin I": (2.4, "ng/mL", None, 0.04, "H"),
             "CRP": (1.8, "mg/dL", None, 0.5, "H"),
             "ALT": (28.0, "U/L", 5.0, None, None)},
        ),
        (  # a score named after a test is not that test
            "DAS28-CRP 3.4 (moderate activity).\n",
            {},
        ),
    ],
)  # fmt: skip
def test_flags_and_intervals_as_results_print_them(extractor, text, expected):
    result = extractor.extract(text)
    found = {
        o.name: (o.value, o.unit, o.reference_low, o.reference_high, o.interpretation)
        for o in result.observations
    }
    assert found == expected


@pytest.mark.parametrize(
    ("text", "name", "loinc"),
    [
        ("Glucose 5.5 mmol/L 3.9-5.5", "Glucose", "14749-6"),  # molar: the moles code
        ("Glucose 99 mg/dL 70-99", "Glucose", "2345-7"),  # mass: the mass code
        ("Total cholesterol 5.2 mmol/L", "Total cholesterol", None),  # only a mass code known
        ("Sodium [Moles/volume] in Serum or Plasma 140 mmol/L", None, "2951-2"),  # LOINC name
    ],
)
def test_loinc_code_fits_the_unit(extractor, text, name, loinc):
    obs = observation(extractor.extract(text), name or text.split(" 140")[0])
    assert obs.loinc_code == loinc


def test_a_word_result_takes_a_presence_code_only(extractor):
    text = "Test Result Units Reference Range\nUrine glucose Negative Negative\nGlucose Negative\n"
    result = extractor.extract(text)
    assert observation(result, "Urine glucose").loinc_code == "2349-9"  # Glucose [Presence]
    assert observation(result, "Glucose").loinc_code is None  # not a serum glucose quantity


def test_lexicon_loinc_check_digits():
    for row in read_lexicon("loinc_common.csv"):
        if row["loinc_code"]:
            number, check = row["loinc_code"].split("-")
            assert loinc_check_digit(number) == int(check), row


def loinc_check_digit(number: str) -> int:
    """LOINC's mod 10 check digit (loinc.org, 'Calculating the check digit')."""
    reversed_digits = number[::-1]
    doubled = str(int(reversed_digits[0::2][::-1]) * 2)
    others = reversed_digits[1::2][::-1]
    total = sum(int(digit) for digit in others + doubled)
    return (10 - total % 10) % 10


# --- patient ------------------------------------------------------------------------------------


def test_patient_demographics(extractor):
    text = "Patient Name: Doe, Jane A.\nDOB: 03/14/1962    Sex: F\nMRN: 00123456\nVisit note."
    patient = extractor.extract(text).patient
    assert patient is not None
    assert patient.name == "Doe, Jane A."
    assert patient.birth_date == "1962-03-14"
    assert patient.gender == "female"
    assert [(i.kind, i.value) for i in patient.identifiers] == [("MRN", "00123456")]
    assert patient.quote == "Patient Name: Doe, Jane A."


def test_name_stops_before_next_label(extractor):
    patient = extractor.extract("PATIENT: Gloria Example DOB: 05/30/1944 MRN: 6603-1187").patient
    assert patient is not None
    assert (patient.name, patient.birth_date) == ("Gloria Example", "1944-05-30")
    assert [(i.kind, i.value) for i in patient.identifiers] == [("MRN", "6603-1187")]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Resident Name: Fitzgerald, Harold J.      Room: 112-B     DOB: 06/30/1940",
         "Fitzgerald, Harold J."),
        ("Pt: Abernathy, Ruth       DOB 12/12/1951      MRN WC-77120", "Abernathy, Ruth"),
        ("Student: Alvarez, Sofia R.     DOB: 04/09/2017    Grade: 4", "Alvarez, Sofia R."),
        ("Resident: Dr. Okafor\nPatient: Jones, Mary", "Jones, Mary"),
    ],
    ids=["resident-name", "pt", "student", "not-the-resident-physician"],
)  # fmt: skip
def test_a_forms_name_labels_and_the_next_column(extractor, text, name):
    assert extractor.extract(text).patient.name == name


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("Date of Birth: 1950-01-05", "1950-01-05"),
        ("DOB: January 5, 1950", "1950-01-05"),
        ("DOB: 5 Jan 1950", "1950-01-05"),
        ("DOB: 01/05/50", "1950-01-05"),
        ("DOB: 01-05-1950", "1950-01-05"),
        ("DOB: 1950/01/05", "1950-01-05"),
    ],
)
def test_birth_date_formats(extractor, line, iso):
    patient = extractor.extract(f"PATIENT: Smith, John\n{line}").patient
    assert patient is not None
    assert (patient.name, patient.birth_date) == ("Smith, John", iso)


def test_gender_from_age_phrase(extractor):
    patient = extractor.extract("This is a 56-year-old white male with hypertension.").patient
    assert patient is not None
    assert (patient.gender, patient.name, patient.birth_date) == ("male", None, None)


def test_no_patient_when_nothing_is_stated(extractor):
    assert extractor.extract("The patient was seen today for hypertension.").patient is None


# --- properties ---------------------------------------------------------------------------------

SAMPLES = [
    "Denies chest pain.\nALLERGIES: Penicillin (hives)\nMEDICATIONS:\n1. Aspirin 81 mg PO daily\n",
    "Patient: Roe, Richard\nDOB: 02/03/1944\nHemoglobin 11.2 g/dL 13.5-17.5 L\nBP 120/80 mmHg",
    "HPI: 70 year old female with a very long history " + "of many things, " * 30 + "and CHF.",
    "",
    "   \n\n",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_every_quote_is_a_substring(extractor, text):
    assert_quotes_are_exact(extractor.extract(text), text)


def test_episodic_condition_prefixes_are_icd10_chapters_or_codes():
    import simple_icd_10_cm as icd

    prefixes = [row["icd10_prefix"] for row in read_lexicon("episodic_conditions.csv")]
    assert prefixes, "episodic_conditions.csv is empty"
    letters = [prefix for prefix in prefixes if len(prefix) == 1]
    assert all(letter.isupper() for letter in letters)
    invalid = [
        prefix
        for prefix in prefixes
        if len(prefix) > 1 and not (icd.is_valid_item(prefix) or prefix[:2] in {"T2", "T3"})
    ]
    assert invalid == []


@pytest.mark.parametrize(
    ("text", "historical", "present"),
    [
        ("Prior stroke without residual deficits.", {"stroke"}, set()),
        ("Previous episodes of pancreatitis.", {"pancreatitis"}, set()),
        ("ECG shows an old MI.", {"MI"}, set()),
        ("Prior to admission he developed pneumonia.", set(), {"pneumonia"}),
        ("A 45 year old man with asthma.", set(), {"asthma"}),
        ("Remote history of pulmonary embolism.", {"pulmonary embolism"}, set()),
    ],
)
def test_a_prior_or_old_condition_is_history(extractor, text, historical, present):
    """'Prior stroke', 'old MI' are the patient's history, not a stroke now; 'prior to
    admission' and '45 year old' are no such cue."""
    result = extractor.extract(text)
    by_assertion = {
        assertion: {c.text for c in result.conditions if c.assertion == assertion}
        for assertion in (Assertion.HISTORICAL, Assertion.PRESENT)
    }
    assert by_assertion == {Assertion.HISTORICAL: historical, Assertion.PRESENT: present}


def test_icd10_codes_are_valid():
    import simple_icd_10_cm as icd

    rows = read_lexicon("conditions.csv")
    assert len(rows) >= 150
    coded = [row["icd10_code"] for row in rows if row["icd10_code"]]
    invalid = [code for code in coded if not icd.is_valid_item(code)]
    assert invalid == []
    assert len(coded) >= 150  # social findings ('full-time employment') have no ICD-10-CM code


def test_lexicon_names_are_unique():
    names: dict[str, str] = {}
    for file_name, columns in (
        ("conditions.csv", ("term", "synonyms")),
        ("drugs.csv", ("generic_name", "brand_names", "synonyms")),
    ):
        for row in read_lexicon(file_name):
            for column in columns:
                for name in filter(None, row[column].split("|")):
                    assert name.lower() not in names, (name, file_name, names.get(name.lower()))
                    names[name.lower()] = file_name
    assert len(read_lexicon("drugs.csv")) >= 250
    assert (LEXICON_DIR / "README.md").is_file()


def test_no_document_text_in_logs(extractor, caplog):
    text = "Patient Name: Quentin Zyxwarble\nZyxwarble denies chest pain. Aspirin 81 mg daily."
    records: list[str] = []
    sink = logger.add(lambda message: records.append(str(message)), level="DEBUG")
    try:
        with caplog.at_level(logging.DEBUG):
            extractor.extract(text)
    finally:
        logger.remove(sink)
    logged = records + [r.getMessage() for r in caplog.records]
    assert not [line for line in logged if "Zyxwarble" in line or "chest" in line]


# --- real corpus --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def medical_texts(corpus: Path) -> dict[str, str]:
    texts = {}
    for path in sorted((corpus / "medical").glob("*.pdf")):
        with pdfplumber.open(path) as pdf:
            texts[path.name] = "\n".join((page.extract_text() or "") for page in pdf.pages)
    return texts


@pytest.fixture(scope="module")
def medical_results(extractor, medical_texts) -> dict[str, ChunkExtraction]:
    return {name: extractor.extract(text) for name, text in medical_texts.items()}


def test_corpus_quotes_are_exact(medical_texts, medical_results):
    for name, result in medical_results.items():
        assert_quotes_are_exact(result, medical_texts[name])


def test_hl7_discharge_summary(medical_results):
    result = medical_results["discharge_summary_hl7.pdf"]
    for text, code in (
        ("hypertension", "I10"),
        ("urinary tract infection", "N39.0"),
        ("hypercholesterolemia", "E78.00"),
    ):
        found = [c for c in result.conditions if c.text.lower() == text]
        assert any(c.assertion == Assertion.PRESENT and c.icd10_code == code for c in found), text
    aspirin = medication(result, "aspirin")
    assert (aspirin.dose_value, aspirin.dose_unit) == (325.0, "mg")
    zocor = medication(result, "simvastatin")
    assert (zocor.text, zocor.dose_value, zocor.dose_unit) == ("Zocor", 20.0, "mg")
    assert result.patient is not None and result.patient.name == "Levin, Henry L."


def test_aci_bench_visit_note(medical_results):
    result = medical_results["visit_note_aci_bench_D2N001.pdf"]
    for text in ("congestive heart failure", "depression", "hypertension"):
        found = [c for c in result.conditions if c.text.lower() == text]
        assert any(c.assertion == Assertion.PRESENT for c in found), text
    assert condition(result, "chest pain").assertion == Assertion.NEGATED
    lisinopril = medication(result, "lisinopril")
    assert (lisinopril.dose_value, lisinopril.frequency) == (40.0, "daily")
    assert medication(result, "furosemide").text == "Lasix"


def test_mtsamples_discharge_summary(medical_results):
    result = medical_results["discharge_summary_mtsamples.pdf"]
    codes = {
        c.icd10_code
        for c in result.conditions
        if c.assertion not in (Assertion.NEGATED, Assertion.FAMILY)
    }
    assert {"S72.009A", "G30.9", "E03.9"} <= codes


def test_labcorp_report(medical_results):
    result = medical_results["lab_report_labcorp_sample.pdf"]
    ana = [o for o in result.observations if o.name == "Antinuclear Antibodies, IFA"]
    assert {(o.value_text, o.interpretation) for o in ana} == {
        ("Negative", None),
        ("Positive", "A"),
    }
    titer = observation(result, "Midbody Pattern")
    assert (titer.value_text, titer.interpretation) == ("1:160", "H")
    assert result.medications == []


def test_health_plan_is_not_clinical(medical_results):
    result = medical_results["health_plan_benefits.pdf"]
    assert len(result.conditions) <= 2
    assert result.medications == [] and result.observations == []


def test_synthea_notes_match_ground_truth(extractor, corpus: Path):
    notes = corpus / "notes" / "synthea"
    lexicon_names = {
        name.lower()
        for row in read_lexicon("conditions.csv")
        for name in [row["term"], *row["synonyms"].split("|")]
        if name
    }
    for entry in json.loads((notes / "ground_truth_same_encounter.json").read_text()):
        text = (notes / entry["note_file"]).read_text()
        result = extractor.extract(text)
        assert_quotes_are_exact(result, text)
        resources = entry["same_encounter_resources"] or {}
        generics = {m.generic_name for m in result.medications}
        for request in resources.get("medication_requests") or []:
            display = request["code"]["display"].lower()
            assert any(g and g in display for g in generics), (entry["note_file"], display)
        asserted = {
            c.text.lower()
            for c in result.conditions
            if c.assertion not in (Assertion.NEGATED, Assertion.FAMILY)
        }
        for found in resources.get("conditions") or []:
            name = found["code"]["display"].split(" (")[0].lower()
            if name in lexicon_names:
                assert name in asserted, (entry["note_file"], name)


# --- encounter, procedures, prescriptions -------------------------------------------------------


def test_encounter_dates_and_class(extractor):
    text = "Admission Date: 03/01/2024\nDischarge Date: 03/05/2024\nDOB: 01/02/1950\n"
    [encounter] = extractor.extract(text).encounters
    assert (encounter.encounter_class, encounter.start_date, encounter.end_date) == (
        "inpatient",
        "2024-03-01",
        "2024-03-05",
    )
    assert_quotes_are_exact(extractor.extract(text), text)


def test_note_date_line_is_an_ambulatory_encounter(extractor):
    [encounter] = extractor.extract("\n2021-04-05\n\n# Chief Complaint\nNone.").encounters
    assert (encounter.encounter_class, encounter.start_date) == ("ambulatory", "2021-04-05")


def test_listed_procedures_and_prescriptions(extractor):
    text = (
        "# Medications\nlisinopril 10 mg oral tablet; amoxicillin 250 mg oral tablet\n\n"
        "## Plan\nThe following procedures were conducted:\n"
        "- assessment of anxiety (procedure)\n- depression screening (procedure)\n"
        "The patient was prescribed the following medications:\n- lisinopril 10 mg oral tablet\n"
    )
    result = extractor.extract(text)
    assert [p.text for p in result.procedures] == ["assessment of anxiety", "depression screening"]
    prescribed = {(m.generic_name, m.prescribed) for m in result.medications}
    assert prescribed == {("lisinopril", False), ("amoxicillin", False), ("lisinopril", True)}
    assert_quotes_are_exact(result, text)


@pytest.mark.parametrize(
    "text",
    [
        "DISCHARGE MEDICATIONS:\nApixaban 5 mg PO BID\nMetoprolol succinate 50 mg daily\n",
        "Discharge medications:\n- Apixaban 5 mg PO BID\n- Metoprolol succinate 50 mg daily\n",
        "Hospital Course: Metoprolol was increased.\nDischarge Medications\nNEW: Apixaban 5 mg PO"
        " BID\nCHANGED: Metoprolol succinate 50 mg daily (was 25 mg)\n",
    ],
)
def test_a_discharge_list_bulleted_or_not_is_prescribed(extractor, text):
    """Regression: a PDF's text layer often drops the bullets; the unbulleted lines under
    'DISCHARGE MEDICATIONS:' were a list of what the patient takes, not orders."""
    result = extractor.extract(text)
    prescribed = {m.generic_name for m in result.medications if m.prescribed}
    assert prescribed == {"apixaban", "metoprolol"}


def test_a_wrapped_list_item_is_one_procedure_with_its_year_first_date(extractor):
    """A long item the page wrapped keeps its rest (and the next item is still read); '2012/10/15'
    is 15 October 2012, not '12/10/15' read month first."""
    text = (
        "PROCEDURES\n1. Laparoscopic cholecystectomy with intraoperative cholangiogram for\n"
        "symptomatic cholelithiasis (2012/10/15)\n2. Colonoscopy (2006/06/01)\n"
    )
    result = extractor.extract(text)
    assert [(p.text, p.performed_date) for p in result.procedures] == [
        (
            "Laparoscopic cholecystectomy with intraoperative cholangiogram for symptomatic "
            "cholelithiasis",
            "2012-10-15",
        ),
        ("Colonoscopy", "2006-06-01"),
    ]
    assert_quotes_are_exact(result, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She had a reduction in her pain after the injection.", []),
        ("He had a dose reduction of metoprolol last week.", []),
        (
            "She underwent open reduction and internal fixation of the wrist.",
            ["open reduction and internal fixation of the wrist"],
        ),
    ],
)
def test_a_reduction_is_a_procedure_only_when_open_or_closed(extractor, text, expected):
    assert [p.text for p in extractor.extract(text).procedures] == expected


def test_qualitative_result_keeps_its_reference_lines(extractor):
    text = (
        "Antinuclear Antibodies, IFA Negative 01\nNegative <1:80\nBorderline 1:80\nPositive >1:80"
    )
    obs = observation(extractor.extract(text), "Antinuclear Antibodies, IFA")
    assert obs.reference_text == "Negative <1:80; Borderline 1:80; Positive >1:80"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Lung adenocarcinoma, s/p 4 cycles of carboplatin, now on pembrolizumab.",
         MedicationStatus.COMPLETED),
        ("Breast cancer status post lumpectomy and 6 cycles of docetaxel.",
         MedicationStatus.COMPLETED),
        ("Plan: 6 cycles of docetaxel.", MedicationStatus.ACTIVE),
    ],
)  # fmt: skip
def test_courses_the_patient_is_status_post_are_completed(extractor, text, status):
    [drug] = [
        m for m in extractor.extract(text).medications if m.text in ("carboplatin", "docetaxel")
    ]
    assert drug.status == status


@pytest.mark.parametrize(
    ("text", "generic", "expected"),
    [
        # 'd/c' is also 'discharge': 'on d/c' stops nothing
        ("Meds on d/c: aspirin 81 mg daily.", "aspirin", (Assertion.PRESENT, False)),
        # a negation of the clause before ';' is not about 'on carvedilol'
        ("Small varices, no red wale signs; on carvedilol 6.25 mg BID.", "carvedilol",
         (Assertion.PRESENT, False)),
        # what the writer will discuss is not yet given
        ("Will discuss anticoagulation (apixaban vs warfarin) in 2 wks.", "apixaban",
         (Assertion.HYPOTHETICAL, False)),
        # a plan after a dash is the writer's order
        ("Depression screen positive - will start sertraline 25 mg daily.", "sertraline",
         (Assertion.PRESENT, True)),
    ],
)  # fmt: skip
def test_abbreviated_and_clause_level_medication_wording(extractor, text, generic, expected):
    found = medication(extractor.extract(text), generic)
    assert (found.assertion, found.prescribed) == expected
    assert found.status == MedicationStatus.ACTIVE


def test_what_a_condition_is_secondary_to_is_not_uncertain(extractor):
    """'2/2' is 'secondary to', which ends medspaCy's scopes: 'likely' is about the stroke's
    mechanism, not the atrial fibrillation it is due to."""
    result = extractor.extract("A/P: Acute ischemic stroke, likely cardioembolic 2/2 afib.")
    assert condition(result, "afib").assertion == Assertion.PRESENT


def test_ascites_is_a_condition(extractor):
    result = extractor.extract("Dx: Cirrhosis, decompensated (ascites, HE).")
    assert condition(result, "ascites").icd10_code == "R18.8"


@pytest.mark.parametrize(
    ("text", "prescribed"),
    [
        ("Plan: Cefdinir 14 mg/kg/day divided BID x 10 days. Ibuprofen 10 mg/kg q6h PRN.",
         {"cefdinir": True, "ibuprofen": True}),
        ("ASSESSMENT AND PLAN:\n1. Hypertension: continue lisinopril 10 mg daily.\n"
         "2. Diabetes. Metformin 500 mg BID.\n", {"lisinopril": False, "metformin": True}),
        ("HPI: Takes lisinopril 10 mg daily.\nPlan: Continue lisinopril.", {"lisinopril": False}),
        ("Plan: Cefdinir if no better.", {"cefdinir": False}),  # no sig: not an order
    ],
)  # fmt: skip
def test_a_plan_item_opening_with_a_drug_and_its_sig_is_an_order(extractor, text, prescribed):
    result = extractor.extract(text)
    assert {m.generic_name: m.prescribed for m in result.medications} == prescribed


def test_an_allergy_the_list_item_refutes_is_negated(extractor):
    """An allergist's or a challenge's verdict in the item: no allergy of the patient's."""
    text = (
        "Allergies: amoxicillin (rash - viral exanthem, not true allergy per allergist);"
        " penicillin - delabeled after oral challenge; sulfa (hives)."
    )
    found = [(a.substance, a.reaction, a.assertion) for a in extractor.extract(text).allergies]
    assert found == [
        ("amoxicillin", "rash - viral exanthem", Assertion.NEGATED),
        ("penicillin", None, Assertion.NEGATED),
        ("sulfa", "hives", Assertion.PRESENT),
    ]


@pytest.mark.parametrize(
    ("text", "generic", "assertion"),
    [
        ("Stop aspirin once apixaban started.", "apixaban", Assertion.HYPOTHETICAL),
        ("Check potassium when spironolactone is started.", "spironolactone",
         Assertion.HYPOTHETICAL),
        ("When lisinopril was started, she developed cough.", "lisinopril", Assertion.PRESENT),
        ("Continue enoxaparin until warfarin is therapeutic.", "warfarin", Assertion.PRESENT),
    ],
)  # fmt: skip
def test_a_drug_started_only_later_is_not_taken_yet(extractor, text, generic, assertion):
    assert medication(extractor.extract(text), generic).assertion == assertion


@pytest.mark.parametrize(
    ("text", "statuses"),
    [
        ("She was started on ceftriaxone, narrowed to cefazolin once sensitivities returned,"
         " then transitioned to oral cephalexin.",
         {"ceftriaxone": "stopped", "cefazolin": "stopped", "cephalexin": "active"}),
        ("Vancomycin was de-escalated to cefazolin.",
         {"vancomycin": "stopped", "cefazolin": "active"}),
        ("Lisinopril was changed to 20 mg daily.", {"lisinopril": "active"}),
    ],
)  # fmt: skip
def test_each_drug_of_a_chain_of_switches_is_stopped(extractor, text, statuses):
    """Regression: 'narrowed to' stopped nothing; a switch cue that spanned its new drug cut the
    next switch's scope short, so one drug of a chain stayed active."""
    result = extractor.extract(text)
    assert {m.generic_name: m.status.value for m in result.medications} == statuses


@pytest.mark.parametrize(
    ("text", "generic", "status"),
    [
        ("Plan: Hold sumatriptan (contraindicated in CAD).", "sumatriptan", "on-hold"),
        ("Stop ibuprofen - contraindicated with AKI.", "ibuprofen", "stopped"),
    ],
)
def test_a_drug_held_or_stopped_as_contraindicated_is_changed_not_never_taken(
    extractor, text, generic, status
):
    """Regression: 'contraindicated' negated the drug, so the hold was lost and the home list's
    sumatriptan stayed active; a drug only called contraindicated is still not taken."""
    result = extractor.extract(text + " Metformin contraindicated given eGFR 20.")
    assert medication(result, generic).status.value == status
    assert medication(result, generic).assertion == Assertion.PRESENT
    assert medication(result, "metformin").assertion == Assertion.NEGATED


EHR_MEDICATION_LIST = """Current Outpatient Medications
Medication Sig Dispense Refill
\u2022 metFORMIN (GLUCOPHAGE) 500 MG tablet Take 2 tablets (1,000 mg total) by mouth 2 (two) times daily with meals. 360 tablet 1
\u2022 albuterol (PROVENTIL HFA;VENTOLIN HFA) 108 (90 Base) MCG/ACT inhaler Inhale 2 puffs into the lungs every 6 (six) hours as needed for wheezing. 1 Inhaler 0
\u2022 insulin glargine (LANTUS SOLOSTAR) 100 UNIT/ML injection pen Inject 24 Units into the skin nightly. 15 mL 2
\u2022 lisinopril 10 MG tablet Take 2 tablets by mouth daily.
"""  # noqa: E501


def test_an_ehr_medication_lists_sig_after_the_product_strength(extractor):
    """Regression: the strength was the dose (metformin 500 mg, insulin 100 units/mL) and '2
    (two) times daily' was 'daily': half of metformin's dose, four times insulin's; a ';'
    inside the brand names ended albuterol's sig."""
    result = extractor.extract(EHR_MEDICATION_LIST)
    found = {m.generic_name: (m.dose_value, m.dose_unit, m.frequency) for m in result.medications}
    assert found == {
        "metformin": (1000.0, "mg", "2 (two) times daily with meals"),
        "albuterol": (2.0, "{puff}", "every 6 (six) hours as needed"),
        "insulin glargine": (24.0, "[iU]", "nightly"),
        "lisinopril": (20.0, "mg", "daily"),  # two 10 mg tablets
    }


def test_an_ehr_vitals_line(extractor):
    """As Epic prints it: 'Resp 16' was no respiratory rate."""
    text = (
        "BP 128/76 (BP Location: Left arm, Patient Position: Sitting) | Pulse 88 | Temp 98.6 °F"
        " (37 °C) (Oral) | Resp 16 | Ht 5' 6\" (1.676 m) | Wt 180 lb (81.6 kg) | SpO2 97% |"
        " BMI 29.05 kg/m²"
    )
    found = {o.loinc_code: (o.value, o.unit) for o in extractor.extract(text).observations}
    assert found == {
        "85354-9": (None, "mm[Hg]"),
        "8867-4": (88.0, "/min"),
        "8310-5": (98.6, "[degF]"),
        "9279-1": (16.0, "/min"),
        "8302-2": (66.0, "[in_i]"),
        "29463-7": (180.0, "[lb_av]"),
        "59408-5": (97.0, "%"),
        "39156-5": (29.05, "kg/m2"),
    }


@pytest.mark.parametrize(
    ("text", "generic", "expected"),
    [
        ("Stop aspirin once\napixaban started.", "apixaban",
         (Assertion.HYPOTHETICAL, MedicationStatus.ACTIVE, False)),
        ("Lung adenocarcinoma, s/p 4 cycles of\ncarboplatin.", "carboplatin",
         (Assertion.PRESENT, MedicationStatus.COMPLETED, False)),
        ("Depression screen positive -\nwill start sertraline 25 mg daily.", "sertraline",
         (Assertion.PRESENT, MedicationStatus.ACTIVE, True)),
    ],
)  # fmt: skip
def test_this_sessions_drug_wordings_read_across_a_line_wrap(extractor, text, generic, expected):
    """Found by the dev.sh canary: the PDF wrapped 'once' and 'apixaban' onto two lines."""
    found = medication(extractor.extract(text), generic)
    assert (found.assertion, found.status, found.prescribed) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # 'Given' opens a list of doses given: every item was given
            "ED course: Given heparin bolus 4000 units IV, ticagrelor 180 mg PO, atorvastatin "
            "80 mg PO. Nitroglycerin drip started.",
            {"heparin": "given", "ticagrelor": "given", "atorvastatin": "given",
             "nitroglycerin": "taken now"},
        ),
        (  # a remark in parentheses does not end the list 'previously tried' opens
            "Previously tried fluoxetine (GI upset) and escitalopram (ineffective). Now on "
            "sertraline 100 mg daily.",
            {"fluoxetine": "given", "escitalopram": "given", "sertraline": "taken now"},
        ),
        (  # the writer switches: the first drug stops, the second is ordered
            "Plan: Switch adalimumab to tofacitinib 5 mg twice daily. Continue methotrexate.",
            {"adalimumab": "stopped", "tofacitinib": "taken now", "methotrexate": "taken now"},
        ),
        (  # a dose taken before the patient came in is no drug the patient is on
            "She took aspirin 325 mg at home prior to arrival. He took his metoprolol this "
            "morning.",
            {"aspirin": "given", "metoprolol": "taken now"},
        ),
        (  # one dose at home ('took ibuprofen 400 mg once at home') is no drug he is on
            "He took ibuprofen 400 mg once at home at 05:00 with minimal relief.",
            {"ibuprofen": "given"},
        ),
        (  # a course the text says is over
            "Azithromycin was completed after 3 days.",
            {"azithromycin": "given"},
        ),
        (  # a stop list's item naming the drug that replaced it ('now on apixaban')
            "STOP TAKING:\nAspirin 81 mg daily - stopped, now on apixaban\n",
            {"aspirin": "stopped", "apixaban": "taken now"},
        ),
        (  # a history cue is the condition's; the drug continued is current
            "Given his history of atrial fibrillation, continue apixaban 5 mg twice daily.",
            {"apixaban": "taken now"},
        ),
    ],
)  # fmt: skip
def test_a_cue_reaches_the_list_or_drug_it_is_about(extractor, text, expected):
    """A dose given or a drug tried in the past ('given': completed or historical, both a
    completed MedicationStatement) is not a drug the patient takes now."""

    def what(m) -> str:
        if m.status == MedicationStatus.STOPPED:
            return "stopped"
        if m.status == MedicationStatus.COMPLETED or m.assertion == Assertion.HISTORICAL:
            return "given"
        return "taken now" if m.assertion == Assertion.PRESENT else m.assertion.value

    assert {m.generic_name: what(m) for m in extractor.extract(text).medications} == expected


@pytest.mark.parametrize(
    ("text", "ordered"),
    [
        ("Plan: Switch adalimumab to tofacitinib 5 mg twice daily.", {"tofacitinib"}),
        ("Plan:\n- Change from lisinopril to losartan 50 mg daily due to cough.", {"losartan"}),
        ("Will switch metoprolol to carvedilol 6.25 mg twice daily.", {"carvedilol"}),
        ("Metoprolol was switched to carvedilol 6.25 mg twice daily.", set()),
    ],
)
def test_a_drug_the_writer_switches_to_is_an_order(extractor, text, ordered):
    """'Switch X to Y' in a plan orders Y (the patient is not on it yet); a switch the history
    reports ('was switched to') is a drug the patient is on."""
    result = extractor.extract(text)
    assert {m.generic_name for m in result.medications if m.prescribed} == ordered


@pytest.mark.parametrize(
    ("text", "generic"),
    [
        ("Inhalers: Trelegy Ellipta 1 puff daily.", "fluticasone, umeclidinium, and vilanterol"),
        ("Give sodium zirconium cyclosilicate 10 g once.", "sodium zirconium cyclosilicate"),
    ],
)
def test_a_drug_name_of_several_words_is_read_in_narrative(extractor, text, generic):
    """The drug dictionary's names of several words that have a drug monograph."""
    assert [m.generic_name for m in extractor.extract(text).medications] == [generic]


def test_an_enzyme_or_a_phrase_of_english_words_is_no_drug(extractor):
    text = (
        "Phosphogluconate dehydrogenase deficiency. Ears and nose normal. Cough out of proportion."
    )
    assert extractor.extract(text).medications == []


@pytest.mark.parametrize(
    ("text", "present", "negated"),
    [
        (  # a cue inside an item of a ';' list is that item's
            "Diagnoses: migraine without aura; hypothyroidism; gout.",
            {"migraine without aura", "hypothyroidism", "gout"}, set(),
        ),
        (  # 'without' inside a name is no cue
            "Migraine without aura, hypothyroidism, gout.",
            {"migraine without aura", "hypothyroidism", "gout"}, set(),
        ),
        (  # one that opens the list reaches every item
            "Denies: chest pain; dyspnea; palpitations.",
            set(), {"chest pain", "dyspnea", "palpitations"},
        ),
        (
            "Cough without fever, chills, or night sweats.",
            {"cough"}, {"fever", "chills", "night sweats"},
        ),
    ],
)  # fmt: skip
def test_a_cue_reaches_only_the_items_it_is_about(extractor, text, present, negated):
    conditions = extractor.extract(text).conditions
    assert {c.text.lower() for c in conditions if c.assertion == Assertion.PRESENT} == present
    assert {c.text.lower() for c in conditions if c.assertion == Assertion.NEGATED} == negated


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Chronic hypoxic respiratory failure on 2 L home oxygen.", "J96.11"),
        ("Pulmonary nodule 6 mm RUL, stable.", "R91.1"),
        ("Anemia of CKD: check iron studies.", "D63.1"),
        ("Diabetic peripheral neuropathy.", "E11.42"),
        ("Type 2 diabetes mellitus with hyperglycemia.", "E11.65"),
        ("Uncontrolled type 2 diabetes.", "E11.65"),
        ("Chronic systolic heart failure, EF 30%.", "I50.22"),
        ("Acute on chronic diastolic CHF.", "I50.33"),
        ("Iron deficiency anaemia.", "D50.9"),  # British spellings of the curated terms
        ("Oesophagitis.", "K20.90"),
        ("Ischaemic heart disease.", "I25.9"),
        ("Lymphoedema of the left leg.", "I89.0"),
        ("Intermittent rectal bleeding.", "K62.5"),
        ("Chronic hepatitis B.", "B18.1"),  # a letter before a full stop is no initial
        ("History of hepatitis A as a child.", "B15.9"),
        ("Hepatitis C.", "B19.20"),
        ("Septic shock, on norepinephrine.", "R65.21"),
        ("E. coli bacteremia.", "R78.81"),
        ("Left ureteral stone, 6 mm.", "N20.1"),
        ("Small hiatal hernia.", "K44.9"),
        ("HFmrEF, LVEF 45%.", "I50.9"),
        ("Anemia of chemotherapy.", "D64.81"),
        ("Chemotherapy-induced neutropenia.", "D70.1"),
        ("Reactive airway disease.", "J45.909"),
    ],
)
def test_a_specific_diagnosis_gets_its_specific_code(extractor, text, code):
    assert [c.icd10_code for c in extractor.extract(text).conditions] == [code]


def test_a_route_before_a_drug_is_of_its_sentence(extractor):
    """'atorvastatin 80 mg PO. Nitroglycerin drip started.': the PO is the atorvastatin's."""
    result = extractor.extract("Given atorvastatin 80 mg PO. Nitroglycerin drip started.")
    assert {m.generic_name: m.route for m in result.medications} == {
        "atorvastatin": "oral",
        "nitroglycerin": None,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a rendered C-CDA's header row: the stay from ... to ...
            "Discharge Summary\n| Encounter | ID: 52838 (1.3.6.1), Date/Time: from October 2, 2012 "
            "to October 5, 2012 |\n",
            ("inpatient", "2012-10-02", "2012-10-05"),
        ),
        (  # one day, times only after the dash
            "Summary of Care\n| Encounter | ID: 2096, Date/Time: March 12, 2011 10:32AM - "
            "1:32PM |\n",
            ("ambulatory", "2011-03-12", None),
        ),
        (  # an undated document's title
            "EMERGENCY DEPARTMENT NOTE\nChief complaint: chest pain\n",
            ("emergency", None, None),
        ),
        (  # a history's emergency room is no title
            "Clinic follow-up\nShe went to the emergency room last year for asthma.\n",
            None,
        ),
        (  # a dated ED note's title says emergency
            "ED NOTE\nDate of visit: 07/04/2026\nCC: Chest pain.\n",
            ("emergency", "2026-07-04", None),
        ),
        (  # a transfer summary is of a hospital stay
            "TRANSFER SUMMARY\nFrom: Medical ICU  To: Step-down unit\nDate of transfer: "
            "09/21/2026\n",
            ("inpatient", "2026-09-21", None),
        ),
        (  # an operative report's date
            "OPERATIVE REPORT\nDate of surgery: 04/11/2026\nProcedure: Laparoscopic "
            "cholecystectomy.\n",
            ("ambulatory", "2026-04-11", None),
        ),
    ],
)  # fmt: skip
def test_the_encounter_of_a_header_row_or_a_title(extractor, text, expected):
    encounters = extractor.extract(text).encounters
    found = [(e.encounter_class, e.start_date, e.end_date) for e in encounters]
    assert found == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a described part of a procedures line is skipped, not the whole line
            "Procedures: Chest CT with contrast (02/04/2026); transthoracic echocardiogram "
            "(02/05/2026); PICC line placement was not required.",
            [("Chest CT with contrast", "2026-02-04"),
             ("transthoracic echocardiogram", "2026-02-05")],
        ),
        (  # unmarked study lines under a procedures header
            "PROCEDURES:\nChest CT with contrast (02/04/2026)\nTransthoracic echocardiogram\n"
            "Hospital course: uneventful.\n",
            [("Chest CT with contrast", "2026-02-04"), ("Transthoracic echocardiogram", None)],
        ),
        (  # a study in a medical history list is no procedure
            "PMH:\n- Hypertension\n- Chest CT 2019\n",
            [],
        ),
        ("AV fistula was placed in left arm in 2025.", [("AV fistula placement", None)]),
    ],
)  # fmt: skip
def test_procedures_a_procedures_list_or_a_placement_names(extractor, text, expected):
    found = [(p.text, p.performed_date) for p in extractor.extract(text).procedures]
    assert found == expected


@pytest.mark.parametrize(
    "text",
    [
        "Immunizations given today: MMR, varicella, hepatitis A, PCV13 #4.",
        "Vaccines due: hepatitis A #2, influenza.",
        "Patient was given the following immunizations: influenza, seasonal, td (adult), hep b, "
        "adult.",
    ],
)
def test_a_vaccine_lists_diseases_are_no_conditions(extractor, text):
    assert extractor.extract(text).conditions == []


def test_a_vaccine_list_ends_with_its_sentence(extractor):
    result = extractor.extract("Immunizations: up to date. Hypertension, diabetes.")
    assert [c.icd10_code for c in result.conditions] == ["I10", "E11.9"]


def test_a_range_of_values_in_words_is_no_result(extractor):
    """'glucose 150s-180s' describes a range; 'Glu 156' is the result."""
    result = extractor.extract("Glu 156. DM2 - glucose 150s-180s on insulin glargine.")
    assert [(o.name, o.value) for o in result.observations] == [("Glu", 156.0)]


@pytest.mark.parametrize(
    ("text", "taken_now"),
    [
        ("History of eczema, controlled with emollients and hydrocortisone 1% cream.", True),
        ("History of latent TB, treated with rifampin in 2017.", False),
    ],
)
def test_a_drug_that_controls_a_past_diagnosis_is_taken_now(extractor, text, taken_now):
    [medication] = extractor.extract(text).medications
    assert (medication.assertion == Assertion.PRESENT) == taken_now


def test_a_meds_label_after_a_medical_history_is_the_current_list(extractor):
    """Regression: 'Meds:' was no section title, so the drugs after 'PMH:' were history
    (completed)."""
    text = (
        "PMH: HTN, HLD, gout.\n"
        "Meds: amlodipine 10 mg daily; allopurinol 300 mg daily; finasteride 5 mg daily - stopped "
        "6 months ago.\n"
    )
    found = {m.generic_name: (m.status, m.assertion) for m in extractor.extract(text).medications}
    assert found == {
        "amlodipine": (MedicationStatus.ACTIVE, Assertion.PRESENT),
        "allopurinol": (MedicationStatus.ACTIVE, Assertion.PRESENT),
        "finasteride": (MedicationStatus.STOPPED, Assertion.PRESENT),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a drug a discharge list stops is no order
            "Discharge medications:\n1. Metformin 1000 mg orally twice daily\n"
            "Stopped medications: lisinopril (because of AKI).\n",
            {"metformin": (MedicationStatus.ACTIVE, True),
             "lisinopril": (MedicationStatus.STOPPED, False)},
        ),
        (  # a plan item's cue ends at its ';'; the next item's drug is an order
            "Plan: biopsy scheduled for 4/2; hold aspirin 7 days before biopsy; ciprofloxacin "
            "500 mg PO once 1 hour before procedure.",
            {"aspirin": (MedicationStatus.ON_HOLD, False),
             "ciprofloxacin": (MedicationStatus.ACTIVE, True)},
        ),
    ],
)  # fmt: skip
def test_which_drugs_a_list_or_plan_orders(extractor, text, expected):
    found = {m.generic_name: (m.status, m.prescribed) for m in extractor.extract(text).medications}
    assert found == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Celiac disease - strict gluten-free diet.", "K90.0"),  # 'gluten-free' negates nothing
        ("Lactose intolerance, on lactose-free diet.", "E73.9"),
        ("C. diff colitis.", "A04.72"),
        ("Hashimoto thyroiditis on levothyroxine.", "E06.3"),
    ],
)
def test_a_diagnosis_with_a_compound_word_or_an_eponym(extractor, text, code):
    conditions = extractor.extract(text).conditions
    assert [(c.icd10_code, c.assertion) for c in conditions] == [(code, Assertion.PRESENT)]


def test_a_given_that_means_because_leaves_the_list_to_its_verb(extractor):
    """'hold sacubitril-valsartan and spironolactone given AKI': both are held."""
    text = "Continue carvedilol; hold sacubitril-valsartan and spironolactone given AKI and K 5.2."
    found = {m.generic_name: m.status for m in extractor.extract(text).medications}
    assert found["spironolactone"] == MedicationStatus.ON_HOLD
    assert found["carvedilol"] == MedicationStatus.ACTIVE


def test_a_route_before_the_next_drug_is_that_drugs(extractor):
    text = "Hypertension treated with ramipril 5 mg daily, and she uses topical diclofenac gel."
    found = {m.generic_name: m.route for m in extractor.extract(text).medications}
    assert found == {"ramipril": None, "diclofenac": "topical"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PSH: CABG x3 2015, ICD placement 2017, TURP 2020",
         [("CABG", "2015"), ("ICD placement", "2017"), ("TURP", "2020")]),
        ("s/p right total knee arthroplasty on 01/12/2026 for osteoarthritis.",
         [("right total knee arthroplasty", "2026-01-12")]),
        ("He underwent CABG in 2015 and PCI in 2019.", [("CABG", "2015"), ("PCI", "2019")]),
    ],
)  # fmt: skip
def test_a_procedures_year_or_date_after_its_name(extractor, text, expected):
    found = [(p.text, p.performed_date) for p in extractor.extract(text).procedures]
    assert found == expected


@pytest.mark.parametrize(
    ("text", "present", "negated"),
    [
        ("Chest pain, unlikely ACS.", {"chest pain"}, {"acs"}),
        ("ACS unlikely.", set(), {"acs"}),
        ("Pulmonary embolism is less likely given Wells score 0.", set(), {"pulmonary embolism"}),
        ("Cultures negative; sepsis was excluded.", set(), {"sepsis"}),
        ("Hypertension. Lymphoma is unlikely.", {"hypertension"}, {"lymphoma"}),
    ],
)  # fmt: skip
def test_a_doubted_or_excluded_diagnosis_is_not_the_patients(extractor, text, present, negated):
    """Regression: 'Pulmonary embolism is less likely' and 'sepsis was excluded' were confirmed
    diagnoses; 'Chest pain, unlikely ACS' negated the chest pain (medspaCy's 'unlikely' looks
    back only)."""
    conditions = extractor.extract(text).conditions
    assert {c.text.lower() for c in conditions if c.assertion == Assertion.PRESENT} == present
    assert {c.text.lower() for c in conditions if c.assertion == Assertion.NEGATED} == negated


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Spironolactone was not started due to potassium 5.3.",
         {"spironolactone": Assertion.NEGATED}),
        ("Gout flare treated with prednisone; colchicine avoided due to renal function.",
         {"prednisone": Assertion.PRESENT, "colchicine": Assertion.NEGATED}),
        ("Plan: Cefdinir 300 mg PO BID. Amoxicillin not prescribed due to allergy.",
         {"cefdinir": Assertion.PRESENT, "amoxicillin": Assertion.NEGATED}),
        ("Continue ceftriaxone; may transition to oral cefpodoxime if cultures allow.",
         {"ceftriaxone": Assertion.PRESENT, "cefpodoxime": Assertion.HYPOTHETICAL}),
        ("Tried OTC hydrocortisone 1% without benefit.", {"hydrocortisone": Assertion.HISTORICAL}),
    ],
)  # fmt: skip
def test_a_drug_not_started_avoided_or_only_proposed_is_not_taken(extractor, text, expected):
    """Regression: 'Spironolactone was not started', 'colchicine avoided', 'Amoxicillin not
    prescribed due to allergy' and 'may transition to oral cefpodoxime if cultures allow' were
    drugs the patient takes."""
    found = {m.generic_name: m.assertion for m in extractor.extract(text).medications}
    assert found == expected


def test_a_drug_to_discontinue_today_is_stopped(extractor):
    text = "Medications:\npantoprazole 40 mg IV daily - discontinue today\nheparin 5000 units q8h\n"
    found = {m.generic_name: m.status for m in extractor.extract(text).medications}
    assert found == {"pantoprazole": MedicationStatus.STOPPED, "heparin": MedicationStatus.ACTIVE}


@pytest.mark.parametrize(
    ("text", "generic", "dose"),
    [
        ("Medications:\nSenna 8.6 mg 2 tablets qHS\n", "senna", 17.2),
        ("Medications:\nDexamethasone 4 mg - 2 tablets twice daily\n", "dexamethasone", 8.0),
        ("Plan: Cefdinir 14 mg/kg/day = 240 mg PO daily x 10 days.", "cefdinir", 240.0),
    ],
)
def test_the_dose_is_the_tablets_taken_or_the_dose_worked_out(extractor, text, generic, dose):
    """Regression: 'Senna 8.6 mg 2 tablets' was 8.6 mg, '14 mg/kg/day = 240 mg' had no dose."""
    assert medication(extractor.extract(text), generic).dose_value == dose


@pytest.mark.parametrize(
    "text",
    [
        "Medications:\nSenna 8.6 mg 2 tablets qHS\n",  # 'mg' after a number is its unit
        "Objective: Fundal height 28 cm, FHR 142 bpm, fetal heart rate 140 bpm.",
        "Newborn exam. Birth weight 3.2 kg.",
    ],
)
def test_no_vital_or_result_of_the_patient_from_a_unit_or_anothers_measure(extractor, text):
    """Regression: 'Senna 8.6 mg 2 tablets' was a magnesium of 2, 'Fundal height 28 cm' a body
    height, 'fetal heart rate 140' the patient's heart rate."""
    assert extractor.extract(text).observations == []


def test_a_short_analyte_name_is_still_read_after_a_comma(extractor):
    result = extractor.extract("Labs: k 3.5, mg 1.8. Mg 2.0 after repletion.")
    found = sorted((o.name.lower(), o.value) for o in result.observations)
    assert found == [("k", 3.5), ("mg", 1.8), ("mg", 2.0)]


def test_a_cue_opening_a_line_under_a_heading_is_of_its_line(extractor):
    """Regression: 'Assessment:\\nRule out bipolar disorder' took the line break into the cue
    and the cue into the heading's sentence: the bipolar disorder was confirmed."""
    result = extractor.extract("Assessment:\nRule out bipolar disorder - no evidence of mania.")
    assert [(c.text, c.assertion) for c in result.conditions] == [
        ("bipolar disorder", Assertion.POSSIBLE)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# Stress hyperglycemia; no history of diabetes.", {"hyperglycemia"}),
        ("Stress urinary incontinence.", {"urinary incontinence"}),
        ("Problems: hypertension, diabetes", {"hypertension", "diabetes"}),
    ],
)
def test_a_word_that_qualifies_the_next_condition_is_no_condition(extractor, text, expected):
    """Regression: 'Stress hyperglycemia' was a condition 'Stress' (Z73.3)."""
    conditions = extractor.extract(text).conditions
    assert {c.text.lower() for c in conditions if c.assertion == Assertion.PRESENT} == expected


def test_a_result_below_a_limit_written_with_a_space_and_a_vital_target(extractor):
    """Regression: 'Troponin T < 0.01 ng/mL' was lost; a vital sign with a comparator is a
    target ('titrate to HR < 110'), not a measurement."""
    text = "Troponin T < 0.01 ng/mL. Metoprolol, titrate to HR < 110. HR 88."
    found = [(o.name, o.value, o.value_text) for o in extractor.extract(text).observations]
    assert sorted(found) == [("HR", 88.0, None), ("Troponin T", 0.01, "<0.01")]


@pytest.mark.parametrize(
    "text",
    [
        "ICU PROGRESS NOTE\nHospital day 5, MICU\nDate: 11/20/2026\nWeaned from pressors.",
        "Hospitalist Progress Note\nStable overnight.",
    ],
)
def test_an_icu_or_hospital_day_title_is_an_inpatient_stay(extractor, text):
    assert [e.encounter_class for e in extractor.extract(text).encounters] == ["inpatient"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Gout flare treated with prednisone.", "M10.9"),  # the category M10's unspecified code
        ("Whooping cough.", "A37.90"),
    ],
)
def test_a_term_of_an_icd10_category_gets_its_unspecified_billable_code(extractor, text, code):
    assert [c.icd10_code for c in extractor.extract(text).conditions] == [code]


@pytest.mark.parametrize(
    "text",
    ["Follow-up: Heart failure clinic in 1 week.", "Referred to diabetes education class."],
)
def test_a_clinic_or_class_named_for_a_condition_asserts_none(extractor, text):
    assert extractor.extract(text).conditions == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Allergies: Lisinopril - angioedema? (unclear history). Sulfa (rash).",
         [("Lisinopril", "angioedema", Assertion.POSSIBLE), ("Sulfa", "rash", Assertion.PRESENT)]),
        ("Allergies: Morphine? - itching only", [("Morphine", "itching only", Assertion.POSSIBLE)]),
        ("Allergies: codeine (possible hives)",
         [("codeine", "possible hives", Assertion.POSSIBLE)]),
    ],
)  # fmt: skip
def test_an_allergy_the_list_doubts_is_possible(extractor, text, expected):
    """Regression: 'Morphine? - itching only' was a confirmed allergy."""
    found = [(a.substance, a.reaction, a.assertion) for a in extractor.extract(text).allergies]
    assert found == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Assessment: Elevated PSA - prostate cancer not excluded.", Assertion.POSSIBLE),
        ("Sepsis not ruled out; cultures pending.", Assertion.POSSIBLE),
        ("Ondansetron 4 mg IV q6h PRN nausea.", Assertion.HYPOTHETICAL),  # a PRN's indication
    ],
)
def test_a_diagnosis_not_excluded_is_possible_and_a_prns_indication_hypothetical(
    extractor, text, expected
):
    """Regression: 'prostate cancer not excluded' was negated ('excluded'), 'PRN nausea' an
    active condition."""
    assert [c.assertion for c in extractor.extract(text).conditions] == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a list label opens a medications section, even after a history
            "History: 40 pack-year smoker.\nCurrent inhalers: albuterol MDI 2 puffs q4-6h PRN; "
            "tiotropium 18 mcg inhaled daily.",
            {"albuterol": Assertion.PRESENT, "tiotropium": Assertion.PRESENT},
        ),
        (  # 'Prior:' lists drugs of the past
            "Prior: sulfasalazine (stopped for nausea), etanercept (loss of response 2024).\n"
            "Current treatment: methotrexate 20 mg weekly.",
            {"sulfasalazine": Assertion.HISTORICAL, "etanercept": Assertion.HISTORICAL,
             "methotrexate": Assertion.PRESENT},
        ),
        (  # a plan item on a condition, a drug that 'may be tried'
            "Plan:\n- Azithromycin 250 mg three times weekly if exacerbations continue.\n"
            "- Melatonin 3 mg at bedtime may be tried for sleep.\n- Continue tiotropium.",
            {"azithromycin": Assertion.HYPOTHETICAL, "melatonin": Assertion.HYPOTHETICAL,
             "tiotropium": Assertion.PRESENT},
        ),
        (  # an 'if' that names a symptom says when to take the drug: taken as needed
            "Medications:\nNitroglycerin SL if chest pain\nMetoprolol 25 mg BID\n",
            {"nitroglycerin": Assertion.PRESENT, "metoprolol": Assertion.PRESENT},
        ),
    ],
)  # fmt: skip
def test_which_drugs_a_label_or_plan_item_makes_past_or_proposed(extractor, text, expected):
    """Regression: the inhalers under a 'History:' heading were history, 'etanercept (loss of
    response 2024)' under 'Prior:' a drug taken now, 'Azithromycin ... if exacerbations
    continue' and 'Melatonin ... may be tried' active orders."""
    found = {m.generic_name: m.assertion for m in extractor.extract(text).medications}
    assert found == expected


def test_a_table_rows_cue_is_not_about_the_next_rows_drug(extractor):
    """Regression: 'No - hold' ending a row of a barred table held (and negated) the drug of the
    next row."""
    text = (
        "Medication | Dose | Frequency | Continue on admission?\n"
        "Metformin | 1000 mg | BID | No - hold (contrast)\n"
        "Glipizide | 5 mg | daily | Yes\n"
    )
    found = {m.generic_name: (m.status, m.assertion) for m in extractor.extract(text).medications}
    assert found["glipizide"] == (MedicationStatus.ACTIVE, Assertion.PRESENT)


def test_a_letters_writer_starts_and_stops_drugs(extractor):
    """Regression: 'I have started her on apixaban' was no order and 'clopidogrel ..., which I
    have asked her to stop' a drug she takes."""
    text = (
        "I have started her on apixaban 5 mg twice daily. She takes clopidogrel 75 mg daily, "
        "which I have asked her to stop now that she is anticoagulated."
    )
    found = {m.generic_name: (m.status, m.prescribed) for m in extractor.extract(text).medications}
    assert found == {
        "apixaban": (MedicationStatus.ACTIVE, True),
        "clopidogrel": (MedicationStatus.STOPPED, False),
    }


def test_a_condition_dated_to_a_year_is_history(extractor):
    """Regression: 'She had a TIA in 2019' was a current TIA."""
    found = {c.text: c.assertion for c in extractor.extract("She had a TIA in 2019.").conditions}
    assert found == {"TIA": Assertion.HISTORICAL}


def test_a_bracketed_not_taking_is_the_drugs_before_it(extractor):
    """Regression: 'Flovent HFA 110 mcg 2 puffs BID (not taking), albuterol HFA PRN' was a
    drug she takes."""
    text = "Meds: Flovent HFA 110 mcg 2 puffs BID (not taking), montelukast 10 mg daily."
    found = {m.generic_name: m.assertion for m in extractor.extract(text).medications}
    assert found == {"fluticasone": Assertion.NEGATED, "montelukast": Assertion.PRESENT}


def test_a_resolved_label_opens_a_list_of_resolved_problems(extractor):
    """Regression: 'Resolved: Postoperative delirium; acute blood loss anemia.' left the anemia
    active (the cue reached four words)."""
    text = (
        "Active problems: osteoporosis.\nResolved: Postoperative delirium; acute blood loss anemia."
    )
    found = {c.text: c.resolved for c in extractor.extract(text).conditions}
    assert found == {"osteoporosis": False, "delirium": True, "acute blood loss anemia": True}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Evaluate for DVT.", {"DVT": Assertion.POSSIBLE}),  # medspaCy's default negated it
        ("Viral versus bacterial pneumonia.", {"bacterial pneumonia": Assertion.POSSIBLE}),
        ("HTN vs white coat hypertension.",
         {"HTN": Assertion.POSSIBLE, "hypertension": Assertion.POSSIBLE}),
    ],
)  # fmt: skip
def test_a_work_up_or_a_differential_is_possible(extractor, text, expected):
    """Regression: 'Evaluate for DVT' negated the DVT; a differential ('X vs Y') asserted both."""
    assert {c.text: c.assertion for c in extractor.extract(text).conditions} == expected


def test_a_drug_the_patient_ran_out_of_is_stopped(extractor):
    text = "Lisinopril 10 mg daily - patient ran out 2 weeks ago."
    found = {m.generic_name: m.status for m in extractor.extract(text).medications}
    assert found == {"lisinopril": MedicationStatus.STOPPED}
