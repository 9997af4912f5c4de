"""Immunizations: the offline provider reads vaccines from immunization lists, tables and
narrative, with what the text says of each (given today, given before on a date, declined, only
due); the mapping writes FHIR R4 Immunizations (CVX-coded, occurrence required) for doses given
or declined and none for a vaccine only due or recommended. Expected values are written by hand
from the text; CVX codes are the CDC's."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import Assertion
from medpipeline.fhir.validation import validate_bundle
from medpipeline_tests.helpers import bundle_of_note, resources_of

CVX = "http://hl7.org/fhir/sid/cvx"
GIVEN_BEFORE, GIVEN_NOW = Assertion.HISTORICAL, Assertion.PRESENT
DECLINED, DUE = Assertion.NEGATED, Assertion.HYPOTHETICAL


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Immunizations:\n- Tdap 05/12/2015\n- Influenza vaccine 10/2025\n"
            "- Hep B series complete\n",
            [
                ("Hep B", "45", GIVEN_BEFORE, None),
                ("Influenza vaccine", "88", GIVEN_BEFORE, "2025-10"),
                ("Tdap", "115", GIVEN_BEFORE, "2015-05-12"),
            ],
        ),
        (
            "Assessment and Plan:\nHealth maintenance: Shingrix dose 1 given today. "
            "Pneumococcal vaccine (PCV20) declined. Tdap due.\n",
            [
                ("PCV20", "216", DECLINED, None),
                ("Shingrix", "187", GIVEN_NOW, None),
                ("Tdap", "115", DUE, None),
            ],
        ),
        (
            "IMMUNIZATION HISTORY\n| Vaccine | Date | Status |\n"
            "| Influenza | 10/01/2025 | Completed |\n| Zoster | | Declined |\n"
            "| Pneumococcal PPSV23 | 03/03/2021 | Given |\n| RSV | | Due |\n",
            [
                ("Influenza", "88", GIVEN_BEFORE, "2025-10-01"),
                ("PPSV23", "33", GIVEN_BEFORE, "2021-03-03"),
                ("RSV", "314", DUE, None),
                ("Zoster", "188", DECLINED, None),
            ],
        ),
        (
            "She received the COVID-19 booster in 09/2024 and the flu shot today. "
            "Recommend hepatitis A vaccine before travel; she refused the yellow fever vaccine.\n",
            [
                ("COVID-19", "213", GIVEN_BEFORE, "2024-09"),
                ("flu shot", "88", GIVEN_NOW, None),
                ("hepatitis A vaccine", "85", DUE, None),
                ("yellow fever vaccine", "184", DECLINED, None),
            ],
        ),
        (  # the CDC's descriptions, as registries and C-CDA tables print them
            "Patient was given the following immunizations: influenza, seasonal, injectable, "
            "preservative free, td (adult), 5 lf tetanus toxoid, preservative free, adsorbed, "
            "hep b, adult.\n",
            [
                ("hep b, adult", "43", GIVEN_NOW, None),
                ("influenza, seasonal, injectable, preservative free", "140", GIVEN_NOW, None),
                (
                    "td (adult), 5 lf tetanus toxoid, preservative free, adsorbed",
                    "113",
                    GIVEN_NOW,
                    None,
                ),
            ],
        ),
        (  # one vaccine per row: its name column, or a later cell naming it more exactly
            "Immunizations\n| Vaccine | Code | Description | Date | Status |\n"
            "| Influenza Vaccine | CVX 135 | Influenza, high dose seasonal | 12-15-2010 "
            "| Completed |\n"
            "| MMR | | GARDASIL | 1/21/2013 | Completed |\n"
            "| Zoster Recombinant | | Given today 03/14/2025 | | |\n",
            [
                ("Influenza, high dose seasonal", "135", GIVEN_BEFORE, "2010-12-15"),
                ("MMR", "03", GIVEN_BEFORE, "2013-01-21"),
                ("Zoster Recombinant", "187", GIVEN_NOW, "2025-03-14"),
            ],
        ),
        (  # a label grid's cells, each its own vaccine; 'not due' plans nothing
            "Immunization Record Review\nMMR: 2 documented doses (1991, 1995).\t"
            "Hepatitis B: 3-dose series complete 2004.\tTdap: 08/2018 (not due).\n",
            [
                ("Hepatitis B", "45", GIVEN_BEFORE, "2004"),
                ("MMR", "03", GIVEN_BEFORE, "1991"),
                ("Tdap", "115", GIVEN_BEFORE, "2018-08"),
            ],
        ),
        (  # a heading without a colon; a decline in the sentence's next clause; not indicated
            "Vaccines Administered Today\n| Vaccine | Product / Lot |\n"
            "| Hepatitis A (dose 1 of 2) | Havrix / HA4821K |\nDeclined / Deferred\n"
            "Rabies pre-exposure prophylaxis: discussed given rural homestay with dogs; client "
            "declined due to cost.\nCholera vaccine: not indicated (low-risk itinerary).\n",
            [
                ("Cholera vaccine", "26", DECLINED, None),
                ("Havrix", "85", GIVEN_NOW, None),
                ("Rabies", "90", DECLINED, None),
            ],
        ),
        # guards: a disease's name is no vaccine outside a vaccine context
        ("Hepatitis B positive. Flu-like illness for 3 days. Influenza A positive.\n", []),
        ("Tumor is MMR-deficient. BCG instillation for bladder cancer. History of TD.\n", []),
    ],
    ids=[
        "list",
        "plan",
        "table",
        "narrative",
        "cvx-descriptions",
        "table-rows",
        "label-grid",
        "declined-deferred",
        "diseases",
        "not-vaccines",
    ],
)
def test_vaccines_and_what_the_text_says_of_them(extractor, text, expected):
    found = sorted(
        (f.text, f.cvx_code, f.assertion, f.occurrence_date)
        for f in extractor.extract(text).immunizations
    )
    assert found == expected


def test_a_vaccine_is_never_a_medication_or_its_allergy_a_dose(extractor):
    text = (
        "Allergies: influenza vaccine (Guillain-Barre syndrome)\n\n"
        "Medications administered today:\n- Fluzone High-Dose 0.7 mL IM\n"
        "- Ondansetron 4 mg PO\n"
    )
    extraction = extractor.extract(text)
    assert [m.text for m in extraction.medications] == ["Ondansetron"]
    assert [(f.text, f.assertion) for f in extraction.immunizations] == [("Fluzone", GIVEN_NOW)]
    assert [a.substance for a in extraction.allergies] == ["influenza vaccine"]


NOTE = """Riverside Family Medicine
Office Visit
Date of service: 03/14/2026

