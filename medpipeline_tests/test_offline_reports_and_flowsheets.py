"""The offline provider on the layouts of an eighth blind set's tuning half (2026-12-06,
twenty-sixth session): a cath-lab report, a dialysis clinic's lab flowsheet, a well-child form, an
endoscopy printout, an orthopaedic discharge grid and an urgent-care summary printed in a fixed
font. Each case is short text of our own in the layout those documents print; each failed on the
code before its rule unless it says it is a guard."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.prompts import DocumentType, detect_document_type
from medpipeline.extraction.schema import Assertion, MedicationStatus
from medpipeline_tests.helpers import bundle_of_note, resources_of


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


CATH_REPORT = (
    "CARDIAC CATHETERIZATION REPORT\n"
    "Admit Date:\t03/11/2024\tProcedure Date:\t03/12/2024\n"
    "INDICATIONS\n"
    "Non-ST elevation myocardial infarction (NSTEMI). Troponin I peaked at 4.82 ng/mL.\n"
    "HISTORY\n"
    "65-year-old man with hypertension and type 2 diabetes mellitus.\n"
    "PRE-PROCEDURE LABS (03/12/2024 05:10):\n"
    "| TEST | RESULT | UNITS | REF RANGE | TEST | RESULT | UNITS | REF RANGE |\n"
    "| Creatinine | 1.3 H | mg/dL | 0.7-1.2 | Hemoglobin | 13.6 | g/dL | 13.5-17.5 |\n"
    "| Potassium | 4.2 | mmol/L | 3.5-5.1 | Platelets | 221 | K/uL | 150-400 |\n"
    "PROCEDURES PERFORMED\n"
    "1. Left heart catheterization. 2. Selective coronary angiography. 3. Intravascular\n"
    "ultrasound of the left anterior descending artery.\n"
)


def test_a_procedure_reports_labs_table_does_not_make_it_a_laboratory_report():
    """Its results table ('TEST | RESULT | ... REF RANGE') made the report a laboratory report,
    whose conditions come only from a diagnosis field: the NSTEMI and the history were lost."""
    assert detect_document_type(CATH_REPORT) != DocumentType.LAB_REPORT
    conditions = {r["code"]["text"] for r in resources_of(bundle_of_note(CATH_REPORT), "Condition")}
    assert {"hypertension", "type 2 diabetes mellitus"} <= conditions
    assert conditions & {"NSTEMI", "Non-ST elevation myocardial infarction"}


def test_two_results_tables_printed_side_by_side(extractor):
    """'| TEST | RESULT | UNITS | REF RANGE | TEST | RESULT | ...': the right-hand table's results
    too (before: hemoglobin and platelets were lost)."""
    found = {o.name: (o.value, o.unit) for o in extractor.extract(CATH_REPORT).observations}
    assert found["Hemoglobin"] == (13.6, "g/dL")
    assert found["Platelets"][0] == 221.0
    assert found["Creatinine"] == (1.3, "mg/dL")
    assert found["Potassium"] == (4.2, "mmol/L")


def test_a_numbered_list_run_on_in_one_paragraph(extractor):
    """'1. Left heart catheterization. 2. Selective coronary angiography. 3. ...' are three
    procedures (before: one, named 'Left heart catheterization. 2')."""
    names = [p.text for p in extractor.extract(CATH_REPORT).procedures]
    assert names == [
        "Left heart catheterization",
        "Selective coronary angiography",
        "Intravascular ultrasound of the left anterior descending artery",
    ]


def test_a_reconciliation_tables_new_status_orders_the_drug(extractor):
    text = (
        "| POST-PROCEDURE MEDICATIONS / ORDERS |  |  |  |\n"
        "| MEDICATION | DOSE / FREQUENCY | STATUS | COMMENT |\n"
        "| Aspirin | 81 mg PO daily | CONTINUE | Indefinitely |\n"
        "| Ticagrelor (Brilinta) | 90 mg PO twice daily | NEW | DAPT for 12 months |\n"
        "| Metoprolol tartrate | 25 mg PO twice daily | DISCONTINUED | Changed to succinate |\n"
    )
    found = [(m.text, m.status, m.prescribed) for m in extractor.extract(text).medications]
    assert found == [
        ("Aspirin", MedicationStatus.ACTIVE, False),
        ("Ticagrelor (Brilinta)", MedicationStatus.ACTIVE, True),
        ("Metoprolol tartrate", MedicationStatus.STOPPED, False),
    ]


def test_drugs_to_avoid_on_the_line_the_page_wrapped_to(extractor):
    """'Avoid\\nNSAIDs (ibuprofen, naproxen)': the line break ended the sentence at 'Avoid' and
    both were active drugs."""
    text = (
        "If ticagrelor is not tolerated, may switch to clopidogrel after discussion. Avoid\n"
        "NSAIDs (ibuprofen, naproxen). Continue aspirin 81 mg daily.\n"
    )
    found = {m.text: m.assertion for m in extractor.extract(text).medications}
    assert found["ibuprofen"] == Assertion.NEGATED
    assert found["naproxen"] == Assertion.NEGATED
    assert found["aspirin"] == Assertion.PRESENT


def test_a_table_of_doses_given_goes_on_after_a_page_break_under_its_caption(extractor):
    """The rows on the next page, below the running header, are doses given too (before: the
    fentanyl and heparin there were drugs the patient takes)."""
    text = (
        "| SEDATION / MEDICATIONS ADMINISTERED IN LAB |  |  |  |\n"
        "| MEDICATION | DOSE | ROUTE | TIME |\n"
        "| Midazolam | 2 mg (total) | IV | 14:02 |\n\n"
        "Printed 03/12/2024 16:42 | Confidential\tPage 1 of 3\n"
        "RIVERBEND HEART INSTITUTE - CATH LAB\tOKAFOR, R MRN: 00482913\n"
        "| Fentanyl | 50 mcg (total) | IV | 14:02 |\n"
        "| Heparin | 6,000 units | IV | 14:12 |\n"
    )
    found = {m.text: m.status for m in extractor.extract(text).medications}
    assert found == {
        "Midazolam": MedicationStatus.COMPLETED,
        "Fentanyl": MedicationStatus.COMPLETED,
        "Heparin": MedicationStatus.COMPLETED,
    }


def test_another_tables_rows_below_a_vital_signs_table_are_no_readings(extractor):
    """The table finder joined an angiography table to the hemodynamics table above it: its
    stenoses (0, 90, 40 %) were diastolic pressures."""
    text = (
        "| HEMODYNAMICS |  |  |  |  |\n"
        "| SITE | SYSTOLIC | DIASTOLIC | MEAN | HR |\n"
        "| Aorta (Ao) | 132 | 78 | 98 | 74 |\n"
        "| CORONARY ANGIOGRAPHY |  |  |  |  |\n"
        "| VESSEL | LESION | % STENOSIS | TIMI FLOW | COMMENT |\n"
        "| Left main | - | 0 | 3 | Normal |\n"
        "| LAD | Proximal | 90 | 2 | Culprit lesion |\n"
    )
    readings = sorted(o.value for o in extractor.extract(text).observations if o.value is not None)
    assert readings == [74.0, 78.0, 132.0]


def test_a_switch_the_text_only_offers(extractor):
    text = "If the culture shows resistance, we may switch you\nto cephalexin or fosfomycin.\n"
    found = {m.text: m.assertion for m in extractor.extract(text).medications}
    assert found == {"cephalexin": Assertion.HYPOTHETICAL, "fosfomycin": Assertion.HYPOTHETICAL}


def test_an_after_visit_summarys_lists_under_arrowed_titles(extractor):
    """'>> START TAKING these medications:' orders, '>> STOP taking these medications:' stops
    (before: the arrows hid the titles and every drug was one the patient takes)."""
    text = (
        "YOUR MEDICATION LIST\n>> START TAKING these medications:\n"
        "NITROFURANTOIN 100 MG CAPSULE\nTake 1 capsule by mouth 2 times a day for 5 days.\n"
        ">> CONTINUE taking these medications:\nSERTRALINE 100 MG TABLET\tTake 1 tablet daily.\n"
        ">> STOP taking these medications:\nIBUPROFEN 400 MG TABLET\n"
    )
    found = [(m.text, m.status, m.prescribed) for m in extractor.extract(text).medications]
    assert found == [
        ("NITROFURANTOIN", MedicationStatus.ACTIVE, True),
        ("SERTRALINE", MedicationStatus.ACTIVE, False),
        ("IBUPROFEN", MedicationStatus.STOPPED, False),
    ]


URGENT_CARE_PRINTOUT = (
    "VITAL SIGNS\n"
    "BP\tHR\tTEMP\tRESP\tSPO2\tWEIGHT\n"
    "124/78\t96\t37.6 C (99.7 F) 16\t99%\t64.0 kg\n\n"
    "TESTS DONE TODAY\n"
    "URINALYSIS (DIPSTICK, POINT OF CARE)\tRESULT\tNORMAL\n"
    "Leukocyte esterase\t2+\tNegative\n"
    "Nitrite\tPositive\tNegative\n"
    "Specific gravity\t1.020\t1.005-1.030\n"
)


def test_a_fixed_font_vital_signs_row_with_two_cells_a_space_apart(extractor):
    """'37.6 C (99.7 F) 16' is the temperature and the respiratory rate (before: the row had a
    cell fewer than its header and no vital sign was read)."""
    found = {
        o.loinc_code: o.value
        for o in extractor.extract(URGENT_CARE_PRINTOUT).observations
        if o.category == "vital-signs"
    }
    assert found["8310-5"] == 37.6  # body temperature
    assert found["9279-1"] == 16.0  # respiratory rate
    assert found["8867-4"] == 96.0  # heart rate
    assert found["29463-7"] == 64.0  # body weight


def test_tests_done_today_under_the_vital_signs_are_laboratory_results(extractor):
    """A urinalysis under 'TESTS DONE TODAY' (read as more vital signs before: none), its
    dipstick grade a word result ('2+', not 2 in a unit '+')."""
    found = {
        o.name: (o.value, o.value_text, o.unit)
        for o in extractor.extract(URGENT_CARE_PRINTOUT).observations
        if o.category == "laboratory"
    }
    assert found["Leukocyte esterase"] == (None, "2+", None)
    assert found["Nitrite"][1] == "Positive"
    assert found["Specific gravity"][0] == 1.02


def test_an_endoscopy_reports_sedation_and_what_it_plans(extractor):
    """Sedation under 'SEDATION / MEDICATIONS (administered by anesthesia, MAC):' was given
    (before: active drugs); 'If H. pylori positive, will prescribe ... therapy: bismuth ...,
    metronidazole' only proposes them ('H.' had ended the sentence); a serology of tissue
    transglutaminase IgA orders no drug."""
    text = (
        "SEDATION / MEDICATIONS (administered by anesthesia, MAC):\n"
        "PROPOFOL ................ 280 mg IV total (titrated)\n"
        "LIDOCAINE ............... 40 mg IV\n"
        "-----------------------------------------\n"
        "RECOMMENDATIONS:\n"
        "- Await pathology. If H. pylori positive, will prescribe bismuth\n"
        "quadruple therapy: bismuth subsalicylate, metronidazole, plus PPI x 14 days.\n"
        "- Celiac serology (tissue transglutaminase IgA with total IgA) ordered today.\n"
    )
    found = {m.text: (m.status, m.assertion) for m in extractor.extract(text).medications}
    assert found == {
        "PROPOFOL": (MedicationStatus.COMPLETED, Assertion.PRESENT),
        "LIDOCAINE": (MedicationStatus.COMPLETED, Assertion.PRESENT),
        "bismuth subsalicylate": (MedicationStatus.ACTIVE, Assertion.HYPOTHETICAL),
        "metronidazole": (MedicationStatus.ACTIVE, Assertion.HYPOTHETICAL),
    }


DISCHARGE_GRID = (
    "ALLERGIES / INTOLERANCES\n"
    "| Sulfa (sulfonamide antibiotics) | Hives |\n"
    "| Morphine | Itching |\n"
    "DISCHARGE VITAL SIGNS / LABS / FUNCTION (06/05/2024)\n"
    "| BP | HR |  | Temp | RR | SpO2 |\n"
    "| 118/68 | 82 |  | 37.2 C | 16 | 95% RA |\n"
    "| LAB |  | 06/05 (POD 2) |  | PRE-OP 05/24 |  |\n"
    "| Hemoglobin (g/dL) |  | 9.8 |  | 12.6 |  |\n"
    "| Potassium (mmol/L) |  | 4.0 |  | 4.4 |  |\n"
    "FOLLOW-UP / INSTRUCTIONS\n"
    "- Wound check and staple removal at orthopedic clinic on 06/17/2024.\n"
    "- Call 911 for chest pain or shortness of breath. Call the office for fever > 101.5 F.\n"
)


def test_a_lab_flowsheet_below_a_row_of_vital_signs(extractor):
    """The lab rows below the vital signs' row were read under its header (a potassium of 4.0
    was a respiratory rate); a dates row ('| LAB | 06/05 (POD 2) | PRE-OP 05/24 |') heads a
    table of its own, its dates read through their labels."""
    found = sorted(
        (o.name, o.value, o.effective_date) for o in extractor.extract(DISCHARGE_GRID).observations
    )
    assert ("Hemoglobin", 9.8, "2024-06-05") in found
    assert ("Potassium", 4.4, "2024-05-24") in found
    assert [value for name, value, _ in found if name == "RR"] == [16.0]


def test_a_headerless_allergy_table_whose_first_row_has_a_remark(extractor):
    """'Sulfa (sulfonamide antibiotics) | Hives' passed for a header row ('antibiotics' is a
    column's word), so the sulfa allergy was lost."""
    allergies = {a.substance for a in extractor.extract(DISCHARGE_GRID).allergies}
    assert allergies == {"Sulfa (sulfonamide antibiotics)", "Morphine"}


def test_symptoms_to_call_about_are_no_conditions(extractor):
    conditions = {c.text: c.assertion for c in extractor.extract(DISCHARGE_GRID).conditions}
    assert conditions == {
        "chest pain": Assertion.HYPOTHETICAL,
        "shortness of breath": Assertion.HYPOTHETICAL,
        "fever": Assertion.HYPOTHETICAL,
    }


def test_a_dialysis_clinics_lab_flowsheet_with_a_target_column(extractor):
    """'| TEST | 04/29/2024 | 03/25/2024 | UNITS | TARGET |' under the physical exam: read by
    date (before: the section made it no results table)."""
    text = (
        "PHYSICAL EXAM\nAV fistula with good thrill and bruit.\n"
        "| TEST | 04/29/2024 | 03/25/2024 | UNITS | TARGET |\n"
        "| Ferritin | 412 | 388 | ng/mL | 200-500 |\n"
        "| Albumin | 3.6 L | 3.7 | g/dL | >=4.0 |\n"
    )
    found = sorted(
        (o.name, o.value, o.effective_date) for o in extractor.extract(text).observations
    )
    assert found == [
        ("Albumin", 3.6, "2024-04-29"),
        ("Albumin", 3.7, "2024-03-25"),
        ("Ferritin", 388.0, "2024-03-25"),
        ("Ferritin", 412.0, "2024-04-29"),
    ]


def test_a_well_child_forms_visit_date_cell_and_its_instructions(extractor):
    """'| Visit date | 01/19/2024 09:40 |' dates the encounter; 'Do not give\\naspirin' gives
    none, in a medication section too (where a drug opening a line opens an item); 'Hepatitis A
    dose 2 due' is a vaccine's dose, no hepatitis."""
    text = (
        "| Patient | ALVAREZ-BROOKS, MATEO J | Visit date | 01/19/2024 09:40 |\n"
        "MEDICATIONS\n| MEDICATION | SIG | STATUS |\n"
        "| Poly-Vi-Sol with Iron drops | 1 mL PO daily | DISCONTINUED today |\n"
        "If fever after today's vaccines, may give acetaminophen 160 mg as needed. Do not give\n"
        "aspirin-containing products.\nPLAN\nHepatitis A dose 2 due at 18 months.\n"
    )
    extraction = extractor.extract(text)
    assert [e.start_date for e in extraction.encounters] == ["2024-01-19"]
    aspirin = next(m for m in extraction.medications if m.text.lower().startswith("aspirin"))
    assert aspirin.assertion == Assertion.NEGATED
    assert extraction.conditions == []


# The blind half (08-14), read after its figures were taken: a geriatric reconciliation, an HIV
# clinic note, a sleep consult, a home health visit, a postpartum summary.


def test_a_reconciliation_marks_each_drugs_action_in_its_column(extractor):
    """'| CONTINUE | STOP | HOLD |' with an X under one: every drug was active; '1,000 mcg' cut
    the name at its thousands ('Cyanocobalamin (vitamin B12) 1')."""
    text = (
        "| # | MEDICATION / DOSE / SIG | INDICATION | CONTINUE | STOP | HOLD | COMMENT |\n"
        "| 1 | Lisinopril 20 mg PO daily | HTN / CKD | X |  |  |  |\n"
        "| 2 | Glipizide 5 mg PO BID | DM2 |  | X |  | Beers: hypoglycemia risk |\n"
        "| 3 | Omeprazole 40 mg PO daily | Heartburn |  |  | X | Trial off x 4 wk |\n"
        "| 4 | Cyanocobalamin (vitamin B12) 1,000 mcg PO daily | Supplement | X |  |  |  |\n"
    )
    found = [(m.text, m.status) for m in extractor.extract(text).medications]
    assert found == [
        ("Lisinopril", MedicationStatus.ACTIVE),
        ("Glipizide", MedicationStatus.STOPPED),
        ("Omeprazole", MedicationStatus.ON_HOLD),
        ("Cyanocobalamin (vitamin B12)", MedicationStatus.ACTIVE),
    ]


def test_a_plans_new_drug_and_a_prescription_sent(extractor):
    text = (
        "PLAN\nNEW: Mirabegron 25 mg PO daily (OAB) - Rx sent. Melatonin 3 mg PO at bedtime.\n"
        "Contraception: plans levonorgestrel IUD at the 6-week visit.\n"
        "He plans to continue aspirin 81 mg daily.\n"
    )
    found = {m.text: (m.assertion, m.prescribed) for m in extractor.extract(text).medications}
    assert found == {
        "Mirabegron": (Assertion.PRESENT, True),
        "Melatonin": (Assertion.PRESENT, True),
        "levonorgestrel": (Assertion.HYPOTHETICAL, False),
        "aspirin": (Assertion.PRESENT, False),  # guard: a plan to go on with it
    }


def test_a_cancer_with_no_recurrence_and_a_clinics_title(extractor):
    """'Breast cancer, 2005 s/p lumpectomy - no recurrence' is in remission; the title
    'INFECTIOUS DISEASE - HIV PRIMARY CARE FOLLOW-UP' names no condition, 'HIV-1 infection' in
    the history does; 'Reports 100% adherence' is no reading."""
    text = (
        "INFECTIOUS DISEASE - HIV PRIMARY CARE FOLLOW-UP\n"
        "HPI: 38 y/o man with HIV-1 infection diagnosed 03/2016. Reports 100%\n"
        "adherence to his regimen.\n"
        "PMH\nBreast cancer, left, 2005 s/p lumpectomy and radiation - no recurrence.\n"
    )
    extraction = extractor.extract(text)
    found = {c.text: (c.assertion, c.in_remission) for c in extraction.conditions}
    assert found == {
        "HIV-1 infection": (Assertion.PRESENT, False),
        "Breast cancer": (Assertion.HISTORICAL, True),
    }
    assert extraction.observations == []


@pytest.mark.parametrize(
    ("text", "drugs"),
    [
        (
            "CPAP DOWNLOAD\nMode/pressure ............ APAP 5-15 cm H2O, EPR 2\n"
            "2. Severe obstructive sleep apnea - well controlled on APAP.\n",
            [],
        ),
        ("Pain: APAP 650 mg PO q6h PRN.\n", ["APAP"]),  # guard: acetaminophen
    ],
)
def test_a_pap_machine_is_no_medication(extractor, text, drugs):
    assert [m.text for m in extractor.extract(text).medications] == drugs


def test_a_wound_cleansed_with_saline_is_a_dose_given(extractor):
    """As a wound irrigated with it: a completed administration, not a drug the patient takes."""
    (saline,) = extractor.extract("Cleansed with normal saline, patted dry.\n").medications
    assert (saline.status, saline.administered) == (MedicationStatus.COMPLETED, True)


def test_a_home_health_visit_is_a_home_health_encounter():
    text = (
        "BLUE HERON HOME HEALTH SERVICES\tPh 603-555-0110\n"
        "SKILLED NURSING VISIT NOTE (SN)\tVisit date: 09/23/2024\n"
        "Homebound status: leaves home only for medical appointments.\n"
    )
    (encounter,) = resources_of(bundle_of_note(text), "Encounter")
    assert encounter["class"]["code"] == "HH"
    assert encounter["period"]["start"].startswith("2024-09-23")


def test_an_after_visit_summary_with_a_results_table_keeps_its_diagnoses():
    """Its side-by-side 'TEST | RESULT | UNITS | REF RANGE' tables made it a laboratory report,
    and the diagnosis under 'YOUR DIAGNOSES TODAY' was lost (seen in the session's dev.sh
    canary)."""
    text = (
        "AFTER VISIT SUMMARY\nVisit Date: 11/30/2026\n\nYOUR DIAGNOSES TODAY\n"
        "1. Acute cystitis without hematuria (N30.00)\n\nALLERGIES\nPenicillins - Anaphylaxis\n\n"
        "TESTS DONE TODAY\n"
        "| TEST | RESULT | UNITS | REF RANGE | TEST | RESULT | UNITS | REF RANGE |\n"
        "| Creatinine | 0.8 | mg/dL | 0.6-1.1 | Hemoglobin | 12.9 | g/dL | 12.0-15.5 |\n\n"
        "YOUR MEDICATION LIST\nNITROFURANTOIN 100 MG CAPSULE twice a day for 5 days\n"
    )
    assert detect_document_type(text) != DocumentType.LAB_REPORT
    conditions = [r["code"]["text"] for r in resources_of(bundle_of_note(text), "Condition")]
    assert conditions == ["Acute cystitis"]
