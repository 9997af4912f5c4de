"""Observations: labs and vital signs from results tables, labelled values and table rows.

Under a results table's heading row each row (name, numeric or word result, flag, unit,
interval such as '3.5-5.0', '<4.5' or '>1.5') is an observation, unit in UCUM (`lab_units.csv`),
LOINC code from `loinc_common.csv` by alias or LOINC long common name, fitting the unit
(mmol/L glucose is not the mg/dL code).
"""

import functools
import re

from spacy.tokens import Doc

from medpipeline.extraction.offline.demographics import DATE, parse_date
from medpipeline.extraction.offline.lexicons import (
    observation_aliases,
)
from medpipeline.extraction.offline.result_values import (
    FLAG,
    TARGET_BEFORE,
    alias_regex,
    interpretation,
    known_observation,
    observation_kind,
    plausible_table_name,
    plausible_test_name,
    reference_bounds,
    ucum_unit,
    unit_implied,
    unit_regex,
)
from medpipeline.extraction.offline.term_matcher import DRUG
from medpipeline.extraction.offline.text import (
    LABEL_LINE,
    Region,
    in_regions,
    normalize_space,
    quote_for,
)
from medpipeline.extraction.schema import (
    ObservationFact,
)

NUMBER = r"\d+(?:\.\d+)?"


THOUSANDS = r"\d{1,3},\d{3}(?![\d,]|\.\d)"  # 'platelet count 256,000', not 256


FEET_AND_INCHES = (
    r"(?P<feet>[3-7])[ \t]*(?:'|\u2019|ft\.?|feet)[ \t]*(?P<inches>\d{1,2}(?:\.\d+)?)"
    r"[ \t]*(?:\"|''|\u201d|in\.?|inches)?"
)


SEPARATOR = r"[ \t]*\|?[ \t]*"


CELL_GAP = r"(?:(?:[ \t]*\|)+[ \t]*|[ \t]+)"  # between two cells: spaces or rules (| |)


COMPARATOR = r"<=|>=|[<>\u2264\u2265]"


# A reference interval after a value: '135-145', '(3.5 - 5.0)', '[135-145]', '(ref 12.0-15.5)',
# or a bracketed bound: '(<0.04)' (high only), '[>60]' (low only).
REFERENCE_LABEL = r"(?:ref(?:erence)?(?:[ \t]+range)?[ \t]*:?[ \t]*)?"


RANGE = (
    rf"(?:[(\[]?[ \t]*{REFERENCE_LABEL}"
    rf"(?P<low>{NUMBER})[ \t]*[-\u2013\u2212][ \t]*(?P<high>{NUMBER})[ \t]*[)\]]?"
    rf"|[(\[][ \t]*{REFERENCE_LABEL}"
    rf"(?P<bound_op>{COMPARATOR})[ \t]*(?P<bound>{NUMBER})[ \t]*[)\]])"
)


# A reference interval cell: '135-180', '(3.5 - 5.0)', '<4.5' (high only) or '>1.5' (low only).
RANGE_CELL = (
    rf"\(?[ \t]*(?:(?P<low>{NUMBER})[ \t]*[-\u2013\u2212][ \t]*(?P<high>{NUMBER})"
    rf"|(?P<bound_op>{COMPARATOR})[ \t]*(?P<bound>{NUMBER}))[ \t]*\)?"
)


QUALITATIVE_RESULTS = r"Negative|Positive|Not Detected|Detected|Non-?reactive|Reactive|[<>]?1:\d+"


TABLE_RESULTS = (
    r"Negative|Positive|Not[ \t]+Detected|Detected|Non-?reactive|Reactive|Trace|Equivocal"
    r"|Indeterminate|Borderline|Present|Absent|[<>]?1:\d+"
    # a urinalysis' appearance and colour
    r"|Clear|Cloudy|Hazy|Turbid|(?:Pale[ \t]+|Dark[ \t]+)?Yellow|Straw|Amber|Colou?rless"
)


REFERENCE_WORDS = r"Negative|Not[ \t]+Detected|Non-?reactive|Absent"


# A unit the lexicon does not know, as a table writes it: a token with a slash and a letter.
UNKNOWN_UNIT = r"(?=[^\s|]*[A-Za-z%])[^\s|/]*/[^\s|]+"


MAX_TABLE_LINES = 200


# The heading row of a results table: a test column, a result column and a units, flag or
# reference column ('TESTS RESULT FLAG UNITS REFERENCE INTERVAL LAB', 'Test | Result | Units').
TABLE_HEADER = re.compile(
    r"^[ \t]*\|?[ \t]*(?:tests?|test[ \t]+names?|analytes?|components?|parameters?"
    r"|investigations?|examinations?|determinations?)\b"
    r"(?=[^\n]*\b(?:results?|values?)\b)"
    r"(?=[^\n]*\b(?:units?|flags?|reference|ranges?|intervals?|normal)\b)[^\n\d:]*$",
    re.IGNORECASE | re.MULTILINE,
)


