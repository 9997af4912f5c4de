"""The offline provider on what a hospital writes every day: medication reconciliations, problem-
based progress notes, ED and anaesthesia notes, pharmacy consults, UK and Australian discharge
letters (2026-12-05, seventeenth session). Each case is short text of our own in the layout those
documents print; each failed on the code before its rule unless it says it is a guard."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import Assertion, MedicationStatus


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def conditions(extractor: OfflineExtractor, text: str) -> dict[str, tuple[Assertion, bool]]:
    return {c.text.lower(): (c.assertion, c.resolved) for c in extractor.extract(text).conditions}


def medications(extractor: OfflineExtractor, text: str) -> dict[str, tuple]:
    return {
        m.text.lower(): (m.status, m.dose_value, m.dose_unit, m.frequency)
        for m in extractor.extract(text).medications
        if m.assertion == Assertion.PRESENT
    }


ACTIVE = (Assertion.PRESENT, False)
RESOLVED = (Assertion.HISTORICAL, True)


@pytest.mark.parametrize(
    ("line", "drug"),
    [
        ("Norco 10-325 mg one tablet every 6 hours as needed", "norco"),
        ("Percocet 5-325 mg 1 tab q6h prn pain", "percocet"),
        ("Augmentin 875-125 mg BID x 7 days", "augmentin"),
        ("Entresto 49-51 mg BID", "entresto"),
    ],
)
def test_a_brand_combinations_strength_is_no_dose(extractor, line, drug):
    """Regression: 'Norco 10-325 mg' gave a dose of 325 mg (thirty times the opioid's); the
    drug dictionary says the brand is a combination, so the strength of its parts is no dose."""
    found = medications(extractor, f"Medications:\n  {line}\n")
    assert found[drug][1] is None


def test_a_spaced_dash_after_a_combinations_strength_starts_its_sig(extractor):
    """Guard: '160/4.5 mcg - 2 puffs' keeps its two puffs."""
    found = medications(extractor, "Medications:\n  Symbicort 160/4.5 mcg - 2 puffs BID\n")
    assert found["symbicort"][1:3] == (2.0, "{puff}")


@pytest.mark.parametrize(
    ("written", "condition"),
    [
        ("Hypokalaemia on admission, replaced", "hypokalaemia"),
        ("Hyponatraemia", "hyponatraemia"),
        ("Obstructive sleep apnoea on CPAP", "obstructive sleep apnoea"),
        ("Coeliac disease", "coeliac disease"),
        ("Hyperlipidaemia", "hyperlipidaemia"),
        ("Dyspnoea on exertion", "dyspnoea on exertion"),
    ],
)
def test_british_spellings_name_the_condition(extractor, written, condition):
    """Regression: UK and Australian letters' '-aemia', '-pnoea' and 'coeliac' matched nothing."""
    assert conditions(extractor, f"Diagnoses:\n1. {written}\n")[condition] == ACTIVE


@pytest.mark.parametrize(
    ("line", "condition", "expected"),
    [
        (
            "Community acquired pneumonia - treated, clinically resolved",
            "community acquired pneumonia",
            RESOLVED,
        ),
        ("Gout flare - settled", "gout flare", RESOLVED),
        ("C. diff colitis, has not recurred", "c. diff colitis", RESOLVED),
        ("Cellulitis - not resolved", "cellulitis", ACTIVE),  # guard
        ("Cellulitis - unresolved", "cellulitis", ACTIVE),  # guard
    ],
)
def test_a_status_after_a_problems_name(extractor, line, condition, expected):
    assert conditions(extractor, f"PROBLEMS AT DISCHARGE:\n1. {line}\n")[condition] == expected
