"""The offline provider on records a hospital receives besides notes: hospice and home-health
plans, dialysis treatment records, psychiatric medication histories, immunization records,
ophthalmology and infusion notes (2026-12-05, eighteenth session). Each case is short text of our
own in the layout those records print; each failed on the code before its rule unless it says it
is a guard."""

from pathlib import Path

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import Assertion, MedicationStatus
from medpipeline.pdf import PdfLimits, extract_pages
from medpipeline.samples import render_text_pdf
from medpipeline_tests.helpers import (
    RECONCILIATION,
    RECONCILIATION_WIDTHS,
    bundle_of_note,
    render_cell_table,
)

STOPPED, ACTIVE, ON_HOLD = (
    MedicationStatus.STOPPED,
    MedicationStatus.ACTIVE,
    MedicationStatus.ON_HOLD,
)


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def medications(extractor: OfflineExtractor, text: str) -> dict[str, tuple]:
    return {
        m.text.lower(): (m.status, m.dose_value)
        for m in extractor.extract(text).medications
        if m.assertion == Assertion.PRESENT
    }


def test_a_status_column_printed_apart_says_what_became_of_each_drug(extractor):
    text = (
        "MEDICATIONS\n"
        "Medication        Dose            Status\n"
        "Lisinopril        10 mg daily     D/C\n"
        "Metformin         500 mg BID      Discontinue\n"
        "Escitalopram      20 mg daily     stopped 2022\n"
        "Amlodipine        5 mg daily      on hold\n"
        "Aspirin           81 mg daily     Continue\n"  # guard
    )
    assert medications(extractor, text) == {
        "lisinopril": (STOPPED, 10.0),
        "metformin": (STOPPED, 500.0),
        "escitalopram": (STOPPED, 20.0),
        "amlodipine": (ON_HOLD, 5.0),
        "aspirin": (ACTIVE, 81.0),
    }


def text_of_pdf(tmp_path: Path, text: str) -> str:
    pdf = render_text_pdf(tmp_path / "record.pdf", [text])
    return "\n".join(page.text for page in extract_pages(pdf, PdfLimits(), ocr=False))


def test_a_status_column_printed_apart_in_a_text_layer_pdf_is_read_as_a_column(
    extractor, tmp_path: Path
):
    """The same table printed to a PDF: pdfplumber joins a line's words with one space, so the
    column gap has to survive extraction for the rule above to see it (a dev.sh run showed
    "Lisinopril 10 mg daily D/C" active before)."""
    table = (
        "MEDICATIONS\n"
        "Medication        Dose            Status\n"
        "Lisinopril        10 mg daily     D/C\n"
        "Amlodipine        5 mg daily      on hold\n"
        "Aspirin           81 mg daily     Continue\n"
    )
    assert medications(extractor, text_of_pdf(tmp_path, table)) == {
        "lisinopril": (STOPPED, 10.0),
        "amlodipine": (ON_HOLD, 5.0),
        "aspirin": (ACTIVE, 81.0),
    }


def test_a_date_column_two_spaces_apart_in_a_text_layer_pdf_is_no_part_of_the_name(
    extractor, tmp_path: Path
):
    """Two spaces between the date and the result cells are a column too, beside the single
    spaces of '241 K/uL' (a guard: the row was lost when its gaps first became tabs the name
    could not hold)."""
    table = (
        "PRENATAL LABS\n"
        "  Test                  Date        Result\n"
        "  Platelets             03/11/2025  241 K/uL\n"
        "  TSH                   05/20/2025  3.8 mIU/L\n"
    )
    found = extractor.extract(text_of_pdf(tmp_path, table)).observations
    assert [(o.name, o.value, o.unit, o.effective_date) for o in found] == [
        ("Platelets", 241.0, "10*3/uL", "2025-03-11"),
        ("TSH", 3.8, "m[IU]/L", "2025-05-20"),
    ]


def test_a_written_no_printed_apart_in_a_text_layer_pdf_answers_its_item(extractor, tmp_path: Path):
    """'Diabetes: N Asthma: Y', as the PDF read before, had the patient diabetic."""
    form = "Diabetes: N        Asthma: Y\n"
    found = extractor.extract(text_of_pdf(tmp_path, form)).conditions
    assert [(c.text, c.assertion) for c in found] == [("Asthma", Assertion.PRESENT)]


