"""The offline provider on specialty clinic notes, procedure reports and flowsheets (2026-12-06,
twenty-third session, from a fifth blind set's tuning half and the fourth set's leftovers).
Each case is short text of our own in the layout those documents print; each failed on the code
before its rule unless it says it is a guard."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import Assertion, MedicationStatus
from medpipeline_tests.helpers import bundle_of_note


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "HEMOGLOBIN A1C TREND\n| Date | HbA1c (%) |\n| 03/12/2026 | 8.4 |\n"
            "| 09/10/2026 | 7.6 |\n",
            [("HbA1c", 7.6, "%", "2026-09-10"), ("HbA1c", 8.4, "%", "2026-03-12")],
        ),
        (
            "Renal panel\n| Collected | Creatinine (mg/dL) | Potassium |\n"
            "| 11/02/2026 | 1.4 | 4.1 mmol/L |\n| 12/01/2026 | 1.6 | 5.2 mmol/L |\n",
            [
                ("Creatinine", 1.4, "mg/dL", "2026-11-02"),
                ("Creatinine", 1.6, "mg/dL", "2026-12-01"),
                ("Potassium", 4.1, "mmol/L", "2026-11-02"),
                ("Potassium", 5.2, "mmol/L", "2026-12-01"),
            ],
        ),
        # guard: a date column beside words that name no test is no trend table
        ("| Date | Event |\n| 03/12/2026 | 8.4 |\n", []),
    ],
)
def test_a_trend_table_with_one_column_per_test(extractor, text, expected):
    """'| Date | HbA1c (%) |' above dated rows: each cell a reading of its column's test on its
    row's date (before: no result at all - the test's digit made the first row no header)."""
    found = sorted(
        (o.name, o.value, o.unit, o.effective_date) for o in extractor.extract(text).observations
    )
    assert found == expected


def test_a_one_row_lab_table_below_the_vitals(extractor):
    """'HOSPITAL DISCHARGE LABS (05/31/2025)' above a row of test names and a row of values:
    labs, not more of the vitals table above (before: no result; the title was no title and the
    rows were read as that table's)."""
    text = (
        "PHYSICAL EXAMINATION\n| BP | HR | Temp |\n| 118/64 | 72 (irregular) | 98.4 F |\n\n"
        "HOSPITAL DISCHARGE LABS (05/31/2025)\n| WBC | Hgb | Creatinine |\n"
        "| 7.8 K/uL | 9.1 g/dL | 1.2 mg/dL |\n"
    )
    found = {(o.name, o.value, o.unit, o.category) for o in extractor.extract(text).observations}
    assert {
        ("WBC", 7.8, "10*3/uL", "laboratory"),
        ("Hgb", 9.1, "g/dL", "laboratory"),
        ("Creatinine", 1.2, "mg/dL", "laboratory"),
        ("HR", 72.0, "/min", "vital-signs"),  # a remark in brackets is no unit
    } <= found


def test_a_flowsheet_with_a_target_column(extractor):
    """'Test | Units | dates ... | Target' printed without rules: each date's value (before: the
    'Target' label made it no dates row and nothing was read)."""
    text = (
        "Lab Flowsheet\nTest\tUnits\t06/02/2025\t06/09/2025\tTarget\n"
        "Potassium\tmmol/L\t5.6\t5.1\t3.5-5.5\n"
    )
    found = sorted(
        (o.name, o.value, o.unit, o.effective_date) for o in extractor.extract(text).observations
    )
    assert found == [
        ("Potassium", 5.1, "mmol/L", "2025-06-09"),
        ("Potassium", 5.6, "mmol/L", "2025-06-02"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        # an exam's point-of-care tests
        "Physical Exam\nThroat: tonsillar exudate.\n\nPoint-of-Care Testing\n| Test | Result |\n"
        "| Rapid strep A antigen | POSITIVE |\n",
        # labs printed under the allergies, below a title no list of titles names
        "Allergies\nCodeine - nausea.\n\nPregnancy Labs\n| Test | Result | Reference |\n"
        "| Rapid strep A antigen | POSITIVE |  |\n",
    ],
    ids=["in-an-exam", "below-the-allergies"],
)
def test_a_results_header_makes_a_results_table(extractor, text):
    """'| Test | Result |' is a results table in whatever section it stands (before: no result in
    an exam; below an allergy list every test was an allergy)."""
    extraction = extractor.extract(text)
    assert [(o.name, o.value_text) for o in extraction.observations] == [
        ("Rapid strep A antigen", "POSITIVE")
    ]
    assert {a.substance for a in extraction.allergies} <= {"Codeine"}


def test_a_vital_signs_table_with_a_results_header_stays_vital_signs(extractor):
    """Guard: a rendered C-CDA's 'Vital Signs' table prints 'Date | Test | Result'."""
    text = (
        "Vital Signs\n| Date | Test | Result | Details |\n"
        "| 12-Mar-2011 10:35 | BP Systolic | 89 | Range: = Normal Status: |\n"
    )
    (systolic,) = extractor.extract(text).observations
    assert (systolic.category, systolic.loinc_code) == ("vital-signs", "8480-6")


@pytest.mark.parametrize(
    "text",
    [
        "Medications Administered at Dialysis Today\nMedication\tDose\tRoute\tTime\n"
        "Epoetin alfa (Epogen)\t6,000 units\tIV\t15:10\n"
        "Iron sucrose (Venofer)\t100 mg\tIV\t15:20\n",
        "Medications / Sedation\n| Drug | Dose | Route |\n| Epoetin alfa | 6,000 units | IV |\n"
        "| Iron sucrose | 100 mg | IV |\n",
    ],
    ids=["at-dialysis-today", "medications-sedation"],
)
def test_a_list_of_doses_given_at_a_dialysis_or_a_procedure(extractor, text):
    """Its rows are doses given, not drugs the patient goes on taking."""
    found = extractor.extract(text).medications
    assert len(found) == 2
    assert all(m.administered and m.status == MedicationStatus.COMPLETED for m in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Resident: Eleanor Vance\tDOB: 12/05/1940\tAdmit date:\n06/02/2025\nAttending: Hale\n",
            ("inpatient", "2025-06-02"),
        ),
        (
            "Urgent Care Visit Note\nDate/Time: 06/20/2025 18:35\tProvider: J. Whitaker, PA-C\n",
            ("ambulatory", "2025-06-20"),
        ),
        (
            "Riverbend Dialysis Center\tNephrology Progress Note (Rounding)\t|\tPatient: R, G\n",
            ("ambulatory", None),
        ),
        (
            "MAPLE GROVE REHABILITATION AND NURSING CENTER - Admission History and Physical\n",
            ("inpatient", None),
        ),
        # guard: a rendered C-CDA header's service period is no visit's date
        (
            "| Documentation Of | Care provision, Date/Time: February 18, 2013 03:10AM -05 |\n",
            None,
        ),
    ],
    ids=["admit-date-wrapped", "a-lines-date-time", "a-dialysis-center", "after-a-facility",
         "documentation-of"],
)  # fmt: skip
def test_the_encounter_of_a_wrapped_label_or_a_facilitys_title(extractor, text, expected):
    found = [(e.encounter_class, e.start_date) for e in extractor.extract(text).encounters]
    assert found == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PROCEDURE REPORT: EGD AND COLONOSCOPY\nPatient: T. W.\n", ["EGD", "COLONOSCOPY"]),
        ("Procedure: EGD and colonoscopy\n", ["EGD", "colonoscopy"]),
        ("Procedures: Tonsillectomy & adenoidectomy\n", ["Tonsillectomy", "adenoidectomy"]),
        # guards: one procedure's name with an 'and'; a report's title that names none
        (
            "Procedure: Incision and drainage of left axillary abscess.\n",
            ["Incision and drainage of left axillary abscess"],
        ),
        ("Procedure note: the patient tolerated it well.\n", []),
    ],
)
def test_the_procedures_a_report_or_label_names_joined_by_and(extractor, text, expected):
    """A report's title names its procedures; 'and' joins two procedures as ',' does (before:
    none from the title, one 'EGD and colonoscopy')."""
    assert [p.text for p in extractor.extract(text).procedures] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Allergies\nCodeine - nausea and vomiting.\n", {"Codeine"}),
        ("Allergies: codeine - nausea, vomiting and dizziness; latex\n", {"codeine", "latex"}),
        ("Allergies\nPenicillin - hives and sulfa - rash\n", {"Penicillin", "sulfa"}),  # guard
    ],
)
def test_reactions_joined_after_a_dash_are_one_allergys(extractor, text, expected):
    """'Codeine - nausea and vomiting': before, 'vomiting' was an allergy of its own."""
    assert {a.substance for a in extractor.extract(text).allergies} == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fetal Heart Rate\t145 bpm\tEdema\tNone\n", {"edema": Assertion.NEGATED}),
        (
            "Diabetes\tYes\nAsthma\tNo\n",
            {"diabetes": Assertion.PRESENT, "asthma": Assertion.NEGATED},
        ),
        # guard: the answer is about the cell before it only
        (
            "Hypertension\tActive\tEdema\tNone\n",
            {"hypertension": Assertion.PRESENT, "edema": Assertion.NEGATED},
        ),
    ],
)
def test_a_label_grids_no_answer(extractor, text, expected):
    """'Edema<tab>None' in an exam's label grid: before, an active condition."""
    found = {c.text.lower(): c.assertion for c in extractor.extract(text).conditions}
    assert found == expected


