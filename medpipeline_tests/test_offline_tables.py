"""Contract: the offline extractor reads EHR structure - section titles and table rows by their
header row - so a title or column header is never a fact, an allergy row is an allergy and never a
medication, a family-history row is not the patient's, and procedures come from procedure tables
and narrative; drug names and ICD-10-CM codes come from the maintained vocabularies.

Texts are short, realistic EHR printouts of our own, tables written as `medpipeline.pdf` writes
them (one row per line, cells between bars); one test renders a real PDF table with fpdf2.
"""

import re
from pathlib import Path

import pytest
from fpdf import FPDF

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.offline.demographics import first_date
from medpipeline.extraction.offline.pipeline import build_pipeline
from medpipeline.extraction.offline.result_tables import vital_kind
from medpipeline.extraction.offline.sections_tables import find_tables
from medpipeline.extraction.offline.vocabularies import find_drug, icd10_code
from medpipeline.extraction.prompts import DocumentType, detect_document_type
from medpipeline.extraction.schema import Assertion, ChunkExtraction, MedicationStatus
from medpipeline.pdf import PdfLimits, extract_pages

HEADER_WORDS = {"substance", "reaction", "severity", "status", "name", "dates", "details"}
HEADER_WORDS |= {"adverse reactions", "allergies and adverse reactions", "medications", "problems"}
HEADER_WORDS |= {"test", "value", "unit", "range", "procedure", "date", "vital signs", "results"}


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def names(result: ChunkExtraction) -> list[str]:
    return (
        [c.text for c in result.conditions]
        + [m.text for m in result.medications]
        + [a.substance or "" for a in result.allergies]
        + [o.name for o in result.observations]
        + [p.text for p in result.procedures]
    )


def assert_clean(result: ChunkExtraction, text: str) -> None:
    """Every quote is document text; no fact is named by a title or a column header."""
    for fact in [*result.conditions, *result.medications, *result.allergies]:
        assert fact.quote in text
    for fact in [*result.observations, *result.procedures]:
        assert fact.quote in text
    assert not {name.lower() for name in names(result)} & HEADER_WORDS, names(result)


ALLERGY_TABLE = """Allergies and Adverse Reactions
| Substance | Reaction | Severity | Status |
| Penicillin G benzathine | Hives | Moderate | Active |
| Codeine | Nausea | Mild | Active |
Medications
| Medication | Sig | Status |
| Lisinopril 10 mg oral tablet | take 1 tablet by mouth daily | Active |
"""


def test_allergy_rows_are_allergies_not_medications(extractor):
    result = extractor.extract(ALLERGY_TABLE)
    assert_clean(result, ALLERGY_TABLE)
    allergies = {a.substance: a for a in result.allergies}
    assert set(allergies) == {"Penicillin G benzathine", "Codeine"}
    assert allergies["Penicillin G benzathine"].reaction == "Hives"
    assert allergies["Penicillin G benzathine"].severity == "moderate"
    assert [m.generic_name for m in result.medications] == ["lisinopril"]


def test_medication_row_reads_product_sig_and_status(extractor):
    text = """Medications
| Name | Dates | Details |
| Proventil HFA 90 mcg/actuation Inhalation Aerosol INHALE 2 PUFFS every 6 hours as needed | \
01/02/2013 | Expired |
| Medication Administration not documented |  |  |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    [medication] = result.medications
    assert medication.text == "Proventil HFA 90 mcg/actuation Inhalation Aerosol"
    assert medication.generic_name == "albuterol"  # brand -> generic by the drug dictionary
    # one administration is what the instructions say (2 puffs), not the product's strength
    assert (medication.dose_value, medication.dose_unit) == (2, "{puff}")
    assert medication.status == MedicationStatus.COMPLETED


@pytest.mark.parametrize(
    ("row", "dose"),
    [
        (
            "| metFORMIN 500 mg tablet | take 2 tablets by mouth twice daily | Active |",
            (1000, "mg"),
        ),
        ("| ketorolac 30 mg/mL injection | inject 1 mL IM every 6 hours | Active |", (1, "mL")),
        ("| lisinopril 10 mg tablet | take 1 tablet by mouth daily | Active |", (10, "mg")),
        ("| atorvastatin 40 mg tablet |  | Active |", (40, "mg")),
        (  # the tablets taken, not a later step's dose
            "| azithromycin 500 mg tablet | take 1 tablet by mouth daily for 3 days, then 250 mg"
            " once daily | Active |",
            (500, "mg"),
        ),
        (
            "| metoprolol tartrate 25 mg tablet | take 2 tablets (50 mg) daily | Active |",
            (50, "mg"),
        ),
        (  # a syrup's volume given, not its concentration
            "| Promethazine HCl 6.25 MG/5ML syrup | Give 10 ml every 6 hrs as needed | Active |",
            (10, "mL"),
        ),
    ],
)
def test_a_medication_rows_dose_is_one_administration(extractor, row, dose):
    """The sig column's dose beats the product's strength; tablets taken multiply it."""
    text = f"Medications\n| Medication | Instructions | Status |\n{row}\n"
    [medication] = extractor.extract(text).medications
    assert (medication.dose_value, medication.dose_unit) == dose


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Problems\n| Name | Dates | Details |\n"
            "| Asthma (493.90, J45.909) | Onset: 25-Sep-2011 | Status: Active |\n",
            [("Asthma", "J45.909", Assertion.PRESENT)],
        ),
        (
            "Problem List\n| Description | Status | Onset |\n"
            "| Atrial fibrillation | Resolved | 08/12/1998 |\n",
            [("Atrial fibrillation", "I48.91", Assertion.HISTORICAL)],
        ),
        ("Problems\n| Problem | Status |\n| No known problems | Active |\n", []),
    ],
    ids=["printed-icd10", "icd10-index-and-resolved", "absence-row"],
)
def test_problem_rows(extractor, text, expected):
    result = extractor.extract(text)
    assert_clean(result, text)
    got = [(c.text, c.icd10_code, c.assertion) for c in result.conditions]
    assert got == expected


@pytest.mark.parametrize(
    ("status", "resolved", "inactive", "in_remission"),
    [
        ("Remission", False, False, True),
        ("In remission", False, False, True),
        ("Inactive", False, True, False),
        ("Resolved", True, False, False),
        ("Historical", False, True, False),
    ],
)
def test_a_problem_rows_remission_or_inactivity_is_no_resolution(
    extractor, status, resolved, inactive, in_remission
):
    """A problem listed in remission is a current problem in remission (FHIR clinicalStatus
    'remission'), one listed inactive may come back (clinicalStatus 'inactive'): neither is a
    resolved one."""
    text = f"Problem List\n| Description | Status |\n| Acute myeloid leukemia | {status} |\n"
    [found] = extractor.extract(text).conditions
    assert (found.resolved, found.inactive, found.in_remission) == (
        resolved,
        inactive,
        in_remission,
    )


def test_an_assessments_table_of_diagnoses_is_conditions_not_the_procedures_above(extractor):
    text = """Procedures
| Procedure | Date / Time Performed | Performing Clinician |
| Appendectomy | 2015-03-20 00:00:00 | Doe, Jane |
Assessments
| Condition Name | Status | Diagnosis Date | Treating Clinician |
| Plantar fascial fibromatosis | Active |  |  |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [p.text for p in result.procedures] == ["Appendectomy"]
    got = [(c.text, c.icd10_code, c.assertion) for c in result.conditions]
    assert got == [("Plantar fascial fibromatosis", "M72.2", Assertion.PRESENT)]


def test_a_questionnaire_answer_decides_and_pregnancy_counts_are_no_conditions(extractor):
    text = """Medical History
| Condition | Response |
| Arthritis | Y |
| Diabetes mellitus | N |
| Asthma |  |
Gynecological History
| Statement/Question | Response |
| Total # of Pregnancies | 2 |
| Most Recent Mammogram | 02/01/2025 |
Obstetrics History
| Type | Value |
| Full Term | 2 |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    got = [(c.text, c.assertion) for c in result.conditions]
    assert got == [("Arthritis", Assertion.PRESENT), ("Diabetes mellitus", Assertion.NEGATED)]
    assert result.procedures == [] and result.observations == []


def test_family_history_rows_are_not_the_patients(extractor):
    text = """Family History
