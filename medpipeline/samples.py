"""Deterministic sample PDFs with fictional patients, for demos and tests.

Every patient, identifier and sentence here is invented. `generate_samples` writes five documents:
a discharge summary, a lab report with a real results table, a referral letter, a long multi-day
progress note and an image-only "scanned" clinic note. The same input always gives the same bytes.
Run `python -m medpipeline.samples [OUT_DIR]` to regenerate them (default `data/samples`).
"""

import io
import logging
import random
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image, ImageDraw, ImageFilter, ImageFont

logger = logging.getLogger(__name__)

DEFAULT_OUT_DIR = Path("data/samples")
FIXED_CREATION_DATE = datetime(2024, 1, 1, tzinfo=UTC)
PRODUCER = "medpipeline.samples"

DISCHARGE_FILE = "discharge_summary.pdf"
LAB_FILE = "lab_report.pdf"
REFERRAL_FILE = "referral_letter.pdf"
PROGRESS_FILE = "progress_note_long.pdf"
SCANNED_FILE = "scanned_clinic_note.pdf"
SAMPLE_FILES = (DISCHARGE_FILE, LAB_FILE, REFERRAL_FILE, PROGRESS_FILE, SCANNED_FILE)

_FONT = "Helvetica"
_FONT_SIZE = 10.5
_LINE_HEIGHT = 5.2
# "DISCHARGE MEDICATIONS:" or "PATIENT: Maria Testperson": an upper-case label, then a colon.
_HEADING = re.compile(r"^([A-Z][A-Z0-9 /&(),'-]*[A-Z)]):(.*)$")

_SCAN_DPI = 200
_SCAN_SIZE = (1700, 2200)  # US letter at 200 dpi
_SCAN_SEED = 20240101
_SCAN_JPEG_QUALITY = 55


@dataclass(frozen=True)
class Patient:
    """A fictional patient as printed on a sample document."""

    name: str
    dob: str
    sex: str
    mrn: str


@dataclass(frozen=True)
class LabResult:
    """One analyte row of the sample lab report; the flag is derived from the range."""

    test: str
    value: float
    decimals: int
    units: str
    low: float
    high: float

    @property
    def result(self) -> str:
        return f"{self.value:.{self.decimals}f}"

    @property
    def reference_range(self) -> str:
        return f"{self.low:.{self.decimals}f}-{self.high:.{self.decimals}f}"

    @property
    def flag(self) -> str:
        if self.value > self.high:
            return "H"
        if self.value < self.low:
            return "L"
        return ""

    def row(self) -> tuple[str, str, str, str, str]:
        return (self.test, self.result, self.units, self.reference_range, self.flag)


DISCHARGE_PATIENT = Patient("Maria Testperson", "03/14/1958", "Female", "4410-2291")
LAB_PATIENT = Patient("John Sampleton", "07/22/1971", "Male", "5520-3318")
REFERRAL_PATIENT = Patient("Harold Democase", "11/02/1949", "Male", "7781-0043")
PROGRESS_PATIENT = Patient("Gloria Synthetica", "05/30/1944", "Female", "6603-1187")
SCANNED_PATIENT = Patient("Tommy Notreal", "09/09/1996", "Male", "3302-7745")

DISCHARGE_MEDICATIONS = (
    "Metformin 500 mg by mouth twice daily",
    "Lisinopril 10 mg PO daily",
    "Amoxicillin-clavulanate 875 mg PO every 12 hours for 5 days",
    "Atorvastatin 20 mg PO at bedtime",
    "Acetaminophen 650 mg PO every 6 hours as needed for fever or pain",
)
DISCHARGE_DIAGNOSES = (
    "Community-acquired pneumonia, right lower lobe",
    "Type 2 diabetes mellitus",
    "Hypertension",
)

