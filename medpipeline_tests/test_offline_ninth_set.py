"""The offline provider on what a ninth blind set (2026-12-06, twenty-seventh session) and the
last session's notes showed: lists printed side by side under their statuses, sentence ends
PyRuSH missed. Each case is short text of our own in the layout such documents print; each failed
on the code before its rule unless it says it is a guard."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.offline.lexicons import read_lexicon
from medpipeline.extraction.schema import Assertion, MedicationStatus


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def test_a_problem_table_of_two_lists_reads_both(extractor):
    """'| ACTIVE PROBLEMS | PAST / RESOLVED |': two lists side by side; the right one's problems
    are resolved (before: only the left column was read, the right one taken for dates)."""
    text = (
        "PROBLEM LIST\n"
        "| ACTIVE PROBLEMS | PAST / RESOLVED |\n"
        "| Hypertension | Community-acquired pneumonia (2019) |\n"
        "| Type 2 diabetes mellitus | Acute appendicitis |\n"
        "| Atrial fibrillation |  |\n"
    )
    found = {c.text: (c.assertion, c.resolved) for c in extractor.extract(text).conditions}
    assert found == {
        "Hypertension": (Assertion.PRESENT, False),
        "Type 2 diabetes mellitus": (Assertion.PRESENT, False),
        "Atrial fibrillation": (Assertion.PRESENT, False),
        "Community-acquired pneumonia": (Assertion.HISTORICAL, True),
        "Acute appendicitis": (Assertion.HISTORICAL, True),
    }


def test_a_medication_table_of_current_and_discontinued_lists(extractor):
    text = (
        "MEDICATIONS\n"
        "| CURRENT MEDICATIONS | DISCONTINUED |\n"
        "| Lisinopril 10 mg daily | Metformin 500 mg twice daily |\n"
        "| Atorvastatin 40 mg nightly |  |\n"
    )
    found = {m.text.split()[0]: m.status for m in extractor.extract(text).medications}
    assert found == {
        "Lisinopril": MedicationStatus.ACTIVE,
        "Atorvastatin": MedicationStatus.ACTIVE,
        "Metformin": MedicationStatus.STOPPED,
    }


def test_a_table_whose_header_names_attributes_is_no_list_of_lists(extractor):
    """Guard: '| Problem | Status |' is one list with a status column."""
    text = "PROBLEM LIST\n| Problem | Status |\n| Asthma | Active |\n| Pneumonia | Resolved |\n"
    found = {c.text: c.resolved for c in extractor.extract(text).conditions}
    assert found == {"Asthma": False, "Pneumonia": True}


@pytest.mark.parametrize(
    "text",
    [
        "IMPRESSION\nNo evidence of malignancy on prior CT. Hx of DVT in 2015, on apixaban.\n",
        "No acute findings on MRI. History of stroke in 2019.\n",
    ],
)
def test_a_negation_ends_at_an_acronyms_full_stop(extractor, text):
    """'... on prior CT. Hx of DVT': PyRuSH did not end the sentence at 'CT.' when a line break
    followed, and the 'No evidence of' negated the DVT (the second text a guard)."""
    conditions = [c for c in extractor.extract(text).conditions if c.text != "malignancy"]
    assert conditions
    assert all(c.assertion != Assertion.NEGATED for c in conditions)


TRANSFER_FORM = (
    "INTERFACILITY TRANSFER FORM - NURSING HOME TO HOSPITAL\n"
    "| 1. RESIDENT INFORMATION |  |  |  |\n"
    "| Date/time of transfer: 02/08/2025 21:40 |  | Transport: [X] ALS [ ] BLS |  |\n"
    "| Reason for transfer: Acute change in mental status since 16:00, fever 38.6 C. Suspected"
    " urinary tract infection; rule out sepsis. |  |  |  |\n"
    "| 3. ALLERGIES |  |  |  |\n"
    "| [ ] NKDA |  | 1. Codeine - nausea/vomiting | 2. Ciprofloxacin - tendinitis |\n"
    "| 4. ACTIVE DIAGNOSES |  |  |  |\n"
    "| Alzheimer's dementia, moderate | Hypothyroidism | Osteoporosis | History of right hip"
    " fracture s/p ORIF 2022 (healed) |\n"
    "| Isolation: [ ] MRSA [ ] VRE [X] None |  | Fall risk: [X] High |  |\n"
    "| 5. VITAL SIGNS AT TRANSFER (21:20) |  |  |  |\n"
    "| Temp 38.6 C | BP 92/54 mmHg | Pulse 108 /min | SpO2 91% on 2 L NC |\n"
)


def test_a_forms_numbered_sections_inside_its_grid(extractor):
    """'| 3. ALLERGIES |', '| 4. ACTIVE DIAGNOSES |' captions inside one grid: each starts its
    own table, a row of diagnoses across the grid is a list, 'Codeine - nausea/vomiting' an
    allergy with its reaction (before: everything below '3. ALLERGIES' was an allergy table:
    'Temp 38.6 C' and the diagnoses were allergies, the unticked NKDA blanked the allergies)."""
    found = extractor.extract(TRANSFER_FORM)
    allergies = {(a.substance, a.reaction) for a in found.allergies}
    assert allergies == {("Codeine", "nausea/vomiting"), ("Ciprofloxacin", "tendinitis")}
    conditions = {c.text: (c.assertion, c.resolved) for c in found.conditions}
    for name in ("Alzheimer's dementia, moderate", "Hypothyroidism", "Osteoporosis"):
        assert conditions[name] == (Assertion.PRESENT, False)
    assert conditions["right hip fracture"] == (Assertion.HISTORICAL, True)
    assert not [name for name in conditions if "Isolation" in name or "None" in name]
    # the reason for transfer is a sentence in a cell: read as text
    assert conditions["urinary tract infection"][0] == Assertion.POSSIBLE
    vitals = {o.name: o.value for o in found.observations}
    assert vitals["Temp"] == 38.6 and vitals["Pulse"] == 108.0
    assert [e.start_date for e in found.encounters] == ["2025-02-08"]


def test_yes_and_no_box_columns_answer_the_item_before_them(extractor):
    """'| Condition | Y | N | Comments | Condition | Y | N | Comments |': a ticked N is no
    condition of the patient, a ticked Y is (before: the blanking of an unticked box ran on to
    the next item, which kept or lost items by their neighbours)."""
    text = (
        "PAST MEDICAL HISTORY CHECKLIST\n"
        "| Condition | Y | N | Comments | Condition | Y | N | Comments |\n"
        "| Hypertension | \u2612 | \u2610 | on lisinopril | Asthma / COPD | \u2610 | \u2612 |  |\n"
        "| Heart failure | \u2610 | \u2612 |  | GERD | \u2612 | \u2610 | on omeprazole |\n"
        "| Stroke / TIA | \u2610 | \u2610 |  | Obstructive sleep apnea | [X] | [ ] | CPAP |\n"
    )
    found = {c.text for c in extractor.extract(text).conditions if c.assertion == Assertion.PRESENT}
    assert {"Hypertension", "GERD", "Obstructive sleep apnea"} <= found
    assert not found & {"Asthma / COPD", "Asthma", "COPD", "Heart failure", "Stroke / TIA"}


def test_a_table_right_below_a_yes_no_checklist_is_read_as_itself(extractor):
    """The yes / no columns end where a row has no box under them (this session's dev.sh canary:
    a medication table printed right below a checklist was blanked as unanswered items)."""
    text = (
        "| Condition | Y | N | Comments |\n"
        "| Hypertension | [X] | [ ] | on lisinopril |\n"
        "| Asthma / COPD | [ ] | [X] |  |\n"
        "| Drug / sig | Indication | Issue identified | Recommendation / outcome |\n"
        "| Lisinopril 20 mg PO daily | Hypertension | None | Continue lisinopril |\n"
        "| Losartan 50 mg PO daily | Hypertension | Dual RAAS blockade | STOP losartan |\n"
    )
    found = extractor.extract(text)
    assert [(m.text, m.status) for m in found.medications] == [
        ("Lisinopril", MedicationStatus.ACTIVE),
        ("Losartan", MedicationStatus.STOPPED),
    ]
    assert "Asthma / COPD" not in {c.text for c in found.conditions}


def test_a_scheduled_procedure_field_is_planned_and_an_indication_no_procedure(extractor):
    text = (
        "PROCEDURE\n"
        "| Scheduled procedure: Laparoscopic cholecystectomy | Surgeon: R. Abernathy, MD |\n"
        "| Indication: Symptomatic cholelithiasis (biliary colic x 3 episodes). |  |\n"
        "Surgical history: Total abdominal hysterectomy 2012 (general anesthesia, postoperative"
        " nausea and vomiting). Carpal tunnel\nrelease right 2018.\n"
    )
    found = {p.text: p.assertion for p in extractor.extract(text).procedures}
    assert found == {
        "Laparoscopic cholecystectomy": Assertion.HYPOTHETICAL,
        "Total abdominal hysterectomy": Assertion.PRESENT,
        "Carpal tunnel release right": Assertion.PRESENT,
    }


MEDICATION_REVIEW = (
    "Date of review: 03/27/2025\tSetting: face-to-face, pharmacy consultation room\n"
    "| Drug / sig | Indication | Issue identified | Recommendation / outcome |\n"
    "| Lisinopril 20 mg PO daily | Hypertension | Therapeutic duplication | Continue lisinopril |\n"
    "| Losartan 50 mg PO daily | Hypertension (added at ED visit 01/2025) | Dual RAAS blockade |"
    " STOP losartan - approved; patient instructed, bottle removed. |\n"
    "| Omeprazole 40 mg PO daily | GERD | Interaction with clopidogrel | Stop omeprazole; start"
    " pantoprazole 40 mg PO daily - approved, new Rx sent |\n"
    "| Ibuprofen 200 mg OTC, 2 tabs PRN | Knee pain | Two NSAIDs | STOP ibuprofen; use"
    " acetaminophen 650 mg q8h PRN (max 3 g/day) instead |\n"
)


def test_a_medication_reviews_recommendations(extractor):
    """The 'Recommendation / outcome' column says what becomes of the row's drug, and the drug
    it starts instead is a fact of its own (before: every row active, the acetaminophen's dose
    the ibuprofen's, the pantoprazole and the acetaminophen lost)."""
    found = extractor.extract(MEDICATION_REVIEW)
    medications = {m.text.split()[0].lower(): m for m in found.medications}
    assert medications["lisinopril"].status == MedicationStatus.ACTIVE
    for stopped in ("losartan", "omeprazole", "ibuprofen"):
        assert medications[stopped].status == MedicationStatus.STOPPED
    assert medications["ibuprofen"].dose_value != 650.0  # (the acetaminophen's)
    assert medications["pantoprazole"].prescribed
    assert medications["acetaminophen"].status == MedicationStatus.ACTIVE
    encounter = found.encounters[0]
    assert (encounter.encounter_class, encounter.start_date) == ("ambulatory", "2025-03-27")


def test_a_flowsheets_units_column_without_a_label(extractor):
    """'LABS  01/17  01/18  01/19' over rows that end with their unit: a flowsheet (before: the
    rows had one cell more than the dates row, so no table, and integer rows were lost)."""
    text = (
        "LABS\t01/17\t01/18\t01/19\n"
        "WBC\t18.2\t14.6\t11.9\tx10^3/uL\n"
        "Platelets\t188\t160\t142\tx10^3/uL\n"
        "Glucose\t212\t176\t158\tmg/dL\n"
    )
    found = {(o.name, o.value, o.unit) for o in extractor.extract(text).observations}
    assert {("Platelets", 142.0, "10*3/uL"), ("Glucose", 158.0, "mg/dL")} <= found
    assert ("WBC", 18.2, "10*3/uL") in found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a drug's name as a measure of another's dose
            "He has been using oxycodone 10 mg every 4 hours as needed (60 mg oral oxycodone ="
            " 90 mg oral morphine equivalents).\n",
            [("oxycodone", 10.0, Assertion.PRESENT, False)],
        ),
        (  # a plan's 'Label: add X' orders it
            "PLAN\nConstipation: add polyethylene glycol 17 g PO daily.\n",
            [("polyethylene glycol", 17.0, Assertion.PRESENT, True)],
        ),
        (  # a condition's plan wrapped over a line is still only planned
            "PLAN\n- If inadequate response to methotrexate at 3 months, plan to\n"
            "add adalimumab.\n",
            [("methotrexate", None, Assertion.PRESENT, False),
             ("adalimumab", None, Assertion.HYPOTHETICAL, False)],
        ),
    ],
)  # fmt: skip
def test_medication_mentions_in_a_consults_plan(extractor, text, expected):
    found = [
        (m.text, m.dose_value, m.assertion, m.prescribed)
        for m in extractor.extract(text).medications
    ]
    assert found == expected


