"""The offline provider on what patients and other practices send: after-visit summaries, portal
health summaries and letters (2026-12-05, sixteenth session). Each case is short text of our own
in the layout those documents print; each failed on the code before its rule."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import Assertion, MedicationStatus


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def conditions(extractor: OfflineExtractor, text: str) -> dict[str, tuple[Assertion, bool]]:
    return {c.text: (c.assertion, c.resolved) for c in extractor.extract(text).conditions}


def allergies(extractor: OfflineExtractor, text: str) -> dict[str, str | None]:
    return {a.substance: a.reaction for a in extractor.extract(text).allergies}


ACTIVE = (Assertion.PRESENT, False)
NEGATED = (Assertion.NEGATED, False)


@pytest.mark.parametrize(
    "text",
    [
        "Today's Diagnoses\n  Type 2 diabetes mellitus without complication\n"
        "  Essential hypertension\n",
        "PROBLEMS\n  Active\n    Migraine without aura (G43.009)\n    Essential hypertension\n",
    ],
)
def test_an_indented_list_items_without_is_not_the_next_items_negation(extractor, text):
    """Regression: the 'without' of one indented item's name negated the item below it (PyRuSH
    starts a sentence at a line opening with a capital, not after an indent)."""
    found = conditions(extractor, text)
    assert found[next(name for name in found if "hypertension" in name)] == ACTIVE


def test_lines_under_a_drug_stay_the_drugs_own(extractor):
    """An indented status line under a drug's line is the drug's ('DISCONTINUED' under a MAR
    order), not an item of a list of its own."""
    text = (
        "ORDER: Potassium chloride ER 20 mEq tablet\n"
        "       Give 1 tablet by mouth daily.\n"
        "       DISCONTINUED 11/03/2024 - K+ 5.3 on labs.\n"
    )
    found = {m.generic_name: m.status for m in extractor.extract(text).medications}
    assert found == {"potassium chloride": MedicationStatus.STOPPED}


@pytest.mark.parametrize(
    "text",
    [
        "Denies:\nChest pain\nShortness of breath\n",
        "Patient denies:\n  chest pain\n  shortness of breath\n",
        "Review of systems negative for:\n- Chest pain\n- Shortness of breath\n",
        "Pertinent negatives:\nChest pain\nShortness of breath\n",
    ],
)
def test_a_negative_heading_denies_every_line_of_its_list(extractor, text):
    """Regression: a heading ending in a negation and a colon reached none of the findings
    listed one per line below it: each was an active condition."""
    found = conditions(extractor, text)
    assert {name.lower(): value for name, value in found.items()} == {
        "chest pain": NEGATED,
        "shortness of breath": NEGATED,
    }


def test_a_negative_lists_end_is_a_blank_line(extractor):
    text = "Denies:\nChest pain\n\nAssessment\nShortness of breath\n"
    found = conditions(extractor, text)
    assert found == {"Chest pain": NEGATED, "Shortness of breath": ACTIVE}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Allergies as of 12/1/2026: Sulfa Antibiotics (Rash)", {"Sulfa Antibiotics": "Rash"}),
        (
            "Allergies as of 12/1/2026\n  Sulfa Antibiotics   Rash\n  Penicillins   Hives\n",
            {"Sulfa Antibiotics": "Rash", "Penicillins": "Hives"},
        ),
        (
            "Allergies\n  Sulfa (Sulfonamide Antibiotics)   Rash   Moderate\n",
            {"Sulfa": "Rash"},
        ),
        (
            "Allergies and Intolerances\n"
            "  Substance            Reaction               Severity     Status\n"
            "  Metformin            Lactic acidosis risk   -            Inactive\n"
            "  Ciprofloxacin        Tendon pain            Moderate     Active\n",
            {"Metformin": "Lactic acidosis risk", "Ciprofloxacin": "Tendon pain"},
        ),
    ],
)
def test_a_summarys_allergy_list_in_columns(extractor, text, expected):
    """Regression: 'Allergies as of <date>' was no allergy heading; a column gap did not part
    substance from reaction (the reaction was lost or the substance dropped), a class in
    brackets was read as the reaction, and the column heading row was an allergy to
    'Substance' with the reaction 'Reaction'."""
    assert allergies(extractor, text) == expected


def test_a_resolved_status_column_resolves_its_rows_problem(extractor):
    """Regression: a problem whose name has commas kept its 'Resolved' column unread."""
    text = (
        "Problem List\n"
        "  Hypertension                              Active      2009\n"
        "  Depression, major, single episode         Resolved    2015\n"
    )
    found = {c.text: c.resolved for c in extractor.extract(text).conditions}
    assert found == {"Hypertension": False, "Depression": True}


def test_a_not_taking_part_of_a_medication_list_stops_its_drugs_but_not_their_successor(
    extractor,
):
    """Regression: the drugs under a 'Not-Taking' sub-heading were taken; the drug one of them
    was replaced by, named in its line, was then stopped."""
    text = (
        "Current Medications\n"
        "  Taking\n"
        "    Budesonide-Formoterol 80-4.5 MCG/ACT Aerosol 2 puffs twice a day\n"
        "  Not-Taking\n"
        "    Fluticasone Propionate 44 MCG/ACT Aerosol (replaced by Budesonide-Formoterol)\n"
    )
    found = {m.text.split()[0]: m.status for m in extractor.extract(text).medications}
    assert found["Budesonide-Formoterol"] == MedicationStatus.ACTIVE
    assert found["Fluticasone"] == MedicationStatus.STOPPED


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("AFTER VISIT SUMMARY\nJane Roe   DOB: 03/04/1956\n", "Jane Roe"),
        ("ROE, JANE M   MRN: 12345   DOB 3/4/1956\n", "ROE, JANE M"),
        ("Jane Roe (DOB 03/04/1956)\n", "Jane Roe"),
        ("Visit Summary   DOB: 03/04/1956\n", None),
    ],
)
def test_a_name_printed_before_its_birth_date_without_a_label(extractor, text, name):
    patient = extractor.extract(text).patient
    assert (patient.name, patient.birth_date) == (name, "1956-03-04")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Diabetes [ ]   Asthma [X]   Hypertension [ ]\n", {"Asthma": ACTIVE}),
        ("Conditions: Migraine [ ]  COPD [X]\n", {"COPD": ACTIVE}),
    ],
)
def test_a_box_after_its_item_decides_that_item(extractor, text, expected):
    """Regression: a box printed after its item was read as the next item's, so every item
    left unticked was asserted and the ticked one lost."""
    assert conditions(extractor, text) == expected


def test_an_unticked_box_after_nkda_says_no_nkda(extractor):
    found = extractor.extract("Allergies: NKDA [ ]  Latex [X]\n").allergies
    assert [(a.substance, a.no_known_allergies) for a in found] == [("Latex", False)]


FAMILY = (Assertion.FAMILY, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Has your father had a heart attack before age 55? Yes - father, MI at 54\n",
            {"heart attack": FAMILY, "MI": FAMILY},
        ),
        ("Father - MI at 54\n", {"MI": FAMILY}),
    ],
)
def test_a_relatives_condition_in_an_answer_is_the_relatives(extractor, text, expected):
    """Regression: 'Yes - father, MI at 54' and 'Father - MI at 54' gave the patient an MI."""
    assert conditions(extractor, text) == expected


def test_the_examples_of_a_question_answered_yes_are_only_possible(extractor):
    """Regression: 'heart problems (angina, heart attack, stents)? [X] Yes' asserted both."""
    text = "Have you ever had heart problems (angina, heart attack, stents)? [X] Yes\n"
    found = conditions(extractor, text)
    assert found == {
        "angina": (Assertion.POSSIBLE, False),
        "heart attack": (Assertion.POSSIBLE, False),
    }


@pytest.mark.parametrize(
    "text",
    [
        "Henry Ford Cancer Institute\n2799 W Grand Blvd, Detroit, MI 48202\n",
        "PRENATAL LABS\nHIV 1/2 Ag/Ab:         Nonreactive\nRubella:               Immune\n",
        "HIV (09/23/24): Nonreactive\n",
        "Tobacco / nicotine vaping [X]\n",
    ],
)
def test_no_condition_or_medication_of_an_address_a_test_or_a_habit(extractor, text):
    """Regression: a Michigan address was a myocardial infarction, a nonreactive HIV test HIV
    disease (B20), nicotine vaping a nicotine medication."""
    result = extractor.extract(text)
    assert (result.conditions, result.medications) == ([], [])


def test_a_drugs_salt_is_no_lab_result(extractor):
    """Regression: 'Montelukast Sodium 5 MG' was a sodium result of 5."""
    text = "Current Medications\n  Montelukast Sodium 5 MG Tablet Chewable 1 tablet at bedtime\n"
    assert extractor.extract(text).observations == []


@pytest.mark.parametrize(
    "text",
    ["Glucagon 1 mg IM PRN blood glucose < 70\n", "Notify physician for: temp > 101, INR > 3.5.\n"],
)
def test_a_threshold_to_act_on_is_no_result(extractor, text):
    assert extractor.extract(text).observations == []


@pytest.mark.parametrize(
    ("text", "generic"),
    [
        ("Discontinued today:\n  Metoprolol tartrate 25 mg tablet (fatigue)\n", "metoprolol"),
        ("Current treatment:\n  Trazodone 50 mg - no longer taking\n", "trazodone"),
    ],
)
def test_a_drug_stopped_today_or_no_longer_taken_is_stopped(extractor, text, generic):
    found = {m.generic_name: m.status for m in extractor.extract(text).medications}
    assert found[generic] == MedicationStatus.STOPPED


@pytest.mark.parametrize(
    "text",
    [
        "Call your doctor or return to the hospital if:\n  - You have chest pain\n"
        "  - Vomiting for more than 24 hours\n",
        "SYMPTOMS TO REPORT: new lump, bone pain, persistent cough, shortness of breath.\n",
        "Warning signs:\nChest pain\nVomiting\n",
    ],
)
def test_symptoms_to_report_are_not_the_patients(extractor, text):
    """Regression: the symptoms a patient is told to report were active conditions."""
    found = conditions(extractor, text)
    assert all(assertion == Assertion.HYPOTHETICAL for assertion, _ in found.values()), found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Allergy list reviewed:\n  Amoxicillin - hives (as a child)\n",
            {"Amoxicillin": "hives"},
        ),
        ("Allergies: codeine, which causes vomiting.\n", {"codeine": "vomiting"}),
        (
            "ALLERGIES: Paclitaxel (infusion reaction), Iodinated\ncontrast (hives)\n"
            "SURVEILLANCE PLAN\n- Echocardiogram every 3 months while on trastuzumab.\n",
            {"Paclitaxel": "infusion reaction", "Iodinated contrast": "hives"},
        ),
        (
            "ALLERGIES: NKDA\nULTRASOUND (10/28/24, 32w3d): Single live intrauterine pregnancy.\n",
            {None: None},
        ),
    ],
)
def test_an_allergy_lists_items_and_end(extractor, text, expected):
    """Regression: 'Allergy list reviewed:' was no allergy heading (amoxicillin an active
    drug), a reaction told in a 'which causes' clause was an allergen, a wrapped item two
    allergens, and a list ran on into the capitals heading below it (trastuzumab, a drug she
    is on, an allergen; 'ULTRASOUND' an allergen)."""
    assert allergies(extractor, text) == expected


def test_a_negation_reaches_every_drug_its_list_names_before_a_subordinate_clause(extractor):
    """Regression: in 'Do NOT take ibuprofen or naproxen while taking ketorolac' the
    'while taking' gave naproxen a verb of its own: an active naproxen."""
    text = "Do NOT take ibuprofen or naproxen while taking ketorolac.\n"
    found = {m.generic_name: m.assertion for m in extractor.extract(text).medications}
    assert found["ibuprofen"] == found["naproxen"] == Assertion.NEGATED


@pytest.mark.parametrize(
    ("text", "generic"),
    [
        (
            "If inadequate response at 3 months, consider adding hydroxychloroquine or a\n"
            "TNF inhibitor such as adalimumab.\n",
            "adalimumab",
        ),
        (
            "If her symptoms recur, we could consider a 3-day\n"
            "course of IV methylprednisolone 1 g daily.\n",
            "methylprednisolone",
        ),
        (
            "I would suggest considering a statin (e.g. atorvastatin 20 mg) given his diabetes.\n",
            "atorvastatin",
        ),
        (
            "1. Acute on chronic heart failure - If diuresis is inadequate at\n"
            "24 hours, add metolazone 2.5 mg PO x1 before the furosemide dose.\n",
            "metolazone",
        ),
    ],
)
def test_a_drug_only_proposed_across_a_wrapped_line_or_as_an_example(extractor, text, generic):
    """Regression: a proposal did not reach a drug on the line the page wrapped the sentence
    onto, nor an example of the class it proposes ('e.g.' ended the sentence)."""
    found = {m.generic_name: m.assertion for m in extractor.extract(text).medications}
    assert found[generic] == Assertion.HYPOTHETICAL


def test_a_labelled_family_history_paragraph_ends_at_the_blank_line(extractor):
    """Regression: 'Family history: ...' ran on to the next title, so the patient's own allergy
    in the paragraphs below was her mother's."""
    text = (
        "Family history: Her mother has multiple sclerosis.\n\n"
        "She is allergic to erythromycin, which caused a rash.\n"
    )
    result = extractor.extract(text)
    assert {c.text: c.assertion for c in result.conditions}["multiple sclerosis"] == (
        Assertion.FAMILY
    )
    assert [(a.substance, a.reaction, a.assertion) for a in result.allergies] == [
        ("erythromycin", "rash", Assertion.PRESENT)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Medications given in the ED:\n  ketorolac (Toradol) 15 mg IV\n  ondansetron 4 mg IV\n",
        "SEDATION/MEDICATIONS DURING PROCEDURE:\nMidazolam 2 mg IV, fentanyl 50 mcg IV.\n",
        "PREMEDICATIONS GIVEN:\n08:55  Ondansetron 16 mg IV\n",
        "ADMINISTERED TODAY\n10:52\tRho(D) immune globulin (RhoGAM) 300 mcg IM, left gluteal\n",
    ],
)
def test_a_dose_given_during_the_visit_is_completed(extractor, text):
    """Regression: drugs given once in the ED, a procedure or an infusion visit were drugs the
    patient is on."""
    found = {
        m.generic_name: (m.status, m.administered) for m in extractor.extract(text).medications
    }
    assert found and set(found.values()) == {(MedicationStatus.COMPLETED, True)}, found