DISCHARGE_PAGES = [
    f"""PATIENT: {DISCHARGE_PATIENT.name}
DOB: {DISCHARGE_PATIENT.dob}    Sex: {DISCHARGE_PATIENT.sex}    MRN: {DISCHARGE_PATIENT.mrn}
Admission date: 02/03/2024    Discharge date: 02/07/2024
Attending physician: Dr. Alan Exampleton, Internal Medicine
Facility: Fictional General Hospital, Sample City

ADMISSION DIAGNOSIS:
Community-acquired pneumonia with sepsis physiology on presentation.

HOSPITAL COURSE:
Ms. Testperson is a 65-year-old woman with type 2 diabetes mellitus and hypertension who \
presented with three days of productive cough, fever to 38.9 C and right-sided pleuritic \
discomfort. Chest radiograph showed a right lower lobe consolidation. She was started on \
intravenous ceftriaxone and azithromycin after blood cultures were drawn. Blood cultures \
remained negative at 48 hours. Her fever resolved by hospital day 2 and her oxygen requirement \
fell from 2 L nasal cannula to room air by hospital day 3. Blood glucose ran 160-210 mg/dL on \
admission and was managed with sliding-scale insulin; metformin was resumed once she was \
eating normally. She was transitioned to oral amoxicillin-clavulanate on hospital day 3 and \
tolerated it well. She ambulated independently before discharge.

DISCHARGE DIAGNOSES:
1. {DISCHARGE_DIAGNOSES[0]}
2. {DISCHARGE_DIAGNOSES[1]}
3. {DISCHARGE_DIAGNOSES[2]}

PAST MEDICAL HISTORY:
Type 2 diabetes mellitus diagnosed 2012. Hypertension. Hyperlipidemia. Osteoarthritis of both \
knees. Appendectomy in 1979.

FAMILY HISTORY:
Father had coronary artery disease and died of a myocardial infarction at age 71. Mother had \
type 2 diabetes mellitus. No family history of cancer.

SOCIAL HISTORY:
Retired school librarian. Never smoker. Drinks one glass of wine per week. Lives with her husband.

ALLERGIES:
Penicillin (rash) - tolerated amoxicillin-clavulanate during this admission without reaction.
""",
    f"""DISCHARGE MEDICATIONS:
1. {DISCHARGE_MEDICATIONS[0]}
2. {DISCHARGE_MEDICATIONS[1]}
3. {DISCHARGE_MEDICATIONS[2]}
4. {DISCHARGE_MEDICATIONS[3]}
5. {DISCHARGE_MEDICATIONS[4]}

REVIEW OF SYSTEMS:
Reports mild fatigue and a residual dry cough. Denies chest pain. No shortness of breath. No \
nausea, vomiting or diarrhea. No leg swelling. No rash.

VITAL SIGNS:
BP 138/84 mmHg, HR 88 bpm, RR 18 breaths/min, Temp 37.9 C, SpO2 95% on room air.

PHYSICAL EXAMINATION AT DISCHARGE:
Alert and oriented, in no acute distress. Few crackles at the right base, otherwise clear. Regular \
rate and rhythm without murmur. Abdomen soft and non-tender. No peripheral edema.

PENDING RESULTS:
None.

FOLLOW-UP:
Primary care with Dr. Nadia Imaginary in 1 week. Repeat chest radiograph in 6 weeks to document \
resolution of the consolidation. Check hemoglobin A1c at the follow-up visit.

PATIENT INSTRUCTIONS:
Complete the full course of antibiotics. Check blood glucose twice daily and bring the log to \
the follow-up visit. Return to the emergency department for fever above 38.5 C, worsening \
shortness of breath, confusion or chest pain.

Electronically signed: Dr. Alan Exampleton, MD, 02/07/2024 14:32
""",
]

LAB_COLLECTION_DATE = "04/18/2024 07:45"
LAB_COLUMNS = ("Test", "Result", "Units", "Reference Range", "Flag")
LAB_RESULTS = (
    LabResult("Glucose, fasting", 148, 0, "mg/dL", 70, 99),
    LabResult("Hemoglobin A1c", 7.8, 1, "%", 4.0, 5.6),
    LabResult("Sodium", 137, 0, "mmol/L", 135, 145),
    LabResult("Potassium", 3.3, 1, "mmol/L", 3.5, 5.1),
    LabResult("Creatinine", 1.48, 2, "mg/dL", 0.74, 1.35),
    LabResult("BUN", 24, 0, "mg/dL", 7, 20),
    LabResult("Hemoglobin", 12.9, 1, "g/dL", 13.5, 17.5),
    LabResult("WBC", 7.4, 1, "10^3/uL", 4.0, 11.0),
    LabResult("Platelets", 251, 0, "10^3/uL", 150, 400),
    LabResult("ALT", 32, 0, "U/L", 7, 56),
    LabResult("LDL cholesterol", 142, 0, "mg/dL", 0, 99),
    LabResult("TSH", 2.10, 2, "mIU/L", 0.40, 4.50),
)

LAB_HEADER = f"""PATIENT: {LAB_PATIENT.name}
DOB: {LAB_PATIENT.dob}    Sex: {LAB_PATIENT.sex}    MRN: {LAB_PATIENT.mrn}
Collected: {LAB_COLLECTION_DATE}    Received: 04/18/2024 09:10    Reported: 04/18/2024 13:02
Ordering provider: Dr. Nadia Imaginary    Specimen: serum and whole blood (EDTA)
"""
LAB_FOOTER = """COMMENTS:
H = above reference range, L = below reference range. Fasting specimen per patient report.
All patients and results on this report are fictional sample data.
Verified by: Sam Placeholder, MLS(ASCP)
"""

REFERRAL_MEDICATIONS = (
    "Apixaban 5 mg by mouth twice daily",
    "Metoprolol succinate 25 mg by mouth daily",
    "Amlodipine 5 mg by mouth daily",
)