def test_no_context_rule_is_written_twice():
    """Two rows of one cue and category with other scopes made the outcome depend on the order
    medspaCy kept them in: any rule added anywhere turned 'HIV 1/2 Ag/Ab NONREACTIVE' (scope 8
    and 3) into an active HIV."""
    rows = read_lexicon("context_rules.csv")
    cues = [(row["literal"].lower(), row["category"]) for row in rows]
    assert sorted(cue for cue in set(cues) if cues.count(cue) > 1) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # an ICU note's lines and tubes, placed on a date without 'was'
            "LINES / TUBES\nR IJ triple-lumen CVC\tplaced 01/16/2025\tday 4\tsite clean\n"
            "L radial arterial line\tplaced 01/16/2025\tday 4\n",
            [("R IJ triple-lumen CVC placement", "2025-01-16"),
             ("L radial arterial line placement", "2025-01-16")],
        ),
        ("Biliary stent placed by ERCP on 05/20/2025 for obstructive jaundice.\n",
         [("Biliary stent placement", None)]),
        ("A central venous catheter was placed.\n", [("central venous catheter placement", None)]),
        ("PLAN\nWill need PICC line placed tomorrow.\n", []),  # a guard: not done yet
    ],
)  # fmt: skip
def test_a_device_placed(extractor, text, expected):
    """(before: a central line and a CVC were no device, an arterial line neither, and a device
    was placed only when the text said 'was placed')"""
    found = [(p.text, p.performed_date) for p in extractor.extract(text).procedures]
    assert found == expected


