"""The offline provider on what a tenth blind set (2026-12-06, twenty-eighth session) showed:
specialty clinics (eye, orthopaedic, epilepsy, lung function, geriatric, hepatology) and a home
health plan of care. Each case is short text of our own in the layout such documents print; each
failed on the code before its rule unless it says it is a guard."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import Assertion, MedicationStatus


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def test_a_prescription_in_a_tables_last_row_is_not_the_next_lines(extractor):
    """'NEW - prescribed today' ends the table's last row; the history below it, its drugs
    treated an exacerbation months ago, is no prescription (before: two active orders)."""
    text = (
        "Medications\n"
        "| Medication | Sig | Status |\n"
        "| Amlodipine 5 mg | 1 tab daily | Active |\n"
        "| Azithromycin 250 mg | 1 tab three times weekly | NEW - prescribed today |\n"
        "Follow-up of COPD after an exacerbation in March 2024 treated with prednisone\n"
        "and doxycycline by urgent care.\n"
    )
    found = {m.text.split()[0].lower(): m.prescribed for m in extractor.extract(text).medications}
    assert found == {"amlodipine": False, "azithromycin": True, "prednisone": False,
                     "doxycycline": False}  # fmt: skip


def test_a_refuted_allergy_named_first_is_no_medication(extractor):
    """'Penicillin: historical label removed ...' in the allergy list: no allergy, and the
    allergen is not a drug the patient takes (before: an active MedicationStatement)."""
    text = (
        "Allergies\n"
        "Ceftriaxone - generalized rash (2019).\n"
        "Penicillin: historical label removed after negative direct oral amoxicillin challenge\n"
        "on 03/09/2023 - not allergic.\n"
    )
    extraction = extractor.extract(text)
    assert extraction.medications == []
    assert {a.substance for a in extraction.allergies if a.assertion == Assertion.PRESENT} == {
        "Ceftriaxone"
    }


def test_a_vaccine_the_patient_is_immune_without_was_not_given(extractor):
    text = (
        "Immunizations\n"
        "Hepatitis A vaccine dose 2 given today. Hepatitis B: immune by serology, no vaccination\n"
        "needed. Influenza vaccine 10/20/2023.\n"
    )
    found = {i.text: i.assertion for i in extractor.extract(text).immunizations}
    assert found["Hepatitis B"] == Assertion.NEGATED
    assert found["Hepatitis A vaccine"] == Assertion.PRESENT


@pytest.mark.parametrize(
    "text",
    [
        "Paracentesis 07/02/2024: 4.5 L removed, albumin 25 g given; fluid protein 1.3 g/dL.",
        "Given albumin 12.5 g IV after the tap.",
    ],
)
def test_an_amount_given_is_no_lab_result(extractor, text):
    names = [o.name.lower() for o in extractor.extract(text).observations]
    assert "albumin" not in names


def test_a_lab_result_in_a_concentration_is_kept(extractor):
    """Guard: albumin in g/dL is a result."""
    found = [(o.name, o.value, o.unit) for o in extractor.extract("Albumin 2.9 g/dL.").observations]
    assert found == [("Albumin", 2.9, "g/dL")]


def test_a_drug_offered_is_not_taken(extractor):
    text = (
        "Plan: Topiramate was offered for seizure and migraine prophylaxis; patient declined\n"
        "because of concern about cognitive side effects.\n"
    )
    (topiramate,) = extractor.extract(text).medications
    assert topiramate.assertion != Assertion.PRESENT


def test_a_route_after_a_puff_count_is_no_drug(extractor):
    """'2 PUFFS INH': inhaled, not isoniazid (INH)."""
    text = "MEDICATIONS:\nALBUTEROL HFA 90 MCG/ACT   2 PUFFS INH 15 MIN BEFORE EXERCISE   ACTIVE\n"
    found = [m.generic_name or m.text for m in extractor.extract(text).medications]
    assert [name.lower() for name in found] == ["albuterol"]


def test_an_assessments_date_is_the_encounters(extractor):
    text = (
        "Patient: Jane Roe   MRN: 1234\nDate of assessment: 06/18/2024   Geriatrician: Sam Osei\n"
    )
    (encounter,) = extractor.extract(text).encounters
    assert encounter.start_date == "2024-06-18"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Orthostatic BP: supine 148/80 mmHg, HR 68.", "148/80"),
        ("Dilated fundus normal. Blood pressure at check-in 142/84 mmHg, pulse 62.", "142/84"),
    ],
)
def test_a_blood_pressure_with_the_position_or_moment_before_it(extractor, text, expected):
    pressures = [o.value_text for o in extractor.extract(text).observations if o.value_text]
    assert pressures == [expected]


def test_results_dated_by_a_label_naming_who_sent_them(extractor):
    text = (
        "Visit date: 05/09/2024\n"
        "Recent labs from PCP (04/22/2024): Hemoglobin A1c 6.9 % (ref 4.0-5.6, H).\n"
        "\n"
        "Laboratory results (drawn 08/05/2024)\n"
        "Sodium 131 mmol/L\n"
    )
    found = {o.name: o.effective_date for o in extractor.extract(text).observations}
    assert found == {"Hemoglobin A1c": "2024-04-22", "Sodium": "2024-08-05"}


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Plan: Scheduled for phacoemulsification with IOL, right eye, on 06/20/2024.",
            "phacoemulsification",
        ),
        ("Plan: Pre-op biometry (IOLMaster) ordered.", "Pre-op biometry"),
        (
            "Admission to the epilepsy monitoring unit for video-EEG monitoring scheduled for "
            "04/22/2024.",
            "video-EEG monitoring",
        ),
        ("Neuropsychological testing referral placed.", "Neuropsychological testing"),
        ("3. Refer to pulmonary rehabilitation (12-week program).", "pulmonary rehabilitation"),
    ],
)
def test_a_planned_test_or_therapy(extractor, text, expected):
    found = [(p.text, p.assertion) for p in extractor.extract(text).procedures]
    assert found == [(expected, Assertion.HYPOTHETICAL)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "INVESTIGATIONS\nRoutine EEG 01/18/2024: intermittent left temporal sharp waves.\n",
            ("EEG", "2024-01-18"),
        ),
        ("IMAGING:\nMRI RIGHT KNEE (10/10/2023): COMPLETE ACL TEAR.\n", ("MRI RIGHT KNEE",
                                                                      "2023-10-10")),
        ("IMAGING:\nXR RIGHT KNEE 2 VIEWS (TODAY 02/20/2024): FIXATION IN GOOD POSITION.\n",
         ("XR RIGHT KNEE 2 VIEWS", "2024-02-20")),
        (
            "Imaging: Low-dose CT chest 02/14/2024: centrilobular emphysema.",
            ("Low-dose CT chest", "2024-02-14"),
        ),
        ("Past history: hip fracture treated with ORIF (08/14/2021).", ("ORIF", "2021-08-14")),
        ("Retinal detachment repaired with pneumatic retinopexy 06/2015.",
         ("pneumatic retinopexy", "2015-06")),
        ("Past history: postoperative delirium 2021, resolved. Appendectomy 1962.",
         ("Appendectomy", "1962")),
    ],
)  # fmt: skip
def test_a_study_or_operation_reported_with_its_date_was_done(extractor, text, expected):
    found = [(p.text, p.performed_date) for p in extractor.extract(text).procedures]
    assert found == [expected]
    assert all(p.assertion == Assertion.PRESENT for p in extractor.extract(text).procedures)


def test_a_planned_study_is_not_reported_done(extractor):
    """Guard: 'will obtain MRI brain' is planned; no date and colon reports it."""
    found = [(p.text, p.assertion) for p in extractor.extract("Will obtain MRI brain.").procedures]
    assert found == [("MRI brain", Assertion.HYPOTHETICAL)]


def test_medication_status_guard(extractor):
    """Guard: a table's statuses still read (the sentence break after a row changes no row)."""
    text = (
        "| Medication | Sig | Status |\n"
        "| Timolol 0.5% | 1 drop twice daily | Discontinued 02/2024 |\n"
        "| Latanoprost 0.005% | 1 drop at bedtime | Active |\n"
    )
    found = {m.text.split()[0]: m.status for m in extractor.extract(text).medications}
    assert found == {"Timolol": MedicationStatus.STOPPED, "Latanoprost": MedicationStatus.ACTIVE}


