"""The offline provider on what an eleventh blind set (2026-12-06, twenty-ninth session) showed:
an emergency department note, a discharge medication reconciliation form, a psychiatric intake,
a dialysis flowsheet. Each case is short text of our own in the layout such documents print;
each failed on the code before its rule unless it says it is a guard."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import Assertion, MedicationStatus


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


RECONCILIATION = (
    "Discharge Medication Reconciliation\n"
    "| Medication / dose / route / frequency (prior to admission) | Continue | Stop | Change "
    "| New | Discharge instructions for patient | Next dose |\n"
    "| furosemide 20 mg tablet, 1 tab by mouth once daily |  |  | X |  | Dose increased: take "
    "40 mg by mouth once daily. | 02/15 AM |\n"
    "| aspirin 81 mg EC tablet, 1 tab by mouth daily |  | X |  |  | Not needed now that you "
    "take apixaban. | -- |\n"
    "| lisinopril 10 mg tablet, 1 tab by mouth daily | X |  |  |  |  | 02/15 AM |\n"
    "| glipiZIDE 5 mg tablet, 1 tab by mouth daily |  |  | X |  | HOLD - do not take until "
    "you see your doctor. | on hold |\n"
    "| apixaban 5 mg tablet, 1 tab by mouth twice daily |  |  |  | X | Blood thinner. Disp "
    "#60. | 02/14 PM |\n"
)


def test_a_reconciliations_ticked_column_decides_each_drug(extractor):
    """A header of a drug column that names its dose and route with slashes and checkbox
    columns is a header, so the ticked column is the drug's action (before: no header was
    found and every home drug, the stopped aspirin too, was an active prescription)."""
    found = {
        m.generic_name: (m.status, m.prescribed)
        for m in extractor.extract(RECONCILIATION).medications
    }
    assert found == {
        "furosemide": (MedicationStatus.ACTIVE, True),
        "aspirin": (MedicationStatus.STOPPED, False),
        "lisinopril": (MedicationStatus.ACTIVE, True),
        "glipizide": (MedicationStatus.ON_HOLD, False),
        "apixaban": (MedicationStatus.ACTIVE, True),
    }


def test_inpatient_medications_not_continued_are_stopped(extractor):
    """A title naming what is not continued at discharge opens a stop list; 'replaced by
    apixaban)' is the heparin's, not the insulin's after it (before: active orders)."""
    text = (
        "Discharge Medications\n"
        "Apixaban 5 mg by mouth twice daily.\n\n"
        "SECTION C - INPATIENT-ONLY MEDICATIONS NOT CONTINUED AT DISCHARGE\n"
        "diltiazem 5 mg/h IV infusion (02/10-02/11); heparin 5,000 units SC q8h (02/10-02/11, "
        "replaced by apixaban); insulin\nlispro sliding scale. None of these are to be taken at "
        "home.\n"
    )
    found = {m.generic_name: m.status for m in extractor.extract(text).medications}
    assert found["diltiazem"] == found["heparin"] == MedicationStatus.STOPPED
    assert found["insulin lispro"] == MedicationStatus.STOPPED
    assert found["apixaban"] == MedicationStatus.ACTIVE


def test_a_table_under_a_new_prescriptions_line_is_ordered(extractor):
    text = (
        "Disposition\n"
        "Discharge home, 09/15/2024 01:52. Condition: Stable.\n"
        "New Prescriptions\n"
        "| Medication | Sig | Disp | Refills |\n"
        "| doxycycline hyclate 100 MG capsule | Take 1 capsule by mouth 2 times daily for 7 days. "
        "| 14 capsule | 0 |\n"
    )
    (found,) = extractor.extract(text).medications
    assert found.prescribed and found.status == MedicationStatus.ACTIVE


def test_every_drug_a_label_in_the_line_lists_as_given_is_a_dose_given(extractor):
    text = (
        "ED Course\n"
        "22:05 Medications administered in ED: cefTRIAXone 1 g IV once; azithromycin 500 mg IV "
        "once; ketorolac 15 mg IV once\nfor pleuritic pain. Continue home lisinopril 10 mg daily.\n"
    )
    found = {
        m.generic_name: (m.status, m.administered) for m in extractor.extract(text).medications
    }
    given = (MedicationStatus.COMPLETED, True)
    assert found == {"ceftriaxone": given, "azithromycin": given, "ketorolac": given,
                     "lisinopril": (MedicationStatus.ACTIVE, False)}  # fmt: skip


