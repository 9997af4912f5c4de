"""The offline provider on specialty clinic notes, procedure reports and flowsheets (2026-12-06,
twenty-third session, from a fifth blind set's tuning half and the fourth set's leftovers).
Each case is short text of our own in the layout those documents print; each failed on the code
before its rule unless it says it is a guard."""

import pytest

from medpipeline.extraction.offline import OfflineExtractor


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "HEMOGLOBIN A1C TREND\n| Date | HbA1c (%) |\n| 03/12/2026 | 8.4 |\n"
            "| 09/10/2026 | 7.6 |\n",
            [("HbA1c", 7.6, "%", "2026-09-10"), ("HbA1c", 8.4, "%", "2026-03-12")],
        ),
        (
            "Renal panel\n| Collected | Creatinine (mg/dL) | Potassium |\n"
            "| 11/02/2026 | 1.4 | 4.1 mmol/L |\n| 12/01/2026 | 1.6 | 5.2 mmol/L |\n",
            [
                ("Creatinine", 1.4, "mg/dL", "2026-11-02"),
                ("Creatinine", 1.6, "mg/dL", "2026-12-01"),
                ("Potassium", 4.1, "mmol/L", "2026-11-02"),
                ("Potassium", 5.2, "mmol/L", "2026-12-01"),
            ],
        ),
        # guard: a date column beside words that name no test is no trend table
        ("| Date | Event |\n| 03/12/2026 | 8.4 |\n", []),
    ],
)
def test_a_trend_table_with_one_column_per_test(extractor, text, expected):
    """'| Date | HbA1c (%) |' above dated rows: each cell a reading of its column's test on its
    row's date (before: no result at all - the test's digit made the first row no header)."""
    found = sorted(
        (o.name, o.value, o.unit, o.effective_date) for o in extractor.extract(text).observations
    )
    assert found == expected