REFERRAL_PAGES = [
    f"""Oakfield Family Practice (fictional), 12 Example Lane, Sample City
Tel 555-0100

Date: 05/06/2024

To: Cardiology Clinic, Fictional General Hospital

REFERRAL: Atrial fibrillation with palpitations

PATIENT: {REFERRAL_PATIENT.name}
DOB: {REFERRAL_PATIENT.dob}    Sex: {REFERRAL_PATIENT.sex}    MRN: {REFERRAL_PATIENT.mrn}

Dear Colleague,

Thank you for seeing Mr. Democase, a 74-year-old retired carpenter, whom I am referring for \
assessment of newly diagnosed atrial fibrillation. Over the past six weeks he has had episodes \
of palpitations lasting several hours, associated with mild exertional breathlessness. A \
12-lead ECG in the surgery on 04/29/2024 showed atrial fibrillation with a ventricular rate of \
112 bpm. He denies syncope and has had no chest pain. His CHA2DS2-VASc score is 3 (age, \
hypertension) and HAS-BLED is 1.

REASON FOR REFERRAL:
Atrial fibrillation, new onset, with symptomatic palpitations. I would value your opinion on \
rhythm versus rate control and whether an echocardiogram and Holter monitor are warranted.

HISTORY:
Hypertension for 15 years, well controlled. Benign prostatic hyperplasia. Left inguinal hernia \
repair in 2010. Ex-smoker, quit in 1995 (20 pack-years). Alcohol 4 units per week. His brother \
had atrial fibrillation in his sixties.

CURRENT MEDICATIONS:
1. {REFERRAL_MEDICATIONS[0]} (started 04/29/2024)
2. {REFERRAL_MEDICATIONS[1]} (started 04/29/2024)
3. {REFERRAL_MEDICATIONS[2]}

ALLERGIES:
No known drug allergies.

EXAMINATION AND INVESTIGATIONS:
BP 142/86 mmHg, irregularly irregular pulse at 104 bpm. Heart sounds normal, no murmur. Chest \
clear. No ankle edema. TSH 1.8 mIU/L, creatinine 1.0 mg/dL, hemoglobin 14.1 g/dL.

Many thanks for your help with his care.

Yours sincerely,

Dr. Priya Notarealdoc, MBBS, General Practitioner
""",
]

SCANNED_ASSESSMENT = "Asthma, mild persistent"
SCANNED_MEDICATION = "Albuterol inhaler 2 puffs every 4 hours as needed"
SCANNED_ALLERGIES = "No known allergies"
SCANNED_NOTE_TEXT = f"""RIVERSIDE CLINIC (FICTIONAL) - OUTPATIENT NOTE

PATIENT: {SCANNED_PATIENT.name}
DOB: {SCANNED_PATIENT.dob}    MRN: {SCANNED_PATIENT.mrn}
Visit date: 06/12/2024

SUBJECTIVE:
27-year-old man with wheeze and night cough three nights a week for two months, worse with cold \
air and exercise. No fever. No chest pain.

OBJECTIVE:
BP 122/76 mmHg, HR 78 bpm, SpO2 98% on room air. Scattered expiratory wheeze. Peak flow 82% of \
predicted.

ASSESSMENT:
{SCANNED_ASSESSMENT}.

PLAN:
{SCANNED_MEDICATION}.
Fluticasone inhaler 110 mcg 2 puffs twice daily.
Asthma action plan reviewed. Follow up in 4 weeks.

ALLERGIES:
{SCANNED_ALLERGIES}.

Signed: Dr. Lee Fakeman, MD
"""


@dataclass(frozen=True)
class _Day:
    """One hospital day of the progress-note series (inputs to the templates)."""

    number: int
    date: str
    subjective: str
    overnight: str
    negatives: str
    bp: str
    hr: int
    rr: int
    temp: str
    spo2: str
    weight: float
    intake: int
    output: int
    jvp: str
    lungs: str
    edema: str
    sodium: int
    potassium: float
    creatinine: float
    bun: int
    magnesium: float
    glucose: str
    extra_labs: str
    telemetry: str
    meds: tuple[str, ...]
    communication: str
    hf_plan: str
    renal_plan: str
    lyte_plan: str
    dm_plan: str
    dispo: str


_ADMIT_WEIGHT = 78.4
_BASELINE_CREATININE = 1.3

_STANDING_MEDS = (
    "Carvedilol 12.5 mg PO twice daily",
    "Atorvastatin 40 mg PO at bedtime",
    "Aspirin 81 mg PO daily",
    "Heparin 5000 units subcutaneously every 8 hours (venous thromboembolism prophylaxis)",
)
_GLARGINE_10 = (
    "Insulin glargine 10 units subcutaneously at bedtime, lispro correction scale with meals"
)
_GLARGINE_8 = (
    "Insulin glargine 8 units subcutaneously at bedtime, lispro correction scale with meals"
)
_SPIRONOLACTONE = "Spironolactone 12.5 mg PO daily"
_ARNI = "Sacubitril-valsartan 24/26 mg PO twice daily"
_TORSEMIDE = "Torsemide 20 mg PO daily"
_EMPAGLIFLOZIN = "Empagliflozin 10 mg PO daily"

