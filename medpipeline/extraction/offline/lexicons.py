"""The shipped word lists (CSV files under `extraction/lexicon/`, see its README), read once."""

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from medpipeline.extraction.offline.text import normalize_space

LEXICON_DIR = Path(__file__).parents[1] / "lexicon"


def read_lexicon(file_name: str) -> list[dict[str, str]]:
    with (LEXICON_DIR / file_name).open(newline="", encoding="utf-8") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def split_names(cell: str) -> list[str]:
    return [name.strip() for name in cell.split("|") if name.strip()]


def condition_names() -> list[tuple[str, dict[str, str]]]:
    """(name as matched, metadata) for every condition term and synonym."""
    names = []
    for row in read_lexicon("conditions.csv"):
        metadata = {"icd10_code": row["icd10_code"], "term": row["term"]}
        for name in [row["term"], *split_names(row["synonyms"])]:
            names.append((name, metadata))
    return names


def drug_names() -> list[tuple[str, dict[str, str]]]:
    """(name as matched, metadata) for every generic, brand and synonym drug name."""
    names = []
    for row in read_lexicon("drugs.csv"):
        metadata = {"generic_name": row["generic_name"]}
        all_names = [row["generic_name"], *split_names(row["brand_names"])]
        for name in all_names + split_names(row.get("synonyms", "")):
            names.append((name, metadata))
    return names


@dataclass(frozen=True)
class SigTerm:
    written: str  # the regex from the CSV
    pattern: re.Pattern[str]  # the same, as a whole word, case-insensitive
    value: str


@functools.cache
def sig_terms(kind: str) -> list[SigTerm]:
    """Medication sig vocabulary of one kind: dose_unit, route or frequency."""
    return [
        SigTerm(row["pattern"], re.compile(bounded(row["pattern"]), re.IGNORECASE), row["value"])
        for row in read_lexicon("medication_sig.csv")
        if row["kind"] == kind
    ]


@dataclass(frozen=True)
class ObservationKind:
    name: str
    loinc_code: str | None
    category: str
    default_unit: str | None
    long_name: str = ""


@functools.cache
def observation_kind_candidates() -> dict[str, list[ObservationKind]]:
    """Lower-cased alias or LOINC long common name -> the common labs or vital signs it names,
    in file order (lexicon/loinc_common.csv; 'glucose' names the mass and the molar test)."""
    kinds: dict[str, list[ObservationKind]] = {}
    for row in read_lexicon("loinc_common.csv"):
        kind = ObservationKind(
            name=row["name"],
            loinc_code=row["loinc_code"] or None,
            category=row["category"],
            default_unit=row["default_unit"] or None,
            long_name=row["loinc_long_common_name"],
        )
        for alias in split_names(row["aliases"]):
            kinds.setdefault(alias.lower(), []).append(kind)
        if kind.long_name:
            kinds.setdefault(normalize_space(kind.long_name).lower(), []).append(kind)
    return kinds


@functools.cache
def observation_aliases() -> frozenset[str]:
    """Aliases of the common labs and vital signs as the lexicon writes them ('Na', 'Hgb',
    'sodium'; not their LOINC long names)."""
    return frozenset(
        alias for row in read_lexicon("loinc_common.csv") for alias in split_names(row["aliases"])
    )


@functools.cache
def lab_units() -> list[tuple[re.Pattern[str], str, str]]:
    """(written form, UCUM code, lab|vital) for result units (lexicon/lab_units.csv)."""
    return [
        (re.compile(row["pattern"], re.IGNORECASE), row["ucum"], row["kind"])
        for row in read_lexicon("lab_units.csv")
    ]


def bounded(pattern: str) -> str:
    """Wrap a regex so it matches whole words only (periods in 'p.o.' or 'b.i.d.' allowed)."""
    return rf"(?<![\w.])(?:{pattern})(?!\w|\.\w)"