def test_a_plan_of_cares_boxes_read_as_pdf_py_writes_them(extractor):
    """A form's numbered boxes, each its label line and its own lines (`pdf._box_lines`): each
    drug keeps its own status, the diagnosis boxes are problem lists (before: the diagnoses
    were read as the medication box's)."""
    text = (
        "2. Start Of Care Date:\n07/01/2024\n\n"
        "11. Medications: Dose/Frequency/Route\n"
        "Potassium chloride 20 mEq PO daily - ON HOLD per Dr. Morales\n"
        "Metolazone 2.5 mg PO - DISCONTINUED 06/28/2024\n"
        "Atorvastatin 40 mg PO at bedtime\n\n"
        "12. Principal Diagnosis (ICD-10 / Date):\n"
        "I50.22 Chronic systolic heart failure\n\n"
        "14. Other Pertinent Diagnoses (ICD-10):\n"
        "E11.65 Type 2 diabetes mellitus with hyperglycemia\n"
        "I48.91 Atrial fibrillation, unspecified\n"
    )
    extraction = extractor.extract(text)
    statuses = {m.text.split()[0]: m.status for m in extraction.medications}
    assert statuses == {
        "Potassium": MedicationStatus.ON_HOLD,
        "Metolazone": MedicationStatus.STOPPED,
        "Atorvastatin": MedicationStatus.ACTIVE,
    }
    conditions = {c.text for c in extraction.conditions if c.assertion == Assertion.PRESENT}
    assert {"Type 2 diabetes mellitus with hyperglycemia", "Atrial fibrillation"} <= conditions
    assert any("heart failure" in name for name in conditions)
    assert [e.start_date for e in extraction.encounters] == ["2024-07-01"]