Assessment and Plan:
1. Essential hypertension - continue lisinopril 10 mg daily.
2. Health maintenance: Shingrix dose 1 given today. Pneumococcal vaccine (PCV20) declined.
Flu shot received 10/2025 at the pharmacy. Tdap due.

Immunization History
| Vaccine | Date | Status |
| Tdap | 05/12/2015 | Completed |
| Influenza | 10/01/2025 | Completed |
"""


def test_immunizations_in_the_bundle():
    """Given doses are `completed` Immunizations coded in CVX with their date (one given today
    dated by the visit, primarySource true); a declined one is `not-done`; a vaccine only due is
    none; 'Flu shot 10/2025' and the table's 'Influenza 10/01/2025' are one dose."""
    bundle = bundle_of_note(NOTE)
    assert validate_bundle(bundle) == []
    found = sorted(
        (
            r["vaccineCode"]["coding"][0]["code"],
            r["status"],
            r.get("occurrenceDateTime") or r.get("occurrenceString"),
            r.get("primarySource"),
        )
        for r in resources_of(bundle, "Immunization")
    )
    assert found == [
        ("115", "completed", "2015-05-12", False),
        ("187", "completed", "2026-03-14", True),
        ("216", "not-done", "2026-03-14", None),
        ("88", "completed", "2025-10-01", False),
    ]
    for resource in resources_of(bundle, "Immunization"):
        assert resource["vaccineCode"]["coding"][0]["system"] == CVX
        assert resource["patient"]["reference"].startswith("urn:uuid:")
    assert not any("Tdap" in str(r) for r in resources_of(bundle, "MedicationStatement"))