def test_a_dose_given_on_the_line_the_page_wrapped_the_sentence_onto(extractor):
    """Regression: 'He received\nfurosemide 80 mg IV ...': a dose opening a line started a
    sentence (as an unbulleted list's item does), so the doses given were drugs he is on."""
    text = (
        "In the ED he was hypoxemic on room air. He received\n"
        "furosemide 80 mg IV with 1.2 L urine output, and potassium chloride 40 mEq PO x1 for a\n"
        "potassium of 3.3.\n"
    )
    found = {
        m.generic_name: (m.status, m.administered) for m in extractor.extract(text).medications
    }
    assert found == {
        "furosemide": (MedicationStatus.COMPLETED, True),
        "potassium chloride": (MedicationStatus.COMPLETED, True),
    }


def test_return_precautions_in_long_bulleted_lines_are_hypothetical(extractor):
    """Regression: a line of the list longer than a short one ended the list, so the findings
    of the lines after it ('Numbness or weakness of your fingers') were active conditions."""
    text = (
        "RETURN TO URGENT CARE OR GO TO THE EMERGENCY DEPARTMENT IF YOU HAVE:\n"
        "- Fever over 100.4 F\n"
        "- Redness spreading around the wound, red streaks, pus, or a bad smell\n"
        "(signs of infection)\n"
        "- Numbness or weakness of your fingers, or trouble bending them\n"
    )
    found = {c.text.lower(): c.assertion for c in extractor.extract(text).conditions}
    assert found["numbness"] == found["weakness"] == Assertion.HYPOTHETICAL, found


