"""What a result is and how it is written: its kind (a lab or a vital sign, by name and unit),
its UCUM unit, flag and reference bounds, and whether a table cell plausibly names a test."""

import dataclasses
import functools
import re

from medpipeline.extraction.offline.lexicons import (
    ObservationKind,
    lab_units,
    observation_kind_candidates,
    sig_terms,
)
from medpipeline.extraction.offline.text import (
    normalize_space,
    quote_for,
)
from medpipeline.extraction.schema import (
    ObservationFact,
)

FLAG = r"HH|LL|H|L|A|N|High|Low|Abnormal|Normal|Critical"


FLAG_CODES = {"hh": "H", "ll": "L", "high": "H", "low": "L", "abnormal": "A", "normal": "N"}


FLAG_CODES |= {"critical": "A"}


RESULT_WORDS = {"negative", "positive", "borderline", "detected", "reactive", "nonreactive"}


RESULT_WORDS |= {"trace", "equivocal", "indeterminate", "present", "absent", "non-reactive"}


NAME_STOP_WORDS = {"was", "were", "is", "are", "be", "been", "not", "no", "of", "the", "and"}
# what the patient says ('Reports 100% adherence'): no test's name
NAME_STOP_WORDS |= {"reports", "reported", "states", "stated", "endorses", "describes"}


# In a results table a name may hold 'of', 'in', 'and' ('pH of Urine'), but no verb, and a name
# never ends with a joining word ('Page 1 of' 2 is not a result).
TABLE_NAME_VERBS = {"was", "were", "is", "are", "be", "been", "may", "can", "will", "should"}


TABLE_NAME_VERBS |= {"has", "have", "had", "see", "please", "call", "contact", "reported"}


JOINING_WORDS = {"of", "in", "and", "or", "the", "to", "at", "by", "for", "with", "a", "an", "-"}


MAX_TABLE_NAME_WORDS = 12


# A value aimed at, not measured: 'goal INR 2.0-3.0', 'Target INR 2.5', 'titrate to HR < 110';
# a test name that opens with such a word ('Goal LDL 70 mg/dL') names a target too.
TARGET_WORDS = r"(?:goals?|targets?|aim(?:ing)?[ \t]+for|keep|maintain|titrate[ \t]+to)[ \t]+"


TARGET_BEFORE = re.compile(rf"\b{TARGET_WORDS}(?:(?:an?|the)[ \t]+)?$", re.IGNORECASE)


TARGET_NAME = re.compile(TARGET_WORDS, re.IGNORECASE)


def alias_regex(alias: str) -> str:
    """Short aliases (Na, K, HR, BP) match as the lexicon writes them, in lower or in upper case
    only ('Na', 'na', 'NA'; not 'nA'); others ignore case."""
    words = r"[ \t]+".join(re.escape(word) for word in alias.split())
    if len(alias) <= 3:
        variants = sorted({re.escape(alias), re.escape(alias.lower()), re.escape(alias.upper())})
        if is_a_unit(alias.lower()):  # 'mg' after a number is its unit: 'Senna 8.6 mg 2 tabs',
            # 'metoprolol succinate 25 MG 24 hr tablet'
            variants = [rf"(?<!\d)(?<!\d[ \t]){variant}" for variant in variants]
        return "(?-i:" + "|".join(variants) + ")"
    return words


def is_a_unit(word: str) -> bool:
    """A result's or a dose's unit ('mg', 'g/dL')."""
    return any(pattern.fullmatch(word) for pattern, _, _ in lab_units()) or any(
        term.pattern.fullmatch(word) for term in sig_terms("dose_unit")
    )


@functools.cache
def unit_regex(kinds: tuple[str, ...]) -> str:
    patterns = [pattern.pattern for pattern, _, kind in lab_units() if kind in kinds]
    return "|".join(f"(?:{p})" for p in sorted(patterns, key=len, reverse=True))


# A power of ten printed in superscript ('x10\u2079/L'), read as the caret the units know.
SUPERSCRIPT_DIGITS = "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
SUPERSCRIPTS = str.maketrans(SUPERSCRIPT_DIGITS, "0123456789")
SUPERSCRIPT_POWER = re.compile(rf"10([{SUPERSCRIPT_DIGITS}]+)")


def ucum_unit(written: str | None) -> str | None:
    if not written:
        return None
    written = SUPERSCRIPT_POWER.sub(lambda m: "10^" + m[1].translate(SUPERSCRIPTS), written)
    for pattern, ucum, _ in lab_units():
        if pattern.fullmatch(written.strip()):
            return ucum
    return None


def interpretation(flag: str | None) -> str | None:
    if not flag:
        return None
    return FLAG_CODES.get(flag.lower(), flag.upper())


def plausible_test_name(name: str) -> bool:
    words = name.lower().replace(",", " ").split()
    return (
        0 < len(words) <= 6
        and not set(words) & NAME_STOP_WORDS
        and words[0] not in RESULT_WORDS
        and not TARGET_NAME.match(name)
    )


def plausible_table_name(name: str) -> bool:
    """A test name in a results table: a few words, no verb, not a result word, not cut off,
    no other cell of the row in it (a result, a flag, an interval's first half: 'WBC 12.8 (H)
    x10^3/uL 4.0-' is a row the grammar misread)."""
    words = name.lower().replace(",", " ").split()
    return (
        0 < len(words) <= MAX_TABLE_NAME_WORDS
        and not set(words) & TABLE_NAME_VERBS
        and words[0] not in RESULT_WORDS
        and words[-1] not in JOINING_WORDS
        and not OTHER_CELL_IN_NAME.search(name)
    )


