"""The offline provider on operative reports, ED provider notes, discharge summaries with a
reconciliation table and a well-child visit (2026-12-06, twenty-second session, from a fourth
blind set's tuning half).
Each case is short text of our own in the layout those documents print; each failed on the code
before its rule unless it says it is a guard."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import Assertion, MedicationStatus


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def medications(extractor: OfflineExtractor, text: str) -> dict[str, MedicationStatus]:
    return {
        m.generic_name or m.text.lower(): m.status
        for m in extractor.extract(text).medications
        if m.assertion == Assertion.PRESENT
    }


OPERATIVE_NOTE = (
    "OPERATIVE REPORT\n"
    "PREOPERATIVE DIAGNOSIS:\nAcute calculous cholecystitis.\n\n"
    "{title}\n1. Laparoscopic cholecystectomy.\n2. Intraoperative cholangiogram.\n\n"
    "INDICATIONS:\n52-year-old woman with two days of pain.\n"
)


@pytest.mark.parametrize(
    "title", ["PROCEDURE(S) PERFORMED:", "Procedure(s):", "OPERATION(S):", "Procedures Performed:"]
)
def test_a_procedures_title_with_its_plural_in_brackets(extractor, title):
    """'PROCEDURE(S) PERFORMED:' was no title: the operation the report is about was missed (the
    last case is a guard)."""
    found = extractor.extract(OPERATIVE_NOTE.format(title=title)).procedures
    assert [p.text for p in found] == [
        "Laparoscopic cholecystectomy",
        "Intraoperative cholangiogram",
    ]


def test_a_wrapped_date_of_surgery_label_names_no_operation(extractor):
    """A label grid printed 'DATE OF' and 'SURGERY:' on two lines, with another cell's word
    ('6 West') after the second: 'West' was a completed Procedure."""
    text = (
        "DATE OF\t11/30/2026\tLOCATION:\tOR 7 / Inpatient, 6\n"
        "SURGERY:\tWest\nSURGEON:\tAda Quist, MD\n"
    )
    assert extractor.extract(text).procedures == []


def test_a_surgery_label_naming_an_operation(extractor):
    """Guard: a bare 'Surgery:' label with an operation's name is still that procedure."""
    found = extractor.extract("Surgery: Right total knee arthroplasty\n").procedures
    assert [p.text for p in found] == ["Right total knee arthroplasty"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "After induction of general anesthesia (propofol, fentanyl, rocuronium) and "
            "endotracheal intubation, the abdomen was prepped and draped.",
            {"propofol", "fentanyl", "rocuronium"},
        ),
        (
            "Ketorolac 30 mg IV and ondansetron 4 mg IV were given at the end of the case.",
            {"ketorolac", "ondansetron"},
        ),
        ("Port sites were infiltrated with 20 mL of 0.25% bupivacaine.", {"bupivacaine"}),
        ("The pocket was irrigated with normal saline and closed.", {"sodium chloride"}),
    ],
)
def test_drugs_an_operative_note_gives_are_doses_given(extractor, text, expected):
    """The last drug of a bracketed list with a verb after the bracket, a drug eight words
    before 'were given', the dose between 'infiltrated with' and its drug: each was an active
    MedicationStatement, a drug the patient is on."""
    found = medications(extractor, text)
    assert found == dict.fromkeys(expected, MedicationStatus.COMPLETED)


def test_a_tables_caption_above_its_header_row(extractor):
    """A caption row right above a header row belongs to the table below: 'TRIAGE VITALS' under
    the allergy rows was an allergy, and 'ED COURSE / MEDICATIONS ADMINISTERED' (five words, no
    section's title) a table of its own, so the doses given in the ED were drugs he is on.
    A reading with its other units in brackets ('37.1 °C (98.8 °F)') was lost."""
    text = (
        "| ALLERGIES |  |  |\n"
        "| Allergen | Reaction | Severity |\n"
        "| Latex | Hives | Mild |\n"
        "| TRIAGE VITALS (11/29/2026 02:20) |  |  |  |\n"
        "| BP | Pulse | Temp | SpO2 |\n"
        "| 150/92 mmHg | 101 bpm | 37.1 °C (98.8 °F) | 97 % RA |\n"
        "\n"
        "| ED COURSE / MEDICATIONS ADMINISTERED |  |  |\n"
        "| Time | Medication | Dose / Route |\n"
        "| 02:41 | ketorolac injection | 15 mg IV once |\n"
        "| 03:30 | morphine injection | 4 mg IV once |\n"
    )
    result = extractor.extract(text)
    assert [a.substance for a in result.allergies] == ["Latex"]
    temperature = [o for o in result.observations if o.name == "Temp"]
    assert [(o.value, o.unit) for o in temperature] == [(37.1, "Cel")]
    assert {(m.generic_name, m.status, m.administered) for m in result.medications} == {
        ("ketorolac", MedicationStatus.COMPLETED, True),
        ("morphine", MedicationStatus.COMPLETED, True),
    }