def test_a_dose_administered_in_the_plan_is_no_order(extractor):
    """Regression: a plan item's drug with a dose was an order, though the item says it was
    given ('administered today in the infusion center')."""
    text = (
        "Assessment and Plan\n6. Osteopenia. Zoledronic acid 4 mg IV administered today in the "
        "infusion center.\n7. Start lisinopril 10 mg daily.\n"
    )
    found = {
        m.generic_name: (m.status, m.prescribed, m.administered)
        for m in extractor.extract(text).medications
    }
    assert found == {
        "zoledronic acid": (MedicationStatus.COMPLETED, False, True),
        "lisinopril": (MedicationStatus.ACTIVE, True, False),
    }


def test_a_drug_only_named_is_marked_so(extractor):
    """What the bundle needs to let a reconciliation's STOP stand against a later mention that
    only names the drug; a dose, a list, a cue of starting or giving it says more."""
    text = (
        "Medications:\nlisinopril\n\n"
        "Assessment\nOrthostatic hypotension from amlodipine. Restart metoprolol.\n"
        "Aspirin 81 mg daily.\n"
    )
    found = {m.generic_name: m.only_named for m in extractor.extract(text).medications}
    assert found == {
        "lisinopril": False,
        "amlodipine": True,
        "metoprolol": False,
        "aspirin": False,
    }