REFERENCE_LINE = re.compile(
    r"[ \t]*(?:Negative|Borderline|Positive|Equivocal|Non-?reactive|Reactive|Indeterminate)"
    rf"[ \t]*(?:{COMPARATOR})?[ \t]*(?:1:\d+|{NUMBER})?[ \t]*$",
    re.IGNORECASE,
)


# a measure of something else than the patient's body: 'Fundal height 28 cm', 'fetal heart rate
# 140', 'birth weight 3.2 kg' (not today's weight); or a weight not measured today: 'Dry weight
# 76.0 kg' (a dialysis target), 'ideal body weight', 'usual weight'
NOT_THE_PATIENTS_BODY = "".join(
    rf"(?<!{word}[ \t])"
    for word in ("fundal", "fetal", "uterine", "birth", "dry", "ideal", "ideal body", "usual")
    # a value of another time: 'Pre-op weight 132 kg', 'baseline Cr 1.6', 'Prior PSA 2.9'
    + ("pre-op", "preop", "previous", "prior", "baseline", "pre-pregnancy")
)


# When a labelled value was measured, between its name and the value ('INR today: 3.6').
WHEN_MEASURED = (
    r"(?:today|now|this[ \t]+(?:morning|am|visit)|on[ \t]+(?:admission|arrival)|at[ \t]+discharge"
    r"|at[ \t]+(?:check-?in|triage|arrival|intake)"  # 'Blood pressure at check-in 142/84 mmHg'
    r"|peaked[ \t]+at)"  # 'Troponin peaked at 4.2 ng/mL'
    # 'INR today (POC): 1.8'
    r"(?:[ \t]*\((?:POC|point[ \t]+of[ \t]+care|fingerstick|venous|arterial)\))?"
)

# The patient's position when a vital sign was taken, between its label and the value.
POSITION = r"(?:supine|sitting|seated|standing|lying)"


def is_a_target(text: str, start: int) -> bool:
    return TARGET_BEFORE.search(text, max(0, start - 30), start) is not None


# A bound a plan acts on, not a measurement: 'Transfuse if Hgb < 6.0', 'metformin held until Cr
# <1.5', 'If ALT > 3x ULN, hold methotrexate'; or when to test again ('Recheck TSH 6 wks').
CONDITION_BEFORE = re.compile(
    r"\b(?:if|until|unless|when|once|prn|for|given)\b[^.;\n]{0,30}$"  # 'given eGFR < 20'
    # an instruction's reason to act: 'Return to ED for vomiting, glucose > 300', 'Call for
    # blood glucose < 70', 'Notify MD for: blood glucose > 350', its list wrapped after a comma
    # ('Notify MD for ... SBP > 160 or < 90,\n  HR > 110 or < 50, blood glucose > 350')
    r"|\b(?:return|call|notify|contact|page|report)\b(?:[^.;\n]|,[ \t]*\n){0,160}$"
    # a rule's bounds: '(threshold Hgb < 7)', 'Treatment parameters met (ANC > 1.0, Plt > 100)'
    r"|\b(?:thresholds?|parameters?|criteria|cut-?offs?|triggers?)\b(?:[^.;\n]|\.\d){0,40}$",
    re.IGNORECASE,
)


TIMES_NORMAL = re.compile(r"[ \t]*(?:x|times)[ \t]*(?:ULN|upper[ \t]+limit|normal)\b", re.I)


# A time after the number: when to test again, not a result ('Recheck TSH 6 wks').
TIME_AFTER = re.compile(
    r"[ \t]*(?:-[ \t]*\d+[ \t]*)?(?:wks?|weeks?|months?|mos?|days?|yrs?|years?)\b", re.IGNORECASE
)


def is_a_threshold(text: str, match: re.Match[str]) -> bool:
    return bool(
        TIMES_NORMAL.match(text, match.end("value"))
        or (match["unit"] is None and TIME_AFTER.match(text, match.end("value")))
        or (
            match["value"][0] in "<>"
            and CONDITION_BEFORE.search(text, max(0, match.start() - 170), match.start())
        )
    )


def is_a_score_of(match: re.Match[str]) -> bool:
    """'MoCA 22/30': a rating scale's score and its maximum."""
    kind = observation_kind(match["name"], None)
    return kind is not None and kind.category == "survey"


# Units of an amount, not of a concentration: a laboratory test is never reported in them.
AMOUNT_UNITS = {"g", "mg", "ug", "kg", "L", "mL", "dL"}


def is_an_amount(match: re.Match[str]) -> bool:
    kind = observation_kind(match["name"], None)
    return (
        ucum_unit(match["unit"]) in AMOUNT_UNITS
        and kind is not None
        and kind.category == "laboratory"
    )