def test_a_code_printed_first_on_a_diagnosis_line_is_the_clinicians(extractor):
    text = (
        "DIAGNOSES (DSM-5-TR / ICD-10-CM)\n"
        "F33.1\tMajor depressive disorder, recurrent episode, moderate\n"
        "F14.21\tCocaine use disorder, moderate, in sustained remission\n"
        "F17.290\tNicotine dependence, other tobacco product (e-cigarette), uncomplicated\n"
    )
    found = {c.text: (c.icd10_code, c.in_remission) for c in extractor.extract(text).conditions}
    assert found == {
        "Major depressive disorder": ("F33.1", False),
        "Cocaine use disorder": ("F14.21", True),
        "Nicotine dependence": ("F17.290", False),
    }


def test_a_substance_use_table_names_no_condition(extractor):
    """The drugs of a substance use history are what the patient used, not diagnoses (before:
    'Cocaine', an active condition, from a table under the past psychiatric history)."""
    text = (
        "PAST PSYCHIATRIC HISTORY\n"
        "Two prior depressive episodes, no hospitalizations.\n\n"
        "SUBSTANCE USE HISTORY\n"
        "| Substance | Pattern | Last use | Comment |\n"
        "| Cocaine | Intranasal, up to 3x/week | 05/2016 | Completed IOP 2016; in remission |\n"
        "| Alcohol | 1-2 beers on weekends | 01/18/2025 | AUDIT-C 2 |\n"
    )
    assert [c.text for c in extractor.extract(text).conditions] == ["depressive episodes"]


@pytest.mark.parametrize(
    "row, allergy",
    [
        ("| Potassium 4.0 mmol/L 3.5-5.1 |  |  |", None),
        ("| BP: 118/68 mmHg | HR: 76 bpm | Temp: 36.6 C |", None),
        ("| TSH (02/11) 3.10 uIU/mL 0.27-4.20 |  |  |", None),
        # guards: a product's strength is no reading
        ("| Amoxicillin 50 MG/ML Oral Suspension | Hives |  |",
         "Amoxicillin 50 MG/ML Oral Suspension"),
        ("| Lidocaine 2% jelly | Rash |  |", "Lidocaine 2% jelly"),
    ],
)  # fmt: skip
def test_a_row_of_readings_in_an_allergy_table_is_no_allergy(extractor, row, allergy):
    text = f"Allergies / Intolerances\n{row}\n"
    found = [a.substance for a in extractor.extract(text).allergies]
    assert found == ([allergy] if allergy else [])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("| 10/07/24 | 82.3 | L AVF | JRP | Influenza vaccine given; PCV20 declined |\n",
         {"Influenza vaccine": Assertion.PRESENT, "PCV20": Assertion.NEGATED}),
        # guard: a row of tab-apart cells is its own clause, not the lines above it
        ("Immunizations\nHep B declined; counseled\nTdap\t2019\n",
         {"Hep B": Assertion.NEGATED, "Tdap": Assertion.HISTORICAL}),
    ],
)  # fmt: skip
def test_each_clause_of_a_flowsheet_comment_is_its_vaccines(extractor, text, expected):
    found = {i.text: i.assertion for i in extractor.extract(text).immunizations}
    assert found == expected


@pytest.mark.parametrize(
    "text, present, negated",
    [
        # a terminating cue ends a cue of limited scope inside a sentence that goes on past it
        ("Avoid ibuprofen while on lisinopril if possible.", {"lisinopril"}, {"ibuprofen"}),
        ("Avoid all NSAIDs (Aleve, Advil, Motrin) - worsen heart failure and kidneys.", set(),
         {"naproxen", "ibuprofen"}),
        ("Continue hydroxyzine 25 mg PRN anxiety; avoid benzodiazepines (e.g., clonazepam) given\n"
         "substance use history.", {"hydroxyzine"}, {"clonazepam"}),
    ],
)  # fmt: skip
def test_what_the_patient_is_to_avoid(extractor, text, present, negated):
    found = [(m.generic_name, m.assertion) for m in extractor.extract(text).medications]
    assert {name for name, a in found if a == Assertion.PRESENT} == present
    assert {name for name, a in found if a == Assertion.NEGATED} == negated