def test_a_plain_medications_heading_gives_no_doses_given(extractor):
    found = extractor.extract("Medications:\nlisinopril 10 mg daily\n").medications
    assert [(m.status, m.administered) for m in found] == [(MedicationStatus.ACTIVE, False)]


def test_a_course_said_to_be_over_is_no_dose_given(extractor):
    [prednisone] = extractor.extract("Completed a 5-day course of prednisone.\n").medications
    assert (prednisone.status, prednisone.administered) == (MedicationStatus.COMPLETED, False)


def test_a_status_column_of_a_medication_row_without_bars(extractor):
    """Regression: a 'Completed' status column left an anticoagulant active."""
    text = (
        "Medications\n"
        "  Medication          Instructions       Status\n"
        "  Rivaroxaban 20 mg   1 tablet daily     Completed\n"
        "  Lisinopril 10 mg    1 tablet daily     Active\n"
    )
    found = {m.generic_name: m.status for m in extractor.extract(text).medications}
    assert found == {
        "rivaroxaban": MedicationStatus.COMPLETED,
        "lisinopril": MedicationStatus.ACTIVE,
    }


def test_vaping_nicotine_is_no_medication_but_a_patch_is(extractor):
    text = "Tobacco: Former smoker, quit 2016. Vapes nicotine daily.\nNicotine patch 21 mg daily\n"
    found = [m.text for m in extractor.extract(text).medications]
    assert found == ["Nicotine patch"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Past Procedures\n  Cataract extraction, left eye    Date: 8/2021\n"
            "  Appendectomy    Date: 1971\n",
            {"Cataract extraction, left eye": "2021-08", "Appendectomy": "1971"},
        ),
        (
            "Procedures Done This Hospital Stay\n  Right heart catheterization 01/21/2025\n"
            "  Transthoracic echocardiogram 01/20/2025 - ejection fraction 30%\n",
            {
                "Right heart catheterization": "2025-01-21",
                "Transthoracic echocardiogram": "2025-01-20",
            },
        ),
    ],
)
def test_a_summarys_procedure_list(extractor, text, expected):
    """Regression: a 'Date:' column, a title naming the stay and findings after the date lost
    the procedures or made their names (the title was also an Organization)."""
    result = extractor.extract(text)
    assert {p.text: p.performed_date for p in result.procedures} == expected