@functools.cache
def known_observation_pattern() -> re.Pattern[str]:
    aliases = sorted(observation_aliases(), key=len, reverse=True)
    names = "|".join(alias_regex(alias) for alias in aliases)
    units = unit_regex(("lab", "vital"))
    return re.compile(
        # not the end of a compound name: 'DAS28-CRP' is a score, not a CRP
        rf"(?<![\w/])(?<!\w-){NOT_THE_PATIENTS_BODY}(?P<name>{names})(?![\w/])"
        rf"(?:[ \t]+{WHEN_MEASURED})?"  # 'INR today: 3.6'
        # a dot leader too: 'PHQ-9 ......... 14'
        r"[ \t]*(?:[:=|]|\.{3,}|\u2026+|\bis\b|\bwas\b|\bof\b)?[ \t]*\n?[ \t]*\|?[ \t]*"
        rf"(?:{POSITION}[ \t]+)?"  # 'Orthostatic BP: supine 148/80 mmHg'
        r"(?!\d{1,2}[.)][ \t]+[A-Za-z])"  # not the next item's number: '7. High blood pressure\n8.'
        rf"(?P<value>(?P<systolic>\d{{2,3}})[ \t]*/[ \t]*(?P<diastolic>\d{{2,3}})"
        # not a range of values: '150-180', 'the 150s'
        rf"|{FEET_AND_INCHES}|(?:[<>][ \t]?)?(?:{THOUSANDS}|{NUMBER}))"
        r"(?![+\d]|\.\d|s\b|[ \t]*[-\u2013][ \t]*\d)"
        rf"(?:{SEPARATOR}\((?P<early_flag>{FLAG})\)"  # 'Na 131 (L) [135-145]'
        r"|[ \t]+(?P<bare_flag>HH|LL|H|L)(?=[ \t]+[^\s\d]))?"  # 'Glucose 118 H mg/dL 65-99'
        # (the unit may open the next line: 'calcium 9.1\nmg/dL', a wrapped sentence)
        rf"(?:(?:{SEPARATOR}|[ \t]*\n[ \t]*)(?P<unit>{units})(?![A-Za-z0-9]))?"
        rf"(?:{SEPARATOR}{RANGE})?"
        rf"(?:{SEPARATOR}(?P<flag>{FLAG})(?![\w])|[ \t]*\((?P<bracketed_flag>{FLAG})\))?",
        re.IGNORECASE,
    )


@functools.cache
def lab_row_pattern(in_table: bool) -> re.Pattern[str]:
    """One line of a results table, as pdfplumber writes a row: its cells separated by spaces
    (or '|'): name, result, [flag], unit, [reference interval], [flag], [performing-lab code];
    a flag may be bracketed ('12.8 (H)'), the unit may follow the interval ('135 - 145 mmol/L').

    Anywhere (`in_table` False) the result must be a number and the unit one the lexicon knows
    as a lab unit. Under a table's heading row (`in_table`) the unit may be missing or unknown,
    the result may be a word ('Negative', 'Trace', '1:160') and a word may be the interval."""
    known = unit_regex(("lab",))
    if in_table:
        name = r"(?P<name>[A-Za-z][^\n|:]{0,119}?)[ \t]*\|?[ \t]*"
        result = (
            rf"(?P<value>(?:(?:{COMPARATOR})[ \t]?)?(?:{THOUSANDS}|{NUMBER})"
            rf"|(?P<word>(?i:{TABLE_RESULTS})))"
            r"(?P<attached_flag>HH|LL|H|L)?"  # '5.6H'
        )
        unit = rf"(?:{CELL_GAP}(?P<unit>(?i:{known})|{UNKNOWN_UNIT})(?!\S))?"
        interval = (
            rf"(?:{CELL_GAP}(?:{RANGE_CELL}|(?P<ref_word>(?i:{REFERENCE_WORDS})))"
            rf"(?:[ \t]+(?P<range_unit>(?i:{known})|{UNKNOWN_UNIT})(?!\S))?)?"
        )
    else:
        # '25-OH vitamin D' starts with the carbon its hydroxyl is on
        # (not a range's first half: 'glucose 142-188 mg/dL'; not across a sentence's end: 'HIV
        # nonreactive. Hep B surface Ab <3.1 mIU/mL')
        name = (
            r"(?P<name>(?:\d{1,2}-)?[A-Z](?:(?!\.[ \t])[A-Za-z0-9 \t,()'/+.#\[\]-]){1,80}?)(?<!-)"
            r"[ \t]*(?:[:|]|[ \t]-(?=[ \t]))?[ \t]*"  # 'Creatinine - 1.5 mg/dL'
        )
        result = rf"(?<![\d.,-])(?P<value>[<>]?(?:{THOUSANDS}|{NUMBER}))"
        unit = rf"{SEPARATOR}(?P<unit>(?i:{known}))(?![A-Za-z0-9])"
        interval = rf"(?:{SEPARATOR}{RANGE_CELL})?"
    flag = rf"(?:{CELL_GAP}[(*]?(?P<flag>{FLAG})[)*]?(?!\S))?"  # 'H', '(H)', '*H'
    late_flag = rf"(?:{CELL_GAP}[(*]?(?P<late_flag>{FLAG})[)*]?(?!\S))?"
    # a performing lab's code ('01', Quest's 'EZ') and the date the specimen was collected
    lab_code = rf"(?:{CELL_GAP}(?P<lab_code>\d{{2}}|[A-Z]{{2}}))?"
    lab_code += rf"(?:{CELL_GAP}(?P<row_date>{DATE})(?:[ \t]+\d{{1,2}}:\d{{2}})?)?"
    result_end = r"(?!\S)" if in_table else ""
    # a line of a note may end with a remark on the value and a full stop ('Tacrolimus trough
    # 7.9 ng/mL (goal 6-8 ng/mL).', 'Prolactin 14 ng/mL.')
    remark = "" if in_table else r"(?:[ \t]*\([^()\n]{1,80}\))?[ \t]*[.;]?"
    cell_end = r"(?!\S)" if in_table else r"(?![^\s.;])"
    row_start = "^" if in_table else r"(?:^|(?<=[.;][ \t]))"  # a note's sentence is a row too
    return re.compile(
        rf"{row_start}[ \t]*\|?[ \t]*{name}{result}{result_end}{flag}{unit}"
        rf"{interval}{cell_end}{late_flag}{lab_code}{remark}(?:[ \t]*\|)*[ \t]*$",
        re.MULTILINE,
    )