| Relation | Problem | Onset |
| Mother | Diabetes mellitus type 2 | 1990 |
Family history: father had hypertension.
"""
    result = extractor.extract(text)
    assert all(c.assertion != Assertion.PRESENT for c in result.conditions), result.conditions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Procedures\n| Procedure | Date | Status |\n"
            "| Total knee arthroplasty (27447) | 03/01/2015 | Completed |\n"
            "| Colonoscopy | 04/02/2024 | Scheduled |\n",
            [
                ("Total knee arthroplasty", "2015-03-01", Assertion.PRESENT),
                ("Colonoscopy", "2024-04-02", Assertion.HYPOTHETICAL),
            ],
        ),
        (
            "In 2010 she underwent laparoscopic appendectomy without complication.",
            [("laparoscopic appendectomy", None, Assertion.PRESENT)],
        ),
        ("He has never had a colonoscopy.", [("colonoscopy", None, Assertion.NEGATED)]),
        (
            "You were admitted with a sinus mass. You underwent a\nbiopsy of the sinus mass and"
            " were treated with IV antibiotics.",
            [("biopsy of the sinus mass", None, Assertion.PRESENT)],
        ),
        (
            "Procedures\n| Name | Dates | Details |\n"
            "| DIAGNOSTIC COLONOSCOPY (45378) By: Seven, Henry | On 22-Sep-2012 | Intent |\n"
            "| CHEST XRAY, PA & LATERAL (71020) By: Seven, Henry |  | Completed: 6-Aug-2012 |\n",
            [
                ("DIAGNOSTIC COLONOSCOPY", "2012-09-22", Assertion.HYPOTHETICAL),
                ("CHEST XRAY, PA & LATERAL", None, Assertion.PRESENT),
            ],
        ),
        (
            "Procedures\n| Date | Procedure | Code | Status |\n"
            "| 05/01/2011 | Upper endoscopy | 43235 | Aborted |\n"
            "| 06/01/2012 | Knee arthroscopy | 29881 | Refused by patient |\n",
            [
                ("Upper endoscopy", "2011-05-01", Assertion.NEGATED),
                ("Knee arthroscopy", "2012-06-01", Assertion.NEGATED),
            ],
        ),
        (
            "Past Surgical History:\n- Appendectomy - 2010\n"
            "- Cholecystectomy, laparoscopic 05/2015 completed\n"
            "- Total knee replacement (right) on 3/1/2018\n- Tonsillectomy age 7\n"
            "- Hernia repair - scheduled\n- No previous surgeries\n",
            [
                ("Appendectomy", "2010", Assertion.PRESENT),  # a year: done to the year
                ("Cholecystectomy, laparoscopic", "2015-05", Assertion.PRESENT),
                ("Total knee replacement (right)", "2018-03-01", Assertion.PRESENT),
                ("Tonsillectomy", None, Assertion.PRESENT),
                ("Hernia repair", None, Assertion.HYPOTHETICAL),
            ],
        ),
        (
            "Procedures\n| Procedure | Date | Comments |\n"
            "| Knee arthroscopy | 03/03/2014 | due to meniscal tear |\n",
            [("Knee arthroscopy", "2014-03-03", Assertion.PRESENT)],
        ),
        (
            "Plan of Care\nPlanned Procedures\n| Name | Dates | Details |\n"
            "| Renal ultrasound By: Ortiz, Ana Dr | On 14-Feb-2014 | Request |\n"
            "Procedures\n| Name | Dates | Details |\n"
            "| Cystoscopy By: Ortiz, Ana Dr | On 3-Jan-2014 | Completed |\n",
            [
                ("Renal ultrasound", "2014-02-14", Assertion.HYPOTHETICAL),
                ("Cystoscopy", "2014-01-03", Assertion.PRESENT),
            ],
        ),
        (
            "PROCEDURE PERFORMED: Hemiarthroplasty, right hip.\n"
            "Operations: Appendectomy; drain placement\n"
            "Procedure: The patient was placed supine and draped.\n",
            [
                ("Hemiarthroplasty, right hip", None, Assertion.PRESENT),
                ("Appendectomy", None, Assertion.PRESENT),
                ("drain placement", None, Assertion.PRESENT),
            ],
        ),
        (
            "The patient had continued confusion. He had a blood transfusion on day 2 and had"
            " spinal fusion in 2009.",
            [
                ("blood transfusion", None, Assertion.PRESENT),
                ("spinal fusion", "2009", Assertion.PRESENT),
            ],
        ),
        (  # a heading row of who and where columns besides the procedure's name
            "PROCEDURES\n| Procedure Name | Priority | Associated Diagnoses | Facility | Performer"
            " | Date/Time | Documented By |\n| Osteotomy of proximal femur (procedure) | Routine "
            "| Osteoarthritis |  | A.Moreland | (04/13/2016) |  |\n",
            [("Osteotomy of proximal femur", "2016-04-13", Assertion.PRESENT)],
        ),
        (  # dictated items: the date they open with and the findings after are not the name
            "PROCEDURES:\n1. On 4/12/2021, abdominal ultrasound: 1) Gallstones without"
            " wall thickening;\n2) Normal common bile duct.\n"
            "2. On May 3, 2021, upper endoscopy. Impression: Mild gastritis.\n"
            "3. Renal duplex ultrasound showed patent renal arteries.\n"
            "4. Procedure: Paracentesis\n",
            [
                ("abdominal ultrasound", "2021-04-12", Assertion.PRESENT),
                ("upper endoscopy", "2021-05-03", Assertion.PRESENT),
                ("Renal duplex ultrasound", None, Assertion.PRESENT),
                ("Paracentesis", None, Assertion.PRESENT),
            ],
        ),
        (  # what the writer will have done; one done and reported is no plan
            "Plan: will obtain MRI of the lumbar spine. Schedule colonoscopy.\n"
            "She is due for her routine mammogram. We will get a CT of the abdomen if pain"
            " recurs.\nAn echocardiogram was ordered and showed normal function.\n"
            "No need to obtain a chest x-ray. He declined to schedule a stress test.\n",
            [
                ("MRI of the lumbar spine", None, Assertion.HYPOTHETICAL),
                ("colonoscopy", None, Assertion.HYPOTHETICAL),
                ("mammogram", None, Assertion.HYPOTHETICAL),
                ("CT of the abdomen", None, Assertion.HYPOTHETICAL),
            ],
        ),
        (  # as written and whole: he cannot 'sleep' (no LEEP)
            "History of CAD s/p CABG in 2010. She underwent ORIF of the left ankle and had a"
            " C-section in 2015. He cannot sleep well.\n",
            [
                ("CABG", "2010", Assertion.PRESENT),
                ("ORIF of the left ankle", None, Assertion.PRESENT),
                ("C-section", "2015", Assertion.PRESENT),
            ],
        ),
        (  # operations on a surgical history label's line, and on lines of their own
            "Past Surgical History: Appendectomy (1985). Right knee replacement 2018.\n"
            "PSH: s/p cholecystectomy; no other surgeries.\n"
            "Surgical History:\nTonsillectomy as a child\nHernia repair, inguinal\n"
            "Pt unsure of dates\n\nSocial History: ex-smoker\nPMH: HTN. PSH: hysterectomy.\n",
            [
                ("Appendectomy", "1985", Assertion.PRESENT),
                ("Right knee replacement", "2018", Assertion.PRESENT),
                ("cholecystectomy", None, Assertion.PRESENT),
                ("Tonsillectomy", None, Assertion.PRESENT),
                ("Hernia repair, inguinal", None, Assertion.PRESENT),
                ("hysterectomy", None, Assertion.PRESENT),
            ],
        ),
        (  # one sentence, several procedures; a name going on with a second procedure word
            "He underwent coronary artery bypass grafting in 2015 and cardiac catheterization"
            " last year. She had an appendectomy, a cholecystectomy and a hernia repair.\n",
            [
                ("coronary artery bypass grafting", "2015", Assertion.PRESENT),
                ("cardiac catheterization", None, Assertion.PRESENT),
                ("appendectomy", None, Assertion.PRESENT),
                ("cholecystectomy", None, Assertion.PRESENT),
                ("hernia repair", None, Assertion.PRESENT),
            ],
        ),
        (  # planned, the name before or after the plan
            "Colonoscopy is scheduled for next month. She is scheduled for a stress test.\n"
            "Referred for cardiac catheterization. We recommended a screening mammogram.\n"
            "Repeat chest x-ray in 6 weeks. Repeat CBC in the morning.\n"
            "Echocardiogram ordered. MRI ordered and showed no acute findings.\n",
            [
                ("Colonoscopy", None, Assertion.HYPOTHETICAL),
                ("stress test", None, Assertion.HYPOTHETICAL),
                ("cardiac catheterization", None, Assertion.HYPOTHETICAL),
                ("mammogram", None, Assertion.HYPOTHETICAL),
                ("chest x-ray", None, Assertion.HYPOTHETICAL),
                ("CBC", None, Assertion.HYPOTHETICAL),  # a test to be drawn (2026-12-06)
                ("Echocardiogram", None, Assertion.HYPOTHETICAL),
            ],
        ),
        (  # the name before the verb; a device placed; taken for; not done
            "Taken emergently for cardiac catheterization, which showed occlusion of the RCA;"
            " a drug-eluting stent was placed. A laparoscopic cholecystectomy was performed"
            " without complications. A PICC line was placed for IV antibiotics.\n"
            "No biopsy was performed. No stent was placed. The biopsy was not performed.\n",
            [
                ("cardiac catheterization", None, Assertion.PRESENT),
                ("drug-eluting stent placement", None, Assertion.PRESENT),
                ("laparoscopic cholecystectomy", None, Assertion.PRESENT),
                ("PICC line placement", None, Assertion.PRESENT),
            ],
        ),
        (  # an operation opening its findings' sentence; a test due
            "Thoracentesis removed 1.2 L of straw-colored fluid. GI evaluation 12 September:"
            " Colonoscopy showed a single red clot. Chest x-ray showed no infiltrate.\n"
            "Mammogram due in 2026. Biopsy due to a suspicious lesion.\n"
            "Referred to general surgery for elective laparoscopic cholecystectomy.\n",
            [
                ("Thoracentesis", None, Assertion.PRESENT),
                ("Colonoscopy", None, Assertion.PRESENT),
                ("Mammogram", None, Assertion.HYPOTHETICAL),
                ("laparoscopic cholecystectomy", None, Assertion.HYPOTHETICAL),
            ],
        ),
        (  # the last one done, its date between the name and what it found
            "Last paracentesis 10/2026 removed 5 L. EGD 9/2026 showed small varices.\n"
            "S/p R hip fracture with hemiarthroplasty.\n",
            [
                ("paracentesis", "2026-10", Assertion.PRESENT),
                ("EGD", "2026-09", Assertion.PRESENT),
                ("hemiarthroplasty", None, Assertion.PRESENT),  # not the fracture's words
            ],
        ),
        (  # a planned operation's label; a count after a name is no part of it
            "Procedure planned: Right total knee arthroplasty.\nPSH: C-section x2.\n"
            "Procedures: LN2 cryotherapy x6 AKs on scalp.\nPSH: Tubal ligation.\n",
            [
                ("C-section", None, Assertion.PRESENT),
                ("LN2 cryotherapy", None, Assertion.PRESENT),
                ("Tubal ligation", None, Assertion.PRESENT),
                ("Right total knee arthroplasty", None, Assertion.HYPOTHETICAL),
            ],
        ),
    ],
    ids=[
        "table",
        "narrative",
        "negated-narrative",
        "narrative-wrapped-with-site",
        "performer-code-and-intent",
        "not-done-status",
        "surgical-history-list",
        "comment-is-no-status",
        "planned-procedures-table",
        "labelled-lines",
        "confusion-is-no-fusion",
        "who-and-where-columns",
        "dictated-items-with-findings",
        "planned-in-narrative",
        "abbreviations",
        "surgical-history-lines",
        "coordinated-in-narrative",
        "scheduled-referred-recommended-repeat",
        "name-then-done",
        "name-then-findings-and-due",
        "the-last-one-done-with-its-date",
        "planned-label-and-count",
    ],
)
def test_procedures(extractor, text, expected):
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [(p.text, p.performed_date, p.assertion) for p in result.procedures] == expected


def test_an_inflammation_of_an_organ_since_removed_is_resolved(extractor):
    """'Appendicitis s/p appendectomy' under Past Medical History was an active appendicitis and
    a procedure named 'Appendicitis s/p appendectomy'; a cancer stays a current problem."""
    text = (
        "PAST MEDICAL HISTORY:\n- Appendicitis s/p appendectomy 1998\n"
        "- Cholecystitis, status post laparoscopic cholecystectomy\n- CAD s/p CABG\n"
        "- Breast cancer s/p mastectomy\n"
    )
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [(c.text, c.resolved) for c in result.conditions] == [
        ("Appendicitis", True),
        ("Cholecystitis", True),
        ("CAD", False),
        ("Breast cancer", False),
    ]
    assert [p.text for p in result.procedures] == [
        "appendectomy",
        "laparoscopic cholecystectomy",
        "CABG",
        "mastectomy",
    ]


def test_an_operation_in_the_medical_history_is_a_procedure_not_a_condition(extractor):
    """'- Appendectomy (2005)' under Past Medical History: the year is no diagnosis code and the
    item is an operation done, not a disease."""
    text = (
        "Past Medical History:\n- Hypertension\n- Cholecystectomy, laparoscopic (2005)\n"
        "- Asthma, s/p tonsillectomy as a child\n"
    )
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [c.text for c in result.conditions] == ["Hypertension", "Asthma"]
    assert [(p.text, p.assertion) for p in result.procedures] == [
        ("Cholecystectomy, laparoscopic", Assertion.PRESENT),
        ("tonsillectomy", Assertion.PRESENT),
    ]


def test_results_table_by_column_roles(extractor):
    text = """Results