def test_a_reconciliations_action_column_in_a_pdf_says_what_became_of_each_drug(
    extractor, tmp_path: Path
):
    """The action cell is one space's width from the comment after it; the heading row says
    where the comment column starts. A drug named in a comment ('NSAID with warfarin') is no
    fact of its own (warfarin was stopped by the ibuprofen row's 'Discontinue')."""
    pdf = render_cell_table(tmp_path / "reconciliation.pdf", RECONCILIATION, RECONCILIATION_WIDTHS)
    text = "\n".join(page.text for page in extract_pages(pdf, PdfLimits(), ocr=False))
    assert medications(extractor, text) == {
        "metformin": (STOPPED, 500.0),
        "spironolactone": (ON_HOLD, 25.0),
        "ibuprofen": (STOPPED, 400.0),
    }


def test_a_vital_signs_row_under_its_labels_printed_without_rules(extractor, tmp_path: Path):
    """A row of readings under a row of vital-sign labels ('BP  HR  RR  Temp ...', an ED note's
    exam) is one reading per column; before, the labels' line and the readings' line were
    prose and no reading was found."""
    pdf = render_cell_table(
        tmp_path / "vitals.pdf",
        [
            ("BP", "HR", "RR", "Temp", "SpO2", "Weight"),
            ("152/94 mmHg", "98 bpm", "18 /min", "37.1 C", "98% RA", "88 kg"),
        ],
        (30, 22, 22, 22, 22, 22),
        title="PHYSICAL EXAM",
    )
    text = "\n".join(page.text for page in extract_pages(pdf, PdfLimits(), ocr=False))
    found = {
        (o.loinc_code, o.value, o.value_text, o.unit) for o in extractor.extract(text).observations
    }
    assert found == {
        ("85354-9", None, "152/94", "mm[Hg]"),
        ("8867-4", 98.0, None, "/min"),
        ("9279-1", 18.0, None, "/min"),
        ("8310-5", 37.1, None, "Cel"),
        ("59408-5", 98.0, None, "%"),
        ("29463-7", 88.0, None, "kg"),
    }


def test_a_results_row_with_an_empty_cell_is_read_as_its_line(extractor, tmp_path: Path):
    """Guard: an empty cell prints nothing, so a row with fewer cells than its labels cannot say
    which column each is ('13.5' under Result, 'g/dL' under Flag); it is read as a line."""
    pdf = render_cell_table(
        tmp_path / "labs.pdf",
        [
            ("Test", "Result", "Flag", "Units", "Reference Range"),
            ("Hemoglobin", "13.5", "", "g/dL", "12.0-16.0"),
            ("Potassium", "5.6", "H", "mmol/L", "3.5-5.1"),
        ],
        (40, 25, 15, 25, 40),
        title="LABORATORY RESULTS",
    )
    text = "\n".join(page.text for page in extract_pages(pdf, PdfLimits(), ocr=False))
    found = {
        (o.name, o.value, o.unit, o.reference_low, o.reference_high)
        for o in extractor.extract(text).observations
    }
    assert found == {
        ("Hemoglobin", 13.5, "g/dL", 12.0, 16.0),
        ("Potassium", 5.6, "mmol/L", 3.5, 5.1),
    }


def test_what_follows_a_table_printed_apart_in_a_text_layer_pdf_is_not_the_tables(
    extractor, tmp_path: Path
):
    """The blank line under an allergy table ends it, in the PDF as in the text (the
    medication line after it was read as an allergy row and lost)."""
    record = (
        "Allergen / Drug              Type    Reaction                 Severity\n"
        "penicillin                   A       anaphylaxis              Severe\n"
        "\n"
        "Medications: lisinopril 10 mg daily\n"
    )
    assert medications(extractor, text_of_pdf(tmp_path, record)) == {"lisinopril": (ACTIVE, 10.0)}


@pytest.mark.parametrize("blank", ["\n", "\n\n"])
def test_a_procedures_title_apart_from_its_numbered_list_still_heads_it(extractor, blank):
    text = f"PROCEDURES\n{blank}1. EKG (2012/10/15)\n2. Cholecystectomy (2006/06/01)\n"
    found = [(p.text, p.performed_date) for p in extractor.extract(text).procedures]
    assert found == [("EKG", "2012-10-15"), ("Cholecystectomy", "2006-06-01")]