# A line naming a test and its word result ('HIV screen Nonreactive'), and each pair of a label
# grid's line, the result in the next cell ('Urine Protein<tab>Negative<tab>Urine Glucose<tab>
# Negative' is two results, not one named 'Urine Protein Negative Urine Glucose'; 'Pattern<tab>
# Antigen Detected<tab>...' is a chart's heading).
QUALITATIVE_NAME = r"(?P<name>[A-Z][A-Za-z0-9 ,()'/+-]{1,40}?)"
QUALITATIVE_ROW = re.compile(
    rf"^[ \t]*{QUALITATIVE_NAME}[ \t]+(?P<result>"
    + QUALITATIVE_RESULTS
    + r")(?:[ \t]+(?P<flag>High|Low|Abnormal|H|L|A))?(?:[ \t]+\d{1,2})?[ \t]*$",
    re.MULTILINE,
)
QUALITATIVE_PAIR = re.compile(
    rf"(?:^|\t)[ \t]*{QUALITATIVE_NAME}[ \t]*\t[ \t]*(?P<result>{QUALITATIVE_RESULTS})"
    r"(?:[ \t]+(?P<flag>High|Low|Abnormal|H|L|A))?[ \t]*(?=\t|$)",
    re.MULTILINE,
)


@functools.cache
def known_qualitative_pattern() -> re.Pattern[str]:
    """A test the lexicon knows and its word result in a sentence ('Rapid strep: positive',
    'SARS-CoV-2 PCR: negative', 'urine hCG negative today')."""
    aliases = sorted(observation_aliases(), key=len, reverse=True)
    names = "|".join(alias_regex(alias) for alias in aliases)
    return re.compile(
        rf"(?<![\w/])(?<!\w-)(?P<name>{names})(?![\w/])"
        r"[ \t]*(?:[:=]|\bwas\b|\bis\b)?[ \t]*\n?[ \t]*"
        rf"(?P<result>{QUALITATIVE_RESULTS})\b(?P<flag>)",
        re.IGNORECASE,
    )


# '| Test | Date | Result |' printed without bars: 'Platelets   03/11/2025   241 K/uL'.
DATE_AFTER_THE_NAME = re.compile(r"[ \t]+(?P<date>\d{1,2}/\d{1,2}/\d{2,4})$")


def table_row_observation(text: str, match: re.Match[str]) -> ObservationFact:
    """An observation from a results-table row (lab_row_pattern)."""
    groups = match.groupdict()
    name = normalize_space(match["name"])
    written_date = groups.get("row_date")
    if dated := DATE_AFTER_THE_NAME.search(name):  # a Date column between test and result
        name, written_date = name[: dated.start()], written_date or dated["date"]
    written_unit = groups.get("unit") or groups.get("range_unit")
    unit = ucum_unit(written_unit) or (written_unit or None)  # an unknown unit stays as written
    word = groups.get("word")
    kind = observation_kind(name, unit, qualitative=word is not None)
    written = normalize_space(match["value"])
    number = None if word else float(written.lstrip("<>=\u2264\u2265 \t").replace(",", ""))
    value_text = written if word or not written[0].isdigit() else None  # '<1' keeps '<'
    low, high = reference_bounds(match)
    reference_text = groups.get("ref_word") or (
        qualitative_reference(text, match.end()) if word else None
    )
    return ObservationFact(
        quote=quote_for(text, match.start("name"), match.end()),
        name=name,
        category=kind.category if kind else "laboratory",
        loinc_code=kind.loinc_code if kind else None,
        value=number,
        value_text=value_text,
        unit=unit or (kind.default_unit if kind and number is not None else None),
        reference_low=low,
        reference_high=high,
        reference_text=normalize_space(reference_text) if reference_text else None,
        interpretation=interpretation(
            match["flag"] or groups.get("late_flag") or groups.get("attached_flag")
        ),
        effective_date=parse_date(written_date) if written_date else None,
    )