| Date | Test | Value | Unit | Reference Range |
| 07/11/2013 | Sodium | 140 | mmol/L | 135-145 |
| | Hemoglobin | 11.2 L | g/dL | 12.0-16.0 |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    rows = {
        (o.name, o.value, o.unit, o.reference_low, o.reference_high) for o in result.observations
    }
    assert rows == {("Sodium", 140, "mmol/L", 135, 145), ("Hemoglobin", 11.2, "g/dL", 12, 16)}
    assert {o.interpretation for o in result.observations if o.name == "Hemoglobin"} == {"L"}


RESULT_ROWS = "Results\n| Date | Description | Value | Details |\n"
FLOWSHEET = """Vital Signs
| Vital Sign | 01/15/2013 | 03/04/2013 |
| Weight | 160 lb | 158 lb |
| Blood Pressure | 120/80 mm[Hg] | 130/85 mm[Hg] |
| Pulse |  | 76 /min |
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a count unit that starts with digits; a bare abbreviation takes the method-less code
            RESULT_ROWS + "| 2-Oct-2012 | WBC | 19.1 10^3/ul |  |\n|  | PLT | 255 10^3/ul |  |\n",
            {("WBC", "26464-8", 19.1, "10*3/uL", None, None, None),
             ("PLT", "26515-7", 255, "10*3/uL", None, None, None)},
        ),
        (  # range and verdict written in a details cell
            RESULT_ROWS + "| 18-July-2013 | HCT | 45 % | Range: 42.9 - 49.1 = Normal |\n"
            "|  | HGB | 14.2 g/dL | Range: 14.4 - 16.6 = Abnormal |\n",
            {("HCT", "20570-8", 45, "%", 42.9, 49.1, "N"),
             ("HGB", "718-7", 14.2, "g/dL", 14.4, 16.6, "A")},
        ),
        (  # one cell listing several results, named by LOINC short names or not
            "Results Summary\n| Data and Description | Results |\n| 1/21/2013 4:12 PM | Hgb "
            "Bld-mCnc 13.40 g/dL Hct VFr Bld Auto 46.0 % Hct Fr Bld 44 % WBC # Bld Auto 12.50 "
            "x10E3/uL |\n",
            {("Hgb Bld-mCnc", "718-7", 13.4, "g/dL", None, None, None),
             ("Hct VFr Bld Auto", "4544-3", 46, "%", None, None, None),
             ("Hct Fr Bld", None, 44, "%", None, None, None),
             ("WBC # Bld Auto", "6690-2", 12.5, "10*3/uL", None, None, None)},
        ),
        (  # a cell with words besides the runs is not a list of results
            "Results Summary\n| Data and Description | Results |\n| 1/21/2013 | Hgb 13.40 g/dL "
            "pending review |\n",
            set(),
        ),
        (  # a vital-signs table with a date line between its rows: the date is no reading
            "VITAL SIGNS\n| Date / Time: | 05/15/2014 |\n| Height | 71.0 [in_us] |\n"
            "| Blood Pressure | 120.0/80.0 mm[Hg] |\n",
            {("Height", "8302-2", 71, "[in_us]", None, None, None),
             ("Blood Pressure", "85354-9", "120/80", "mm[Hg]", None, None, None)},
        ),
        (  # a reference range cell that repeats the unit
            "Results\n| Date | Test | Value | Reference Range |\n"
            "| 02/11/2014 13:54 | SODIUM | 141 mmol/L | 136-145 mmol/L |\n"
            "| 10-05- 2009 | LDL CHOLESTEROL | 160 mg/dL | <130 mg/dL (calc) |\n",
            {("SODIUM", "2951-2", 141, "mmol/L", 136, 145, None),
             ("LDL CHOLESTEROL", "2089-1", 160, "mg/dL", None, 130, None)},
        ),
        (  # rows of a results table going on after a break, its heading row out of sight
            "|  | 02/10/2014 08:22 | vHCO3 | 22 mEq/L | 25.9-30.0 mEq/L | Not available |\n"
            "|  | 02/10/2014 08:22 | PHOSPHATE | 5.1 mg/dL | 2.4-4.3 mg/dL | * |\n"
            "|  | 02/12/2014 | Follow-up | 2 weeks | 1-3 months |\n",
            {("vHCO3", None, 22, "meq/L", 25.9, 30, None),
             ("PHOSPHATE", "2777-1", 5.1, "mg/dL", 2.4, 4.3, None)},
        ),
        (  # chemistry names as lab printouts abbreviate them; a ratio is not its last part
            "Results\n| Date | Test | Value | Reference Range |\n"
            "| 02/11/2014 | UREA N | 14 mg/dL | 6-20 mg/dL |\n"
            "| 02/11/2014 | ALT/GPT | 64 U/L | 10-55 U/L |\n"
            "| 02/11/2014 | AST/GOT | 43 U/L | 10-40 U/L |\n"
            "| 02/11/2014 | TOT BILI | 0.5 mg/dL | 0.0-1.0 mg/dL |\n"
            "| 02/11/2014 | TOT PROT | 6.8 g/dL | 6.0-8.3 g/dL |\n"
            "| 02/11/2014 | Malb/Cr | 287 mg/g | 0-30 mg/g |\n",
            {("UREA N", "3094-0", 14, "mg/dL", 6, 20, None),
             ("ALT/GPT", "1742-6", 64, "U/L", 10, 55, None),
             ("AST/GOT", "1920-8", 43, "U/L", 10, 40, None),
             ("TOT BILI", "1975-2", 0.5, "mg/dL", 0, 1, None),
             ("TOT PROT", "2885-2", 6.8, "g/dL", 6, 8.3, None),
             ("Malb/Cr", None, 287, "mg/g", 0, 30, None)},
        ),
        (  # a code printed after the name, labelled, its check digit right or not; '=' values
            "Results\n| Test Item | Value | Reference Range | Comments |\n"
            "| Hemoglobin [Mass/volume] in Blood (test code = 718-7) | =12.9 g/dL | 12.2-16.2 |"
            "  |\n"
            "| Neutrophils/100 leukocytes in Blood by Automated count (test code = 770- 8) | "
            "=80.9 % | 37-80 |  |\n"
            "| Ferritin level (test code = 2276-5) | =88 ng/mL | 15-150 |  |\n",
            {("Hemoglobin [Mass/volume] in Blood", "718-7", 12.9, "g/dL", 12.2, 16.2, None),
             ("Neutrophils/100 leukocytes in Blood by Automated count", "770-8", 80.9, "%", 37,
              80, None),
             ("Ferritin level", None, 88, "ng/mL", 15, 150, None)},
        ),
        (  # the details block printed right under a results table's heading row is no result
            "Results\n| Test Description | Test Time | Text Results |\n"
            "| Document ID | 7d07d84e-500e-11ef | Created On |\n"
            "| Custodian | Good Health Clinic | Contact Details |\n"
            "| Patient | Legal: DOE Jane | Contact Details |\n"
            "| Patient-IDs | 5f909060 (2.16.840.1) | Language |\n",
            set(),
        ),
        (  # a vital-signs heading row with one long LOINC display name among its vital signs
            "Vitals\n| Date Recorded | Body height | Body weight | Pain severity - 0-10 verbal "
            "numeric rating [Score] - Reported | Heart rate |\n"
            "| 01/20/2026 | 149.86 cm | 58059.82 g | 0 | 91 /min |\n",
            {("Body height", "8302-2", 149.86, "cm", None, None, None),
             ("Body weight", "29463-7", 58059.82, "g", None, None, None),
             ("Heart rate", "8867-4", 91, "/min", None, None, None)},
        ),
        (  # a headerless results listing whose next panel the table finder cut one cell wider
            "Lab Results\n| CBC |  |  |  |  | Main Lab |\n"
            "| Hemoglobin | 13.7 | G/DL | (11.7-15.5) | N (Normal) |  |\n"
            "| Urinalysis |  |  |  |  |  | Main Lab |\n"
            "| Specific Gravity | 1.005 |  | (1.000-1.010) | N (Normal) |  |  |\n",
            {("Hemoglobin", "718-7", 13.7, "g/dL", 11.7, 15.5, None),
             ("Specific Gravity", "2965-2", 1.005, None, 1.0, 1.01, None)},
        ),
        (  # a urinalysis' appearance and colour are word results
            "Lab Results\n| Urinalysis |  |  |  |  | Main Lab |\n"
            "| Appearance | Clear |  | (Clear-Mod Cloud) | N (Normal) |  |\n"
            "| Color | Yellow |  | (None-Yellow) | N (Normal) |  |\n",
            {("Appearance", None, "Clear", None, None, None, None),
             ("Color", None, "Yellow", None, None, None, None)},
        ),
        (  # a row reported only as normal is a result; a panel's title row with nothing is not
            RESULT_ROWS + "| 6-Aug-2012 | CHEST XRAY, PA & LATERAL (71020) | Comments: consistent "
            "with pneumonia | Normal |\n| 18-July-2013 | HCT (85014) |  |  |\n",
            {("CHEST XRAY, PA & LATERAL", None, "Normal", None, None, None, "N")},
        ),
        (  # a flowsheet with one column per date: a reading per filled cell
            FLOWSHEET,
            {("Weight", "29463-7", 160, "[lb_av]", None, None, None),
             ("Weight", "29463-7", 158, "[lb_av]", None, None, None),
             ("Blood Pressure", "85354-9", "120/80", "mm[Hg]", None, None, None),
             ("Blood Pressure", "85354-9", "130/85", "mm[Hg]", None, None, None),
             ("Pulse", "8867-4", 76, "/min", None, None, None)},
        ),
        (  # the details block printed right below a vital-signs table of its width: the
            # readings stay the table's, the details are none
            "Vitals\n| Date Recorded | Body height | Heart rate | Body weight |\n"
            "| 02/18/2026 | 154.94 cm | 86 /min | 93893.62 g |\n"
            "| Document ID | 2a3b3536-660b | Created On | March 4, 2026 |\n"
            "| Custodian | Saguaro Health | Contact Details | Tel: +1-617-555-0100 |\n"
            "| Date of Birth | February 7, 1961 | Gender | Female |\n"
            "| Author | Document Engine | Contact Details | Boston, MA 02135 |\n",
            {("Body height", "8302-2", 154.94, "cm", None, None, None),
             ("Heart rate", "8867-4", 86, "/min", None, None, None),
             ("Body weight", "29463-7", 93893.62, "g", None, None, None)},
        ),
    ],
    ids=["digit-unit", "labelled-range", "listed-results", "not-only-results", "date-line",
         "range-with-unit", "headerless-rows", "abbreviated-chemistry", "labelled-code",
         "details-under-heading", "long-vital-heading", "wider-next-panel", "urinalysis-words",
         "verdict-only", "date-columns", "details-below-vitals"],
)  # fmt: skip
def test_result_and_vital_rows(extractor, text, expected):
    result = extractor.extract(text)
    assert_clean(result, text)
    found = {
        (o.name, o.loinc_code, o.value_text if o.value is None else o.value, o.unit,
         o.reference_low, o.reference_high, o.interpretation)
        for o in result.observations
    }  # fmt: skip
    assert found == expected


def test_flowsheet_readings_take_their_column_date(extractor):
    result = extractor.extract(FLOWSHEET)
    dates = {(o.name, o.value or o.value_text): o.effective_date for o in result.observations}
    assert dates[("Weight", 160)] == "2013-01-15"
    assert dates[("Blood Pressure", "130/85")] == "2013-03-04"


def test_vital_signs_with_one_column_per_vital(extractor):
    text = """Vital Signs