def test_a_tables_caption_row_starts_its_section(extractor):
    """'| ALLERGIES |  |' above the allergy table, below a family history: the section starts
    there (before: the family history went on over the table, and the whole-document re-reading
    of assertions made the penicillin allergy a relative's, so the bundle had none)."""
    from medpipeline.extraction.offline.sections_tables import section_spans

    text = (
        "FAMILY HISTORY\nFather: lung cancer.\n| MEDICATIONS |  |  |\n"
        "| Medication | Sig | Status |\n"
        "| Lisinopril 10 mg tablet | 1 tablet daily | Active |\n| ALLERGIES |  |\n"
        "| Allergen | Reaction |\n| Penicillin | Hives |\n"
    )
    doc = extractor.nlp(text)
    categories = [category for _, _, category in section_spans(doc)]
    assert categories[-2:] == ["medications", "allergy"]
    (penicillin,) = extractor.extract(text).allergies
    assert penicillin.assertion == Assertion.PRESENT


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (
            "PAST MEDICAL HISTORY\nCommunity-acquired pneumonia, 11/2022 - resolved\nGout\n",
            "resolved",
        ),
        ("He had asthma as a child that resolved in his teens.", "resolved"),
        ("Alcohol use disorder, moderate - in sustained remission since 2017.", "remission"),
    ],
)
def test_a_status_after_a_date_or_a_qualifier(extractor, text, status):
    """A status after the item's date or its severity is the item's (before: active)."""
    condition = extractor.extract(text).conditions[0]
    assert {"resolved": condition.resolved, "remission": condition.in_remission}[status]