QUALITATIVE_RANGE_LINE = re.compile(
    r"\n[ \t]*(?P<range>(?:Negative|Borderline|Positive|Equivocal|Non-?reactive|Reactive)"
    r"[ \t]+[<>]?1:\d+)[ \t]*(?=\n|$)",
    re.IGNORECASE,
)


def qualitative_reference(text: str, end: int) -> str | None:
    """Range lines under a qualitative result ('Negative <1:80' / 'Positive >1:80'), joined."""
    ranges = []
    while found := QUALITATIVE_RANGE_LINE.match(text, end):
        ranges.append(normalize_space(found["range"]))
        end = found.end()
    return "; ".join(ranges) or None


def qualitative_observation(text: str, match: re.Match[str]) -> ObservationFact:
    name = normalize_space(match["name"])
    kind = observation_kind(name, None, qualitative=True)
    return ObservationFact(
        quote=quote_for(text, match.start("name"), match.end()),
        name=name,
        loinc_code=kind.loinc_code if kind else None,
        value_text=match["result"],
        interpretation=interpretation(match["flag"]),
        reference_text=qualitative_reference(text, match.end()),
    )


def is_name_line(line: str) -> bool:
    """A line of a results table holding a name only: a panel ('Lipid Panel') or a test whose
    results follow on the next lines."""
    stripped = line.strip(" \t|")
    return bool(stripped[:1].isalpha()) and ":" not in stripped and plausible_table_name(stripped)


def table_rows(text: str) -> list[re.Match[str]]:
    """Rows of the results tables: the lines under a table heading row (TABLE_HEADER) read by
    the table grammar, up to a blank line or a line that is neither a row, a name, nor a
    reference line ('Negative <1:80') - a 'Note:' or a footer ends the table."""
    pattern = lab_row_pattern(in_table=True)
    rows: dict[int, re.Match[str]] = {}
    for header in TABLE_HEADER.finditer(text):
        position = header.end() + 1
        for _ in range(MAX_TABLE_LINES):
            if position >= len(text):
                break
            line_end = text.find("\n", position)
            line_end = len(text) if line_end == -1 else line_end
            line = text[position:line_end]
            match = pattern.match(text, position, line_end)
            if match and plausible_table_name(match["name"]):
                rows[match.start()] = match
            elif not line.strip() or not (REFERENCE_LINE.fullmatch(line) or is_name_line(line)):
                break
            position = line_end + 1
    return [rows[start] for start in sorted(rows)]


def lab_row_regions(text: str) -> list[Region]:
    """Lines read as lab table rows: a drug name there ('Vitamin B12 350 pg/mL') is a test."""
    regions = [(match.start(), match.end()) for match in table_rows(text)]
    return regions + [
        (match.start(), match.end())
        for match in lab_row_pattern(in_table=False).finditer(text)
        if plausible_test_name(match["name"])
    ]


PART_OF_A_UNIT = re.compile(r"\bof[ \t]+(?:total[ \t]+)?$", re.IGNORECASE)


# A label dating the results after it ('LABS (09/29/2025):', 'Labs drawn 09/29/2025:',
# 'Collected 09/30/2024:'): they run to a blank line or the next label line.
DATED_RESULTS_LABEL = re.compile(
    rf"(?im)^[ \t]*(?:(?:admission|discharge|recent|outside|pertinent)[ \t]+)?"
    rf"(?:labs?|laboratory(?:[ \t]+(?:results|data))?|results|(?:specimen[ \t]+)?collected)"
    rf"(?:[ \t]+(?:drawn|collected|from|of|on))*"
    # who sent them ('Recent labs from PCP (04/22/2024):')
    r"(?:[ \t]+(?:from|per|by)[ \t]+(?:the[ \t]+)?[A-Za-z.'-]+(?:[ \t]+[A-Za-z.'-]+)?)?"
    rf"[ \t]*\(?[ \t]*(?:(?:drawn|collected|on)[ \t]+)?(?P<date>{DATE})[ \t]*\)?[ \t]*(?::|$)"
    # 'Collected: 02/11/2024 07:42', 'Date collected: 10/14/2025'
    rf"|^[ \t]*(?:date[ \t]+)?(?:collected|drawn)[ \t]*:[ \t]*(?P<collected>{DATE})[^\n]*$"
)