def test_a_procedure_the_plan_says_is_not_planned_is_no_request(extractor):
    found = extractor.extract("- Staged PCI of RCA is not planned.\n").procedures
    assert found == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Re: Frank Delucca   DOB: 02/27/1958\n\nDear Dr. Subramanian,\n", "Frank Delucca"),
        ("Patient: KOWALSKI, DOROTHY A Accession: S24-031877\n", "KOWALSKI, DOROTHY A"),
    ],
)
def test_a_letters_re_line_and_a_name_before_the_next_field(extractor, text, name):
    assert extractor.extract(text).patient.name == name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hyponatremia (sodium 126 on admission) - corrected\n", {"Hyponatremia": True}),
    ],
)
def test_a_corrected_problem_is_resolved(extractor, text, expected):
    assert {c.text: c.resolved for c in extractor.extract(text).conditions} == expected


def test_a_condition_on_the_differential_is_possible(extractor):
    text = "Irritable bowel syndrome remains on the differential.\n"
    found = conditions(extractor, text)
    assert found == {"Irritable bowel syndrome": (Assertion.POSSIBLE, False)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Oxycodone 5 mg tablet: take 1 tablet every 4 hours only as needed for severe pain\n",
            [("oxycodone", 5.0, "every 4 hours only as needed")],
        ),
        (
            "naproxen 500 mg twice\ndaily as needed for pain.\n",
            [("naproxen", 500.0, "twice daily as needed")],
        ),
    ],
)
def test_a_sig_as_written(extractor, text, expected):
    """Regression: 'only as needed' and a frequency the page wrapped lost their 'as needed' or
    their 'twice' (a scheduled opioid, a once-daily NSAID)."""
    found = [
        (m.generic_name, m.dose_value, m.frequency) for m in extractor.extract(text).medications
    ]
    assert found == expected


