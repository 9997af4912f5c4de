"""Code checks against shipped code systems: a code nobody can look up never reaches FHIR.

- ICD-10-CM: the CDC/NCHS code set shipped by the `simple-icd-10-cm` package (billable codes and
  categories; "E7800" and "E78.00" are the same code, returned in the dotted form).
- UCUM: the grammar and unit atoms of `ucumvert` (a UCUM parser); case-sensitive as UCUM is.
- LOINC: this project's table of common labs and vital signs, `extraction/lexicon/loinc_common.csv`
  (codes as published by Regenstrief, see that folder's README), each code also checked for its
  mod-10 check digit.
- CVX: the CDC's vaccine codes this project names vaccines by, `extraction/lexicon/vaccines.csv`
  (codes and short descriptions as the CDC publishes them, see that folder's README).
Every check returns the canonical code, or None for an unknown one: callers keep the text and count
the drop. No function here logs or raises with the value it was given (it can be PHI).
"""

import csv
import functools
import re
import warnings
from importlib.resources import files

__all__ = [
    "cvx_code",
    "cvx_for_vaccine_name",
    "cvx_table",
    "icd10cm_code",
    "loinc_check_digit",
    "loinc_code",
    "loinc_table",
    "ucum_unit",
]

_LOINC = re.compile(r"(\d{1,7})-(\d)")
_ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?")


@functools.cache
def _icd() -> object:
    with warnings.catch_warnings():  # the package reads its data with deprecated importlib calls
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


def icd10cm_code(code: str | None) -> str | None:
    """The code in dotted form if ICD-10-CM has it (category, subcategory or billable code)."""
    if not code:
        return None
    cleaned = code.strip().upper()
    if not _ICD10.fullmatch(cleaned):
        return None
    icd = _icd()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if not icd.is_valid_item(cleaned):
            return None
        return icd.add_dot(cleaned) if "." not in cleaned else cleaned


def icd10cm_description(code: str) -> str:
    """The ICD-10-CM description of a valid code ('O90.81': 'Anemia of the puerperium')."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _icd().get_description(code)


def described_words(name: str, code: str, shortest: int = 1) -> set[str]:
    """The words of a name (of `shortest` letters or more) that a valid ICD-10-CM code's
    description has: how well the code says what the name says."""
    words = re.compile(rf"[a-z]{{{shortest},}}")
    return set(words.findall(name.lower())) & set(words.findall(icd10cm_description(code).lower()))


def unspecified_icd10_leaf(code: str) -> str:
    """The billable code a category's own term means: its single unspecified code ('Gout flare'
    is M10, whose unspecified code is M10.9 'Gout, unspecified'); the category itself when it
    has no single unspecified code."""
    icd = _icd()
    leaf = code
    while not icd.is_leaf(leaf):
        unspecified = [c for c in icd.get_children(leaf) if "unspecified" in icd.get_description(c)]
        if len(unspecified) > 1:
            unspecified = [c for c in unspecified if "without" in icd.get_description(c)]
        if len(unspecified) != 1:
            return code
        leaf = unspecified[0]
    return leaf


@functools.lru_cache(maxsize=4096)
def unspecified_icd10_parent(code: str) -> str | None:
    """The category or subcategory an unspecified ICD-10-CM code leaves unspecified ('I50.9
    Heart failure, unspecified': I50; 'R06.00 Dyspnea, unspecified': R06.0); None for a code
    that says more. A diabetes 'without complications' (E11.9) is the code a plain 'T2DM' gets:
    it leaves its category's complications unsaid, as 'unspecified' does."""
    icd = _icd()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if not icd.is_valid_item(code):
            return None
        description = icd.get_description(code).lower()
        if "unspecified" not in description and not description.endswith(
            "diabetes mellitus without complications"
        ):
            return None
        parent = icd.get_parent(code)
        # 'J45.909 Unspecified asthma, uncomplicated' leaves all of J45 unspecified, not only
        # J45.90 'Unspecified asthma'
        while parent and "unspecified" in icd.get_description(parent).lower():
            above = icd.get_parent(parent)
            if above == parent:  # the package gives 'T14' as its own parent
                break
            parent = above
        return parent if parent and not icd.is_chapter_or_block(parent) else None


@functools.cache
def _ucum_parser():
    from ucumvert import get_ucum_parser

    return get_ucum_parser()


@functools.lru_cache(maxsize=4096)
def ucum_unit(unit: str | None) -> str | None:
    """The unit if it is a valid UCUM expression (as written: UCUM codes are case-sensitive)."""
    if not unit or not unit.strip() or len(unit) > 64:
        return None
    cleaned = unit.strip()
    try:
        _ucum_parser().parse(cleaned)
    except Exception:  # lark raises several error types; any of them means "not UCUM"
        return None
    return cleaned


def loinc_check_digit(number: str) -> int:
    """LOINC's mod-10 check digit of the part before the hyphen (loinc.org)."""
    reversed_digits = number[::-1]
    doubled = str(int(reversed_digits[0::2][::-1]) * 2)
    others = reversed_digits[1::2][::-1]
    return (10 - sum(int(digit) for digit in others + doubled) % 10) % 10


@functools.cache
def loinc_table() -> dict[str, str]:
    """LOINC code -> long common name, from the project's table of common labs and vitals."""
    path = files("medpipeline.extraction").joinpath("lexicon", "loinc_common.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            row["loinc_code"].strip(): row["loinc_long_common_name"].strip()
            for row in csv.DictReader(handle)
            if row["loinc_code"].strip()
        }


def loinc_code(code: str | None) -> str | None:
    """The code if it is well formed, its check digit is right and the project's table has it."""
    if not code:
        return None
    cleaned = code.strip()
    match = _LOINC.fullmatch(cleaned)
    if not match or loinc_check_digit(match[1]) != int(match[2]):
        return None
    return cleaned if cleaned in loinc_table() else None


@functools.cache
def _vaccine_rows() -> list[dict[str, str]]:
    path = files("medpipeline.extraction").joinpath("lexicon", "vaccines.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@functools.cache
def cvx_table() -> dict[str, str]:
    """CVX code -> the CDC's short description, for the vaccines the project names."""
    return {row["cvx"]: row["display"] for row in _vaccine_rows()}


def cvx_code(code: str | None) -> str | None:
    """The code as the CDC writes it ('3' is '03') if the project's table has it."""
    cleaned = (code or "").strip()
    if not cleaned.isdigit():
        return None
    canonical = cleaned.zfill(2)
    return canonical if canonical in cvx_table() else None


@functools.cache
def _cvx_by_name() -> dict[str, str]:
    return {
        " ".join(name.lower().split()): row["cvx"]
        for row in _vaccine_rows()
        for name in [*row["names"].split("|"), *row["context_names"].split("|")]
        if name.strip()
    }


def cvx_for_vaccine_name(name: str | None) -> str | None:
    """The CVX code of a vaccine named exactly as the table names it ('Shingrix': 187)."""
    return _cvx_by_name().get(" ".join((name or "").lower().split()))