def dated_result_regions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, ISO date) of the results a dated label introduces."""
    regions = []
    for label in DATED_RESULTS_LABEL.finditer(text):
        date = parse_date(label["date"] or label["collected"])
        if date is None:
            continue
        end, position = len(text), label.end()
        for line in re.finditer(r"\n([^\n]*)", text[position:]):
            if not line.group(1).strip() or LABEL_LINE.match(line.group(1)):
                end = position + line.start()
                break
        regions.append((label.end(), end, date))
    return regions


def dated(
    fact: ObservationFact, start: int, regions: list[tuple[int, int, str]]
) -> ObservationFact:
    """The fact with the date of the dated label its results follow, if any."""
    date = next((date for begin, end, date in regions if begin <= start < end), None)
    if date is None or fact.effective_date:
        return fact
    return fact.model_copy(update={"effective_date": date})


def observation_facts(doc: Doc, skip_regions: list[Region]) -> list[ObservationFact]:
    """Observations outside the tables read by `table_observations`: results tables under a
    heading row the table finder did not see, labelled values ('BP 120/80', 'Sodium 140 mmol/L'),
    dated by a label before them ('Labs (09/29/2025):')."""
    regions = dated_result_regions(doc.text)
    return [dated(fact, start, regions) for fact, start in located_observations(doc, skip_regions)]


# A number a scan split ('Temp 38. 6 C', 'creatinine 0. 9', 'Hgb 9:8', 'NT-proBNP 1 240 pg/mL'):
# its first part is no value, the whole of it a guess; no result is read.
SPLIT_AFTER = re.compile(r"[.:][ \t]?\d|[ \t]\d{3}(?![\d.,/:-])(?![ \t]*[-\u2013])")


# (not a name's own digit before its colon: 'SpO2: 96%', 'CO2: 24', 'FEV1: 2.1 L', 'GAD-7: 9')
SPLIT_BEFORE = re.compile(r"(?:(?<![A-Za-z])(?<![A-Za-z]-)\d[.:][ \t]?|(?<![\w.,-])\d{1,3}[ \t])$")


def is_a_split_number(text: str, start: int, end: int, thousands: bool) -> bool:
    """The value text[start:end] is part of a number split by a space or a misread point;
    `thousands`: a value of three digits may be the thousands of a number split before it."""
    if SPLIT_AFTER.match(text, end) and re.fullmatch(r"\d{1,3}", text[start:end]):
        return True
    before = SPLIT_BEFORE.search(text, max(0, start - 4), start)
    return before is not None and (before.group().rstrip()[-1] in ".:" or thousands)


# A result followed by later ones. An arrow points to the current value ('Cr 142 -> 88', 'Na
# 129 \u2192 136'); a row of values under a line of as many dates ('Labs:   9/16   9/17   9/18' over
# 'Potassium   5.4   4.6   4.1   mmol/L') is a trend whose newest date's column is the result.
# The first value, the oldest, was reported as the patient's current result.
ARROW_TO = re.compile(rf"[ \t]*(?:-+>|\u2192|=>)[ \t]*(?P<value>{NUMBER})(?!\d|\.\d)")


TREND_VALUES = re.compile(rf"(?:[ \t]+{NUMBER}(?![\w./:-]))+")


TREND_UNIT = re.compile(r"[ \t]+(?P<unit>\S+)")


HEADER_DATE = re.compile(
    r"(?<![\d/])(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/(?P<year>\d{2,4}))?(?![\d/])"
)


MAX_TREND_HEADER_LINES = 20


def trend_dates(text: str, row_start: int) -> list[re.Match[str]]:
    """The dates of the line heading the row's block: the nearest line above, before a blank
    line, that holds two or more dates and no other number."""
    end = text.rfind("\n", 0, row_start)
    for _ in range(MAX_TREND_HEADER_LINES):
        if end <= 0:
            return []
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end]
        if not line.strip():
            return []
        dates = list(HEADER_DATE.finditer(line))
        if len(dates) >= 2 and not re.search(r"\d", HEADER_DATE.sub("", line)):
            return dates
        end = start - 1
    return []


def latest_of_a_trend(
    text: str, fact: ObservationFact, row_start: int, value_end: int
) -> ObservationFact:
    """The fact with its trend's current value."""
    if (arrow := ARROW_TO.match(text, value_end)) is not None:
        while (later := ARROW_TO.match(text, arrow.end())) is not None:
            arrow = later
        return fact.model_copy(
            update={
                "value": float(arrow["value"]),
                "value_text": None,
                "quote": quote_for(text, row_start, arrow.end()),
            }
        )
    more = TREND_VALUES.match(text, value_end)
    if more is None or fact.value is None:
        return fact
    values = [fact.value, *(float(v) for v in more.group().split())]
    dates = trend_dates(text, row_start)
    if len(dates) != len(values):
        return fact  # a result with its range's bounds in columns ('WBC  7.2  4.0  11.0')
    order = [(int(d["year"] or 0), int(d["month"]), int(d["day"])) for d in dates]
    newest = order.index(max(order))
    unit = TREND_UNIT.match(text, more.end())
    written_unit = ucum_unit(unit["unit"]) if unit else None
    year = dates[newest]["year"]
    return fact.model_copy(
        update={
            "value": values[newest],
            "value_text": None,
            "unit": written_unit or fact.unit,
            "effective_date": parse_date(dates[newest].group()) if year else None,
            "quote": quote_for(text, row_start, unit.end() if unit else more.end()),
        }
    )


