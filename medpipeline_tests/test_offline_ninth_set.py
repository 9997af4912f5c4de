"""The offline provider on what a ninth blind set (2026-12-06, twenty-seventh session) and the
last session's notes showed: lists printed side by side under their statuses, sentence ends
PyRuSH missed. Each case is short text of our own in the layout such documents print; each failed
on the code before its rule unless it says it is a guard."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor
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
    text = (
        "PROBLEM LIST\n"
        "| Problem | Status |\n"
        "| Asthma | Active |\n"
        "| Pneumonia | Resolved |\n"
    )
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
    followed, and the 'No evidence of' negated the DVT."""
    conditions = [c for c in extractor.extract(text).conditions if c.text != "malignancy"]
    assert conditions
    assert all(c.assertion != Assertion.NEGATED for c in conditions)