def test_new_rx_orders(extractor):
    """'New Rx: tamsulosin ...' in a plan is a prescription (a MedicationRequest), not a drug
    the patient already takes; 'Continue lisinopril' is no new order (guard)."""
    text = (
        "PLAN\nNew Rx: tamsulosin (Flomax) 0.4 mg capsule PO daily x 14 days\n"
        "Continue lisinopril.\n"
    )
    found = {m.generic_name: m.prescribed for m in extractor.extract(text).medications}
    assert found == {"tamsulosin": True, "lisinopril": False}


DISCHARGE_RECONCILIATION = (
    "DISCHARGE MEDICATION RECONCILIATION\n"
    "| Action | Medication | Instructions |\n"
    "| NEW | benzonatate 100 mg cap | 1 cap PO TID PRN cough |\n"
    "| CHANGED | metformin 500 mg tab | Was 1000 mg BID. Now 500 mg PO BID |\n"
    "| STOP | ibuprofen 400 mg tab | Stop - avoid NSAIDs |\n"
    "Inpatient-only medications not continued: azithromycin IV (completed 11/30), enoxaparin\n"
    "40 mg SQ (discontinued at discharge), insulin glargine and insulin lispro (discontinued).\n"
    "\n"
    "Follow-Up\n1. PCP in 5 days.\n"
)


def test_a_discharge_reconciliation_orders_its_table_only(extractor):
    """A 'Discharge Medication Reconciliation' table is what the patient goes home on (orders;
    its STOP row stopped); the label of inpatient-only drugs below it ends it (before, they were
    orders too once the title was read). A course said completed is completed; a bracket after
    two drugs joined by 'and' is about both (insulin glargine was active)."""
    found = {
        m.generic_name: (m.status, m.prescribed, m.administered)
        for m in extractor.extract(DISCHARGE_RECONCILIATION).medications
    }
    assert found == {
        "benzonatate": (MedicationStatus.ACTIVE, True, False),
        "metformin": (MedicationStatus.ACTIVE, True, False),
        "ibuprofen": (MedicationStatus.STOPPED, False, False),
        "azithromycin": (MedicationStatus.COMPLETED, False, False),
        "enoxaparin": (MedicationStatus.STOPPED, False, False),
        "insulin glargine": (MedicationStatus.STOPPED, False, False),
        "insulin lispro": (MedicationStatus.STOPPED, False, False),
    }


def test_a_changed_rows_old_sig_is_not_its_dose(extractor):
    """'Was 1000 mg BID. Now 500 mg PO BID': the dose is the new one (it was 1000 mg)."""
    metformin = next(
        m
        for m in extractor.extract(DISCHARGE_RECONCILIATION).medications
        if m.generic_name == "metformin"
    )
    assert (metformin.dose_value, metformin.frequency) == (500.0, "BID")


def test_a_course_completed_stays_apart_from_its_start(extractor):
    """'Started on azithromycin ...' then '(completed 11/30)': two facts, the second a course
    completed (no single dose given), so the bundle can say the course is over (before, the
    started mention absorbed it and the drug stayed active)."""
    text = (
        "Started on azithromycin 500 mg IV daily.\n"
        "Inpatient-only medications not continued: azithromycin IV (completed 11/30).\n"
    )
    found = [(m.status, m.administered) for m in extractor.extract(text).medications]
    assert found == [(MedicationStatus.ACTIVE, False), (MedicationStatus.COMPLETED, False)]


def test_a_rows_comment_says_the_dose_was_given(extractor):
    """'No Longer Active | Administered in office': a dose given, no news against the row above
    listing the inhaler as active (guard of the course rule above: the fact diff's NextGen
    albuterol)."""
    text = (
        "Medications\n"
        "| Medication | Instructions | Status | Comments |\n"
        "| albuterol HFA inhaler | inhale 2 puffs once as needed | No Longer Active | "
        "Administered in office |\n"
    )
    (albuterol,) = extractor.extract(text).medications
    assert (albuterol.status, albuterol.administered) == (MedicationStatus.COMPLETED, True)


