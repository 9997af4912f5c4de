"""The offline provider on what a hospital writes every day: medication reconciliations, problem-
based progress notes, ED and anaesthesia notes, pharmacy consults, UK and Australian discharge
letters (2026-12-05, seventeenth session). Each case is short text of our own in the layout those
documents print; each failed on the code before its rule unless it says it is a guard."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import Assertion, MedicationStatus


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def conditions(extractor: OfflineExtractor, text: str) -> dict[str, tuple[Assertion, bool]]:
    return {c.text.lower(): (c.assertion, c.resolved) for c in extractor.extract(text).conditions}


def medications(extractor: OfflineExtractor, text: str) -> dict[str, tuple]:
    return {
        m.text.lower(): (m.status, m.dose_value, m.dose_unit, m.frequency)
        for m in extractor.extract(text).medications
        if m.assertion == Assertion.PRESENT
    }


ACTIVE = (Assertion.PRESENT, False)
RESOLVED = (Assertion.HISTORICAL, True)


@pytest.mark.parametrize(
    ("line", "drug"),
    [
        ("Norco 10-325 mg one tablet every 6 hours as needed", "norco"),
        ("Percocet 5-325 mg 1 tab q6h prn pain", "percocet"),
        ("Augmentin 875-125 mg BID x 7 days", "augmentin"),
        ("Entresto 49-51 mg BID", "entresto"),
    ],
)
def test_a_brand_combinations_strength_is_no_dose(extractor, line, drug):
    """Regression: 'Norco 10-325 mg' gave a dose of 325 mg (thirty times the opioid's); the
    drug dictionary says the brand is a combination, so the strength of its parts is no dose."""
    found = medications(extractor, f"Medications:\n  {line}\n")
    assert found[drug][1] is None


def test_a_spaced_dash_after_a_combinations_strength_starts_its_sig(extractor):
    """Guard: '160/4.5 mcg - 2 puffs' keeps its two puffs."""
    found = medications(extractor, "Medications:\n  Symbicort 160/4.5 mcg - 2 puffs BID\n")
    assert found["symbicort"][1:3] == (2.0, "{puff}")


@pytest.mark.parametrize(
    ("line", "drug", "dose"),
    [
        ("Ibuprofen 200 mg tablet  400 mg PO q6h PRN pain", "ibuprofen", 400.0),
        ("Gabapentin 300 mg capsule - 600 mg at bedtime", "gabapentin", 600.0),
        # the tablets taken after the tablet's strength and its form: their total
        ("Senna 8.6 mg tab 2 tabs qHS", "senna", 17.2),
        ("Metoprolol tartrate 25 mg tab 0.5 tab BID", "metoprolol tartrate", 12.5),
        # guards: a limit, another unit, the next line's drug
        ("Metformin 500 mg tablet, 1 tablet twice daily, max 2000 mg", "metformin", 500.0),
        ("Vitamin D3 50 mcg tablet (2000 units) daily", "vitamin d3", 50.0),
        ("Enalapril 10 mg tablet daily\n  Amlodipine 5 mg daily", "enalapril", 10.0),
    ],
)
def test_a_tablets_strength_before_its_dose_is_no_dose(extractor, line, drug, dose):
    """Regression (18th session): 'Ibuprofen 200 mg tablet  400 mg PO' gave 200 mg, half the
    dose the line orders, and 'Senna 8.6 mg tab 2 tabs' 8.6 mg: the strength a dose form
    follows is the tablet's."""
    assert medications(extractor, f"Medications:\n  {line}\n")[drug][1] == dose


@pytest.mark.parametrize(
    ("written", "condition"),
    [
        ("Hypokalaemia on admission, replaced", "hypokalaemia"),
        ("Hyponatraemia", "hyponatraemia"),
        ("Obstructive sleep apnoea on CPAP", "obstructive sleep apnoea"),
        ("Coeliac disease", "coeliac disease"),
        ("Hyperlipidaemia", "hyperlipidaemia"),
        ("Dyspnoea on exertion", "dyspnoea on exertion"),
    ],
)
def test_british_spellings_name_the_condition(extractor, written, condition):
    """Regression: UK and Australian letters' '-aemia', '-pnoea' and 'coeliac' matched nothing."""
    assert conditions(extractor, f"Diagnoses:\n1. {written}\n")[condition] == ACTIVE


@pytest.mark.parametrize(
    ("line", "condition", "expected"),
    [
        (
            "Community acquired pneumonia - treated, clinically resolved",
            "community acquired pneumonia",
            RESOLVED,
        ),
        ("Gout flare - settled", "gout flare", RESOLVED),
        ("C. diff colitis, has not recurred", "c. diff colitis", RESOLVED),
        ("Cellulitis - not resolved", "cellulitis", ACTIVE),  # guard
        ("Cellulitis - unresolved", "cellulitis", ACTIVE),  # guard
        ("Cellulitis - not yet resolved", "cellulitis", ACTIVE),  # guard
    ],
)
def test_a_status_after_a_problems_name(extractor, line, condition, expected):
    assert conditions(extractor, f"PROBLEMS AT DISCHARGE:\n1. {line}\n")[condition] == expected


def observations(extractor: OfflineExtractor, text: str) -> dict[str, tuple]:
    return {
        o.name: (o.value, o.unit, o.effective_date) for o in extractor.extract(text).observations
    }


def test_a_contacts_relative_is_not_the_next_lines_family(extractor):
    """Regression: the PDF's text drops the blank line, PyRuSH joined 'Emergency contact:
    daughter Ana (...)' and the next sentence, and the patient's conditions were the daughter's."""
    text = "Emergency contact: daughter Ana (555-0142)\nShe has atrial fibrillation and diabetes.\n"
    assert conditions(extractor, text) == {"atrial fibrillation": ACTIVE, "diabetes": ACTIVE}


@pytest.mark.parametrize(
    "text",
    [
        "PMH: Nil history of heart failure.\n",
        "Background: Nil heart failure. Hypertension.\n",
    ],
)
def test_nil_negates(extractor, text):
    """Regression: UK and Australian letters write 'Nil' for 'no'."""
    assert conditions(extractor, text)["heart failure"][0] == Assertion.NEGATED


def test_a_regimen_the_disease_progressed_after_is_stopped(extractor):
    text = (
        "Metastatic pancreatic adenocarcinoma, progressing after second-line\n"
        "gemcitabine/nab-paclitaxel. Now on rituximab.\n"
    )
    found = medications(extractor, text)
    assert {name: found[name][0] for name in found} == {
        "gemcitabine": MedicationStatus.STOPPED,
        "paclitaxel": MedicationStatus.STOPPED,
        "rituximab": MedicationStatus.ACTIVE,
    }


MEDICATION_RECONCILIATION = (
    "HOME MEDICATION                DOSE / ROUTE / FREQ      LAST DOSE   ADMISSION ACTION\n"
    "Lisinopril 20 mg tablet        20 mg PO daily           11/01 AM    HOLD - AKI, Cr 2.4\n"
    "Furosemide 40 mg tablet        40 mg PO daily           11/01 AM    DISCONTINUE - dry\n"
    "Metoprolol succinate 50 mg     50 mg PO daily           11/01 AM    CONTINUE\n"
    "Clopidogrel 75 mg daily - STOP 5 days before surgery\n"
)
DISCHARGE_LETTER = (
    "DISCHARGE MEDICATIONS\n"
    "  Colchicine 500mcg BD - CEASED (diarrhoea)\n"
    "  Perindopril 5mg mane - WITHHELD, restart when GP reviews K+\n"
    "  Prednisolone 40mg mane - last dose 18/06 - COMPLETED, no taper\n"
    "  Heparin 5000 units subcut q8h - NOT ORDERED (on apixaban)\n"
    "  Apixaban 5 mg BD\n"
)


@pytest.mark.parametrize(
    ("text", "drug", "status"),
    [
        (MEDICATION_RECONCILIATION, "lisinopril", MedicationStatus.ON_HOLD),
        (MEDICATION_RECONCILIATION, "furosemide", MedicationStatus.STOPPED),
        (MEDICATION_RECONCILIATION, "metoprolol succinate", MedicationStatus.ACTIVE),  # guard
        # a stop to come is no stop now (guard)
        (MEDICATION_RECONCILIATION, "clopidogrel", MedicationStatus.ACTIVE),
        (DISCHARGE_LETTER, "colchicine", MedicationStatus.STOPPED),
        (DISCHARGE_LETTER, "perindopril", MedicationStatus.ON_HOLD),
        (DISCHARGE_LETTER, "prednisolone", MedicationStatus.COMPLETED),
        (DISCHARGE_LETTER, "apixaban", MedicationStatus.ACTIVE),  # guard
    ],
)
def test_an_action_word_after_a_drugs_line_with_its_reason(extractor, text, drug, status):
    """Regression: an action column or a dash status followed by its reason ('HOLD - AKI',
    '- CEASED (diarrhoea)') left the drug active."""
    assert medications(extractor, text)[drug][0] == status


def test_a_drug_not_ordered_is_not_taken(extractor):
    found = medications(extractor, DISCHARGE_LETTER)
    assert "heparin" not in found


def test_a_course_a_discharge_list_says_is_completed_is_no_order(extractor):
    found = {m.text.lower(): m.prescribed for m in extractor.extract(DISCHARGE_LETTER).medications}
    assert found["prednisolone"] is False
    assert found["apixaban"] is True  # guard


@pytest.mark.parametrize(
    ("line", "frequency"),
    [
        ("Apixaban 2.5mg BD", "BD"),
        ("Ramipril 5mg OD", "OD"),
        ("Sertraline 50mg mane", "mane"),
        ("Zopiclone 3.75mg nocte", "nocte"),
        ("Metformin 500mg TDS", "TDS"),
        ("Paracetamol 1g QDS PRN", "QDS PRN"),
    ],
)
def test_uk_frequencies(extractor, line, frequency):
    """Regression: OD, BD, TDS, QDS, mane and nocte were dropped from the sig."""
    found = medications(extractor, f"DISCHARGE MEDICATIONS\n  {line}\n")
    assert next(iter(found.values()))[3] == frequency


def test_an_arrow_points_to_the_current_value(extractor):
    """Regression: 'Cr 142 -> 88' reported the admission value 142 as the result."""
    found = observations(extractor, "Results: Cr 142 -> 88, Na 129 -> 136 -> 138.\n")
    assert (found["Cr"][0], found["Na"][0]) == (88.0, 138.0)


def test_a_trend_rows_result_is_its_newest_dates_column(extractor):
    """Regression: a row of a trend table gave its oldest value as the result, without unit."""
    text = (
        "Labs:          9/16/2026   9/17/2026   9/18/2026\n"
        "WBC            18.2        14.0        11.1   K/uL\n"
        "Potassium      5.4         4.6         4.1    mmol/L\n"
    )
    found = observations(extractor, text)
    assert found["Potassium"] == (4.1, "mmol/L", "2026-09-18")
    assert found["WBC"][0] == 11.1


def test_newest_first_trend_columns(extractor):
    text = "Labs     11/03/2026   11/02/2026\nHemoglobin   8.7     9.1 g/dL\n"
    assert observations(extractor, text)["Hemoglobin"][:2] == (8.7, "g/dL")


def test_a_result_with_its_bounds_in_columns_keeps_its_value(extractor):
    """Guard: no dates above, so the numbers after the result are its range's bounds."""
    assert observations(extractor, "WBC 7.2 4.0 11.0\n")["WBC"][0] == 7.2


@pytest.mark.parametrize(
    ("text", "old", "new"),
    [
        (
            "Narrowed vancomycin/cefepime to ceftriaxone 2 g daily.\n",
            "vancomycin / cefepime",
            "ceftriaxone",
        ),
        (
            "Stepped down from doxycycline to oral cefuroxime on 17/06.\n",
            "doxycycline",
            "cefuroxime",
        ),
        ("Plan: Metformin 1000 mg BID replacing glipizide.\n", "glipizide", "metformin"),
    ],
)
def test_a_switched_or_replaced_drug_is_stopped(extractor, text, old, new):
    """Regression: the drug given up stayed active beside its successor."""
    found = medications(extractor, text)
    assert (found[old][0], found[new][0]) == (MedicationStatus.STOPPED, MedicationStatus.ACTIVE)


def test_a_rules_bounds_are_no_results(extractor):
    """Regression: '(threshold Hgb < 7)' and 'parameters met (ANC > 1.0, Plt > 100)' were the
    patient's results."""
    text = (
        "Transfuse if Hgb < 7 (threshold Hgb < 7). Treatment parameters met (ANC > 1.0,\n"
        "Plt > 100). ANC 4.1, Plt 198.\n"
    )
    assert observations(extractor, text) == {"ANC": (4.1, None, None), "Plt": (198.0, None, None)}


def test_st_depression_is_an_ecg_finding(extractor):
    """Regression: '1.5 mm ST depression V4-V6' was a depressive disorder (F32.A)."""
    text = "ECG: sinus rhythm, 1.5 mm ST depression V4-V6.\n"
    assert "depression" not in conditions(extractor, text)


@pytest.mark.parametrize(
    "text",
    ["Allergies: [x] Yes - cefuroxime (hives)\n", "Allergies: Yes - cefuroxime (hives)\n"],
)
def test_a_forms_yes_before_an_allergy(extractor, text):
    """Regression: the answer 'Yes' was the allergen, or the allergen the reaction."""
    found = {a.substance: a.reaction for a in extractor.extract(text).allergies}
    assert found == {"cefuroxime": "hives"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "1. Acute kidney injury on CKD 3a: creatinine back to 1.4 (baseline), resolved.",
            {"acute kidney injury": RESOLVED, "ckd 3a": ACTIVE},
        ),
        ("2. Delirium secondary to UTI - resolved", {"delirium": RESOLVED, "uti": ACTIVE}),
        (
            "3. Hypoglycaemia on admission due to poor intake, resolved once eating.",
            {"hypoglycaemia": RESOLVED},
        ),
        # guards: a cue right after another problem is that problem's; a negated cue is none
        (
            "4. Diabetes: A1c 7.2, hypoglycemia resolved",
            {"diabetes": ACTIVE, "hypoglycemia": RESOLVED},
        ),
        ("5. Hypertension - not resolved", {"hypertension": ACTIVE}),
    ],
)
def test_a_status_clause_ending_an_item_is_about_its_first_problem(extractor, line, expected):
    """Regression: the cue resolved the mention nearest it ('on CKD 3a': a chronic disease
    resolved) and left the item's problem active."""
    assert conditions(extractor, f"PROBLEM STATUS AT DISCHARGE\n{line}\n") == expected