@pytest.mark.parametrize(
    "text",
    [
        # a decimal point ended the 'if' clause: the resumed drug was taken
        "PLAN\n4. If K < 5.0 on repeat, resume spironolactone 12.5 mg daily.\n",
        "PLAN\n4. If potassium < 5.0, restart spironolactone 12.5 mg daily.\n",
        "PLAN\n6. Avoid morphine; if opioid needed post-op, hydromorphone would be an "
        "alternative.\n",
    ],
)
def test_a_drug_to_take_on_a_condition_is_not_taken_yet(extractor, text):
    found = extractor.extract(text).medications
    assert [m.assertion for m in found if m.generic_name != "morphine"] == [Assertion.HYPOTHETICAL]


def test_a_plain_resume_is_taken(extractor):  # guard
    found = extractor.extract("PLAN\nK 4.2 today. Resume spironolactone 12.5 mg daily.\n")
    assert [m.assertion for m in found.medications] == [Assertion.PRESENT]


@pytest.mark.parametrize(
    "text",
    [
        "ALLERGIES\n\nCodeine (nausea/vomiting); Latex (contact dermatitis)\n\n"
        "DISCHARGE MEDICATIONS\nlisinopril 10 mg daily\n",
        "Allergies:\n\nCodeine - nausea\nLatex - contact dermatitis\n\nMedications:\n"
        "lisinopril 10 mg daily\n",
    ],
)
def test_an_allergy_title_apart_from_its_list_still_heads_it(extractor, text):
    """Before, the codeine was a medication the patient takes and its reactions conditions."""
    found = extractor.extract(text)
    assert [(a.substance, a.assertion) for a in found.allergies] == [
        ("Codeine", Assertion.PRESENT),
        ("Latex", Assertion.PRESENT),
    ]
    assert [m.generic_name for m in found.medications] == ["lisinopril"]
    assert found.conditions == []


def test_a_pending_or_not_taken_status_column_before_a_comment(extractor):
    text = (
        "MEDICATIONS\n"
        "Medication\tDose\tFrequency\tAction\tComments\n"
        "Docusate sodium\t100 mg\tBID PRN\tNot taking\tpt has not used in months\n"
        "Dapagliflozin\t10 mg\tdaily\tPending\tstart once prior auth approved\n"
        "Carvedilol\t12.5 mg\tBID\tContinue\n"  # guard
    )
    found = extractor.extract(text).medications
    assert [(m.generic_name, m.status, m.assertion) for m in found] == [
        ("docusate", STOPPED, Assertion.PRESENT),
        ("dapagliflozin", ACTIVE, Assertion.HYPOTHETICAL),
        ("carvedilol", ACTIVE, Assertion.PRESENT),
    ]


@pytest.mark.parametrize("title", ["Assessment & Plan", "ASSESSMENT & PLAN", "Impression & Plan"])
def test_a_title_with_an_ampersand_ends_the_section_before_it(extractor, title):
    """'Assessment & Plan' was no title, so the social history went on over the plan and made
    the drug it starts a past one."""
    text = (
        f"Social History\nFormer smoker, quit 2001.\n\n{title}\n"
        "3. Knee OA. Start acetaminophen 500 mg daily.\n"
    )
    found = extractor.extract(text).medications
    assert [(m.generic_name, m.assertion) for m in found] == [("acetaminophen", Assertion.PRESENT)]


def test_a_trials_tables_outcome_column_is_its_status(extractor):
    text = (
        "PAST PSYCHIATRIC MEDICATION TRIALS\n"
        "| Medication | Max dose | Outcome |\n"
        "| Sertraline | 200 mg | no response - stopped 2021 |\n"
        "| Venlafaxine XR | 225 mg | current |\n"
    )
    assert medications(extractor, text) == {
        "sertraline": (STOPPED, 200.0),
        "venlafaxine xr": (ACTIVE, 225.0),
    }


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Iron sucrose (Venofer) 100 mg IV  -- HELD: ferritin 812 ng/mL",
            {"iron sucrose": (ON_HOLD, 100.0)},
        ),
        (
            "Morphine ER (MS Contin)   30 mg PO q12h   Continue",
            {"morphine": (ACTIVE, 30.0)},
        ),
        (  # guard: a bracket that is no brand of the drug
            "Lisinopril (for blood pressure) 10 mg daily",
            {"lisinopril": (ACTIVE, 10.0)},
        ),
    ],
)
def test_a_brand_in_round_brackets_is_the_drug_before_it(extractor, line, expected):
    """Regression: the brand was a second drug, the generic kept no dose and no status, and the
    bundle merged them into an active iron sucrose the record says was held."""
    assert medications(extractor, f"MEDICATIONS GIVEN THIS TREATMENT\n  {line}\n") == expected