_DAYS = (
    _Day(
        1,
        "03/04/2024",
        "Admitted overnight from the emergency department with one week of progressive dyspnea "
        "on exertion, three-pillow orthopnea and bilateral leg swelling. She reports running out "
        "of furosemide ten days ago and eating salty take-away meals at a family gathering. This "
        "morning she feels slightly less breathless after two doses of intravenous furosemide "
        "but still cannot lie flat.",
        "Required 3 L nasal cannula on arrival, weaned to 2 L by morning. Voided 1.9 L after the "
        "first furosemide dose. No sustained arrhythmias on telemetry.",
        "Denies chest pain or pressure. No fever or chills. No syncope or presyncope. Denies "
        "hemoptysis. No melena.",
        "152/88",
        96,
        22,
        "36.8",
        "93% on 2 L nasal cannula",
        78.4,
        900,
        2650,
        "elevated to 12 cm H2O",
        "bibasilar crackles to the mid lung fields",
        "2+ pitting edema to the mid shins bilaterally",
        134,
        3.9,
        1.3,
        28,
        2.0,
        "142-188",
        "NT-proBNP 6840 pg/mL. High-sensitivity troponin 18 ng/L and 19 ng/L (flat). Chest "
        "radiograph with cephalization, small bilateral pleural effusions and Kerley B lines.",
        "sinus rhythm 88-104 bpm with occasional premature ventricular contractions, no runs",
        (
            "Furosemide 40 mg IV twice daily",
            *_STANDING_MEDS,
            _GLARGINE_10,
            "Sacubitril-valsartan on hold",
            "Metformin on hold while inpatient",
        ),
        "Plan discussed with the patient and her daughter at the bedside; both understand the "
        "reason for admission and the importance of daily weights and the diuretic at home.",
        "Acute on chronic heart failure with reduced ejection fraction (last EF 30%) triggered "
        "by medication non-adherence and dietary sodium. Goal net negative 1.5 to 2 L per day. "
        "Strict intake and output, daily standing weights, 2 g sodium diet, 1.5 L fluid "
        "restriction. Continue carvedilol at home dose since she is warm and well perfused. "
        "Hold sacubitril-valsartan tonight until renal function and blood pressure are "
        "reassessed after diuresis. Transthoracic echocardiogram ordered.",
        "Creatinine 1.3 mg/dL, at her baseline for chronic kidney disease stage 3a. Avoid "
        "nephrotoxins and intravenous contrast. Renally dose medications.",
        "Potassium 3.9 mmol/L and magnesium 2.0 mg/dL. Replete to keep potassium above 4.0 and "
        "magnesium above 2.0 during diuresis.",
        "Home metformin held while inpatient. Glargine 10 units at bedtime plus lispro "
        "correction scale with meals. Hemoglobin A1c pending.",
        "Inpatient telemetry. Physical therapy once able to ambulate. Expected length of stay "
        "four to six days.",
    ),
    _Day(
        2,
        "03/05/2024",
        "Slept better with two pillows. Breathing is easier walking to the bathroom. Legs feel "
        "lighter. Appetite is fair and she is tolerating the low-sodium diet, although she finds "
        "it bland.",
        "Net negative 2.1 L. Weaned to 1 L nasal cannula at 04:00. One episode of mild "
        "lightheadedness on standing that resolved with sitting.",
        "Denies chest pain. No palpitations. No abdominal pain or nausea. No dysuria.",
        "138/80",
        88,
        20,
        "36.9",
        "95% on 1 L nasal cannula",
        76.9,
        1200,
        3300,
        "9 cm H2O",
        "crackles at both bases only",
        "1+ pitting edema at the ankles and shins",
        135,
        3.4,
        1.4,
        31,
        1.8,
        "128-176",
        "Echocardiogram: left ventricular ejection fraction 30-35%, global hypokinesis, moderate "
        "functional mitral regurgitation, estimated RV systolic pressure 48 mmHg.",
        "sinus rhythm 80-96 bpm, two isolated premature ventricular contractions",
        (
            "Furosemide 40 mg IV twice daily",
            _SPIRONOLACTONE,
            "Potassium chloride 40 mEq PO twice today",
            "Magnesium sulfate 2 g IV once",
            *_STANDING_MEDS,
            _GLARGINE_10,
            "Sacubitril-valsartan on hold",
        ),
        "Updated the daughter by telephone. Dietitian saw the patient for low-sodium meal "
        "planning and label reading.",
        "Responding well to diuresis with weight down 1.5 kg from admission. Continue "
        "furosemide 40 mg IV twice daily. Echocardiogram unchanged from prior; no new wall "
        "motion abnormality, so no ischemic work-up now. Continue carvedilol. Continue to hold "
        "sacubitril-valsartan today given lightheadedness.",
        "Creatinine 1.4 mg/dL from 1.3; expected with decongestion. Recheck in the morning.",
        "Hypokalemia to 3.4 mmol/L and magnesium 1.8 mg/dL. Potassium chloride 40 mEq by mouth "
        "twice today and magnesium sulfate 2 g IV once. Start spironolactone 12.5 mg daily.",
        "Fasting glucose 128 mg/dL. Continue glargine 10 units and correction scale. Hemoglobin "
        "A1c 7.6%.",
        "Continue inpatient care. Physical therapy evaluation requested for tomorrow.",
    ),
    _Day(
        3,
        "03/06/2024",
        "Reports feeling tired and a little thirsty, but breathing is much better. Was able to "
        "walk the length of the hallway with the nurse. She asks when she can go home.",
        "Net negative 1.8 L. On room air since 08:00 yesterday. Orthostatic vital signs "
        "positive this morning with a systolic drop of 18 mmHg.",
        "Denies chest pain. No dyspnea at rest. No confusion. Denies leg pain or calf tenderness.",
        "118/70",
        84,
        18,
        "36.7",
        "96% on room air",
        75.6,
        1100,
        2900,
        "7 cm H2O",
        "faint crackles at the right base",
        "trace edema at the ankles",
        136,
        3.9,
        1.7,
        38,
        2.1,
        "118-164",
        "Urine sodium 42 mmol/L. Hemoglobin 11.8 g/dL, stable.",
        "sinus rhythm 76-92 bpm, no arrhythmias; orthostatic rise to 104 bpm on standing",
        (
            "Furosemide held this morning, reassess this afternoon",
            _SPIRONOLACTONE,
            *_STANDING_MEDS,
            _GLARGINE_10,
            "Sacubitril-valsartan on hold",
        ),
        "Explained to the patient that the diuretic is paused because her kidneys show she is "
        "slightly dry, and that this is expected and usually reverses within a day or two.",
        "Near euvolemia, weight down 2.8 kg from admission. Signs of early over-diuresis with "
        "orthostasis and a rise in creatinine. Hold furosemide this morning and reassess this "
        "afternoon. Encourage oral intake within the 1.5 L fluid restriction. Continue "
        "carvedilol and spironolactone.",
        "Acute kidney injury on chronic kidney disease stage 3a: creatinine 1.7 mg/dL from "
        "baseline 1.3, prerenal pattern in the setting of diuresis. Hold diuretic, avoid "
        "NSAIDs and contrast, repeat basic metabolic panel this evening.",
        "Potassium 3.9 mmol/L after repletion and magnesium 2.1 mg/dL. Monitor potassium "
        "closely now that spironolactone has started and renal function has dipped.",
        "Glucose well controlled on glargine 10 units. No hypoglycemia.",
        "Physical therapy: independent with a rolling walker, no home physical therapy needs "
        "identified. Not yet ready for discharge.",
    ),
    _Day(
        4,
        "03/07/2024",
        "Feels more energetic today and less thirsty. No lightheadedness when standing. She "
        "walked twice in the hallway without stopping. Sleeping flat on one pillow.",
        "Net negative 0.4 L without diuretic. Evening creatinine 1.6 mg/dL.",
        "Denies chest pain. No orthopnea. No paroxysmal nocturnal dyspnea. No palpitations.",
        "126/74",
        80,
        16,
        "36.6",
        "97% on room air",
        75.4,
        1400,
        1800,
        "6 cm H2O",
        "clear to auscultation bilaterally",
        "no edema",
        137,
        4.3,
        1.5,
        34,
        2.1,
        "112-158",
        "Urinalysis bland. Hemoglobin 11.9 g/dL.",
        "sinus rhythm 72-88 bpm, no arrhythmias",
        (f"{_TORSEMIDE} (first dose today)", _ARNI, _SPIRONOLACTONE, *_STANDING_MEDS, _GLARGINE_10),
        "Pharmacist reviewed the new torsemide and sacubitril-valsartan prescriptions with the "
        "patient, including the 36-hour gap needed if an ACE inhibitor is ever restarted.",
        "Euvolemic on examination with clear lungs and no edema. Start oral torsemide 20 mg "
        "daily as the maintenance diuretic given more predictable absorption than furosemide. "
        "Restart sacubitril-valsartan at 24/26 mg twice daily now that blood pressure and "
        "renal function have recovered. Continue carvedilol 12.5 mg twice daily and "
        "spironolactone 12.5 mg daily.",
        "Acute kidney injury improving, creatinine 1.5 mg/dL. Recheck tomorrow after the first "
        "torsemide dose and sacubitril-valsartan.",
        "Potassium 4.3 mmol/L. Stop oral potassium supplements while on spironolactone.",
        "Discuss an SGLT2 inhibitor for both heart failure and diabetes once renal function is "
        "stable. Continue glargine 10 units.",
        "Discharge likely in one to two days if weight and renal function remain stable on "
        "oral therapy.",
    ),
    _Day(
        5,
        "03/08/2024",
        "Feels well. Walked to the hospital cafe with her daughter. Reviewed her medication "
        "list with the pharmacist and can name each medicine and its purpose.",
        "Net negative 0.6 L on oral torsemide. Blood pressure 104/62 mmHg once overnight, "
        "asymptomatic.",
        "Denies chest pain. No dizziness. No cough. No leg swelling.",
        "112/66",
        76,
        16,
        "36.8",
        "98% on room air",
        75.1,
        1300,
        1900,
        "6 cm H2O",
        "clear to auscultation bilaterally",
        "no edema",
        137,
        4.5,
        1.4,
        30,
        2.2,
        "104-150",
        "Hemoglobin 12.0 g/dL. NT-proBNP 2210 pg/mL, down from 6840 on admission.",
        "sinus rhythm 70-84 bpm, no arrhythmias; telemetry discontinued this afternoon",
        (
            _TORSEMIDE,
            _ARNI,
            _SPIRONOLACTONE,
            f"{_EMPAGLIFLOZIN} (first dose today)",
            *_STANDING_MEDS,
            _GLARGINE_8,
        ),
        "Family meeting with the patient and her daughter: reviewed warning signs of fluid "
        "overload, the low-sodium diet and the plan for discharge tomorrow.",
        "Stable on oral regimen with weight down 3.3 kg from admission. Natriuretic peptide "
        "down by two thirds. Continue torsemide 20 mg daily, carvedilol 12.5 mg twice daily, "
        "sacubitril-valsartan 24/26 mg twice daily and spironolactone 12.5 mg daily. Start "
        "empagliflozin 10 mg daily. Dry weight estimated at 75 kg.",
        "Creatinine 1.4 mg/dL, nearly at baseline. Expect a small rise with empagliflozin; "
        "recheck at the first clinic visit.",
        "Potassium 4.5 mmol/L on spironolactone and sacubitril-valsartan. Recheck within one "
        "week of discharge.",
        "Empagliflozin started; reduce glargine to 8 units to limit hypoglycemia risk. Resume "
        "metformin at discharge since eGFR is above 45.",
        "Heart failure education completed with teach-back. Discharge planned for tomorrow "
        "morning.",
    ),
    _Day(
        6,
        "03/09/2024",
        "No complaints. Eager to go home. She has a scale at home and agrees to weigh herself "
        "every morning and call the clinic for a gain of more than 1 kg in a day or 2 kg in a "
        "week.",
        "Uneventful night. Net negative 0.3 L.",
        "Denies chest pain. No shortness of breath. No genital itching or dysuria since "
        "starting empagliflozin. No hypoglycemia.",
        "116/68",
        74,
        16,
        "36.7",
        "98% on room air",
        74.9,
        1250,
        1550,
        "5 cm H2O",
        "clear to auscultation bilaterally",
        "no edema",
        138,
        4.4,
        1.4,
        28,
        2.1,
        "98-142",
        "No new imaging.",
        "off telemetry; pulse regular on examination",
        (
            _TORSEMIDE,
            _ARNI,
            _SPIRONOLACTONE,
            _EMPAGLIFLOZIN,
            *_STANDING_MEDS,
            _GLARGINE_8,
            "Metformin 500 mg PO twice daily to resume at discharge",
        ),
        "Discharge summary sent to her primary care physician, Dr. Nadia Imaginary. Follow-up "
        "appointments printed and given to the patient.",
        "Compensated heart failure with reduced ejection fraction on four-drug guideline-directed "
        "therapy. Discharge weight 74.9 kg. Heart failure clinic visit in 7 days with a basic "
        "metabolic panel. Cardiology to consider cardiac resynchronization evaluation if EF "
        "remains at or below 35% after three months of optimized therapy.",
        "Creatinine stable at 1.4 mg/dL. Primary care to follow chronic kidney disease stage 3a.",
        "Potassium 4.4 mmol/L. Basic metabolic panel in one week.",
        "Discharge on metformin 500 mg twice daily, empagliflozin 10 mg daily and glargine 8 "
        "units at bedtime, with a glucose log.",
        "Discharge home today with her daughter. Home health nursing visit in 48 hours for "
        "weight and medication reconciliation.",
    ),
)


