"""The offline provider on documents of kinds the earlier sets had not (2026-12-06, twenty-fifth
session: a two-column after-visit summary, and a seventh blind set's tuning half). Each case is
short text or a page of our own in the layout those documents print; each failed on the code
before its rule unless it says it is a guard."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from medpipeline.documents import SourceDocument, doc_id_from_sha256, file_digests
from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import Assertion, MedicationStatus
from medpipeline.pdf import PdfLimits, extract_pages
from medpipeline.whole_document import offline_bundle
from medpipeline_tests.helpers import bundle_of_note, render_two_columns, resources_of


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def bundle_of_pdf(pdf: Path) -> dict:
    sha256, sha1 = file_digests(pdf)
    pages = extract_pages(pdf, PdfLimits(timeout_seconds=60), ocr=False)
    source = SourceDocument(
        doc_id=doc_id_from_sha256(sha256),
        sha256=sha256,
        sha1=sha1,
        size_bytes=pdf.stat().st_size,
        pages=len(pages),
        stored_at=datetime(2026, 12, 6, tzinfo=UTC),
    )
    built, _ = offline_bundle(source, pages)
    return built.bundle


def test_a_two_column_after_visit_summary_keeps_each_columns_lists(tmp_path: Path):
    """Read interleaved, 'Penicillin' was a MedicationStatement under 'Your Medication List' and
    hives and rash were the patient's conditions; read column by column, the allergies are
    allergies and the drugs started today are orders."""
    pdf = render_two_columns(
        tmp_path / "avs.pdf",
        ["# After Visit Summary", "Lakeside Family Medicine"],
        (
            ["# Allergies", "Penicillin - hives", "Sulfa drugs - rash", "# Today's Diagnoses",
             "Essential hypertension", "Acute maxillary sinusitis"],
            ["# Your Medication List", "Lisinopril 20 mg tablet, take 1 tablet daily",
             "Amoxicillin-clavulanate 875 mg - STOP taking this medicine",
             "# Started Today", "Doxycycline 100 mg capsule twice daily for 10 days"],
        ),
        [],
    )  # fmt: skip
    bundle = bundle_of_pdf(pdf)
    allergies = sorted(r["code"]["text"] for r in resources_of(bundle, "AllergyIntolerance"))
    assert allergies == ["Penicillin", "Sulfa drugs"]
    conditions = sorted(r["code"]["text"] for r in resources_of(bundle, "Condition"))
    assert conditions == ["Acute maxillary sinusitis", "Essential hypertension"]
    listed = {
        r["medicationCodeableConcept"]["text"]: r["status"]
        for r in resources_of(bundle, "MedicationStatement")
    }
    assert listed == {"Lisinopril": "active", "Amoxicillin-clavulanate": "stopped"}
    ordered = [
        r["medicationCodeableConcept"]["text"] for r in resources_of(bundle, "MedicationRequest")
    ]
    assert ordered == ["Doxycycline"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # an after-visit summary's instruction, wrapped after 'taking'
            "Your Medication List\nAmoxicillin 875 mg tablet - STOP taking\nthis medicine\n",
            MedicationStatus.STOPPED,
        ),
        (  # guard: a form's answer columns still read their ticks
            "Home medication   Dose   Continue   Stop   Hold\n"
            "Lisinopril 10 mg   10 mg daily   [ ]   [X]   [ ]\n",
            MedicationStatus.STOPPED,
        ),
    ],
)
def test_a_stop_instruction_after_the_drug(extractor, text, expected):
    (medication,) = extractor.extract(text).medications
    assert medication.status == expected


def test_a_screening_test_read_nonreactive_is_no_diagnosis(extractor):
    """A prenatal panel's 'HIV 1/2 Ag/Ab NONREACTIVE' made HIV an active condition."""
    text = (
        "PRENATAL LABS\n"
        "Initial (09-OCT-24):\tHgb 12.6 g/dL\tHBsAg NEG\tHIV 1/2 Ag/Ab NONREACTIVE\n"
        "Syphilis screen non-reactive.\n"
    )
    conditions = extractor.extract(text).conditions
    assert all(c.assertion == Assertion.NEGATED for c in conditions), conditions


