"""The offline provider on clinic and emergency documents of kinds the earlier sets had not
(2026-12-06, twenty-fourth session, from a sixth blind set's tuning half: an after-visit summary,
anticoagulation, transplant, sleep, wound-care, paediatric ED and haematology notes). Each case is
short text of our own in the layout those documents print; each failed on the code before its
rule unless it says it is a guard."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import Assertion, MedicationStatus


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def test_a_trend_table_whose_range_column_is_headed_ref(extractor):
    """'| Test | date | date | date | Units | Ref |': each date column a reading (before: the
    'Ref' label made it no dates row, and only the oldest value was read, without its unit)."""
    text = (
        "LABORATORY\n| Test | 11/20/2024 | 01/16/2025 | 02/26/2025 | Units | Ref |\n"
        "| Potassium | 4.8 | 5.0 | 5.3 H | mmol/L | 3.5-5.1 |\n"
    )
    found = sorted(
        (o.value, o.unit, o.effective_date, o.interpretation)
        for o in extractor.extract(text).observations
    )
    assert found == [
        (4.8, "mmol/L", "2024-11-20", None),
        (5.0, "mmol/L", "2025-01-16", None),
        (5.3, "mmol/L", "2025-02-26", "H"),
    ]


def test_a_dates_row_printing_nothing_over_the_names_and_writing_the_day_first(extractor):
    """A UK letter's unruled results: the dates row has no label over the test names, and
    '18/11/2024' says the row writes the day first, so '05/03/2025' is 5 March (before: no
    table, one value per test, undated)."""
    text = (
        "Results\n18/11/2024\t14/01/2025\t05/03/2025\tUnits\tRange\n"
        "Haemoglobin\t102\t96\t91\tg/L\t115-160\nMCV\t76\t73\t71\tfL\t80-100\n"
    )
    found = sorted(
        (o.name, o.value, o.effective_date) for o in extractor.extract(text).observations
    )
    assert found == [
        ("Haemoglobin", 91.0, "2025-03-05"),
        ("Haemoglobin", 96.0, "2025-01-14"),
        ("Haemoglobin", 102.0, "2024-11-18"),
        ("MCV", 71.0, "2025-03-05"),
        ("MCV", 73.0, "2025-01-14"),
        ("MCV", 76.0, "2024-11-18"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # the title line above an unruled administration table
            "ED COURSE / MEDICATIONS ADMINISTERED\nTime\tMedication\tDose\tRoute\tBy\n"
            "02:31\tDexamethasone\t10.2 mg\tPO\tRN K. Patel\n"
            "03:10\tAcetaminophen suspension\t255 mg\tPO\tRN K. Patel\n",
            {"Dexamethasone": "given", "Acetaminophen suspension": "given"},
        ),
        (  # an infusion's start time starts no drug; a protocol's 'should a reaction occur'
            "Treatment given today (Haematology Day Unit)\n"
            "Ferric carboxymaltose 1000 mg IV over 15 minutes, started 11:05, completed 11:22. "
            "Should a reaction have occurred, the protocol allows chlorphenamine 10 mg IV.\n",
            {"Ferric carboxymaltose": "given", "chlorphenamine": "hypothetical"},
        ),
        (
            "PROCEDURE: Excisional debridement.\nTopical lidocaine 4% applied to wound x 10 min "
            "prior.\n",
            {"lidocaine": "given"},
        ),
        (
            "Discharge prescriptions / instructions:\n"
            "\u2022 Ibuprofen 100 mg/5 mL suspension: 170 mg PO every 6 hours as needed for "
            "fever.\n",
            {"Ibuprofen": "order"},
        ),
        (
            "If INR is above 5, call the clinic; vitamin K 2.5 mg by mouth would then be given.\n",
            {"vitamin K": "hypothetical"},
        ),
        (  # the line wrapped at the dose's decimal
            "If INR is greater than 5, patient to call clinic; vitamin K (phytonadione)\n"
            "2.5 mg by mouth would then be given.\n",
            {"vitamin K": "hypothetical"},
        ),
        (  # an assessment's item names its problem first
            "ASSESSMENT AND PLAN\n3. Hypomagnesemia: start magnesium oxide 400 mg PO BID.\n",
            {"magnesium oxide": "order"},
        ),
        # guard: 'started' before a drug still starts it
        ("Started metformin 500 mg daily at 08:00 today.\n", {"metformin": "active"}),
    ],
    ids=[
        "administered-table",
        "infusion-and-protocol",
        "applied",
        "discharge-rx",
        "would-then-be-given",
        "wrapped-decimal",
        "problem-label",
        "started",
    ],
)
def test_doses_given_ordered_or_only_provided_for(extractor, text, expected):
    def kind(m) -> str:
        if m.assertion == Assertion.HYPOTHETICAL:
            return "hypothetical"
        if m.administered and m.status == MedicationStatus.COMPLETED:
            return "given"
        return "order" if m.prescribed else m.status.value

    found = {m.text: kind(m) for m in extractor.extract(text).medications}
    assert {name: found.get(name) for name in expected} == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LAKESHORE MEDICAL CENTER\tPatient: DROSTE, G.\tVisit: 03/11/2025 09:40\n", "2025-03-11"),
        ("PATIENT : BEGAY, L\tMRN : HD0045129\nDOB : 09/17/1963\tVISIT : 02/18/2025 13:15\n",
         "2025-02-18"),
        # guards: another visit's date dates no encounter
        ("Clinic follow-up.\nLast visit: 01/02/2025. Next visit: 04/01/2025.\n", None),
    ],
)  # fmt: skip
def test_a_visit_label_dates_the_encounter(extractor, text, expected):
    encounters = extractor.extract(text).encounters
    assert (encounters[0].start_date if encounters else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Referred after a home test; polysomnography performed 01/09/2025.",
            ("polysomnography", Assertion.PRESENT, "2025-01-09"),
        ),
        (
            "Tonsillectomy in childhood. No history of heart failure.",
            ("Tonsillectomy", Assertion.PRESENT, None),
        ),
        (
            "Hx right 2nd toe amputation 03/2021 for osteomyelitis (healed).",
            ("right 2nd toe amputation", Assertion.PRESENT, "2021-03"),
        ),
        (
            "- MRI right foot without contrast - ordered, scheduled 02/21/2025.",
            ("MRI right foot without contrast", Assertion.HYPOTHETICAL, None),
        ),
        (
            "8. Transplant renal ultrasound with Doppler ordered for the next visit.",
            ("Transplant renal ultrasound with Doppler", Assertion.HYPOTHETICAL, None),
        ),
    ],
)
def test_procedures_done_or_ordered_in_a_sentence(extractor, text, expected):
    found = [(p.text, p.assertion, p.performed_date) for p in extractor.extract(text).procedures]
    assert found == [expected]


def test_a_known_test_with_a_word_result_in_a_sentence(extractor):
    """'Rapid influenza A/B: negative. SARS-CoV-2 PCR: negative.' (before: no result; only
    numbers were read after a known test's name in a sentence)."""
    text = (
        "Chest X-ray 02:50: steeple sign. Rapid influenza A/B:\nnegative. SARS-CoV-2 PCR: "
        "negative. She is not pregnant (urine hCG\nnegative today).\n"
    )
    found = sorted(
        (o.name, o.value_text, o.loinc_code) for o in extractor.extract(text).observations
    )
    assert found == [
        ("Rapid influenza A/B", "negative", None),
        ("SARS-CoV-2 PCR", "negative", "94500-6"),
        ("urine hCG", "negative", "2106-3"),
    ]


def test_a_diagnosis_lists_coded_lines_are_items_of_their_own(extractor):
    """'Gastroesophageal reflux disease without esophagitis (K21.9)' above two more coded lines:
    its 'without' negates only its own line (before: the next lines' diagnoses were negated)."""
    text = (
        "Diagnoses addressed today\tEssential hypertension (I10)\n"
        "Gastroesophageal reflux disease without esophagitis (K21.9)\n"
        "Vitamin D deficiency (E55.9)\nHyponatremia (E87.1)\n"
    )
    found = {c.text: c.assertion for c in extractor.extract(text).conditions}
    assert found["Vitamin D deficiency"] == Assertion.PRESENT
    assert found["Hyponatremia"] == Assertion.PRESENT
    assert found["esophagitis"] == Assertion.NEGATED


@pytest.mark.parametrize(
    ("text", "resolved"),
    [
        ("Deep vein thrombosis, left femoral vein, 2016 - resolved (completed treatment)\n", True),
        # guard: a status before another condition is that one's
        ("Diabetes, hypertension, resolved pneumonia\n", False),
    ],
)
def test_a_site_between_a_condition_and_its_resolved_status(extractor, text, resolved):
    [first, *_] = extractor.extract(text).conditions
    assert first.resolved is resolved


def test_croup_and_seasonal_allergies_are_conditions(extractor):
    text = "1. Croup (acute laryngotracheobronchitis), moderate.\n2. Seasonal allergies.\n"
    codes = {c.icd10_code for c in extractor.extract(text).conditions}
    assert codes == {"J05.0", "J30.2"}


# --- after the sixth set's blind half was measured and then read (see the README) -----------


def test_a_grid_of_labelled_readings(extractor):
    """'| WBC 18.4 K/uL | Hgb 11.2 g/dL | Plt 142 K/uL |' under a laboratory caption: each cell a
    result (before: none; the table's columns were read and said nothing)."""
    text = (
        "| LABORATORY (most recent 11/03 05:10) |  |  |\n"
        "| WBC 18.4 K/uL | Hgb 11.2 g/dL | Plt 142 K/uL |\n"
        "| Lipase 42 U/L | Lactate 1.8 mmol/L | Potassium 3.4 mmol/L |\n"
    )
    found = sorted((o.name, o.value, o.unit) for o in extractor.extract(text).observations)
    assert found == [
        ("Hgb", 11.2, "g/dL"),
        ("Lactate", 1.8, "mmol/L"),
        ("Lipase", 42.0, "U/L"),
        ("Plt", 142.0, "10*3/uL"),
        ("Potassium", 3.4, "mmol/L"),
        ("WBC", 18.4, "10*3/uL"),
    ]


def test_a_diagnoses_table_labelled_by_kind(extractor):
    """'| Principal | ... |', '| Ruled out | ... |': the label is no condition, the conditions
    are the cell's, and ruled out ones are negated (before: 'Principal', 'Secondary', 'Ruled
    out' and 'History' were conditions, and the ruled-out pancreatitis was active)."""
    text = (
        "| DIAGNOSES |  |\n"
        "| Principal | Acute cholangitis (K83.09) |\n"
        "| Secondary | Acute kidney injury; Hypothyroidism |\n"
        "| Ruled out | Acute pancreatitis; acute coronary syndrome |\n"
    )
    found = {(c.text, c.assertion) for c in extractor.extract(text).conditions}
    assert found == {
        ("cholangitis", Assertion.PRESENT),
        ("Acute kidney injury", Assertion.PRESENT),
        ("Hypothyroidism", Assertion.PRESENT),
        ("Acute pancreatitis", Assertion.NEGATED),
        ("acute coronary syndrome", Assertion.NEGATED),
    }


@pytest.mark.parametrize(
    ("caption", "kind"),
    [
        ("| HOME MEDICATIONS / STATUS AT TRANSFER |  |", "medication"),
        ("| MEDICATIONS ADMINISTERED IN LAB |  |", "given"),
    ],
)
def test_a_caption_row_with_a_setting_or_a_remark_after_a_slash(extractor, caption, kind):
    """Under an allergy list or a procedures list, a caption row starts its own section (before:
    the doses given in the cath lab were procedures; the home medications case is a guard here,
    read whole: the pipeline read them as allergies in a chunk of their own, fixed in the
    chunker, `test_chunking.test_a_caption_row_is_the_heading_of_the_rows_below_it`)."""
    text = (
        "ALLERGIES\nCODEINE (vomiting)\n"
        if kind == "medication"
        else "PROCEDURES PERFORMED\n1. Left heart catheterization\n"
    )
    text += f"{caption}\n| apixaban 5 mg PO BID | HELD |\n| metoprolol 25 mg PO BID | continued |\n"
    extraction = extractor.extract(text)
    assert sorted(a.substance for a in extraction.allergies) == (
        ["CODEINE"] if kind == "medication" else []
    )
    assert {m.text for m in extraction.medications} == {"apixaban", "metoprolol"}
    assert all("mg" not in p.text for p in extraction.procedures)


def test_a_flowsheet_titled_by_its_dates_row_under_another_section(extractor):
    """'LABS  12/12/24  02/13/25  03/18/25  units' right below a medication list: a results
    flowsheet, with rows that leave the units empty (before: its rows were medications' and no
    result was read)."""
    text = (
        "MEDICATIONS:\nspironolactone 100 mg PO daily\n\n"
        "LABS\t12/12/24\t02/13/25\t03/18/25\tunits\n"
        "Total bilirubin\t2.1\t2.2\t2.4\tmg/dL\nINR\t1.5\t1.5\t1.6\nSodium\t134\t132\t131\tmmol/L\n"
    )
    extraction = extractor.extract(text)
    latest = sorted(
        (o.name, o.value) for o in extraction.observations if o.effective_date == "2025-03-18"
    )
    assert latest == [("INR", 1.6), ("Sodium", 131.0), ("Total bilirubin", 2.4)]
    assert [m.text for m in extraction.medications] == ["spironolactone"]


def test_free_psa_is_not_total_psa(extractor):
    text = "Elevated PSA, rising, free PSA 12%; prior benign biopsy. PSA 6.8 ng/mL.\n"
    found = sorted((o.name, o.value, o.loinc_code) for o in extractor.extract(text).observations)
    assert found == [("PSA", 6.8, "2857-1"), ("free PSA", 12.0, None)]


def test_a_cath_reports_findings_are_no_medication_list(extractor):
    """'| HEMODYNAMICS |', 'FINDINGS', 'INTERVENTION' end the doses-given table's section (before:
    its lines were a medication list, and 'mild luminal irregularities' and an
    'everolimus-eluting stent' were drugs the patient takes)."""
    text = (
        "| MEDICATIONS ADMINISTERED IN LAB |  |\n| Midazolam | 2 mg IV |\n"
        "| Fentanyl | 50 mcg IV |\n"
        "| HEMODYNAMICS |  |\nAortic pressure 138/72 mmHg (mean 96). LVEDP 18 mmHg.\n"
        "FINDINGS\nLeft circumflex: mild luminal irregularities, 30% OM1.\n"
        "INTERVENTION\n3.0 x 23 mm everolimus-eluting stent deployed at 14 atm.\n"
    )
    assert sorted(m.text for m in extractor.extract(text).medications) == ["Fentanyl", "Midazolam"]


def test_a_bar_between_tabs_separates_allergies(extractor):
    """'CODEINE (vomiting) <tab>|<tab> SULFONAMIDE ANTIBIOTICS (rash)' (a transfer summary's
    allergy line): two allergies (before: the second was lost and codeine's reaction was '|')."""
    text = "ALLERGIES\nCODEINE (vomiting)\t|\tSULFONAMIDE ANTIBIOTICS (rash)\n"
    found = sorted((a.substance, a.reaction) for a in extractor.extract(text).allergies)
    assert found == [("CODEINE", "vomiting"), ("SULFONAMIDE ANTIBIOTICS", "rash")]