def test_two_doses_of_one_drug_are_two_facts(extractor):
    """Regression: 'Coumadin - 5mg' and 'Coumadin - 2.5mg' on alternate days were one fact."""
    text = (
        "MEDICATIONS\n"
        "1. Coumadin - 5mg by mouth every other day\n"
        "2. Coumadin - 2.5mg by mouth every other day\n"
    )
    doses = sorted(m.dose_value for m in extractor.extract(text).medications)
    assert doses == [2.5, 5.0]


def test_drugs_never_tried_are_not_taken(extractor):
    text = "Never tried: lithium augmentation, aripiprazole, ECT.\n"
    assert medications(extractor, text) == {}


def test_a_vaccine_given_today_is_no_disease(extractor):
    text = (
        "IMMUNIZATIONS GIVEN TODAY\n"
        "  Vaccine        | Dose # | Route/Site   | Lot\n"
        "  Hepatitis A    | 1      | IM / R thigh | AHAVB712\n"
    )
    assert extractor.extract(text).conditions == []


def conditions(extractor: OfflineExtractor, text: str) -> dict[str, Assertion]:
    return {c.text.lower(): c.assertion for c in extractor.extract(text).conditions}


def observations(extractor: OfflineExtractor, text: str) -> dict[str, float | None]:
    return {o.name: o.value for o in extractor.extract(text).observations}


def test_a_dialysis_baths_make_up_is_no_result_of_the_patients(extractor):
    """Regression: the bath's potassium 2.0 read as the patient's (a critical hypokalaemia)."""
    text = (
        "TREATMENT\n"
        "  Dialysate: K 2.0 / Ca 2.5 / Na 138 / HCO3 35    Temp 36.5 C\n"
        "  Pre-treatment: BP 168/92, HR 88\n"
        "LABS\n"
        "  K 5.6 mmol/L (H)\n"
    )
    assert observations(extractor, text) == {"BP": None, "HR": 88.0, "K": 5.6}


def test_a_notify_list_wrapped_onto_the_next_line_stays_thresholds(extractor):
    text = (
        "Notify MD for weight gain > 3 lb in 1 day, SBP > 160 or < 90,\n"
        "   HR > 110 or < 50, blood glucose > 350 or < 70 mg/dL.\n"
        "Glucose 142 mg/dL\n"  # guard: a measured value
    )
    assert observations(extractor, text) == {"Glucose": 142.0}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Patient: Hannah Lee   MRN: BCC-771045\n", {}),
        ("PINECREST SLEEP DISORDERS CENTER  (AASM accredited)\n", {}),
        ("SN to instruct on insulin administration and hypoglycemia management.\n", {}),
        (  # guard: the nurse assesses the patient's cellulitis
            "SN to assess RLE cellulitis, measure area of erythema each visit.\n",
            {"cellulitis": Assertion.PRESENT},
        ),
        ("COVID-19 in 2021.\n", {"covid-19": Assertion.HISTORICAL}),  # guard: its own number
        (
            "Mother - type 2 diabetes, chronic hypertension. Father - MI at 58.\n",
            {
                "type 2 diabetes": Assertion.FAMILY,
                "hypertension": Assertion.FAMILY,
                "mi": Assertion.FAMILY,
            },
        ),
    ],
    ids=[
        "identifier-prefix",
        "facility-name",
        "nursing-instructions",
        "assessed-problem",
        "covid-19",
        "relative-dash",
    ],
)
def test_names_and_instructions_are_no_conditions_of_the_patient(extractor, text, expected):
    found = conditions(extractor, text)
    assert {name: found[name] for name in expected} == expected
    assert set(found) == set(expected)


@pytest.mark.parametrize(
    ("line", "frequency"),
    [
        ("Dorzolamide 2% 1 gtt OD TID - start today", "TID"),
        ("Timolol 0.5% 1 drop OD BID", "BID"),
        ("Omeprazole 20 mg OD", "OD"),  # guard: the UK's once daily
    ],
)
def test_od_in_an_eye_drops_sig_is_the_right_eye(extractor, line, frequency):
    [drug] = extractor.extract(f"Medications:\n- {line}\n").medications
    assert drug.frequency == frequency