# What the blind half showed once read (after it was measured).


@pytest.mark.parametrize(
    "text",
    [
        "Impression\n3. Penicillin allergy - ruled out by skin testing and oral\nchallenge.\n",
        "Penicillin allergy label removed (delabeled) -\npatient may receive penicillins.\n",
        "Plan\nAllergy list updated: penicillin removed; peanut and birch pollen added.\n",
    ],
)
def test_an_allergy_the_allergist_refuted(extractor, text):
    """(before: penicillin stayed the patient's confirmed allergy, and 'birch pollen added' was a
    substance)"""
    found = {a.substance.lower(): a.assertion for a in extractor.extract(text).allergies}
    assert found["penicillin"] == Assertion.NEGATED
    assert {name for name, assertion in found.items() if assertion == Assertion.PRESENT} <= {
        "peanut",
        "birch pollen",
    }


def test_an_allergy_ticked_as_another_drug(extractor):
    """'[X] Other drug: sulfamethoxazole-trimethoprim - hives' under a form's allergy boxes is
    an allergy (before: an active drug, the allergy lost)."""
    text = (
        "Allergies / prior vaccine reactions\n"
        "[ ] Eggs\t[ ] Gelatin\t[ ] Latex\n"
        "[X] Other drug: sulfamethoxazole-trimethoprim - hives (2020)\n"
    )
    found = extractor.extract(text)
    assert [(a.substance, a.reaction) for a in found.allergies] == [
        ("sulfamethoxazole-trimethoprim", "hives")
    ]
    assert found.medications == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MEDICATIONS\nLisinopril 40 mg PO daily ...... continue\n"
         "Allopurinol - not on (single flare)\n",
         [("Lisinopril", Assertion.PRESENT), ("Allopurinol", Assertion.NEGATED)]),
        ("PLAN\n- Moderate-intensity statin (atorvastatin 20 mg) recommended for\ndiabetes.\n",
         [("atorvastatin", Assertion.HYPOTHETICAL)]),
        ("Continue aspirin 81 mg daily as recommended by cardiology.\n",  # a guard
         [("aspirin", Assertion.PRESENT)]),
    ],
)  # fmt: skip
def test_a_drug_not_taken_or_only_recommended(extractor, text, expected):
    assert [(m.text, m.assertion) for m in extractor.extract(text).medications] == expected