def test_a_rating_scales_score_out_of_its_maximum(extractor):
    """'MoCA 22/30' is a score of 22 (before: read as a pair of pressures and dropped)."""
    found = [(o.name, o.value, o.loinc_code) for o in extractor.extract(
        "Cognition: MoCA 22/30 (delayed recall 1/5).").observations]  # fmt: skip
    assert found == [("MoCA", 22.0, "72172-0")]


@pytest.mark.parametrize(
    "name, code",
    [
        ("Mild cognitive impairment (amnestic)", "G31.84"),
        ("Recurrent falls", "R29.6"),
        ("Hearing impairment (bilateral, no aids)", "H91.90"),
        ("PATELLOFEMORAL PAIN SYNDROME, LEFT KNEE", "M22.2X9"),
    ],
)
def test_a_geriatric_or_sports_problem_is_named(extractor, name, code):
    text = f"Active problems\n{name}\nHypertension\n"
    found = {c.icd10_code for c in extractor.extract(text).conditions}
    assert found == {code, "I10"}


def test_a_forms_surgical_procedure_box(extractor):
    text = (
        "13. Surgical Procedure (ICD / Date):\nCoronary artery bypass graft x3 (CABG)\n\n"
        "15. DME and Supplies:\nRolling walker\n"
    )
    found = [(p.text, p.assertion) for p in extractor.extract(text).procedures]
    assert found == [("Coronary artery bypass graft", Assertion.PRESENT)]


def test_an_orthostatic_pairs_standing_pressure(extractor):
    """The label said once: the standing reading is a blood pressure too (before: lost)."""
    text = "Orthostatic BP: supine 148/80 mmHg, HR 68; standing at 3 min 126/72 mmHg, HR 74.\n"
    pressures = [(o.value_text, o.loinc_code) for o in extractor.extract(text).observations
                 if o.value_text]  # fmt: skip
    assert pressures == [("148/80", "85354-9"), ("126/72", "85354-9")]


# What the set's second half showed once measured (read after its figures were taken).