| Date | BP-Sys(mm[Hg]) | BP-Dia(mm[Hg]) | HR(bpm) | WT | BMI Percentile |
| 01/21/2013 | 120 mmHg | 80 mmHg | 72 | 149.9 lbs | 40 |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    codes = {o.loinc_code: (o.value, o.unit) for o in result.observations}
    assert codes == {
        "8480-6": (120, "mm[Hg]"),
        "8462-4": (80, "mm[Hg]"),
        "8867-4": (72, "/min"),
        "29463-7": (149.9, "[lb_av]"),
    }
    assert {o.category for o in result.observations} == {"vital-signs"}


@pytest.mark.parametrize(
    ("name", "code"),
    [("BP Systolic", "8480-6"), ("Intravascular Diastolic", "8462-4"), ("O2 Sat(%)", "59408-5"),
     ("Body Mass Index Calculated", "39156-5"), ("RR(rpm)", "9279-1"), ("Height", "8302-2"),
     ("BMI Percentile", None), ("Substance", None)],
)  # fmt: skip
def test_vital_sign_names(name, code):
    kind = vital_kind(name)
    assert (kind.loinc_code if kind else None) == code


def test_no_known_allergies_row_and_header_only_table(extractor):
    text = """Allergies
| Substance | Reaction | Status |
| No Known Drug Allergies |  |  |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [(a.no_known_allergies, a.substance) for a in result.allergies] == [(True, None)]


def test_table_kind_from_header_without_a_section_title():
    doc = build_pipeline()("| Substance | Reaction | Status |\n| Latex | Rash | Active |\n")
    [table] = find_tables(doc, vital_kind)
    assert table.kind == "allergy"
    assert table.roles == ["name", "reaction", "status"]
    assert [cell.text for cell in table.rows[0].cells] == ["Latex", "Rash", "Active"]


@pytest.mark.parametrize(
    ("text", "generic"),
    [("Proventil HFA", "albuterol"), ("Tylenol Extra Strength", "acetaminophen"),
     ("metformin 500 mg", "metformin"), ("Pulmonary function test", None)],
)  # fmt: skip
def test_drug_dictionary(text, generic):
    found = find_drug(text)
    assert (found[2] if found else None) == generic


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Medications:\n7. gliburide - 2.5mg by mouth once daily\n",
         {("gliburide", "glyburide", 2.5)}),
        ("Current medications:\nMetforrnin 500 mg PO BID\nAtorvastatln 40 mg nightly\n",
         {("Metforrnin", "metformin", 500), ("Atorvastatln", "atorvastatin", 40)}),
        ("Medications\n| Name | Start Date | SIG |\n"
         "| Ginko Biloba 1 Gram CPSP | 01/08/2008 | daily |\n",
         {("Ginko Biloba 1 Gram CPSP", "ginkgo biloba", 1)}),
        # guards: no dose on the line; two letters off a short name; a sig line; prose
        ("Medications:\n- Metforrnin\n", set()),
        ("Medications:\n- Lasics 40 mg daily\n", set()),
        ("Medications:\nTake 2 tablets daily\nDispense 30 tablets\n", set()),
        ("He says he takes metforrnin 500 mg daily.\n", set()),
    ],
    ids=["list-line", "ocr-misreads", "table-row", "no-dose", "short-name", "sig-lines", "prose"],
)  # fmt: skip
def test_a_misspelt_drug_of_a_medication_list_is_read_for_review(extractor, text, expected):
    result = extractor.extract(text)
    found = {(m.text, m.generic_name, m.dose_value) for m in result.medications}
    assert found == expected
    assert all(m.name_by_spelling for m in result.medications)


def test_icd10_index_reads_descriptions_and_inclusion_terms():
    assert icd10_code("Acute pharyngitis, unspecified") == "J02.9"
    assert icd10_code("Acute pharyngitis") == "J02.9"  # 'unspecified' dropped
    assert icd10_code("Essential (primary) hypertension") == "I10"
    assert icd10_code("Zebra fever of the moon") is None


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Colon polyp", "K63.5"),  # 'Polyp of colon', words in another order
        ("Internal hemorrhoids", "K64.8"),  # '... without mention of degree'
        ("Pain in left knee, chronic", "M25.562"),  # a course after a comma
        ("Other chronic diagnoses as noted above", None),
    ],
)
def test_icd10_index_as_problem_lists_word_it(name, code):
    assert icd10_code(name) == code


def test_a_problem_line_the_icd10_index_knows_in_other_words_is_a_condition(extractor):
    text = "Postprocedure Diagnosis\n1. Internal hemorrhoids\n2. Colon polyp\n"
    result = extractor.extract(text)
    assert [(c.text, c.icd10_code) for c in result.conditions] == [
        ("Internal hemorrhoids", "K64.8"),
        ("Colon polyp", "K63.5"),
    ]


def test_pdf_table_rows_reach_the_text_with_their_cells(tmp_path: Path):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 8, "Allergies and Adverse Reactions", new_x="LMARGIN", new_y="NEXT")
    with pdf.table() as table:
        for cells in (("Substance", "Reaction", "Status"), ("Penicillin", "Hives", "Active")):
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.cell(0, 8, "End of document", new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "table.pdf"
    pdf.output(str(path))
    [page] = extract_pages(path, PdfLimits(), ocr=False)
    lines = page.text.splitlines()
    assert lines == [
        "Allergies and Adverse Reactions",
        "| Substance | Reaction | Status |",
        "| Penicillin | Hives | Active |",
        "End of document",
    ]
    result = OfflineExtractor().extract(page.text)
    assert [a.substance for a in result.allergies] == ["Penicillin"]
    assert result.medications == []


def test_table_continued_after_a_page_break_with_other_edge_columns(extractor):
    text = """Results
| Date | Test | Value | Reference Range |
| 02/11/2014 13:54 | SODIUM | 141 mmol/L | 136-145 mmol/L |

|  | Date | Test | Value | Reference Range |  |
|  | 02/11/2014 13:54 | CALCIUM | 8.8 mg/dL | 8.8-10.7 mg/dL |  |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    assert {(o.name, o.value, o.unit) for o in result.observations} == {
        ("SODIUM", 141, "mmol/L"),
        ("CALCIUM", 8.8, "mg/dL"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "History of Procedures\n| Date Ordered | Description | Order Status | Result Status |\n"
            "| 03/02/2015 | Chest X-ray, PA and lateral | Reviewed |  |\n\n"
            "|  | 03/09/2015 | Barium enema | Scheduled |  |  |\n"
            "|  | 03/02/2015 | Bone density scan | Completed |  |  |\n",
            [
                ("Chest X-ray, PA and lateral", "2015-03-02", Assertion.PRESENT),
                ("Barium enema", "2015-03-09", Assertion.HYPOTHETICAL),
                ("Bone density scan", "2015-03-02", Assertion.PRESENT),
            ],
        ),
        (
            "Procedures\n"
            "|  | Group Description | Code System | Code | Code Description | Status |  |\n"
            "|  | Knee surgery | CPT | 27447 | Arthroplasty, knee, total | Performed |  |\n"
            "|  |  | SNOMED-CT | 609588000 | Total knee replacement |  |  |\n",
            [("Arthroplasty, knee, total", None, Assertion.PRESENT)],
        ),
        (  # a chunk read after its section's header row (`Chunk.context`)
            "Procedures\n| Date | Procedure | Status |\n"
            "|  | 04/11/2016 | Upper endoscopy | Completed |  |\n"
            "|  | 05/02/2016 | Colonoscopy | Scheduled |  |\n",
            [
                ("Upper endoscopy", "2016-04-11", Assertion.PRESENT),
                ("Colonoscopy", "2016-05-02", Assertion.HYPOTHETICAL),
            ],
        ),
    ],
    ids=["later-page-without-header", "header-with-empty-edges", "rows-wider-than-header"],
)
def test_empty_edge_columns_are_not_columns(extractor, text, expected):
    """A table's empty edge columns (on a later page, or around its header) do not shift the
    columns: rows keep their name, date and status; code rows stay part of the row above."""
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [(p.text, p.performed_date, p.assertion) for p in result.procedures] == expected