def test_a_problem_table_under_a_subjective_part(extractor):
    """'| Problem | Status |' printed under 'Subjective' (no title of its own): its problems
    (before: none, the table was the history of present illness's); 'History' is a past one."""
    text = (
        "Subjective\nReturns for follow-up of a diabetic foot ulcer.\n"
        "| Problem | Status |\n"
        "| Type 2 diabetes mellitus | Active - A1c 8.6 % |\n"
        "| Hypertension | Active |\n"
        "| Amputation right fifth toe (2021, osteomyelitis) | History |\n"
    )
    found = {c.text: c.assertion for c in extractor.extract(text).conditions}
    assert found["Type 2 diabetes mellitus"] == Assertion.PRESENT
    assert found["Hypertension"] == Assertion.PRESENT
    assert found["Amputation right fifth toe (2021, osteomyelitis)"] == Assertion.HISTORICAL


def test_a_nephrology_visits_trend_list_and_header(extractor):
    """A trend by month ('02/2024'), a listed drug the lexicon misses stopped after a dash, a
    class proposed with its example 'discussed', and a header's 'Visit 08/19/2025' (before: the
    trend was lost, calcium acetate and empagliflozin active, and no encounter)."""
    text = (
        "Patient: ADEYEMI, SAMUEL O\tDOB 04/09/1959\tVisit 08/19/2025\n"
        "eGFR / laboratory trend\n"
        "| Test | 02/2024 | 08/2024 | 08/12/2025 | Units |\n"
        "| eGFR (CKD-EPI 2021) | 28 | 24 | 18 | mL/min/1.73m2 |\n"
        "| Ferritin |  |  | 310 | ng/mL |\n"
        "Current medications\n"
        "1. Calcitriol 0.25 mcg PO daily\n"
        "2. Calcium acetate 667 mg with meals - discontinued 09/2024 after hypercalcemia\n"
        "Plan\n"
        "- SGLT2 inhibitor (empagliflozin) discussed; will not start given eGFR < 20.\n"
    )
    found = extractor.extract(text)
    egfr = sorted(o.value for o in found.observations if o.name == "eGFR")
    assert egfr == [18.0, 24.0, 28.0]
    medications = {m.text: (m.status, m.assertion) for m in found.medications}
    assert medications["Calcitriol"] == (MedicationStatus.ACTIVE, Assertion.PRESENT)
    assert medications["Calcium acetate"][0] == MedicationStatus.STOPPED
    assert medications["empagliflozin"][1] == Assertion.HYPOTHETICAL
    assert [e.start_date for e in found.encounters] == ["2025-08-19"]


def test_a_procedure_named_with_a_colon_is_no_form_field(extractor):
    """A guard for the field rule above: a planned test whose own name holds a colon stays
    (a first version dropped it as a field 'DNA PROBE:' - the ccda_dev bench's held-out half)."""
    text = (
        "Plan of Care\nPlanned Procedures\n| Name | Dates | Details |\n"
        "| DNA PROBE: other infectious agent | On 22-Jan-2013 | Request |\n"
    )
    found = [(p.text, p.assertion) for p in extractor.extract(text).procedures]
    assert found == [("DNA PROBE: other infectious agent", Assertion.HYPOTHETICAL)]