@pytest.mark.parametrize(
    "line",
    [
        "oxycodone 5-10 mg PO q4h PRN pain",
        "morphine 2 to 4 mg IV q2h prn pain",
        "insulin lispro 2-10 units subcut with meals per sliding scale",
    ],
)
def test_a_dose_range_is_no_one_dose(extractor, line):
    """Regression: 'oxycodone 5-10 mg' was a dose of 10 mg; the next line's dose ('Vitamin D
    1000 units') must not take its place. The drug is still read (a range is a sig)."""
    found = medications(extractor, f"Medications:\n  {line}\n  Vitamin D 1000 units daily\n")
    drug = next(name for name in found if name != "vitamin d")
    assert found[drug][1] is None
    assert found["vitamin d"][1] == 1000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Her gout flare of\nthe right knee in March was treated with a prednisone taper and"
            " has fully resolved.",
            {"gout flare": RESOLVED},
        ),
        (  # guard: the verb's subject is the second condition
            "Her diabetes is stable and her rash has resolved.",
            {"diabetes": ACTIVE, "rash": RESOLVED},
        ),
        ("Hypertension has not resolved.", {"hypertension": ACTIVE}),  # guard
    ],
)
def test_a_sentence_saying_its_opening_condition_has_resolved(extractor, text, expected):
    """Regression: 'has fully resolved' fifteen words after the gout flare left it active
    (ConText's resolution cue reaches four words)."""
    assert conditions(extractor, text) == expected