def test_a_dash_status_stays_with_its_items_drug(extractor):
    """Guard: 'clopidogrel - stopped 2021' stops neither the drug before nor after it."""
    found = {
        m.text: m.status
        for m in extractor.extract(
            "aspirin 81, clopidogrel - stopped 2021, rosuvastatin 20"
        ).medications
    }
    assert found == {
        "aspirin": MedicationStatus.ACTIVE,
        "clopidogrel": MedicationStatus.STOPPED,
        "rosuvastatin": MedicationStatus.ACTIVE,
    }


def test_rating_scale_scores(extractor):
    """'PHQ-9 ......... 14' with a dot leader: a survey Observation with its LOINC code (before:
    no result; no questionnaire's score was known)."""
    text = "RATING SCALES\nPHQ-9 ......... 14\t(19 on 04/16/2025)\nGAD-7 ......... 15\n"
    found = {
        (o.name, o.value, o.loinc_code, o.category) for o in extractor.extract(text).observations
    }
    assert found == {("PHQ-9", 14.0, "44261-6", "survey"), ("GAD-7", 15.0, "70274-6", "survey")}


def test_a_score_is_a_survey_observation_in_the_bundle():
    """The validated bundle files a questionnaire's score under the 'survey' category."""
    bundle = bundle_of_note("RATING SCALES\nPHQ-9 ......... 14\n")
    (score,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert score["category"][0]["coding"][0]["code"] == "survey"
    assert score["code"]["coding"][0]["code"] == "44261-6"
    assert score["valueQuantity"]["value"] == 14


def test_a_saturation_on_room_air_in_brackets(extractor):
    text = "VITAL SIGNS\n| BP | SpO2 |\n| 132/78 mmHg | 93 % (room air) |\n"
    found = {(o.name, o.value) for o in extractor.extract(text).observations}
    assert ("SpO2", 93.0) in found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. Intrauterine pregnancy at 28w2d, G2P1001.", "Z33.1"),
        ("4. Rh negative. RhoGAM given today.", "Z67.91"),
        ("5. Heartburn of pregnancy. Tums as needed.", "R12"),
        ("2. Abnormal 1-hour glucose challenge (142 mg/dL).", "O99.810"),
    ],
)
def test_a_prenatal_visits_problems(extractor, text, expected):
    """Curated prenatal problems the narrative matcher did not know (before: none)."""
    (condition,) = extractor.extract(text).conditions
    assert (condition.icd10_code, condition.assertion) == (expected, Assertion.PRESENT)