def test_ordered_tests_and_referrals_are_planned(extractor):
    """Tests to be drawn and referrals are planned services (ServiceRequests), one each; tests
    reported with values and a referral called off are not (before: none of them)."""
    text = (
        "PLAN\n"
        "6. Labs ordered: TSH, CMP, CBC and urine drug screen (to be drawn this week).\n"
        "7. Referral to individual cognitive behavioral therapy (CBT) with panic-focused focus.\n"
        "[X] Basic metabolic panel (potassium, creatinine) in 1 week - lab order given\n"
        "[X] Cardiology referral - Dr. Omar Haddad - 03/04/2025 (AF management)\n"
        "Recheck hemoglobin in 3 months. Refer to nephrology.\n"
        "Labs: CBC normal, CMP with potassium 3.4.\n"
        "No referral to gastroenterology is needed. He was referred to urology in 2019.\n"
    )
    found = [p.text for p in extractor.extract(text).procedures]
    assert all(p.assertion == Assertion.HYPOTHETICAL for p in extractor.extract(text).procedures)
    assert found == ["TSH", "CMP", "CBC", "urine drug screen",
                     "cognitive behavioral therapy referral", "Basic metabolic panel",
                     "Cardiology referral", "hemoglobin", "nephrology referral"]  # fmt: skip


@pytest.mark.parametrize(
    "text, status, assertion",
    [
        # a contrast agent given for the study is a dose given, not a drug the patient is on
        ("TECHNIQUE: CT of the abdomen and pelvis was performed following administration of\n"
         "100 mL Omnipaque 350 (iohexol) intravenously.", MedicationStatus.COMPLETED,
         Assertion.PRESENT),
        ("HOME MEDICATIONS (PTA): SERTRALINE 100 MG DAILY; IBUPROFEN 400 MG PRN\n"
         "(NOT TAKING SINCE ADMISSION - ON KETOROLAC).", MedicationStatus.ACTIVE,
         Assertion.NEGATED),
    ],
)  # fmt: skip
def test_a_dose_given_for_a_study_and_a_drug_not_taken(extractor, text, status, assertion):
    (found,) = [
        m for m in extractor.extract(text).medications
        if m.generic_name in ("iohexol", "ibuprofen")
    ]  # fmt: skip
    assert (found.status, found.assertion) == (status, assertion)


def test_a_radiology_impressions_incidental_findings(extractor):
    text = (
        "IMPRESSION:\n"
        "3. Incidental 1.8 cm left adrenal adenoma (lipid-rich).\n"
        "6. Other chronic findings: prostatomegaly, small fat-containing umbilical hernia, simple "
        "right renal cyst.\n"
    )
    found = {c.text: c.icd10_code for c in extractor.extract(text).conditions}
    assert found == {"adrenal adenoma": "D35.00", "prostatomegaly": "N40.0",
                     "umbilical hernia": "K42.9", "renal cyst": "N28.1"}  # fmt: skip


def test_a_transfer_forms_note_row_and_an_order_never_given(extractor):
    """A labelled note across the medication table is read as text, each drug with its own
    status (before, once the header was read: one active drug named by the label); an order
    the row says was not given was not taken (before: active)."""
    text = (
        "9. MEDICATIONS - CURRENT MAR (last dose given)\n"
        "| Medication / dose / route / frequency | Indication | Last dose given | Notes |\n"
        "| apixaban 2.5 mg PO BID | Atrial fibrillation | 03/03/2025 08:00 | Anticoagulant |\n"
        "| levofloxacin 750 mg PO x1 (ordered 03/03 09:10) | Suspected pneumonia | NOT GIVEN | "
        "Transferred before 1st dose |\n"
        "| Discontinued in last 30 days (do NOT resume without review): quetiapine 25 mg PO at "
        "bedtime - discontinued 02/20/2025 (gradual dose reduction). |  |  |  |\n"
    )
    found = {m.generic_name: (m.status, m.assertion) for m in extractor.extract(text).medications}
    assert found == {
        "apixaban": (MedicationStatus.ACTIVE, Assertion.PRESENT),
        "levofloxacin": (MedicationStatus.ACTIVE, Assertion.NEGATED),
        "quetiapine": (MedicationStatus.STOPPED, Assertion.PRESENT),
    }