def test_a_suspected_allergy_is_unconfirmed():
    """Regression: 'suspected tree nut allergy' was a confirmed allergy ('possible' was not)."""
    text = "Reason for referral: Perennial rhinitis and suspected tree nut allergy.\n"
    [allergy] = [
        entry["resource"]
        for entry in bundle_of_note(text)["entry"]
        if entry["resource"]["resourceType"] == "AllergyIntolerance"
    ]
    assert allergy["verificationStatus"]["coding"][0]["code"] == "unconfirmed"


def test_a_regimen_to_start_on_a_later_date_is_planned(extractor):
    text = (
        "PLAN:\n"
        "  1. Adjuvant chemotherapy TCHP x 6 cycles, to start 02/24/2025:\n"
        "       Docetaxel 75 mg/m2 IV, Carboplatin AUC 6 IV, Trastuzumab 8 mg/kg IV.\n"
        "  2. Continue letrozole 2.5 mg daily.\n"  # guard: taken now
    )
    found = {m.text.lower(): m.assertion for m in extractor.extract(text).medications}
    assert found == {
        "docetaxel": Assertion.HYPOTHETICAL,
        "carboplatin": Assertion.HYPOTHETICAL,
        "trastuzumab": Assertion.HYPOTHETICAL,
        "letrozole": Assertion.PRESENT,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Gestational diabetes in first pregnancy - resolved postpartum.\n",
            {"gestational diabetes": True},
        ),
        (  # the resolution before a name is that one's
            "Diabetes, hypertension, resolved pneumonia.\n",
            {"diabetes": False, "hypertension": False, "pneumonia": True},
        ),
    ],
)
def test_whose_resolution_it_is(extractor, text, expected):
    found = {c.text.lower(): c.resolved for c in extractor.extract(text).conditions}
    assert found == expected


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (
            "PAST PSYCHIATRIC HISTORY: One inpatient admission 2019 for suicidal ideation.\n",
            "inactive",
        ),
        ("She reports passive suicidal ideation today.\n", "active"),  # guard: now
    ],
)
def test_suicidal_ideation_in_the_past_history_is_an_episode_over(text, status):
    [condition] = [
        entry["resource"]
        for entry in bundle_of_note(text)["entry"]
        if entry["resource"]["resourceType"] == "Condition"
    ]
    assert condition["clinicalStatus"]["coding"][0]["code"] == status


def test_a_date_column_between_a_test_and_its_result_dates_the_result(extractor):
    """Regression: the name was 'Platelets 03/11/2025', uncoded, dated the visit."""
    text = (
        "PRENATAL LABS\n"
        "  Test                  Date        Result\n"
        "  Platelets             03/11/2025  241 K/uL\n"
        "  TSH                   05/20/2025  3.8 mIU/L\n"
    )
    found = {(o.name, o.loinc_code, o.effective_date) for o in extractor.extract(text).observations}
    assert found == {("Platelets", "26515-7", "2025-03-11"), ("TSH", "3016-3", "2025-05-20")}


@pytest.mark.parametrize(
    ("line", "route"),
    [
        ("Morphine IR oral solution 20mg/mL  10 mg SL q2h PRN pain", "sublingual"),
        ("Insulin glargine 18 units subcut at bedtime", "subcutaneous"),
        ("Insulin lispro 8 units - inject 8 units under the skin with meals", "subcutaneous"),
        ("Nitroglycerin 0.4 mg - 1 tablet under the tongue q5min PRN", "sublingual"),
        ("Fluticasone 50 mcg - 2 sprays in each nostril daily", "intranasal"),
        ("Latanoprost 0.005% - 1 drop in both eyes at bedtime", "ophthalmic"),
        ("Triamcinolone 0.1% cream - apply a thin layer to affected area BID", "topical"),
        ("Lisinopril 10 mg oral tablet daily", "oral"),  # guard
        ("oral furosemide 40 mg daily", "oral"),  # guard: before the name
    ],
)
def test_the_route_the_sig_gives_after_the_dose(extractor, line, route):
    """Regression: a hospice comfort kit's sublingual morphine was oral (the product's form);
    a route said in the patient's words ('under the skin', 'in each nostril') is that route."""
    [drug] = extractor.extract(f"MEDICATIONS\n  {line}\n").medications
    assert drug.route == route