def test_a_status_after_dot_leaders(extractor):
    """Dot leaders are the gap before the status column (before: every drug was active, none
    ordered; the 'started today' of the line above reached the ondansetron's)."""
    text = (
        "MEDICATIONS\n"
        "Ferrous sulfate 325 mg PO every other day ................... NEW - started today\n"
        "Ondansetron 4 mg PO PRN ..................................... stopped (nausea resolved)\n"
        "Levothyroxine 88 mcg PO daily ............................... continue\n"
    )
    found = [(m.text, m.status.value, m.prescribed) for m in extractor.extract(text).medications]
    assert found == [
        ("Ferrous sulfate", "active", True),
        ("Ondansetron", "stopped", False),
        ("Levothyroxine", "active", False),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "PLAN\n- GBS culture at 36 weeks. If GBS positive (or unknown at delivery),\n"
        "will give IV penicillin G in labor per protocol.\n",
        "Plan\n2. Penicillin allergy label removed; he may receive penicillins in future.\n",
    ],
)
def test_a_drug_given_only_if_or_in_future_is_no_order(extractor, text):
    (medication,) = extractor.extract(text).medications
    assert medication.assertion == Assertion.HYPOTHETICAL


def test_an_allergy_label_removed_after_a_dash_is_not_the_patients_allergy():
    bundle = bundle_of_note(
        "Diagnoses\n1. Asthma, mild\n"
        "2. Penicillin allergy label - removed (negative oral challenge today)\n"
    )
    assert not [
        r
        for r in resources_of(bundle, "AllergyIntolerance")
        if r["verificationStatus"]["coding"][0]["code"] != "refuted"
    ]


MAR_FORM = (
    "| ACTIVE DIAGNOSES (check all that apply) |  |  |  |  |\n"
    "[X] Diabetes\t[ ] COPD\t[X] CHF\n"
    "| MEDICATION ADMINISTRATION RECORD - 11/02/2025 to 11/03/2025 (H = held) |  |  |  |  |\n"
    "| Medication / dose / route | 0600 | 0800 | 1200 | 2100 |\n"
    "| Warfarin 2.5 mg PO daily |  |  | JL |  |\n"
    "| Metoprolol tartrate 25 mg PO BID |  | MB |  | JL |\n"
    "| Donepezil 10 mg PO at bedtime |  |  |  | JL |\n"
)


def test_a_medication_administration_record_lists_the_regimen(extractor):
    """Its caption carries dates and its columns are hours: before, no header was found, the
    rows were read under the diagnoses caption above, and every drug line was a Condition."""
    extraction = extractor.extract(MAR_FORM)
    assert sorted(c.text for c in extraction.conditions) == ["CHF", "Diabetes"]
    assert sorted((m.text, m.status.value) for m in extraction.medications) == [
        ("Donepezil", "active"),
        ("Metoprolol tartrate", "active"),
        ("Warfarin", "active"),
    ]


@pytest.mark.parametrize(
    "table",
    [
        "| Antibiotic | MIC (mcg/mL) | Interpretation |\n| Ampicillin | >=32 | R |\n"
        "| Ceftriaxone | <=1 | S |\n| Nitrofurantoin | <=16 | S |\n",
        "Antibiotic\tMIC\tInterpretation\nAmpicillin\t>=32\tR\nCeftriaxone\t<=1\tS\n"
        "Nitrofurantoin\t<=16\tS\n",
    ],
)
def test_a_susceptibility_table_is_neither_results_nor_drugs(extractor, table):
    """Each row is an antibiotic tested against the isolate (before: 'Ampicillin = 32' and the
    rest of the ruled table were the patient's results; the unruled one is a guard)."""
    extraction = extractor.extract(
        "LABORATORY DATA\nBlood culture: Escherichia coli.\n"
        f"Susceptibility - Escherichia coli (blood isolate)\n{table}"
    )
    assert extraction.observations == [] and extraction.medications == []


def test_a_grid_of_labelled_vital_signs_in_ruled_cells(extractor):
    """'| BP 148/86 | PULSE 92 irregular | ...': each cell a reading (before: the row passed for
    a header row of vital-sign labels, and nothing was read)."""
    text = (
        "| VITAL SIGNS AT TRANSFER (06:20) |  |  |  |  |\n"
        "| BP 148/86 | PULSE 92 irregular |  | RESP 18 | SPO2 94% RA |\n"
        "| WEIGHT 61.2 kg (10/29/25) |  | LAST INR 2.8 (10/30/2025) |  | LAST BM 11/02/2025 |\n"
    )
    found = {(o.loinc_code, o.value) for o in extractor.extract(text).observations}
    assert {("8867-4", 92.0), ("9279-1", 18.0), ("29463-7", 61.2)} <= found
    assert any(code == "85354-9" for code, _ in found)  # the blood pressure panel