def test_a_flowsheets_dates_without_their_year(extractor):
    """'| Test | 11/28 (Admit) | 12/02 (Discharge) | Units |': each column's value with its unit
    and its date in the year the text prints (before: 'Test' was a result and only the first
    column was read, without a unit)."""
    text = (
        "Admission Date: 11/28/2026\n\nLaboratory Data\n"
        "| Test | 11/28 (Admit) | 12/02 (Discharge) | Units | Reference |\n"
        "| WBC | 18.4 H | 9.6 | K/uL | 4.0-10.5 |\n"
        "| Lactate | 3.1 H | -- | mmol/L | 0.5-2.0 |\n"
    )
    found = sorted(
        (o.name, o.value, o.unit, o.effective_date) for o in extractor.extract(text).observations
    )
    assert found == [
        ("Lactate", 3.1, "mmol/L", "2026-11-28"),
        ("WBC", 9.6, "10*3/uL", "2026-12-02"),
        ("WBC", 18.4, "10*3/uL", "2026-11-28"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CHIEF COMPLAINT\nLeft flank pain x 6 hours\n", {"flank pain"}),
        ("HPI: Two days of RUQ pain and fever.", {"ruq pain", "fever"}),
        (
            "Urine studies show albuminuria. Exam: xerosis of both shins.",
            {"albuminuria", "xerosis"},
        ),
        # a finding's place and a protocol's name are no conditions
        ("Back: + left CVA tenderness. No rash.", set()),
        ("CT abdomen without contrast (renal stone protocol): 5 mm calculus.", set()),
        ("History of CVA in 2019.", {"cva"}),  # guard
        # a name made for children is no relative (ConText's family cue)
        ("Admitted to Children's Hospital at age 4 for asthma.", {"asthma"}),
    ],
)
def test_conditions_of_these_notes(extractor, text, expected):
    found = {
        c.text.lower()
        for c in extractor.extract(text).conditions
        if c.assertion in (Assertion.PRESENT, Assertion.HISTORICAL)
    }
    assert found == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BMI:\t31.0 kg/m2\tSpO2:\t96% room air", {("BMI", 31.0), ("SpO2", 96.0)}),
        ("CO2: 24 mmol/L", {("CO2", 24.0)}),
        ("Hgb 9:8", set()),  # guard: a number a scan split is no value
    ],
)
def test_a_name_ending_in_a_digit_before_its_colon(extractor, text, expected):
    """'SpO2: 96%': the name's own '2:' was read as a number split by a misread point, so the
    value was dropped."""
    found = {(o.name, o.value) for o in extractor.extract(text).observations}
    assert found == expected


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("Encounter: 12/03/2026\tType: Well Child Check - 4 Year\n", "2026-12-03"),
        ("PATIENT: DOE, JANE MRN: 123 DOS: 11/30/2026\n", "2026-11-30"),
    ],
)
def test_an_encounter_or_dos_label_dates_the_visit(extractor, text, start):
    """'Encounter: 12/03/2026' (a pediatric visit's header) gave no Encounter at all."""
    (encounter,) = extractor.extract(text).encounters
    assert (encounter.encounter_class, encounter.start_date) == ("ambulatory", start)


@pytest.mark.parametrize(
    ("line", "drug"),
    [
        ("Children's multivitamin - 1 chewable daily", "multivitamin"),
        ("Infants' Tylenol 80 mg PO q6h PRN fever", "acetaminophen"),  # guard
    ],
)
def test_a_product_named_for_children_is_the_patients(extractor, line, drug):
    """A well-child visit's "Children's multivitamin" was a family member's drug: ConText read
    'Children' as a relative."""
    assert medications(extractor, f"Current Medications\n{line}\n") == {
        drug: MedicationStatus.ACTIVE
    }


def test_a_relatives_drug_stays_theirs(extractor):
    """Guard: 'His children take lisinopril' is no drug of the patient."""
    assert medications(extractor, "Family history: his children take lisinopril.") == {}


def test_a_count_reported_as_a_range_is_no_number(extractor):
    """'| UA RBC | 25-50 | /HPF |' was the value 25 with a unit '-50'."""
    text = (
        "LAB RESULTS\n| Component | Value | Units | Ref Range | Flag |\n"
        "| UA RBC | 25-50 | /HPF | 0 - 2 | H |\n| WBC | 11.2 | K/uL | 4.0 - 10.5 | H |\n"
    )
    found = {(o.name, o.value, o.value_text, o.unit) for o in extractor.extract(text).observations}
    assert found == {("UA RBC", None, "25-50", "/[HPF]"), ("WBC", 11.2, None, "10*3/uL")}