def _progress_day_page(day: _Day) -> str:
    """Fill the per-day SOAP template for one hospital day."""
    change = day.weight - _ADMIT_WEIGHT
    net = day.intake - day.output
    meds = "\n".join(f"- {med}" for med in day.meds)
    return f"""PATIENT: {PROGRESS_PATIENT.name}    DOB: {PROGRESS_PATIENT.dob}    \
MRN: {PROGRESS_PATIENT.mrn}
INPATIENT PROGRESS NOTE - HOSPITAL DAY {day.number} ({day.date})
Service: Internal Medicine, Ward 4 East    Author: Dr. Casey Madeup, MD

SUBJECTIVE:
{day.subjective}
Overnight events: {day.overnight}
Review of systems: {day.negatives}

OBJECTIVE:
Vital signs: BP {day.bp} mmHg, HR {day.hr} bpm, RR {day.rr} breaths/min, Temp {day.temp} C, \
SpO2 {day.spo2}.
Weight: {day.weight:.1f} kg ({change:+.1f} kg from admission weight of {_ADMIT_WEIGHT:.1f} kg).
Intake and output (24 h): intake {day.intake} mL, output {day.output} mL, net {net:+d} mL.
General: elderly woman sitting up in bed, conversant, in no acute distress.
Neck: jugular venous pressure {day.jvp}.
Cardiovascular: regular rate and rhythm, S1 and S2 present, soft holosystolic murmur at the \
apex, no rub.
Lungs: {day.lungs}. Normal work of breathing.
Abdomen: soft, non-tender, non-distended, normal bowel sounds.
Extremities: {day.edema}. Warm and well perfused with palpable pedal pulses.
Neurologic: alert and oriented to person, place and time. Moves all extremities.
Labs: sodium {day.sodium} mmol/L, potassium {day.potassium:.1f} mmol/L, creatinine \
{day.creatinine:.1f} mg/dL (baseline {_BASELINE_CREATININE:.1f}), BUN {day.bun} mg/dL, \
magnesium {day.magnesium:.1f} mg/dL, point-of-care glucose {day.glucose} mg/dL.
Other results: {day.extra_labs}
Telemetry: {day.telemetry}.
Diet: 2 g sodium, carbohydrate-consistent, 1.5 L fluid restriction.
Lines and devices: one peripheral intravenous catheter in the left forearm, site clean, no \
urinary catheter.
Current medications:
{meds}

ASSESSMENT AND PLAN:
Ms. Synthetica is a 79-year-old woman with heart failure with reduced ejection fraction, \
chronic kidney disease stage 3a, type 2 diabetes mellitus and hypertension, on hospital day \
{day.number} of admission for acute decompensated heart failure precipitated by running out of \
furosemide and a high dietary sodium load. Admission weight {_ADMIT_WEIGHT:.1f} kg, today \
{day.weight:.1f} kg.
1. Acute on chronic heart failure with reduced ejection fraction: {day.hf_plan}
2. Kidney function: {day.renal_plan}
3. Electrolytes: {day.lyte_plan}
4. Type 2 diabetes mellitus: {day.dm_plan}
5. Hypertension: blood pressure {day.bp} mmHg. Home amlodipine stays on hold; the heart failure \
regimen provides blood pressure control.
6. Prophylaxis: heparin 5000 units subcutaneously every 8 hours. Ambulate three times daily.
7. Code status: full code, confirmed with the patient.
8. Disposition: {day.dispo}
Communication: {day.communication}
"""