def test_codes_the_table_prints_and_code_description_columns(extractor):
    text = """Problems
| Group Description | Code System | Code | Code Description | Status |
| Coronary Artery Disease | SNOMED-CT | 57054005 | Acute myocardial infarction | Active |
|  | ICD-10-CM | I21.3 | ST elevation myocardial infarction of unspecified site |  |
Results
| Group Description | Code System | Code | Code Description | Value | Unit |
| High Density Lipoprotein (HDL) | LOINC | 14646-4 | HDLc SerPl-sCnc | 58 | mg/dL |
|  | CPT | 83701 | Lipoprotein bld, hr fraction |  |  |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [(c.text, c.icd10_code) for c in result.conditions] == [
        ("Acute myocardial infarction", "I21.3")
    ]
    assert [(o.name, o.loinc_code, o.value) for o in result.observations] == [
        ("HDLc SerPl-sCnc", "14646-4", 58)
    ]


def test_numbered_allergy_list_items(extractor):
    text = (
        "ALLERGIES\n1. Allergy to Penicillin\n2. Allergy to Bee Pollen\nREASON FOR VISIT\nFalls\n"
    )
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [a.substance for a in result.allergies] == ["Penicillin", "Bee Pollen"]
    assert result.medications == []


def test_medication_list_lines_use_the_drug_dictionary(extractor):
    """Xifaxan and Vesicare are not in the curated lexicon: only the drug dictionary knows them."""
    text = (
        "MEDICATIONS\n1. Xifaxan - 550 mg by mouth twice daily\n2. Vesicare 5 mg daily\n"
        "3. Not documented\nPROCEDURES\n"
    )
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [(m.text, m.generic_name, m.dose_value, m.route) for m in result.medications] == [
        ("Xifaxan", "rifaximin", 550, "oral"),
        ("Vesicare", "solifenacin", 5, None),
    ]


@pytest.mark.parametrize(
    ("cell", "product", "dose"),
    [
        (
            "Amoxicillin 500 MG Oral Capsule 1 CAPSULE THREE TIMES DAILY",
            "Amoxicillin 500 MG Oral Capsule",
            (500, "mg"),
        ),
        (
            "LOSARTAN, 50MG (Oral Tablet) 1 (one) Tablet daily for 90 days",
            "LOSARTAN, 50MG (Oral Tablet)",
            (50, "mg"),
        ),
        (
            "Ventolin HFA 90 mcg/actuation aerosol 2 puff(s) inhaled every 4 hours",
            "Ventolin HFA 90 mcg/actuation aerosol",
            (90, "ug/{actuat}"),
        ),
        ("Zocor 20 mg oral tablet, [RxNorm: 312961]", "Zocor 20 mg oral tablet", (20, "mg")),
        (
            "Timolol 0.5% ophthalmic solution 1 drop in each eye twice daily",
            "Timolol 0.5% ophthalmic solution",
            (1, "{drop}"),
        ),
        # a concentration is no dose: the dose is what the sig gives
        ("Cefazolin 100 MG/ML 2 GM IV Q8H", "Cefazolin 100 MG/ML", (2, "g")),
    ],
    ids=["count-of-capsules", "count-written-out", "puffs", "labelled-code", "drops", "route"],
)
def test_medication_product_ends_where_instructions_begin(extractor, cell, product, dose):
    """A medication cell's product name stops at a count of dose units or a printed code; its
    own numbers are strengths (the dose is the strength, else the count: '1 drop')."""
    text = f"Medications\n| Medication | Status |\n| {cell} | Active |\n"
    result = extractor.extract(text)
    assert_clean(result, text)
    [medication] = result.medications
    assert medication.text == product
    assert (medication.dose_value, medication.dose_unit) == dose


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Medications\n- Patient is on a statin.\n- Antibiotics\n", []),
        (
            "Medications\n| Medication | Sig | Status |\n| Statins | as directed | Active |\n"
            "| Atorvastatin 20 mg tablet | take 1 tablet daily | Active |\n",
            [("Atorvastatin 20 mg tablet", "atorvastatin", Assertion.PRESENT)],
        ),
        (
            "Patient Instructions\nAvoid ibuprofen. Do not take aspirin before the procedure.\n",
            [
                ("ibuprofen", "ibuprofen", Assertion.NEGATED),
                ("aspirin", "aspirin", Assertion.NEGATED),
            ],
        ),
        ("Problems\nAllergy to penicillin\nCodeine intolerance\nHypertension\n", []),
        (
            "History of Present Illness\nHad an adverse reaction to amoxicillin last spring; "
            "takes lisinopril 10 mg daily.\n",
            [("lisinopril", "lisinopril", Assertion.PRESENT)],
        ),
        (
            "Medications\n1. Metformin 500 mg twice daily\n2. Penicillin allergy (rash)\n",
            [("Metformin", "metformin", Assertion.PRESENT)],
        ),
        (
            "Results\nDigoxin 1.2 ng/mL, lithium 0.8 mmol/L on the last draw.\n"
            "Assessment\nVancomycin trough pending; continue warfarin 5 mg daily.\n",
            [("warfarin", "warfarin", Assertion.PRESENT)],
        ),
    ],
    ids=[
        "class-in-list",
        "class-row",
        "avoid-do-not-take",
        "allergen-in-problem-list",
        "allergen-in-narrative",
        "allergen-in-medication-list",
        "drug-levels",
    ],
)
def test_drug_classes_and_avoided_drugs_are_no_medications(extractor, text, expected):
    """A class of drugs without a dose, a drug to avoid, an allergen and a drug level are no
    medications."""
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [(m.text, m.generic_name, m.assertion) for m in result.medications] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Assessment and Plan\nConsider starting metformin if A1c remains elevated.\n",
            [("metformin", Assertion.HYPOTHETICAL)],
        ),
        (
            "Assessment\nMay benefit from atorvastatin. Continue lisinopril 10 mg daily.\n",
            [("atorvastatin", Assertion.HYPOTHETICAL), ("lisinopril", Assertion.PRESENT)],
        ),
        (
            "Plan\nRecommended a trial of sertraline 50 mg daily.\n",
            [("sertraline", Assertion.HYPOTHETICAL)],
        ),
        (
            "HPI\nWas considered for surgery; takes metformin 500 mg daily.\n",
            [("metformin", Assertion.PRESENT)],
        ),
        (
            "Discharge Instructions\nIf pain persists, take ibuprofen 400 mg every 6 hours. "
            "Take acetaminophen 500 mg as needed if pain.\n",
            [("ibuprofen", Assertion.HYPOTHETICAL), ("acetaminophen", Assertion.PRESENT)],
        ),
        (
            "Hospital Course\nIf you experience chest pain, you may take nitroglycerin 0.4 mg.\n",
            [("nitroglycerin", Assertion.HYPOTHETICAL)],
        ),
    ],
    ids=["consider-starting", "may-benefit-from", "recommended-a-trial", "other-clause",
         "if-then-take", "if-you-may-take"],
)  # fmt: skip
def test_proposed_drugs_are_not_taken(extractor, text, expected):
    """A drug a sentence only proposes is hypothetical (a planned medication, never active)."""
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [(m.text, m.assertion) for m in result.medications] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Medications Administered\n| Name | Dates | Details |\n"
            "| Influenza virus vaccine, split, 0.5 mL IM | Given: 10/10/2012 | Completed |\n"
            "| Ceftriaxone 1 g IM once | Given: 10/10/2012 | Completed |\n",
            ["ceftriaxone"],
        ),
        ("Medications\n1. Fluzone 0.5 mL IM today\n2. Lisinopril 10 mg daily\n", ["lisinopril"]),
        (
            "Medications\n| Medication | Sig |\n| Tetanus toxoid 0.5 mL | 0.5 mL IM once |\n",
            [],
        ),
    ],
    ids=["table-row", "list-line-brand", "toxoid"],
)
def test_vaccines_are_not_medications(extractor, text, expected):
    """A vaccine, by its name or its generic name, is an immunization, not a medication, in a
    medication table or list."""
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [m.generic_name for m in result.medications] == expected


SUMMARY_WITH_RESULTS = """Clinical Summary
Allergies
| Substance | Reaction |
| Sulfa drugs | Rash |
PROBLEMS
Problem #1
Essential hypertension (onset 10 May, 2011)
Problem #2
Hypothyroidism (onset 31 Dec, 2006)
Medications
| Medication | Directions | Status |
| Levothyroxine 50 MCG Oral Tablet | Take 1 tablet by mouth daily | Active |
Results
| Result Type | Result Value | Relevant Reference Range | Interpretation | Date |
| TSH | 2.1 mIU/L | 0.4-4.0 | Normal | Jun 22, 2015 |
| Reference range | 3 | Result | Flag | Collected |
"""


CONSULT_LETTER = """Dear Dr. Vasquez,
Thank you for referring Ms. Doe, whom I saw in the nephrology clinic on April 1.
History. She has had type 2 diabetes for about 18 years. She had gestational diabetes with her
second pregnancy in 1990, which resolved after delivery. Hydrochlorothiazide was stopped in
February because of hyponatremia (sodium 129), which has since corrected.
Investigations. Laboratory results from March 18:
Test\tResult\tUnits\tReference
Creatinine\t1.62\tmg/dL\t0.57 - 1.00
Potassium\t5.2\tmmol/L\t3.5 - 5.2
Assessment. She has chronic kidney disease stage 3b and a rash, which resolved.
"""


def test_a_consult_letter_with_a_results_table_is_no_lab_report(extractor):
    """Regression: a letter's lab table ('Laboratory', 'Result') made it a laboratory report,
    whose conditions come only from a diagnosis field: no condition of the letter was kept. A
    letter's salutation and run-in headings ('Assessment. She has ...') say it is a note. A
    relative clause saying a condition is over resolves it; not one after another condition."""
    document_type = detect_document_type(CONSULT_LETTER)
    assert document_type == DocumentType.REFERRAL
    conditions = {
        c.text: c.resolved for c in extractor.extract(CONSULT_LETTER, document_type).conditions
    }
    assert conditions == {
        "type 2 diabetes": False,
        "gestational diabetes": True,
        "hyponatremia": True,
        "chronic kidney disease stage 3b": False,
        "rash": True,
    }


PRENATAL_FLOW = """VITALS / PRENATAL FLOW
BP\tPulse\tWeight\tWt gain\tFundal\tFHR\tUrine\tEdema
ht\tprot/glu
118/72\t86\t74.6\t+8.6\t28 cm\t142\tneg / neg\tnone
EXAM
Extremities without edema.
Vital Signs
Temp 36.6 C\tBP 124/78\tHR 84\tRR 16
"""


def test_a_flow_sheet_header_with_wrapped_labels_is_no_fact(extractor):
    """Regression: the header row of a prenatal flow sheet (three vital signs among other
    readings' labels, two of them wrapped onto the next line) was no header, so 'Edema' was an
    active condition and the readings below were lost. A line of readings alone stays read."""
    result = extractor.extract(PRENATAL_FLOW)
    assert [(c.text, c.assertion) for c in result.conditions] == [("edema", Assertion.NEGATED)]
    found = {(o.name, o.value, o.value_text) for o in result.observations}
    assert {("BP", None, "118/72"), ("Pulse", 86, None), ("Weight", 74.6, None)} <= found
    assert {("Temp", 36.6, None), ("HR", 84, None), ("RR", 16, None)} <= found


TWO_DATES = """Laboratory Results
| Test | 02/10/2025 | 03/12/2025 | Units | Reference Range |
| Hemoglobin | 10.9 | 12.1 | g/dL | 12.0-15.5 |
| ALT | 88 | 41 | U/L | 7-56 |
"""


@pytest.mark.parametrize("ruled", [True, False], ids=["ruled", "printed-without-rules"])
def test_a_results_table_with_a_column_per_date_and_a_unit_column(extractor, ruled):
    """Regression: a dates row was a flowsheet's only when every cell after the first was a
    date, so a lab table with its units and ranges after two date columns gave the first
    date's value of each row, without unit, range or date; printed without rules (a tab
    between columns), a dates row was no header of a table at all."""
    text = TWO_DATES if ruled else re.sub(r" ?\| ?", "\t", TWO_DATES).replace("\t\n", "\n")
    text = text.replace("\n\t", "\n")
    found = {
        (o.name, o.value, o.unit, o.reference_low, o.reference_high, o.effective_date)
        for o in extractor.extract(text).observations
    }
    assert found == {
        ("Hemoglobin", 10.9, "g/dL", 12.0, 15.5, "2025-02-10"),
        ("Hemoglobin", 12.1, "g/dL", 12.0, 15.5, "2025-03-12"),
        ("ALT", 88, "U/L", 7, 56, "2025-02-10"),
        ("ALT", 41, "U/L", 7, 56, "2025-03-12"),
    }


def test_a_patient_summary_with_a_results_table_is_no_lab_report(extractor):
    """Lab-report words in a results table do not make a summary a lab report, and a problem
    list is read even in a lab report."""
    assert detect_document_type(SUMMARY_WITH_RESULTS) != DocumentType.LAB_REPORT
    for document_type in (None, DocumentType.LAB_REPORT):
        result = extractor.extract(SUMMARY_WITH_RESULTS, document_type)
        assert {c.text for c in result.conditions} == {"Essential hypertension", "Hypothyroidism"}


@pytest.mark.parametrize(
    "title",
    ["Allergies, Adverse Reactions and Alerts", "ALLERGIES & ADVERSE REACTIONS / ALERTS",
     "Allergies and Intolerances:"],
)  # fmt: skip
def test_titles_joining_several_titles_of_one_kind(extractor, title):
    text = f"{title}\n| Allergen | Reaction | Reaction Severity |\n| Codeine | Nausea | Mild |\n"
    result = extractor.extract(text)
    assert [a.substance for a in result.allergies] == ["Codeine"]
    assert result.medications == []


def test_tables_printed_right_below_each_other_are_told_apart(extractor):
    """A second header row of another width starts a table; a details block right below the
    vital signs is not read as vital signs; rows whose cells were cut in more pieces, followed by
    rows of the table's width, stay in the table."""
    text = """Problem List
| Condition | Effective Dates | Status | Informant |
| Angina(Confirmed) | 07/10/2013 | Active |  |
| Diabetes mellitus type 2(Suspected) | 01/09/2009 | Active |  |
| Diagnosis | Diagnosis Type | Effective Dates | Clinical Service | Informant |
| Exercise-induced angina | Final | 07/11/2013 | Non-Specified |  |
Results
| Test | Value | Range | Date |
| Triglycerides | 125 mg/dL | 10-39 years: 55-110 | 40-59 years: 70-150 | >60 years: 80-150 | 2009 |
| LDL cholesterol | 160 mg/dL | 10-39 years: <110 | 40-59 years: <130 | >60 years: <130 | 2009 |
| HDL cholesterol | 62 mg/dL | >=40 mg/dL | 2010 |
Vital Signs
| Date / Time: | Nov 1, 2011 | Aug 6, 2012 |
| Height | 69 inches | 69 inches |
| Weight | 189 lbs | 194 lbs |
| Document ID | 9AA1-22 (1.2.3.4.5) | Created On | Aug 6, 2012 |
| Patient-IDs | 444222222 (2.16.840.1.113883.4.1) | Language | en |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    conditions = {(c.text, c.assertion) for c in result.conditions}
    assert conditions == {
        ("Angina", Assertion.PRESENT),
        ("Diabetes mellitus type 2", Assertion.POSSIBLE),
        ("Exercise-induced angina", Assertion.PRESENT),
    }
    readings = {(o.name, o.value, o.effective_date) for o in result.observations}
    assert readings == {
        ("Triglycerides", 125, None),
        ("LDL cholesterol", 160, None),
        ("HDL cholesterol", 62, None),
        ("Height", 69, "2011-11-01"),
        ("Height", 69, "2012-08-06"),
        ("Weight", 189, "2011-11-01"),
        ("Weight", 194, "2012-08-06"),
    }


def test_procedure_type_names_and_linked_diagnosis_columns(extractor):
    text = """Procedures
