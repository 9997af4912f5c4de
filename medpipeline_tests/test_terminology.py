"""Contract: only codes that exist in their code system pass — ICD-10-CM (simple-icd-10-cm), UCUM
(ucumvert) and LOINC (the project's table, check digit verified); anything else is None."""

import pytest

from medpipeline.extraction.offline import read_lexicon
from medpipeline.terminology import (
    icd10cm_code,
    loinc_check_digit,
    loinc_code,
    loinc_table,
    ucum_unit,
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("I10", "I10"),
        ("E78.00", "E78.00"),
        ("E7800", "E78.00"),
        (" j45.909 ", "J45.909"),
        ("J45", "J45"),
        ("E78.999", None),  # well formed, not in ICD-10-CM
        ("I10.9", None),
        ("hypertension", None),
        ("", None),
        (None, None),
    ],
)
def test_icd10cm(code: str | None, expected: str | None) -> None:
    assert icd10cm_code(code) == expected


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("mg/dL", "mg/dL"),
        ("10*3/uL", "10*3/uL"),
        ("mm[Hg]", "mm[Hg]"),
        ("m[IU]/L", "m[IU]/L"),
        ("/min", "/min"),
        ("%", "%"),
        ("x10^3/uL", None),
        ("mmHg", None),
        ("bananas", None),
        ("", None),
    ],
)
def test_ucum(unit: str, expected: str | None) -> None:
    assert ucum_unit(unit) == expected


def test_every_unit_the_offline_lexicons_emit_is_ucum() -> None:
    units = {row["ucum"] for row in read_lexicon("lab_units.csv")}
    units |= {
        row["value"] for row in read_lexicon("medication_sig.csv") if row["kind"] == "dose_unit"
    }
    units |= {
        row["default_unit"] for row in read_lexicon("loinc_common.csv") if row["default_unit"]
    }
    assert sorted(u for u in units if ucum_unit(u) is None) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [("718-7", "718-7"), ("2345-7", "2345-7"), ("718-8", None), ("12345-6", None), ("x", None)],
)
def test_loinc(code: str, expected: str | None) -> None:
    assert loinc_code(code) == expected


def test_loinc_table_codes_have_valid_check_digits() -> None:
    assert len(loinc_table()) >= 40
    for code in loinc_table():
        number, check = code.split("-")
        assert loinc_check_digit(number) == int(check), code