def test_an_allergy_tables_susceptibility_column_keeps_it_an_allergy_table(extractor):
    """Guard: EMERGE's allergy table prints a 'Susceptibility' column (the patient's)."""
    text = (
        "ALLERGIES\n| Description | Code Description | Severity | Susceptibility | Status |\n"
        "| Codeine | Codeine | Mild | Very susceptible | Active |\n"
    )
    assert [a.substance for a in extractor.extract(text).allergies] == ["Codeine"]


@pytest.mark.parametrize(
    ("text", "start"),
    [
        (
            "Consultant: Dr Fiona MacLeod\nClinic date: 14/01/2026\nTyped: 19/01/2026\n",
            "2026-01-14",
        ),
        (  # guard
            "Appointment date: 02/03/2026\nSeen in the rheumatology clinic.\n",
            "2026-02-03",
        ),
        (  # the letter writes the day first: 'DOB 17/12/1972'
            "Clinic date: 05/03/2026\tSeen by: Dr Owen Hargreaves\nDOB 17/12/1972\n",
            "2026-03-05",
        ),
        (  # an emergency the letter tells of was another visit
            "Clinic date: 14/01/2026\nOn 23/08/2025 he was treated in the Emergency Department "
            "with intramuscular adrenaline.\n",
            "2026-01-14",
        ),
    ],
)
def test_a_clinic_date_dates_the_encounter(extractor, text, start):
    """A UK letter's 'Clinic date:', read day first where month first cannot be."""
    (encounter,) = extractor.extract(text).encounters
    assert (encounter.encounter_class, encounter.start_date) == ("ambulatory", start)


def test_a_tumour_marker_trend_with_a_remark_column(extractor):
    """'| Date | CEA | Context |': a reading of CEA (2039-6) per date, the remark column no test
    (before: CEA was no known test and the 'Context' column made it no table of tests)."""
    text = (
        "Tumour Marker Trend - CEA (ng/mL, ref < 3.0)\n| Date | CEA | Context |\n"
        "| 10/28/2024 | 8.4 | Pre-operative |\n| 06/27/2025 | 1.6 | End of treatment |\n"
    )
    found = sorted(
        (o.loinc_code, o.value, o.effective_date) for o in extractor.extract(text).observations
    )
    assert found == [("2039-6", 1.6, "2025-06-27"), ("2039-6", 8.4, "2024-10-28")]


def test_a_year_after_an_operations_initials_is_no_reading(extractor):
    """Guard: 's/p left CEA 2015' is a carotid endarterectomy, not a CEA of 2015 (CEA is a known
    test now)."""
    assert extractor.extract("PSH: s/p left CEA 2015, appendectomy.").observations == []


@pytest.mark.parametrize(("text", "value"), [("GAD-7: 9.", 9.0), ("PHQ-9: 6 (mild).", 6.0)])
def test_a_scores_own_digit_before_its_colon(extractor, text, value):
    """'GAD-7: 9' read as a number a scan split ('7: 9'), so no score was read."""
    (observation,) = extractor.extract(f"Discharge scores: {text}").observations
    assert (observation.value, observation.unit) == (value, "{score}")


def test_a_toxicity_resolved_after_its_grade(extractor):
    """'Neutropenia, grade 3 before cycle 4 - resolved ...' was active."""
    text = "Toxicities\nNeutropenia, grade 3 before cycle 4 - resolved with 1-week delay.\n"
    (condition,) = extractor.extract(text).conditions
    assert condition.assertion == Assertion.HISTORICAL