| Procedure Type | Body Site | Date of Procedure | Related Diagnosis |
| Electrocardiographic procedure |  | 07/10/2013 00:00:00 |  |
| Intranasal oxygen therapy |  | 07/10/2013 00:00:00 | Hypoxemia |
"""
    result = extractor.extract(text)
    assert [(p.text, p.performed_date) for p in result.procedures] == [
        ("Electrocardiographic procedure", "2013-07-10"),
        ("Intranasal oxygen therapy", "2013-07-10"),
    ]
    assert result.conditions == []


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("| Systolic Blood Pressure [90-140 mmHg] | 150 mmHg *HI* (07/10/2013 22:00:00 CST) |",
         ("Systolic Blood Pressure", "8480-6", 150, "mm[Hg]", 90, 140, "H", "2013-07-10")),
        ("| Mean Arterial Pressure [70-100 mmHg] | 113 mmHg *>HHI* (07/10/2013 22:00) |",
         ("Mean Arterial Pressure", "8478-0", 113, "mm[Hg]", 70, 100, "H", "2013-07-10")),
        ("| Heart Rate | 80 beats per minute |",
         ("Heart Rate", "8867-4", 80, "/min", None, None, None, None)),
        ("| Inhaled Oxygen Concentration | 36 percent |",
         ("Inhaled Oxygen Concentration", "3150-0", 36, "%", None, None, None, None)),
        ("| Weight | 88000 gms |", ("Weight", "29463-7", 88000, "g", None, None, None, None)),
        ("| Most recent to oldest [Reference Range]: | 1 |", None),
        ("| Pain Score | 3 |", None),
    ],
    ids=["starred-flag-and-time", "mean-arterial", "words-unit", "fio2", "grams", "label-row",
         "not-a-vital"],
)  # fmt: skip
def test_vital_sign_rows_as_cerner_and_others_print_them(extractor, row, expected):
    result = extractor.extract(f"Vital Signs\n{row}\n")
    found = [
        (o.name, o.loinc_code, o.value, o.unit, o.reference_low, o.reference_high,
         o.interpretation, o.effective_date)
        for o in result.observations
    ]  # fmt: skip
    assert found == ([expected] if expected else [])


def test_word_results_in_a_value_column_but_not_pending_ones(extractor):
    text = """Results
| Result Type | Result Value | Relevant Reference Range | Date |
| Color of Urine | YELLOW | YELLOW | Jun 22, 2015 |
| Creatinine [0.5-1.2 mg/dL] | .8 mg/dL | | Jun 22, 2015 |
| Urea nitrogen, Serum | Pending | Pending | Jun 22, 2015 |
"""
    result = extractor.extract(text)
    found = {
        (o.name, o.value if o.value is not None else o.value_text) for o in result.observations
    }
    assert found == {("Color of Urine", "YELLOW"), ("Creatinine", 0.8)}


def test_a_result_column_before_a_value_column_names_the_test(extractor):
    text = """Results
| Result | Value | Units | Range | Date | Interpretation |
| CO2 | 27 | mmol/L | 23-29 mmol/L | 8/15/2012 | Normal |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    found = [(o.name, o.loinc_code, o.value, o.unit, o.reference_low, o.reference_high)
             for o in result.observations]  # fmt: skip
    assert found == [("CO2", "2028-9", 27, "mmol/L", 23, 29)]


def test_a_details_block_after_a_page_break_is_no_result(extractor):
    """A headerless table after a page break whose columns do not fit the last table is another
    table (a rendering's document details), read by its cells only, page after page."""
    text = """Results Summary
| Data and Description | Results |
| 1/21/2013 4:12 PM | Hgb Bld-mCnc 13.40 g/dL WBC # Bld Auto 12.50 x10E3/uL |

| Document | ID a8b7dd (2.16.840.1.113883.3.441) | Created On | July 1, 2013 |

| Date of Birth | June 12, 1964 (49yr) | Gender | Male |
| Patient-IDs | 26789 (2.16.840.1.113883.3.441.1.50) | Language Communication | en |
"""
    result = extractor.extract(text)
    assert {o.name for o in result.observations} == {"Hgb Bld-mCnc", "WBC # Bld Auto"}


def test_a_diagnosis_coded_row_among_allergies_is_no_allergen(extractor):
    text = """Allergies, Adverse Reactions and Alerts
| Group Description | Code System | Code | Code Description | Status |
| ALLERGIC RHINITIS UNSPEC | ICD10 | J30.9 | ALLERGIC RHINITIS UNSPEC | Active |
| Penicillins | RxNorm | 7980 | Penicillin G | Active |
"""
    result = extractor.extract(text)
    assert [a.substance for a in result.allergies] == ["Penicillin G"]


def test_problems_listed_as_resolved_are_resolved(extractor):
    """A problem list written as lines: the part under 'Resolved Concerns' and a line giving the
    resolution are resolved; 'Former smoker' is a problem, not a sub-heading."""
    text = """PROBLEMS
Active Concerns
Problem #1
Chest pain (onset Apr 14, 2007)
Former smoker
Diabetes mellitus
Pneumonia (onset July 3, 2013; resolution Aug 14, 2013)
Resolved Concerns
Problem #3
Overweight (onset 31 Dec, 2006)
"""
    result = extractor.extract(text)
    found = {(c.text, c.assertion, c.resolved) for c in result.conditions}
    assert found == {
        ("Chest pain", Assertion.PRESENT, False),
        ("Diabetes mellitus", Assertion.PRESENT, False),
        ("Pneumonia", Assertion.HISTORICAL, True),
        ("Overweight", Assertion.HISTORICAL, True),
    }


@pytest.mark.parametrize(
    "contents",
    [
        "| Allergies, Adverse Reactions & Alerts |\n| Encounters |\n| Medication |\n| Problems |\n"
        "| Results |\n| Social History |\n| Vital Signs |\n",
        # the first title printed as a line of its own, one title cut off at the page edge
        "Allergies, Adverse Reactions, Alerts\n\n| Medications |\n| Problems |\n| Procedures |\n"
        "| Results |\n| Plan of Car |\n| Social History |\n",
    ],
    ids=["one-column-table", "title-line-then-table"],
)
def test_a_table_of_contents_names_no_fact(extractor, contents):
    """CDA.xsl prints a table of contents, the section titles one a row, before the sections."""
    text = f"""Table of Contents
{contents}Allergies, Adverse Reactions & Alerts
| Substance | Reaction | Status |
| Penicillin | Hives | Active |
Problems
| Problem | Status |
| Asthma | Active |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [a.substance for a in result.allergies] == ["Penicillin"]
    assert [c.text for c in result.conditions] == ["Asthma"]
    assert not result.medications and not result.observations and not result.procedures


def test_results_rows_without_their_header_row_keep_unit_and_range_cells(extractor):
    """Rows of a results table whose header row is not in sight (none printed, or above a chunk
    break): the unit and the range printed in cells of their own after the value are read,
    under a results title and with no title at all."""
    rows = """| Cholesterol, Total | 220 | mg/dL | (100-199) | H (High) |  |
| Platelets | 258 | THOUS/MCL | (140-415) | N (Normal) |  |
| Note: Performed At: MA LABCORP MADISON 1447 YORK COURT MADISON, CA 956530000 |  |  |  |  |  |
"""
    for text in (f"Lab Results\n{rows}", rows):
        result = extractor.extract(text)
        found = [
            (o.name, o.value, o.unit, o.reference_low, o.reference_high)
            for o in result.observations
        ]
        assert found == [
            ("Cholesterol, Total", 220, "mg/dL", 100, 199),
            ("Platelets", 258, "10*3/uL", 140, 415),
        ], text


def test_an_address_is_no_calcium_result(extractor):
    text = "Contact info: 3456 West Palm Apt. #34 Madison, CA 95653, US\nCa 9.4 mg/dL\n"
    result = extractor.extract(text)
    assert [(o.name, o.value) for o in result.observations] == [("Ca", 9.4)]


def test_one_label_across_a_wide_table_is_a_caption_not_its_header(extractor):
    """A caption row ('Current Medications ...') is no header row: the rows after a page break,
    cut into fewer columns, are still the medications."""
    text = """Medications
| Current Medications (continue as prescribed) |  |  |  |  |  |  |
| Imitrex 25 MG TABS | 01/03/2008 - 01/08/2008 |  |  |  | Diagnosis: | Migraine |
| Take 1 tablet at onset of headache. |  |  |  |  |  |  |