def test_yes_no_boxes_that_open_their_items(extractor):
    """'[ ] YES [X] NO Diabetes': the pair answers the item after it (before: every item of an
    employee's questionnaire was a condition, those answered no too)."""
    text = (
        "SECTION A - HEALTH QUESTIONNAIRE:\n"
        "\u2610 YES \u2612 NO Asthma / lung disease\n"
        "\u2610 YES \u2612 NO Diabetes\n"
        "\u2612 YES \u2610 NO High blood pressure\n"
        "\u2610 YES \u2612 NO Seizures / loss of consciousness\n"
    )
    found = {c.text for c in extractor.extract(text).conditions if c.assertion == Assertion.PRESENT}
    assert found == {"High blood pressure"}


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Allergies\nPeanut - hives and lip swelling (03/2024); confirmed by pediatric "
            "allergist, strict avoidance, epinephrine auto-injector 0.1\nmg prescribed and in "
            "date.\n",
            {("Peanut", "hives and lip swelling")},
        ),
        (
            "Allergies:\nBee / wasp stings (hymenoptera venom) - anaphylaxis 2017;\n"
            "carries EpiPen.\n",
            {("Bee / wasp stings", "anaphylaxis")},
        ),
        ("Plan: 4. Peanut allergy: continue avoidance.\n", {("Peanut", None)}),
    ],
)
def test_an_allergy_lists_remarks_and_remedy_are_no_allergens(extractor, text, expected):
    found = {(a.substance, a.reaction) for a in extractor.extract(text).allergies}
    assert found == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("HPI: Cough for 5 days. Requests codeine cough syrup.", Assertion.HYPOTHETICAL),
        ("I have not started finasteride, as it would lower the PSA.", Assertion.NEGATED),
        ("She requested refills of lisinopril 10 mg daily.", Assertion.PRESENT),  # a guard
    ],
)
def test_a_drug_asked_for_or_not_started(extractor, text, expected):
    (drug,) = extractor.extract(text).medications
    assert drug.assertion == expected


@pytest.mark.parametrize(
    "text",
    [
        "Cortisol after 1 mg overnight dexamethasone\t1.2 \u00b5g/dL\t<1.8\n",  # a guard
        "Will repeat dexamethasone suppression test in 12 months.",
    ],
)
def test_a_drug_naming_a_test_is_no_medication(extractor, text):
    assert extractor.extract(text).medications == []


def test_a_plan_the_next_line_calls_off(extractor):
    text = (
        "3. Adrenal incidentaloma: benign. Repeat CT adrenal in 12 months\n"
        "is not required per guidelines; no further imaging planned.\n"
    )
    assert extractor.extract(text).procedures == []


@pytest.mark.parametrize(
    "text",
    [
        # a results header anywhere: 'Parameter | Value' under a hospital course
        "Hospital course\nAdmitted for delivery.\n\n| Discharge vitals & labs |  |  |  |\n"
        "| Parameter | Value | Reference | Date |\n| Heart rate | 84 /min |  | 10/05 |\n"
        "| Hemoglobin | 8.9 g/dL (L) | 11.5-15.0 | 10/03 |\n",
        # a caption naming vital signs: the table under an interval history is theirs
        "Interval history\nHealthy toddler.\n| Growth and vital signs |  |  |\n"
        "| Measure | Value | Percentile |\n| Heart rate | 84 /min |  |\n"
        "| Weight | 11.2 kg | 50th |\n",
    ],
)
def test_a_results_table_wherever_it_stands(extractor, text):
    found = {(o.name, o.value, o.unit) for o in extractor.extract(text).observations}
    assert ("Heart rate", 84.0, "/min") in found
    assert found & {("Hemoglobin", 8.9, "g/dL"), ("Weight", 11.2, "kg")}


def test_an_unmarked_lists_item_after_a_bracket_is_its_own(extractor):
    """'... postpartum (gestational hypertension antepartum)' then 'Acute postpartum blood loss
    anemia': the 'without' of the line above does not negate it."""
    text = (
        "Diagnoses\n"
        "Preeclampsia without severe features, postpartum (gestational hypertension antepartum)\n"
        "Acute postpartum blood loss anemia\n"
    )
    found = {c.text: c.assertion for c in extractor.extract(text).conditions}
    assert found["anemia"] == Assertion.PRESENT


def test_a_letters_visit_date(extractor):
    text = (
        "Ballymore Medical Centre\n14/05/2024\nDear Colleague,\n"
        "I would be grateful if you would see Mr F, whom I saw\n"
        "in surgery on 13/05/2024 regarding a rising PSA.\n"
    )
    assert [e.start_date for e in extractor.extract(text).encounters] == ["2024-05-13"]


def test_a_drug_new_and_started_today_in_a_plan_is_an_order(extractor):
    text = (
        "2. Dual antiplatelet therapy: aspirin 81 mg daily (continue) plus ticagrelor 90 mg\n"
        "twice daily (new, started today).\n"
    )
    found = {m.text: m.prescribed for m in extractor.extract(text).medications}
    assert found == {"aspirin": False, "ticagrelor": True}