PROGRESS_PAGES = [_progress_day_page(day) for day in _DAYS]


def _new_pdf(title: str, orientation: str = "portrait") -> FPDF:
    """An FPDF with fixed metadata, so output bytes depend only on content."""
    pdf = FPDF(orientation=orientation, unit="mm", format="letter")
    pdf.set_creation_date(FIXED_CREATION_DATE)
    pdf.set_producer(PRODUCER)
    pdf.set_creator(PRODUCER)
    pdf.set_author("medpipeline sample generator (fictional data)")
    if title:
        pdf.set_title(title)
    pdf.set_margins(left=20, top=18, right=20)
    pdf.set_auto_page_break(auto=True, margin=18)
    return pdf


def _write_title(pdf: FPDF, title: str) -> None:
    pdf.set_font(_FONT, style="B", size=14)
    pdf.multi_cell(w=0, h=8, text=title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _write_lines(pdf: FPDF, text: str) -> None:
    """Write text line by line; an upper-case `LABEL:` prefix is bold, the rest wraps normally."""
    for line in text.splitlines():
        if not line.strip():
            pdf.ln(_LINE_HEIGHT * 0.6)
            continue
        match = _HEADING.match(line)
        if match and not match.group(2).strip():
            if pdf.will_page_break(_LINE_HEIGHT * 3):  # keep a heading with its first lines
                pdf.add_page()
            pdf.set_font(_FONT, style="B", size=_FONT_SIZE)
            pdf.multi_cell(w=0, h=_LINE_HEIGHT, text=line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif match:
            pdf.set_font(_FONT, style="B", size=_FONT_SIZE)
            pdf.write(h=_LINE_HEIGHT, text=f"{match.group(1)}:")
            pdf.set_font(_FONT, size=_FONT_SIZE)
            pdf.write(h=_LINE_HEIGHT, text=match.group(2))
            pdf.ln(_LINE_HEIGHT)
        else:
            pdf.set_font(_FONT, size=_FONT_SIZE)
            pdf.multi_cell(w=0, h=_LINE_HEIGHT, text=line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_text_pdf(path: Path, pages: list[str], title: str = "") -> Path:
    """Write a text-layer PDF: each string starts a new page (long strings flow onward)."""
    pdf = _new_pdf(title)
    for index, page in enumerate(pages):
        pdf.add_page()
        if title and index == 0:
            _write_title(pdf, title)
        _write_lines(pdf, page)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def render_lab_report_pdf(
    path: Path,
    header: str = LAB_HEADER,
    results: Sequence[LabResult | tuple[str, ...]] = LAB_RESULTS,
    footer: str = LAB_FOOTER,
    title: str = "LABORATORY REPORT",
    columns: tuple[str, ...] = LAB_COLUMNS,
    col_widths: tuple[float, ...] = (34, 14, 16, 24, 10),
    text_align: tuple[str, ...] = ("LEFT", "RIGHT", "LEFT", "LEFT", "CENTER"),
    orientation: str = "portrait",
) -> Path:
    """Write a lab report whose results are a ruled table (Test | Result | ... | Flag).

    A result is a `LabResult` or a row of cells already written (one per column; a panel's
    name alone is a row with empty cells). The table flows onto further pages, its heading
    row repeated."""
    pdf = _new_pdf(title, orientation)
    pdf.add_page()
    _write_title(pdf, title)
    _write_lines(pdf, header)
    pdf.ln(4)
    pdf.set_font(_FONT, size=_FONT_SIZE)
    with pdf.table(
        col_widths=col_widths,
        text_align=text_align,
        line_height=6.5,
        first_row_as_headings=True,
    ) as table:
        table.row(columns)
        for result in results:
            table.row(result.row() if isinstance(result, LabResult) else result)
    pdf.ln(5)
    _write_lines(pdf, footer)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def _scan_image(text: str) -> Image.Image:
    """A grayscale letter-size 'scan' of the text: slight tilt, blur and speckle, still legible."""
    rng = random.Random(_SCAN_SEED)
    width, height = _SCAN_SIZE
    image = Image.new("L", _SCAN_SIZE, color=250)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=34)
    margin, y, line_step = 150, 170, 48
    for raw in text.splitlines():
        wrapped = textwrap.wrap(raw, width=72) or [""]
        for line in wrapped:
            draw.text((margin, y), line, fill=25, font=font)
            y += line_step
    for _ in range(400):
        x, yy = rng.randrange(width), rng.randrange(height)
        radius = rng.choice((1, 1, 2))
        shade = rng.randrange(120, 200)
        draw.ellipse((x, yy, x + radius, yy + radius), fill=shade)
    image = image.rotate(0.6, resample=Image.Resampling.BICUBIC, fillcolor=250)
    return image.filter(ImageFilter.GaussianBlur(radius=0.6))


def render_image_pdf(path: Path, text: str) -> Path:
    """Write an image-only PDF (no text layer): the text drawn as a scanned-looking JPEG page."""
    buffer = io.BytesIO()
    _scan_image(text).save(
        buffer, format="JPEG", quality=_SCAN_JPEG_QUALITY, dpi=(_SCAN_DPI, _SCAN_DPI)
    )
    buffer.seek(0)
    pdf = _new_pdf("")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.image(buffer, x=0, y=0, w=pdf.w, h=pdf.h)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def generate_samples(out_dir: Path) -> list[Path]:
    """Write the five fictional sample PDFs into out_dir and return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [
        render_text_pdf(out_dir / DISCHARGE_FILE, DISCHARGE_PAGES, title="DISCHARGE SUMMARY"),
        render_lab_report_pdf(out_dir / LAB_FILE),
        render_text_pdf(out_dir / REFERRAL_FILE, REFERRAL_PAGES, title="REFERRAL LETTER"),
        render_text_pdf(out_dir / PROGRESS_FILE, PROGRESS_PAGES, title="PROGRESS NOTES"),
        render_image_pdf(out_dir / SCANNED_FILE, SCANNED_NOTE_TEXT),
    ]
    for path in paths:
        logger.info("wrote %s (%d bytes)", path, path.stat().st_size)
    return paths


def main(argv: list[str] | None = None) -> None:
    """CLI: regenerate the sample PDFs into the given folder (default data/samples)."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    generate_samples(Path(args[0]) if args else DEFAULT_OUT_DIR)


if __name__ == "__main__":
    main()