| Valium 5 MG TABS | 02/01/2007 - 01/08/2008 |  | Diagnosis: | Migraine |
| Take 1 tablet at bedtime. |  |  |  |  |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [(m.text, m.generic_name) for m in result.medications] == [
        ("Imitrex 25 MG TABS", "sumatriptan"),
        ("Valium 5 MG TABS", "diazepam"),
    ]


def test_a_code_system_cell_names_no_result(extractor):
    """The coding rows under a result (its CPT and SNOMED CT translations), read without their
    header row, are no results: the code system and its code are not the test's name."""
    text = """Results
|  |  | CPT | 83721 | Assay of blood lipoprotein |  |  |  |
|  |  | SNOMED- CT | 113079009 | Low density lipoprotein cholesterol measurement |  |  |  |
"""
    assert extractor.extract(text).observations == []
    shifted = (
        "Results\n| Test | Value | Unit |\n"
        "| 84478 | 125 | mg/dL |\n| Triglycerides | 125 | mg/dL |\n"
    )
    assert [o.name for o in extractor.extract(shifted).observations] == ["Triglycerides"]


def test_a_second_header_row_of_the_same_width_starts_another_table(extractor):
    """Two tables under one title printed with the same number of cells: the second's header row
    is no procedure, and its rows are read by its own columns."""
    text = """Procedures
| Name |  |  | Dates | Details |  |
| Intranasal oxygen therapy |  |  | 6-Aug-2012 | Completed |  |
| Date | Description | Value |  |  | Details |
| Resulted on: 6-Aug-2012 | ECG | No abnormalities |  |  |  |
"""
    result = extractor.extract(text)
    assert [p.text for p in result.procedures] == ["Intranasal oxygen therapy", "ECG"]


def test_sodium_written_na_is_a_result_not_an_absence(extractor):
    text = """Results
| Date | Description | Value | Details |
| Resulted on: 6-Aug-2012 | BMP |  |  |
|  | Na | 135 mmol/L |  |
|  | K | 3.5 mmol/L |  |
|  | N/A |  |  |
"""
    result = extractor.extract(text)
    assert [(o.name, o.value, o.unit) for o in result.observations] == [
        ("Na", 135, "mmol/L"),
        ("K", 3.5, "mmol/L"),
    ]


def test_a_row_with_only_its_name_is_a_fact_but_a_status_row_is_a_caption(extractor):
    text = """Allergies and Adverse Reactions
| Name | Reaction | Notes |
| aspirin |  |  |
| codeine sulfate | Nausea |  |
Medications
| Medication | Sig | Start | Status | Notes |
| Active |  |  |  |  |
| Lisinopril 10 MG Oral Tablet | 1 daily | 1/2/2012 | Active |  |
| Expired |  |  |  |  |
| Amoxicillin 500 MG Oral Capsule | 1 tid | 3/1/2011 | Expired |  |
"""
    result = extractor.extract(text)
    assert_clean(result, text)
    assert [a.substance for a in result.allergies] == ["aspirin", "codeine sulfate"]
    assert [m.generic_name for m in result.medications] == ["lisinopril", "amoxicillin"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Proventil HFA CFC free 90 mcg/inh inhalation aerosol", [("albuterol", "present")]),
        ("Robitussin sugar-free syrup 10 mL at bedtime", [("guaifenesin", "present")]),
        ("INH 300 mg daily for latent TB", [("isoniazid", "present")]),
        ("ASA Physical Status: Class II, mild systemic disease", []),
        ("ASA 81 mg daily", [("aspirin", "present")]),
    ],
    ids=["cfc-free-inhaler", "sugar-free", "inh-isoniazid", "asa-class", "asa-aspirin"],
)
def test_words_around_a_drug_name_that_change_what_it_means(extractor, text, expected):
    """'CFC free' is a product, not a negation; 'mcg/inh' is per inhalation, not isoniazid (a
    short abbreviation matches only as written); 'ASA Physical Status' is a scale, not aspirin."""
    result = extractor.extract(f"Medications\n{text}\n")
    assert [(m.generic_name, m.assertion.value) for m in result.medications] == expected


OPERATIVE_NOTE = """Operative Report
Operations Performed
Biopsy or excision of lymph node(s); open, deep axillary node(s) (38525)
Surgeon
General Surgery, MD
Preoperative Diagnosis
Malignant neoplasm of upper-inner quadrant of female breast (174.2)
Postoperative Diagnosis
Malignant neoplasm of upper-inner quadrant of female breast (174.2)
Indications for Surgery
Biopsy proven malignancy
Specimens
Sentinel lymph node, sent to pathology; specimen labelled and sent for frozen section result
Operative Findings
Sentinel node negative by frozen section
Estimated Blood Loss
Minimal
"""


def test_an_operative_note_is_no_lab_report_and_its_coded_diagnoses_are_conditions(extractor):
    """Its specimens and pathology do not make it a lab report; a diagnosis line printing its
    code is a condition even when the lexicon does not know the name; the lines after it are
    not (the section runs on under titles the sectionizer does not know)."""
    assert detect_document_type(OPERATIVE_NOTE) != DocumentType.LAB_REPORT
    result = extractor.extract(OPERATIVE_NOTE, detect_document_type(OPERATIVE_NOTE))
    assert_clean(result, OPERATIVE_NOTE)
    assert [(c.text, c.assertion) for c in result.conditions] == [
        ("Malignant neoplasm of upper-inner quadrant of female breast", Assertion.PRESENT)
    ]


def test_a_details_block_under_a_narrative_section_names_no_fact(extractor):
    """The rendering's document details printed right under the last section (an operative
    note's 'Complications') are no rows of that section: no 'Custodian' or 'Patient' condition."""
    text = """Postoperative Diagnosis
Acute appendicitis
Complications
No complications
| Document ID | 5512 (2.16.840.1.113883.19.5) | Created On | March 2, 2014 |
| Custodian | Lakeside Surgical Center | Contact Details |  |
| Patient | Legal: DOE Jane | Contact Details |  |
| Date of Birth | April 1, 1970 (43yr) | Gender | Female |
| Author | SURGERY General | Contact Details |  |
| Legal Authenticator | SURGERY General signed at March 2, 2014 | Contact Details |  |
"""
    result = extractor.extract(text)
    assert [c.text for c in result.conditions] == ["Acute appendicitis"]
    assert not result.observations and not result.procedures and not result.medications


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ADMISSION DIAGNOSES: Fracture of the left wrist.\nDISCHARGE DIAGNOSES: Fracture of the"
            " left wrist.\nCONSULTATIONS: Medicine.\nHOSPITAL COURSE: Orthopedics consulted"
            " Medicine; Medicine consults continued.\nCONDITION ON DISCHARGE: Stable.\n",
            DocumentType.DISCHARGE_SUMMARY,
        ),
        (
            "CONSULTATION NOTE\nReason for consultation: chest pain.\nDear Dr. Hale,\nThank you for"
            " referring Mr. Ames.\n",
            DocumentType.REFERRAL,
        ),
        (
            "Memorial Hospital\nPhysician Hospital Discharge Summary\nAdmitted: 07-Sep-2020\n"
            "Discharged: 08-Sep-2020\nDischarged to: Home\nMeds: ibuprofen once a week.\n",
            DocumentType.DISCHARGE_SUMMARY,
        ),
    ],
    ids=["discharge-summary-with-consults", "consultation-letter", "stay-dates-labelled"],
)
def test_document_type_of_stays_and_letters(text, expected):
    assert detect_document_type(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "In the ED he was given aspirin 325 mg. Aspirin was given again at noon.",
            [("aspirin", MedicationStatus.COMPLETED, False)],
        ),
        (
            "She received ceftriaxone 1 g IV and was admitted.",
            [("ceftriaxone", MedicationStatus.COMPLETED, False)],
        ),
        (
            "He was given a prescription for amoxicillin 500 mg three times daily.",
            [("amoxicillin", MedicationStatus.ACTIVE, True)],
        ),
        (
            "He takes metformin 500 mg twice daily. He received instructions on insulin use.",
            [
                ("metformin", MedicationStatus.ACTIVE, False),
                ("insulin", MedicationStatus.ACTIVE, False),
            ],
        ),
        (
            "Procedure Anesthesia\nConscious sedation with propofol 200 mg IV\n"
            "General anesthesia was induced with ketamine.",
            [
                ("propofol", MedicationStatus.COMPLETED, False),
                ("ketamine", MedicationStatus.COMPLETED, False),
            ],
        ),
        (
            "ED course: Given nitroglycerin SL x1 with relief. Given his CKD, avoid NSAIDs.",
            [("nitroglycerin", MedicationStatus.COMPLETED, False)],
        ),
        (
            "Thiamine and folate given. Ondansetron given for nausea. Continue lisinopril given"
            " proteinuria.",
            [
                ("thiamine", MedicationStatus.COMPLETED, False),
                ("folate", MedicationStatus.COMPLETED, False),
                ("ondansetron", MedicationStatus.COMPLETED, False),
                ("lisinopril", MedicationStatus.ACTIVE, False),
            ],
        ),
    ],
    ids=[
        "given",
        "received",
        "prescription-given",
        "instructions-received",
        "sedation",
        "given-first",
        "given-after-not-because-of",
    ],
)
def test_a_dose_given_is_a_completed_administration(extractor, text, expected):
    """A drug the text says was given or received is no drug the patient is on (completed);
    a prescription or instructions given are not a dose given."""
    result = extractor.extract(text)
    found = [(m.text.lower(), m.status, m.prescribed) for m in result.medications]
    assert found == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Assessment and Plan\nHeart failure. We\nwill increase his carvedilol to 12.5 mg twice"
            " daily and initiate spironolactone 25 mg daily. He will continue aspirin.",
            [
                ("carvedilol", True, Assertion.PRESENT),
                ("spironolactone", True, Assertion.PRESENT),
                ("aspirin", False, Assertion.PRESENT),
            ],
        ),
        ("Plan:\nStart metformin 500 mg twice daily.", [("metformin", True, Assertion.PRESENT)]),
        (
            "Type 2 diabetes, uncontrolled. Add empagliflozin 10 mg daily.",
            [("empagliflozin", True, Assertion.PRESENT)],
        ),
        (
            "If her blood pressure stays above 150, we will start amlodipine 5 mg daily.",
            [("amlodipine", True, Assertion.HYPOTHETICAL)],
        ),
        (
            "We will start amlodipine 5 mg daily if her home readings stay above 150.",
            [("amlodipine", True, Assertion.HYPOTHETICAL)],
        ),
        (
            "Hospital course: he was started on ceftriaxone 1 g daily.",
            [("ceftriaxone", False, Assertion.PRESENT)],
        ),
        (
            "We will start lisinopril 10 mg daily, continue metformin 500 mg twice daily.",
            [("lisinopril", True, Assertion.PRESENT), ("metformin", False, Assertion.PRESENT)],
        ),
        ("Will trial omeprazole 20 mg daily.", [("omeprazole", True, Assertion.PRESENT)]),
        ("Restart furosemide 40 mg IV BID.", [("furosemide", True, Assertion.PRESENT)]),
        ("Resumed metoprolol on hospital day 2.", [("metoprolol", False, Assertion.PRESENT)]),
        ("Will continue lisinopril.", [("lisinopril", False, Assertion.PRESENT)]),
    ],
    ids=[
        "increase-and-initiate",
        "imperative-start",
        "imperative-add",
        "if-before",
        "if-after",
        "hospital-course",
        "start-then-continue",
        "will-trial",
        "imperative-restart",
        "hospital-course-resumed",
        "will-continue",
    ],
)
def test_the_writers_decision_to_start_a_drug_is_an_order(extractor, text, expected):
    """'We will initiate X' orders X (a MedicationRequest); on a condition it is only planned
    (never an active order); 'was started on' in a hospital course says what the patient is on."""
    result = extractor.extract(text)
    found = [(m.text.lower(), m.prescribed, m.assertion) for m in result.medications]
    assert found == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Meds: Motrin once a week. Tums previously.",
            [("Motrin", Assertion.PRESENT), ("Tums", Assertion.HISTORICAL)],
        ),
        (
            "He was previously on metformin and now takes insulin glargine 10 units nightly.",
            [("metformin", Assertion.HISTORICAL), ("insulin glargine", Assertion.PRESENT)],
        ),
        ("She formerly took atenolol.", [("atenolol", Assertion.HISTORICAL)]),
    ],
    ids=["previously-after", "previously-before", "formerly"],
)
def test_a_drug_taken_before_is_historical(extractor, text, expected):
    """A drug the text says was taken before is no drug the patient is on now (a completed
    MedicationStatement)."""
    result = extractor.extract(text)
    assert [(m.text, m.assertion) for m in result.medications] == expected