# A line giving a fluid's make-up ('Dialysate: K 2.0 / Ca 2.5 / Na 138 / HCO3 35  Temp 36.5 C',
# 'TPN: dextrose 20%, Na 77 mEq/L'): the bath's or the bag's, not the patient's values.
FLUID_LINE = re.compile(
    r"^[ \t]*(?:dialysate|(?:dialysis[ \t]+)?bath|replacement[ \t]+fluid|CRRT[ \t]+fluid|TPN"
    r"|(?:total[ \t]+)?parenteral[ \t]+nutrition|PN[ \t]+formula)\b[^\n]*",
    re.IGNORECASE | re.MULTILINE,
)


def located_observations(doc: Doc, skip_regions: list[Region]) -> list[tuple[ObservationFact, int]]:
    text = doc.text
    skip_regions = skip_regions + [line.span() for line in FLUID_LINE.finditer(text)]
    drug_regions = [(e.start_char, e.end_char) for e in doc.ents if e.label_ == DRUG]
    drug_regions += skip_regions
    drug_ends = {e.end_char for e in doc.ents if e.label_ == DRUG}
    facts: list[tuple[ObservationFact, int]] = []
    taken: list[Region] = list(skip_regions)

    def add(fact: ObservationFact, match: re.Match[str]) -> None:
        facts.append(
            (latest_of_a_trend(text, fact, match.start(), match.end("value")), match.start())
        )

    for match in table_rows(text):
        if in_regions(match.start(), skip_regions):
            continue
        add(table_row_observation(text, match), match)
        taken.append((match.start(), match.end()))
    rows = list(taken)
    for match in known_observation_pattern().finditer(text):
        if (
            match["systolic"]
            and normalize_space(match["name"]).lower() not in BLOOD_PRESSURE
            and not is_a_score_of(match)
        ):
            continue
        if in_regions(match.start(), drug_regions) or in_regions(match.start(), rows):
            continue
        if len(text[: match.start()].rstrip(" \t")) in drug_ends:
            continue  # 'Montelukast Sodium 5 MG': a drug's salt, not a sodium result
        if match["unit"] is None and POSTAL_OR_ID.fullmatch(match["value"]):
            continue  # 'Madison, CA 95653': an address, not calcium
        if match["unit"] is None and YEAR_AFTER_INITIALS.fullmatch(
            text, match.start(), match.end()
        ):
            continue
        if match["value"][0] in "<>" and is_vital_sign(match):
            continue  # 'titrate to HR < 110', 'SBP <180': a target; a measured vital is a number
        if is_a_target(text, match.start()) or is_a_threshold(text, match):
            continue
        if PART_OF_A_UNIT.search(text, max(0, match.start() - 12), match.start()):
            continue  # 'Hemoglobin A1c 8.4 % of total Hgb <5.7': the unit's and range's words
        if not match["systolic"] and is_a_split_number(text, *match.span("value"), False):
            continue
        if is_an_amount(match):
            continue  # 'albumin 25 g given', '4.5 L removed': a dose or a volume, no result
        add(known_observation(text, match), match)
        taken.append((match.start(), match.end()))
    for match in one_letter_vitals(text):
        if not in_regions(match.start(), taken) and not in_regions(match.start(), drug_regions):
            facts.append((one_letter_vital(text, match), match.start()))
            taken.append((match.start(), match.end()))
    for match in POSITIONED_PRESSURE.finditer(text):
        if not in_regions(match.start(), taken) and not in_regions(match.start(), drug_regions):
            facts.append((positioned_pressure(text, match), match.start()))
            taken.append((match.start(), match.end()))
    for match in lab_row_pattern(in_table=False).finditer(text):
        if is_a_split_number(text, *match.span("value"), len(match["value"]) == 3):
            continue
        if in_regions(match.start("name"), taken):
            continue  # the row read already, its name and value ('WBC 7.4 10A3/uL' from a scan)
        if plausible_test_name(match["name"]) and not in_regions(match.start("value"), taken):
            add(table_row_observation(text, match), match)
    for match in known_qualitative_pattern().finditer(text):
        if not in_regions(match.start(), taken) and not in_regions(match.start(), drug_regions):
            facts.append((qualitative_observation(text, match), match.start()))
            taken.append((match.start(), match.end()))
    pairs = [
        m for m in QUALITATIVE_PAIR.finditer(text) if not QUALITATIVE_ROW.match(text, m.start())
    ]
    for match in [*QUALITATIVE_ROW.finditer(text), *pairs]:
        if plausible_test_name(match["name"]) and not in_regions(match.start("name"), rows):
            facts.append((qualitative_observation(text, match), match.start()))
    return facts