OTHER_CELL_IN_NAME = re.compile(
    rf"(?<![\w.])\d+\.\d+(?![\w.])|\((?:{FLAG})\)|[-\u2013][ \t]*$", re.IGNORECASE
)


def float_or_none(value: str | None) -> float | None:
    return float(value) if value else None


UNIT_DIMENSIONS = {"mol": "moles", "eq": "moles", "g": "mass"}


VOLUMES = {"L", "dL", "mL"}


def unit_dimension(ucum: str | None) -> str | None:
    """'moles' for mmol/L or meq/L, 'mass' for mg/dL or g/L, else None (counts, ratios ...)."""
    numerator, _, denominator = (ucum or "").partition("/")
    if denominator not in VOLUMES:
        return None
    for base, dimension in UNIT_DIMENSIONS.items():
        if numerator.endswith(base) and len(numerator) <= len(base) + 1:
            return dimension
    return None


KIND_PROPERTIES = {"[moles/volume]": "moles", "[mass/volume]": "mass", "[presence]": "presence"}


def kind_dimension(kind: ObservationKind) -> str | None:
    """What the LOINC code measures, from its long name: moles, mass, presence, or None."""
    long_name = kind.long_name.lower()
    return next((dimension for key, dimension in KIND_PROPERTIES.items() if key in long_name), None)


def observation_kind(
    name: str, unit: str | None, qualitative: bool = False
) -> ObservationKind | None:
    """The lab or vital sign a name (alias or LOINC long name) denotes, fitting the result.

    'Glucose' in mmol/L is the molar glucose code, in mg/dL the mass one; a word result
    ('Negative') takes a [Presence] code, a number never does. A name whose codes all measure
    something else keeps its name and category but loses the code."""
    key = normalize_space(name.replace("\u200b", "")).lower()
    candidates = observation_kind_candidates().get(key)
    if not candidates:
        return None
    if qualitative:
        fitting = [kind for kind in candidates if kind_dimension(kind) in ("presence", None)]
    else:
        wanted = unit_dimension(unit)
        fitting = [
            kind
            for kind in candidates
            if kind_dimension(kind) != "presence"
            and (wanted is None or kind_dimension(kind) in (wanted, None))
        ]
    return fitting[0] if fitting else dataclasses.replace(candidates[0], loinc_code=None)


def known_observation(text: str, match: re.Match[str]) -> ObservationFact:
    written_unit = ucum_unit(match["unit"])
    kind = observation_kind(match["name"], written_unit)
    assert kind is not None  # the pattern matched one of its aliases
    is_score = match["systolic"] is not None and kind.category == "survey"  # 'MoCA 22/30'
    is_pair = match["systolic"] is not None and not is_score
    written = re.sub(r"(?<=[<>])[ \t]+", "", match["value"])  # 'Troponin T < 0.01'
    value = match["systolic"] if is_score else written.lstrip("<>").replace(",", "")
    if match["feet"]:
        value = f"{int(match['feet']) * 12 + float(match['inches']):g}"
    implied = None if is_pair else unit_implied(kind.loinc_code, float(value), bool(match["feet"]))
    unit = written_unit or kind.default_unit or implied
    specimen = SPECIMEN_BEFORE.search(text, max(0, match.start() - 24), match.start())
    name = normalize_space(match["name"])
    return ObservationFact(
        quote=quote_for(text, match.start(), match.end()),
        name=f"{specimen['specimen']} {name}" if specimen else name,
        category=kind.category,
        loinc_code=None if specimen else kind.loinc_code,  # the code is for serum or blood
        value=None if is_pair else float(value),
        value_text=normalize_space(written) if is_pair or value != written else None,
        unit=unit,
        reference_low=reference_bounds(match)[0],
        reference_high=reference_bounds(match)[1],
        interpretation=interpretation(
            match["flag"] or match["bracketed_flag"] or match["early_flag"] or match["bare_flag"]
        ),
    )


BODY_TEMPERATURE = "8310-5"


def unit_implied(loinc_code: str | None, value: float, in_feet_and_inches: bool) -> str | None:
    """The unit a value without one can only have: a height in feet and inches (5' 10") is in
    inches; a body temperature of 95-110 is in Fahrenheit, of 34-43 in Celsius."""
    if in_feet_and_inches:
        return "[in_i]"
    if loinc_code != BODY_TEMPERATURE:
        return None
    return "[degF]" if 95 <= value <= 110 else "Cel" if 34 <= value <= 43 else None


def reference_bounds(match: re.Match[str]) -> tuple[float | None, float | None]:
    """(low, high) of a reference interval cell: '3.5-5.0', '<4.5' (high), '>1.5' (low)."""
    if match["bound"] is None:
        return float_or_none(match["low"]), float_or_none(match["high"])
    bound = float(match["bound"])
    return (None, bound) if match["bound_op"] in ("<", "<=", "\u2264") else (bound, None)


SPECIMEN_BEFORE = re.compile(
    r"\b(?P<specimen>urine|urinary|CSF|stool|pleural fluid|peritoneal fluid|synovial fluid)[ \t]+$",
    re.IGNORECASE,
)