@pytest.mark.parametrize(
    ("cell", "iso"),
    [
        ("On 30-Jan-2013", "2013-01-30"),
        ("Aug-06-2012/12:13:00", "2012-08-06"),
        ("12-30-2013", "2013-12-30"),
        ("Lot MRN-12-2012 given 03/04/2012", "2012-03-04"),
        ("Onset unknown", None),
    ],
)
def test_dates_as_ehrs_print_them(cell, iso):
    assert first_date(cell) == iso


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "DISCHARGE SUMMARY\nDiagnoses: Hypertension.\n"
            "Discharge medications: lisinopril 10 mg daily.",
            [("lisinopril", True)],
        ),
        (
            "DISCHARGE MEDICATIONS:\n1. Lisinopril 10 mg daily\n2. Aspirin 81 mg daily\n",
            [("lisinopril", True), ("aspirin", True)],
        ),
        ("Medications on discharge:\n- metformin 500 mg twice daily\n", [("metformin", True)]),
        ("Home medications: lisinopril 10 mg daily.", [("lisinopril", False)]),
        (
            "Discharge Medications\n| Medication | Sig | Status |\n"
            "| Lisinopril 10 mg tablet | 1 tablet by mouth daily | Active |\n"
            "| Warfarin 5 mg tablet | 1 tablet by mouth daily | Discontinued |\n"
            "Home Medications\n| Medication | Sig | Status |\n"
            "| Metformin 500 mg tablet | 1 tablet twice daily | Active |\n",
            [
                ("lisinopril 10 mg tablet", True),
                ("warfarin 5 mg tablet", False),
                ("metformin 500 mg tablet", False),
            ],
        ),
    ],
    ids=["labelled-line", "list", "on-discharge", "home-list-is-no-order", "tables"],
)
def test_a_discharge_medication_list_is_prescribed(extractor, text, expected):
    """What the document sends the patient home with is ordered by it (MedicationRequest); a
    home medication list is what the patient takes (MedicationStatement)."""
    result = extractor.extract(text)
    assert [(m.text.lower(), m.prescribed) for m in result.medications] == expected


def test_a_title_with_a_word_of_when_ends_the_allergies_above_it(extractor):
    """Regression: 'Current Medication List:' was no title (only 'Medication List' was), so the
    'Allergies:' line above it reached over the table and every drug of it was an allergy."""
    text = """Allergies: Penicillin (rash); Lisinopril (angioedema, 2015).

Current Medication List:
| Medication | Dose | Route | Frequency | Status |
| Amlodipine | 10 mg | PO | Daily | Active |
| Losartan | 50 mg | PO | Daily | On hold since 04/20/2024 (hyperkalemia/AKI) |
| Prednisone | 40 mg taper | PO | Taper over 10 days | Completed 03/2024 |
"""
    result = extractor.extract(text)
    assert {a.substance for a in result.allergies} == {"Penicillin", "Lisinopril"}
    assert {m.text: m.status for m in result.medications} == {
        "Amlodipine": MedicationStatus.ACTIVE,
        "Losartan": MedicationStatus.ON_HOLD,
        "Prednisone": MedicationStatus.COMPLETED,
    }


RECONCILIATION_TABLE = """Allergies / Intolerances
| Allergen | Reaction | Type |
| Codeine | Nausea and vomiting | Intolerance |
Home Medications
| Home Medication | Dose / Route / Frequency | Last Dose | Action (Continue / Hold / Discontinue) \
| Comments |
| Warfarin 2.5 mg tab | 5 mg PO Mon/Wed/Fri | 06/10 18:00 | HOLD | INR 2.8 on admission. |
| Metoprolol tartrate 25 mg tab | 25 mg PO twice daily | 06/11 08:00 | Continue | Hold \
parameters: SBP < 95. |
| Ibuprofen 200 mg tab | 400 mg PO as needed | 06/08 | DISCONTINUE | Bleeding risk. |
Medications Given in ED Prior to Arrival on Unit
| Medication | Dose / Route | Time |
| Fentanyl | 50 mcg IV x1 | 06/11 14:20 |
"""


def test_a_reconciliations_action_column_and_the_doses_given_in_the_ed(extractor):
    """Regression: a header cell with its choices in parentheses ('Action (Continue / Hold /
    Discontinue)') had too many words for a header, so no row had a status column and the held
    warfarin and stopped ibuprofen were active; the ED's one dose of fentanyl was a home drug."""
    result = extractor.extract(RECONCILIATION_TABLE)
    assert {m.generic_name: m.status for m in result.medications} == {
        "warfarin": MedicationStatus.ON_HOLD,
        "metoprolol": MedicationStatus.ACTIVE,
        "ibuprofen": MedicationStatus.STOPPED,
        "fentanyl": MedicationStatus.COMPLETED,
    }
    assert {m.generic_name for m in result.medications if m.administered} == {"fentanyl"}
    assert [a.substance for a in result.allergies] == ["Codeine"]


DECISIONS_BELOW_ALLERGIES = """Allergies / intolerances
Codeine - confusion
Medication reconciliation and recommendations
| Medication | Current directions | Indication | Decision | Rationale / notes |
| Amlodipine 10 mg tab | 1 tab daily | HTN | DECREASE to 5 mg daily | Orthostatic hypotension |
| Zolpidem 5 mg tab | 1 tab at bedtime | Insomnia | STOP | Falls at night |
| Donepezil 5 mg tab | 1 tab at bedtime | MCI | HOLD | Vivid dreams |
| Sertraline 50 mg tab | 1 tab daily | Depression | Continue | Mood stable |
"""


def test_a_reconciliation_below_the_allergies_and_its_decision_column(extractor):
    """Regression: 'Medication reconciliation and recommendations' was no title, so the table
    below the allergies made every drug an allergy; its 'Decision' column (STOP / HOLD) was no
    status column."""
    result = extractor.extract(DECISIONS_BELOW_ALLERGIES)
    assert [a.substance for a in result.allergies] == ["Codeine"]
    assert {m.generic_name: m.status for m in result.medications} == {
        "amlodipine": MedicationStatus.ACTIVE,
        "zolpidem": MedicationStatus.STOPPED,
        "donepezil": MedicationStatus.ON_HOLD,
        "sertraline": MedicationStatus.ACTIVE,
    }


CAPTIONED_TABLES = """History of Present Illness
Admitted with shortness of breath and leg swelling.
| Past Medical History / Problem List |  |  |
| Problem | Status | Comments |
| Coronary artery disease | Active | stable |
| Community-acquired pneumonia | Resolved | 2021 |

Past Surgical History
Appendectomy (1990).
| Home Medications (prior to admission) |  |  |  |
| Medication | Dose | Frequency | Inpatient action |
| Lisinopril | 10 mg | daily | HOLD \u2013 AKI |
| Metformin | 1000 mg | BID | HOLD while inpatient |
| Metoprolol | 25 mg | BID | Hold if SBP < 95 |
| Aspirin | 81 mg | daily | Stop (bleeding risk) |
| Allergies |  |  |
| Allergen | Reaction | Severity |

| Penicillin | Hives | Moderate |
"""


def test_a_caption_row_naming_a_section_says_what_its_table_is(extractor):
    """Regression: tables captioned by a row of their own ('| Home Medications (prior to
    admission) |  |  |') took the kind of the section they were printed in: under 'Past
    Surgical History' every drug and allergen was a completed procedure, and the problem table
    in the HPI lost its resolved rows. An action with its reason ('HOLD - AKI') holds the drug;
    a hold on a condition ('Hold if SBP < 95') does not."""
    result = extractor.extract(CAPTIONED_TABLES)
    assert {p.text for p in result.procedures} == {"Appendectomy"}
    assert {m.generic_name: m.status for m in result.medications} == {
        "lisinopril": MedicationStatus.ON_HOLD,
        "metformin": MedicationStatus.ON_HOLD,
        "metoprolol": MedicationStatus.ACTIVE,
        "aspirin": MedicationStatus.STOPPED,
    }
    assert [(a.substance, a.reaction) for a in result.allergies] == [("Penicillin", "Hives")]
    conditions = {c.text: c.resolved for c in result.conditions}
    assert conditions["Coronary artery disease"] is False
    assert conditions["Community-acquired pneumonia"] is True


@pytest.mark.parametrize("status", ["No Longer Active", "Not active"])
def test_a_status_no_longer_active_is_not_active(extractor, status):
    """Regression: 'No Longer Active' held the word 'Active' and the row was active."""
    text = (
        "Medications\n| Medication | Instructions | Status |\n"
        f"| albuterol 90 mcg inhaler | inhale 2 puffs once | {status} |\n"
    )
    [medication] = extractor.extract(text).medications
    assert medication.status == MedicationStatus.COMPLETED


def test_a_pending_row_is_not_taken_and_a_product_keeps_the_narratives_generic(extractor):
    """A table row's 'Pending' status is a drug not taken yet, as on a line printed without
    rules; 'Docusate sodium' is docusate whether read as a row or as a line (the drug
    dictionary's generic for it is 'dioctyl sulfosuccinic acid')."""
    text = """Medications
| Medication | Dose | Status | Comments |
| Dapagliflozin | 10 mg daily | Pending | start once prior auth approved |
| Docusate sodium | 100 mg BID | Active |  |
| Insulin glargine | 10 units at bedtime | Active |  |
"""
    found = extractor.extract(text).medications
    assert [(m.generic_name, m.assertion) for m in found] == [
        ("dapagliflozin", Assertion.HYPOTHETICAL),
        ("docusate", Assertion.PRESENT),
        ("insulin glargine", Assertion.PRESENT),
    ]