def is_vital_sign(match: re.Match[str]) -> bool:
    kind = observation_kind(match["name"], ucum_unit(match["unit"]))
    return kind is not None and kind.category == "vital-signs"


BLOOD_PRESSURE = {"blood pressure", "bp", "b/p"}


# A line of vital signs: it reports a blood pressure ('BP 128/76') or is labelled as vitals.
VITALS_LINE = re.compile(
    r"^(?=[^\n]*(?:\b(?:BP|B/P|blood[ \t]+pressure)[ \t]*:?[ \t]*\d{2,3}[ \t]*/[ \t]*\d{2,3}"
    r"|\b(?-i:HR|RR|SpO2)[ \t]*:?[ \t]*\d{2,3}\b"  # 'PE: T 101.2 F, P 96, RR 18'
    r"|^[ \t]*(?:vitals?|vital[ \t]+signs|VS)\b))[^\n]+",
    re.IGNORECASE | re.MULTILINE,
)


# On such a line, the one-letter labels of temperature, pulse and respirations ('T 37.2 C, P 88,
# R 16'; 'T 98.6 F  P 72  R 18'), upper case only: elsewhere a lone letter is no vital sign.
ONE_LETTER_VITAL = re.compile(
    r"(?<![\w/.])(?P<letter>[TPR])[ \t]*:?[ \t]*(?P<value>\d{1,3}(?:\.\d)?)"
    r"(?:[ \t]*(?:\u00b0|deg)?[ \t]*(?P<scale>[CF])(?![A-Za-z]))?(?![\d.]*[\w/%])"
)


ONE_LETTER_VITALS = {"T": "temperature", "P": "pulse", "R": "respiratory rate"}


PLAUSIBLE_VITAL = {"T": (34.0, 110.0), "P": (20.0, 250.0), "R": (4.0, 70.0)}


def one_letter_vitals(text: str) -> list[re.Match[str]]:
    """Temperature, pulse and respirations written with one letter on a line of vital signs,
    with a value a living patient can have."""
    found = []
    for line in VITALS_LINE.finditer(text):
        for match in ONE_LETTER_VITAL.finditer(text, line.start(), line.end()):
            low, high = PLAUSIBLE_VITAL[match["letter"]]
            if low <= float(match["value"]) <= high:
                found.append(match)
    return found


def one_letter_vital(text: str, match: re.Match[str]) -> ObservationFact:
    kind = observation_kind(ONE_LETTER_VITALS[match["letter"]], None)
    assert kind is not None  # the lexicon names all three
    value = float(match["value"])
    scale = ucum_unit(match["scale"])  # the lexicon's units: 'C' is Cel, 'F' [degF]
    return ObservationFact(
        quote=quote_for(text, match.start(), match.end()),
        name=ONE_LETTER_VITALS[match["letter"]].capitalize(),
        category=kind.category,
        loinc_code=kind.loinc_code,
        value=value,
        unit=scale or kind.default_unit or unit_implied(kind.loinc_code, value, False),
    )


# A blood pressure named by the position it was taken in, its label said once for an orthostatic
# pair ('Orthostatic BP: supine 148/80 mmHg, HR 68; standing at 3 min 126/72 mmHg').
POSITIONED_PRESSURE = re.compile(
    rf"\b(?P<position>{POSITION})(?:[ \t]+(?:at|after)[ \t]+\d+[ \t]*min(?:utes?)?)?"
    r"[ \t]*:?[ \t]*"
    r"(?P<value>\d{2,3}[ \t]*/[ \t]*\d{2,3})[ \t]*mm[ \t]*Hg\b",
    re.IGNORECASE,
)


def positioned_pressure(text: str, match: re.Match[str]) -> ObservationFact:
    kind = observation_kind("blood pressure", None)
    assert kind is not None  # the lexicon names it
    return ObservationFact(
        quote=quote_for(text, match.start(), match.end()),
        name=f"Blood pressure, {match['position'].lower()}",
        category=kind.category,
        loinc_code=kind.loinc_code,
        value_text="".join(match["value"].split()),
        unit="mm[Hg]",
    )


# A whole number of five or more digits with no unit: a postal code or an identifier.
POSTAL_OR_ID = re.compile(r"\d{5,}")
# A year with no unit after an abbreviation in capitals: the year of an operation the letters
# also name ('s/p left CEA 2015': a carotid endarterectomy, not a carcinoembryonic antigen).
YEAR_AFTER_INITIALS = re.compile(r"(?-i:[A-Z]{2,4})[ \t]+(?:19|20)\d\d")