def test_an_allergy_list_ends_at_a_forms_next_numbered_field(extractor):
    """Regression: a CMS-485's allergies ran on into box 18.A's ticked functional limitations
    ('Endurance', 'Ambulation' were allergens; a column of type letters was a reaction)."""
    text = (
        "17. Allergies: Sulfamethoxazole-trimethoprim (anaphylaxis), Morphine (itching),\n"
        "    Adhesive tape\n"
        "18.A. Functional Limitations\n"
        "    1 [ ] Amputation        5 [ ] Paralysis         9 [ ] Legally Blind\n"
        "    2 [ ] Bowel/Bladder     6 [X] Endurance         7 [X] Ambulation\n"
    )
    assert allergies(extractor, text) == {
        "Sulfamethoxazole-trimethoprim": "anaphylaxis",
        "Morphine": "itching",
        "Adhesive tape": None,
    }


def test_a_summarys_allergies_as_a_pdfs_text_gives_them(extractor):
    """Regression (the dev.sh canary, a visit summary rendered to PDF): the PDF's text closes up
    column gaps and drops blank lines, so 'Sulfa Antibiotics Rash' was no allergen (its last
    word a reaction) and the list ran on into 'Your Medication List', an allergy."""
    text = (
        "Allergies as of 11/30/2026\nSulfa Antibiotics Rash\nPenicillins Hives\n"
        "Your Medication List\nSTART taking:\nmetformin 500 MG tablet Take 1 tablet twice daily\n"
    )
    result = extractor.extract(text)
    assert {a.substance: a.reaction for a in result.allergies} == {
        "Sulfa Antibiotics": "Rash",
        "Penicillins": "Hives",
    }
    assert [m.generic_name for m in result.medications] == ["metformin"]