@pytest.mark.parametrize(
    "text",
    ["Will check for anemia.", "Biopsy for celiac disease.", "She was tested for diabetes."],
)
def test_a_condition_tested_for_is_not_asserted(extractor, text):
    """What a test or biopsy looks for is possible, not the patient's (before: present)."""
    (condition,) = extractor.extract(text).conditions
    assert condition.assertion == Assertion.POSSIBLE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fistulogram scheduled 07/01/2025 for rising venous pressures.", "Fistulogram"),
        ("Eligible for screening: low-dose CT chest ordered.", "low-dose CT chest"),
        ("Schedule 3-hour glucose tolerance test next week.", "3-hour glucose tolerance test"),
        ("Recommend exercise program.", None),  # guard: a program is no imaging study
    ],
)
def test_a_planned_study(extractor, text, expected):
    """Planned studies named by a '-gram', a body part after the imaging or a figure before it
    (before: none)."""
    found = [(p.text, p.assertion) for p in extractor.extract(text).procedures]
    assert found == ([(expected, Assertion.HYPOTHETICAL)] if expected else [])


@pytest.mark.parametrize(
    "text",
    [
        "ANTIBIOTICS: Cefazolin 2 g IV given within 60 minutes of incision.",
        "Vancomycin 1 g given over 2 hours.",
    ],
)
def test_a_dose_given_within_or_over_a_time(extractor, text):
    """'given within 60 minutes', 'given over 2 hours' after the dose: a dose given (before: a
    drug the patient is on)."""
    (drug,) = extractor.extract(text).medications
    assert (drug.administered, drug.status) == (True, MedicationStatus.COMPLETED)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Right inguinal hernia repair (2010). Colonoscopy 2021 (normal).",
            [("Right inguinal hernia repair", "2010"), ("Colonoscopy", "2021")],
        ),
        # guard: a sentence that names no procedure is no item
        ("Appendectomy (2001). Recovered well.", [("Appendectomy", "2001")]),
    ],
)
def test_a_surgical_history_lines_sentences(extractor, line, expected):
    """Each sentence of a surgical history's line that names a procedure is one (before: the
    second was lost, and a finding in brackets stayed in the name)."""
    text = f"PAST SURGICAL HISTORY\n{line}\nSOCIAL HISTORY\nNone.\n"
    found = [(p.text, p.performed_date) for p in extractor.extract(text).procedures]
    assert found == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Urine Protein\tNegative\tUrine Glucose\tNegative\n",
            [("Urine Protein", "Negative"), ("Urine Glucose", "Negative")],
        ),
        # guard: an interpretation chart's heading row names no result
        ("Pattern\tAntigen Detected\tSuggested Disease Association\n", []),
    ],
)
def test_a_label_grids_word_results(extractor, text, expected):
    """Each label/result pair of a grid's line is one result (before: one result named 'Urine
    Protein Negative Urine Glucose')."""
    assert [(o.name, o.value_text) for o in extractor.extract(text).observations] == expected