def test_a_table_under_an_allergies_line_that_is_no_allergy_table(extractor):
    """Read after 'Allergies: Penicillin (hives).', a pulmonary function table's rows were
    allergies ('FEV1 (L)'), as were a biopsy table's procedures ('Shave Bx'); the biopsy table's
    diagnoses are the pathology's."""
    text = (
        "Allergies: Penicillin (hives). No other drug allergies.\n"
        "Pulmonary Function Tests - 10/14/2025\n"
        "| Parameter | Pred | Pre-BD | % Pred | Post-BD |\n"
        "| FEV1 (L) | 3.02 | 1.48 | 49 | 1.63 |\n| FVC (L) | 4.05 | 3.21 | 79 | 3.38 |\n"
        "Allergies: adhesive tape - contact dermatitis.\n"
        "| Site | Procedure | Clinical Dx | Path Dx | Margins |\n"
        "| A. L cheek | Shave Bx | r/o BCC | Basal cell carcinoma, nodular type | Involved |\n"
    )
    extraction = extractor.extract(text)
    assert sorted(a.substance for a in extraction.allergies) == ["Penicillin", "adhesive tape"]
    assert [c.text for c in extraction.conditions if "Bx" in c.text] == []
    assert "Basal cell carcinoma, nodular type" in [c.text for c in extraction.conditions]


def test_a_drug_column_named_with_its_dose_and_route(extractor):
    """'| Symptom | Medication / dose / route | Frequency |': the drug is the second column
    (before: 'Breakthrough pain' was the medication)."""
    text = (
        "| PRN (AS-NEEDED) ORDERS |  |  |\n| Symptom | Medication / dose / route | Frequency |\n"
        "| Breakthrough pain | Hydromorphone 0.4 mg SC bolus | q1h PRN |\n"
        "| Anxiety/agitation | Lorazepam 0.5 mg SL | q4h PRN |\n"
    )
    assert sorted(m.text for m in extractor.extract(text).medications) == [
        "Hydromorphone",
        "Lorazepam",
    ]


def test_not_an_allergy_and_a_vaccine_to_be_given(extractor):
    text = (
        "Allergies / intolerances: Trimethoprim - contraindicated with methotrexate (not an "
        "allergy).\nPlan: Shingrix first dose recommended before biologic - to be given by GP.\n"
    )
    bundle = bundle_of_note(text)
    assert resources_of(bundle, "Immunization") == []
    assert [
        r["verificationStatus"]["coding"][0]["code"]
        for r in resources_of(bundle, "AllergyIntolerance")
    ] in ([], ["refuted"])


def test_a_uk_monitoring_table_with_units_in_superscript_and_an_unknown_column(extractor):
    """A dated panel's units in brackets, a power of ten in superscript among them; WCC and
    Creat are known names; the neutrophils column (count or percent: the lexicon leaves it
    uncoded) is left unread (before: no reading at all)."""
    text = (
        "Methotrexate monitoring bloods\n"
        "| Date | Hb (g/L) | WCC (x10\u2079/L) | Neut (x10\u2079/L) | Plt (x10\u2079/L) "
        "| Creat (\u00b5mol/L) |\n"
        "| 13/01/2026 | 125 | 5.9 | 3.4 | 271 | 71 |\n"
        "| 03/03/2026 | 123 | 7.2 | 4.6 | 312 | 73 |\n"
    )
    latest = {
        (o.name, o.value, o.unit)
        for o in extractor.extract(text).observations
        if o.effective_date == "2026-03-03"
    }
    assert latest == {
        ("Hb", 123.0, "g/L"),
        ("WCC", 7.2, "10*9/L"),
        ("Plt", 312.0, "10*9/L"),
        ("Creat", 73.0, "umol/L"),
    }


def test_a_forms_ticked_allergies_under_a_combined_title(extractor):
    """'CODE STATUS / PRECAUTIONS / ALLERGIES' is no allergy title, but the line offering NKDA as
    a choice lists allergies: before, the ticked codeine was a medication the patient takes and
    the reactions were conditions."""
    text = (
        "CODE STATUS / PRECAUTIONS / ALLERGIES\n"
        "[ ] Full code\t[X] DNR\t[ ] DNI\t[X] POLST attached\n"
        "[ ] NKDA\t[X] Codeine (nausea)\t[X] Latex (rash)\t[ ] Penicillin\t[ ] Sulfa\n"
        "Diet: consistent-carbohydrate, mechanical soft.\n"
    )
    extraction = extractor.extract(text)
    assert sorted(a.substance for a in extraction.allergies) == ["Codeine", "Latex"]
    assert extraction.medications == [] and extraction.conditions == []
