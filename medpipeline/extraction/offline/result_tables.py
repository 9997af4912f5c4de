"""Results and vital-signs tables read by their columns: a name and a value cell per row (with
the row's unit, range and flag columns), one column per vital sign, or one column per date (a
flowsheet); codes the table prints. A value cell may list several 'name number unit' results; a
row may be reported only as normal or abnormal; rows going on after a break with no heading row
in sight are read by their cells (name, value with a lab unit, reference range)."""

import dataclasses
import datetime
import functools
import re

from medpipeline.extraction.offline.demographics import (
    DATE,
    as_month_first,
    first_date,
    only_day_first,
    parse_date,
)
from medpipeline.extraction.offline.lexicons import ObservationKind, observation_kind_candidates
from medpipeline.extraction.offline.result_values import (
    FLAG,
    SUPERSCRIPT_DIGITS,
    interpretation,
    observation_kind,
    plausible_table_name,
    reference_bounds,
    ucum_unit,
    unit_regex,
)
from medpipeline.extraction.offline.results import RANGE_CELL, TABLE_RESULTS
from medpipeline.extraction.offline.sections_tables import (
    DATE_VALUE,
    MONTH_DAY,
    REMARK,
    RESULTS,
    VITALS,
    Cell,
    Table,
    TableRow,
    column_role,
    is_date,
    printed_code,
    row_dates,
)
from medpipeline.extraction.offline.text import clean_name, is_absence, quote_for
from medpipeline.extraction.schema import ObservationFact
from medpipeline.terminology import loinc_check_digit

# A vital sign's name as EHRs print it in a table, to its LOINC code (the FHIR vital-signs
# profile's codes), the first that fits wins: 'BP Systolic', 'BP-Sys(mm[Hg])', 'Intravascular
# Systolic', 'HR(bpm)', 'RR(rpm)', 'O2 Sat(%)', 'Body Mass Index Calculated', 'WT', 'HT'.
VITAL_NAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), code)
    for pattern, code in (
        (r"percentile|\bz-?score", ""),
        (r"systolic|\bsys\b|\bsbp\b", "8480-6"),
        (r"diastolic|\bdia\b|\bdbp\b", "8462-4"),
        (r"mean arterial|^\s*map\b", "8478-0"),
        (r"blood pressure|^\s*b/?p\b", "85354-9"),
        (r"inhaled oxygen|oxygen concentration|\bfio2\b", "3150-0"),
        (r"o2|oxygen|spo2|sao2|pulse ox", "59408-5"),
        (r"heart rate|pulse|^\s*hr\b", "8867-4"),
        (r"resp|^\s*rr\b", "9279-1"),
        (r"temp", "8310-5"),
        (r"body mass index|\bbmi\b", "39156-5"),
        (r"body surface area|\bbsa\b", "3140-1"),
        (r"head circ|\bhc\b|occipital", "9843-4"),
        (r"weight|^\s*wt\b", "29463-7"),
        (r"height|length|^\s*ht\b", "8302-2"),
    )
)
EXTRA_VITALS = {
    "3150-0": ObservationKind("inhaled oxygen concentration", "3150-0", "vital-signs", "%"),
    "8478-0": ObservationKind("mean blood pressure", "8478-0", "vital-signs", "mm[Hg]"),
    "3140-1": ObservationKind("body surface area", "3140-1", "vital-signs", "m2"),
    "9843-4": ObservationKind("head circumference", "9843-4", "vital-signs", "cm"),
}
MAX_VITAL_NAME_WORDS = 5
VALUE_CELL = re.compile(
    r"^=?[ \t]*(?P<op><=|>=|[<>\u2264\u2265])?[ \t]*(?P<number>-?(?:\d+(?:\.\d+)?|\.\d+))"
    r"(?:[ \t]*/[ \t]*(?P<second>\d+(?:\.\d+)?)"
    # a count reported as a range ('25-50' red cells per high-power field)
    r"|[ \t]*[-\u2013][ \t]*(?P<upper>\d+(?:\.\d+)?)(?![\d.]))?"
    r"[ \t]*(?P<unit>(?:[^\s\d]|10[*^eE]\d)[^\s]*(?:[ \t]+per[ \t]+[a-z]+)?)?"
    # the oxygen a saturation was read on ('98% RA', '94% on 2 L NC', '93 % (room air)')
    r"(?:[ \t]+\(?(?:on[ \t]+)?(?:RA|room[ \t]+air"
    r"|\d+(?:\.\d+)?[ \t]*L(?:/min)?(?:[ \t]+[A-Za-z]+)?)\)?)?"
    # the same reading in other units ('37.1 °C (98.8 °F)', '92.5 kg (203 lb)')
    r"(?:[ \t]*\([ \t]*\d+(?:\.\d+)?[ \t]*[^\s\d()][^()]{0,6}\))?"
    r"(?:[ \t]+[(\[]?(?P<flag>H|L|HH|LL|A|N|High|Low|Abnormal|Normal)[)\]]?)?$",
    re.IGNORECASE,
)
# A reference range cell, its unit and a note after it or not ('3.5-5.0', '136-145 mmol/L',
# '<130 mg/dL (calc)').
RANGE_WITH_UNIT = re.compile(rf"^{RANGE_CELL}(?:[ \t]+[^\s(]+)?(?:[ \t]*\([^)]*\))?$")
# A range and interpretation written in a details cell ('Range: 42.9 - 49.1 = Normal').
LABELLED_RANGE = re.compile(
    rf"\b(?:reference[ \t]+)?range:[ \t]*{RANGE_CELL}"
    r"(?:[ \t]*=[ \t]*(?P<verdict>Normal|Abnormal|High|Low|Critical)\b)?",
    re.IGNORECASE,
)
VERDICT = re.compile(r"Normal|Abnormal", re.IGNORECASE)
WORD_RESULT = re.compile(rf"^(?:{TABLE_RESULTS})\b", re.IGNORECASE)
# A semi-quantitative grade ('2+', '++' leukocyte esterase on a dipstick): a word result, not the
# number 2 in a unit '+'.
GRADE_VALUE = re.compile(r"[1-4]\+|\+{1,4}")
# A word result in a value column ('YELLOW', 'CLEAR', 'Few'), unless it says there is none yet.
WORD_VALUE = re.compile(r"[A-Za-z][A-Za-z -]{0,29}")
NO_RESULT_YET = re.compile(
    r"^(?:pending|in[ \t]+progress|not[ \t]+(?:performed|done|reported|available)|cancel+ed"
    r"|see\b|np|na|n/a|tnp|qns|none|comment)\b",
    re.IGNORECASE,
)
# What a value cell prints after the value: a flag between asterisks ('*HI*', '*>HHI*') and when
# it was taken, in parentheses ('150 mmHg *HI* (07/10/2013 22:00:00 America/Chicago)').
VALUE_NOTES = re.compile(
    r"(?:[ \t]+\*[<>]?(?P<flag>[A-Za-z]{1,4})\*)?(?:[ \t]*\((?P<when>[^()]*\d{4}[^()]*)\))?[ \t]*$"
)
STARRED_FLAGS = {"hi": "H", "hhi": "H", "lo": "L", "llo": "L", "h": "H", "l": "L", "a": "A"}
# A code printed after a result's name, labelled ('(test code = 718-7)', '(LOINC: 2345-7)'); the
# page may break the line after its hyphen ('789- 8').
LABELLED_LOINC = re.compile(
    r"\((?:loinc|(?:test[ \t]+)?code)[ \t]*[:=][ \t]*(\d{1,7})-[ \t]?(\d)\)", re.IGNORECASE
)
# A unit printed after a vital sign's or a test's name ('Wt (lb)', 'Ht (in)', 'Temp (F)').
NAME_UNIT = re.compile(
    # 'Hb (g/L)', 'WCC (x10\u2079/L)'
    r"[ \t]*\((?P<unit>[^()\d\s]{1,8}"
    rf"|x?10[\^*]?[\d{SUPERSCRIPT_DIGITS}]+/[A-Za-z]+)\)[ \t]*$"
)
# A reference range printed after the test's name ('Systolic Blood Pressure [90-140 mmHg]').
NAME_RANGE = re.compile(r"[ \t]*[\[(](?P<range>[^\[\]()]*\d[^\[\]()]*)[\])][ \t]*$")


@functools.cache
def kinds_by_code() -> dict[str, ObservationKind]:
    kinds = dict(EXTRA_VITALS)
    for candidates in observation_kind_candidates().values():
        for kind in candidates:
            if kind.loinc_code:
                kinds.setdefault(kind.loinc_code, kind)
    return kinds


def vital_kind(name: str) -> ObservationKind | None:
    """The vital sign a table header or row names, if it names one."""
    if not name or len(name.split()) > MAX_VITAL_NAME_WORDS:
        return None
    for pattern, code in VITAL_NAMES:
        if pattern.search(name):
            return kinds_by_code().get(code) if code else None
    return None


def whole(number: str) -> str:
    """'120.0' as '120' (C-CDA renderings print blood pressures as decimals); '37.5' as is."""
    return number.removesuffix(".0") if re.fullmatch(r"\d+\.0", number) else number


def observation_from_cells(
    text: str, name: Cell, value: Cell, table: Table, row: TableRow, vital: bool
) -> ObservationFact | None:
    """One observation from a name and a value cell ('25.2 mmol/L', '120/80 mmHg', 'Negative'),
    with the row's unit, range and flag columns when it has them."""
    notes = VALUE_NOTES.search(value.text)
    written = value.text[: notes.start()] if notes and notes.group() else value.text
    starred = STARRED_FLAGS.get(notes["flag"].lower()) if notes and notes["flag"] else None
    taken = first_date(notes["when"]) if notes and notes["when"] else None
    if DATE_VALUE.match(written):
        return None
    name_range = NAME_RANGE.search(name.text)
    if name_range and ucum_unit(name_range["range"]):
        name_range = None  # a unit with digits: 'WCC (x10\u2079/L)'
    name_text = name.text[: name_range.start()] if name_range else name.text
    header_unit = None
    in_name = NAME_UNIT.search(name_text)
    if in_name and ucum_unit(in_name["unit"]):  # a column header's unit: 'Wt (lb)', 'Temp (F)'
        name_text, header_unit = name_text[: in_name.start()], in_name["unit"]
    grade = GRADE_VALUE.fullmatch(written.strip()) is not None
    parsed = None if grade else VALUE_CELL.match(written)
    unit_cell, range_cell, flag_cell, date_cell = (
        table.cell(row, role) for role in ("unit", "range", "flag", "date")
    )
    if not table.roles:
        unit_cell, range_cell = unit_and_range_after(row, value)
    kind = vital_kind(name_text) if vital else None
    if parsed is None:
        in_value_column = table.cell(row, "value") is value and WORD_VALUE.fullmatch(written)
        if vital or NO_RESULT_YET.match(written):
            return None
        if not (WORD_RESULT.match(written) or in_value_column or grade):
            return None
        number, value_text, written_unit, flag = None, written, None, None
    else:
        pair = parsed["second"] is not None
        number = None if pair or parsed["upper"] else float(parsed["number"])
        value_text = written.split()[0] if pair or parsed["op"] else None
        if parsed["upper"]:
            value_text = f"{parsed['number']}-{parsed['upper']}"
        if pair and parsed["op"] is None:
            value_text = f"{whole(parsed['number'])}/{whole(parsed['second'])}"
            kind = kinds_by_code().get("85354-9") if vital else kind
        written_unit, flag = parsed["unit"], parsed["flag"]
        if written_unit and re.fullmatch(FLAG, written_unit.strip("()[]"), re.IGNORECASE):
            # '11.2 L', '162 (H)': a flag, not litres
            written_unit, flag = None, written_unit.strip("()[]")
        elif written_unit and written_unit[0] == "(":  # '13.2 (g/dL)'; a remark: '72 (irregular)'
            written_unit = written_unit.strip("()") if ucum_unit(written_unit.strip("()")) else None
        written_unit = written_unit or (unit_cell.text if unit_cell else None) or header_unit
    if vital and kind is None:
        return None  # a row of a vital-signs table that names no vital sign
    unit = ucum_unit(written_unit) or written_unit
    if not vital:
        kind = observation_kind(clean_name(name_text), unit, qualitative=number is None)
    if printed := printed_loinc(row):  # a code the document prints wins
        category = "vital-signs" if vital else "laboratory"
        kind = ObservationKind(name_text, printed, category, None)
    low = high = None
    if range_cell and (bounds := RANGE_WITH_UNIT.match(range_cell.text)):
        low, high = reference_bounds(bounds)
    elif range_cell is None and (labelled := LABELLED_RANGE.search(table.row_text(row))):
        low, high = reference_bounds(labelled)
        flag = flag or labelled["verdict"]
    elif name_range and (bounds := RANGE_WITH_UNIT.match(name_range["range"].strip())):
        low, high = reference_bounds(bounds)
    return ObservationFact(
        quote=quote_for(text, name.start, value.end),
        name=clean_name(name_text),
        category="vital-signs" if vital else (kind.category if kind else "laboratory"),
        loinc_code=kind.loinc_code if kind else None,
        value=number,
        value_text=value_text,
        unit=unit or (kind.default_unit if kind and number is not None else None),
        reference_low=low,
        reference_high=high,
        reference_text=range_cell.text if range_cell and low is None and high is None else None,
        interpretation=interpretation(flag or starred or (flag_cell.text if flag_cell else None)),
        effective_date=taken or (first_date(date_cell.text) if date_cell else None),
    )


@functools.cache
def result_run_pattern() -> re.Pattern[str]:
    """One 'name number unit' run of a cell listing several results ('Hgb Bld-mCnc 13.40 g/dL
    Hct Fr Bld Auto 46.0 % WBC # Bld Auto 12.50 x10E3/uL'): the unit is a known lab unit."""
    return re.compile(
        r"[ \t]*(?P<name>[A-Za-z][^\s]*(?:[ \t]+[A-Za-z#][^\s]*)*?)[ \t]+"
        r"(?P<value>(?:<=|>=|[<>])?\d+(?:\.\d+)?)[ \t]+"
        rf"(?P<unit>(?i:{unit_regex(('lab',))}))(?=[ \t]|$)"
    )


def listed_results(text: str, value: Cell) -> list[ObservationFact]:
    """The results of a value cell that lists two or more 'name number unit' runs and nothing
    else; none when any part of the cell is something else."""
    runs, position = [], value.start
    while position < value.end and (run := result_run_pattern().match(text, position, value.end)):
        runs.append(run)
        position = run.end()
    if len(runs) < 2 or text[position : value.end].strip():
        return []
    facts = []
    for run in runs:
        unit = ucum_unit(run["unit"]) or run["unit"]
        kind = observation_kind(clean_name(run["name"]), unit)
        number = run["value"].lstrip("<>=")
        facts.append(
            ObservationFact(
                quote=quote_for(text, run.start("name"), run.end()),
                name=clean_name(run["name"]),
                category=kind.category if kind else "laboratory",
                loinc_code=kind.loinc_code if kind else None,
                value=float(number),
                value_text=run["value"] if number != run["value"] else None,
                unit=unit,
            )
        )
    return facts


# A unit printed in a cell of its own: one token with a letter ('mg/dL', 'THOUS/MCL').
UNIT_LIKE = re.compile(r"[^\s\d(][^\s]{0,11}")


def unit_and_range_after(row: TableRow, value: Cell) -> tuple[Cell | None, Cell | None]:
    """In a table without a heading row, the unit and range cells printed right after the value
    ('| Cholesterol, Total | 220 | mg/dL | (100-199) |'): a known unit, or a unit-like cell
    followed by a range; the range cell right after the unit (or the value)."""
    after = [cell for cell in row.cells if cell.start > value.start and cell.text][:2]
    unit = None
    if after and not re.fullmatch(FLAG, after[0].text, re.IGNORECASE):
        ranged = len(after) > 1 and RANGE_WITH_UNIT.match(after[1].text)
        if ucum_unit(after[0].text) or (ranged and UNIT_LIKE.fullmatch(after[0].text)):
            unit = after.pop(0)
    reference = after[0] if after and RANGE_WITH_UNIT.match(after[0].text) else None
    return unit, reference


def headerless_result(text: str, row: TableRow) -> ObservationFact | None:
    """A row of a results table whose heading row is not in sight (the table goes on after a
    page or chunk break): a name cell, a value cell with a lab unit (or a number and a unit
    cell), then a reference range ('| 02/10/2014 | vHCO3 | 22 mEq/L | 25.9-30.0 mEq/L |',
    '| Cholesterol, Total | 220 | mg/dL | (100-199) |')."""
    cells = [cell for cell in row.cells if cell.text]
    for name, value in zip(cells, cells[1:], strict=False):
        parsed = VALUE_CELL.match(value.text)
        if not (parsed and parsed["second"] is None):
            continue
        unit_cell, reference = unit_and_range_after(row, value)
        if parsed["unit"] and unit_cell is None:
            written_unit = parsed["unit"]
        elif not parsed["unit"] and unit_cell is not None:
            written_unit = unit_cell.text
        else:
            continue
        unit = ucum_unit(written_unit)
        if reference is None or unit is None or not name.text[:1].isalpha():
            continue
        if not plausible_table_name(name.text) or DATE_VALUE.match(name.text):
            continue
        kind = observation_kind(clean_name(name.text), unit)
        bounds = RANGE_WITH_UNIT.match(reference.text)
        assert bounds is not None  # unit_and_range_after took it as a range
        low, high = reference_bounds(bounds)
        number = parsed["number"]
        return ObservationFact(
            quote=quote_for(text, name.start, reference.end),
            name=clean_name(name.text),
            category=kind.category if kind else "laboratory",
            loinc_code=kind.loinc_code if kind else None,
            value=float(number),
            value_text=f"{parsed['op']}{number}" if parsed["op"] else None,
            unit=unit,
            reference_low=low,
            reference_high=high,
            interpretation=interpretation(parsed["flag"]),
        )
    return None


def verdict_result(text: str, name: Cell, row: TableRow) -> ObservationFact | None:
    """A results-table row reported only as normal or abnormal, no value ('CHEST XRAY, PA &
    LATERAL (71020) | Comments: consistent with pneumonia | Normal'): the verdict is the result."""
    verdict = next((cell for cell in row.cells if VERDICT.fullmatch(cell.text)), None)
    if verdict is None or verdict.start <= name.start:
        return None
    kind = observation_kind(clean_name(name.text), None, qualitative=True)
    return ObservationFact(
        quote=quote_for(text, name.start, verdict.end),
        name=clean_name(name.text),
        loinc_code=kind.loinc_code if kind else None,
        value_text=verdict.text,
        interpretation=interpretation(verdict.text),
    )


def printed_loinc(row: TableRow) -> str | None:
    """A LOINC code the row prints after 'LOINC' in a cell of its own or after its name
    ('Hemoglobin [Mass/volume] in Blood (test code = 718-7)'), if its check digit is right."""
    found = re.fullmatch(r"(\d{1,7})-(\d)", printed_code(row, "LOINC") or "") or next(
        (labelled for cell in row.filled() if (labelled := LABELLED_LOINC.search(cell.text))), None
    )
    if found and loinc_check_digit(found[1]) == int(found[2]):
        return f"{found[1]}-{found[2]}"
    return None


def value_cell(table: Table, row: TableRow, after: Cell) -> Cell | None:
    """The row's value: its value column, else the first filled cell after the name."""
    found = table.cell(row, "value")
    if found or "value" in table.roles:
        return found
    return next((cell for cell in row.cells if cell.start > after.start and cell.text), None)


def vitals_by_column(table: Table, text: str) -> list[ObservationFact]:
    """A vital-signs table with one column per vital sign ('Date | BP-Sys | HR | Temp ...')."""
    assert table.header is not None
    facts = []
    for row in table.rows:
        for index, header in enumerate(table.header.cells):
            if index < len(row.cells) and row.cells[index].text and vital_kind(header.text):
                cell = row.cells[index]
                fact = observation_from_cells(text, header, cell, table, row, vital=True)
                if fact:
                    facts.append(fact.model_copy(update={"quote": quote_for(text, *row_span(row))}))
    return facts


def date_columns(table: Table) -> tuple[TableRow, dict[int, str]] | None:
    """A flowsheet's dates row (`row_dates`): its first row, with each date by column."""
    first = table.header or (table.rows[0] if table.rows else None)
    dated = row_dates(first) if first else None
    return (first, dated) if first and dated else None


def dates_of_columns(dates: dict[int, str], text: str) -> dict[int, str | None]:
    """ISO dates of a dates row's columns. The row writes all its dates one way: when one of
    them can only be day first ('18/11/2024'), all are ('05/03/2025' is 5 March)."""
    day_first = any(only_day_first(written) for written in dates.values())
    return {
        index: parse_date(as_month_first(written) if day_first else written)
        or dated_by_the_text(written, text)
        for index, written in dates.items()
    }


def results_by_date_column(
    table: Table, text: str, first: TableRow, dates: dict[int, str], vital: bool
) -> list[ObservationFact]:
    """A flowsheet with one column per date: every filled cell under a date is a reading of the
    row's name on that date, with the row's unit, range and flag columns that the dates row
    names."""
    roles = [
        None if index in dates else column_role(cell.text) for index, cell in enumerate(first.cells)
    ]
    table = dataclasses.replace(table, roles=roles) if any(roles) else table
    taken = dates_of_columns(dates, text)
    facts = []
    for row in (row for row in table.rows if row is not first and row.cells):
        name = row.cells[0]
        if not name.text or is_absence(name.text):
            continue
        for index in dates:
            if index < len(row.cells) and row.cells[index].text:
                cell = row.cells[index]
                fact = observation_from_cells(text, name, cell, table, row, vital)
                if fact:
                    quote = quote_for(text, *row_span(row))
                    update = {"quote": quote, "effective_date": taken[index]}
                    facts.append(fact.model_copy(update=update))
    return facts


REMARK_ROLES = {"details", "flag"}


def columns_of_tests(first: TableRow) -> tuple[bool, dict[int, Cell]] | None:
    """A table whose first row names only known tests, each with or without its unit in
    brackets, after a date column's label or not ('Date | HbA1c (%)', 'Collected | Creatinine
    (mg/dL) | eGFR', '| WBC | Hgb | Plt | Na |'): each column one test, each row one date or
    one set of results. Whether it has a date column, and the tests by column. A dated panel
    may have one unknown column in five, left unread."""
    cells = first.cells
    dated = bool(cells) and column_role(cells[0].text) == "date"
    tests, unknown = {}, 0
    for index, cell in enumerate(cells[1:] if dated else cells, start=int(dated)):
        if dated and column_role(cell.text) in REMARK_ROLES:
            continue  # '| Date | CEA | Context |': what each date was
        unit = NAME_UNIT.search(cell.text)
        kind = observation_kind(clean_name(cell.text[: unit.start()] if unit else cell.text), None)
        if kind is None or kind.category != "laboratory":
            unknown += 1
            continue
        tests[index] = cell
    if unknown and not (dated and unknown * MAX_UNKNOWN_SHARE <= len(tests)):
        return None  # a dated panel may print a test the lexicon leaves uncoded ('Neut'): unread
    return (dated, tests) if len(tests) >= (1 if dated else 2) else None


MAX_UNKNOWN_SHARE = 4  # known tests per unknown column of a dated panel


def results_by_test_column(
    table: Table, text: str, first: TableRow, dated: bool, tests: dict[int, Cell]
) -> list[ObservationFact]:
    """Every filled cell is a reading of its column's test (on its row's date)."""
    facts = []
    for row in (row for row in table.rows if row is not first and row.cells):
        written = row.cells[0].text
        if dated and not is_date(written):
            continue
        taken = (first_date(written) or dated_by_the_text(written, text)) if dated else None
        for index, name in tests.items():
            if index < len(row.cells) and row.cells[index].text:
                fact = observation_from_cells(text, name, row.cells[index], table, row, vital=False)
                if fact:
                    quote = quote_for(text, *row_span(row))
                    facts.append(fact.model_copy(update={"quote": quote, "effective_date": taken}))
    return facts


HALF_A_YEAR = 183  # days


def dated_by_the_text(month_day: str, text: str) -> str | None:
    """A column's date printed without its year ('12/02 (Discharge)'): in the year of the
    latest date the text prints (an admission or print date; a birth date is earlier), or the
    year before when the day falls half a year or more after that date ('12/30' in a note of
    01/04); None when the text prints no year."""
    written = MONTH_DAY.fullmatch(REMARK.sub("", month_day).strip())
    printed = (first_date(found.group()) for found in re.finditer(DATE, text))
    latest = max(filter(None, printed), default=None)
    if written is None or latest is None:
        return None
    month, day = (int(part) for part in written.group().split("/"))
    year = int(latest[:4])
    try:
        taken = datetime.date(year, month, day)
        if (taken - datetime.date.fromisoformat(latest)).days > HALF_A_YEAR:
            taken = taken.replace(year=year - 1)
    except ValueError:  # 29 February
        return None
    return taken.isoformat()


def row_span(row: TableRow) -> tuple[int, int]:
    filled = row.filled()
    return filled[0].start, filled[-1].end


# Sections that tell what happened, where a table headed 'Parameter | Value | ...' holds
# results ('Discharge vitals & labs' under a hospital course); under a procedures or social
# history title such a table's values are another thing's.
STORY_SECTIONS = {
    None,
    "history_of_present_illness",
    "hospital_course",
    "observation_and_plan",
    "physical_exam",
    "reason_for_visit",
    "chief_complaint",
}


def table_observations(tables: list[Table], text: str) -> list[ObservationFact]:
    """Results and vital-signs tables, row by row (or column by column)."""
    facts = []
    for table in tables:
        first = table.header or (table.rows[0] if table.rows else None)
        if table.kind in (None, RESULTS) and first and (columns := columns_of_tests(first)):
            facts += results_by_test_column(table, text, first, *columns)
            continue
        if table.kind is None and table.header is None:
            facts += [fact for row in table.rows if (fact := headerless_result(text, row))]
            continue
        if table.kind not in (RESULTS, VITALS) and not (
            table.kind in STORY_SECTIONS and {"name", "value"} <= set(table.roles)
        ):
            continue
        vital = table.kind == VITALS
        header_vitals = table.header and sum(1 for c in table.header.cells if vital_kind(c.text))
        if vital and header_vitals and header_vitals >= 2:
            facts += vitals_by_column(table, text)
            continue
        if dated := date_columns(table):
            facts += results_by_date_column(table, text, *dated, vital)
            continue
        for row in (row for row in table.rows if not row.continues):
            name = table.name_cell(row)
            value = value_cell(table, row, name) if name else None
            if name is None or is_absence(name.text) or name.text.endswith(":"):
                continue  # none, or a label ('Most recent to oldest [Reference Range]:')
            if not re.search(r"[A-Za-z]", name.text):
                continue  # a code where the name should be: the row's cells are shifted
            fact = observation_from_cells(text, name, value, table, row, vital) if value else None
            if fact is None and not vital:
                listed = listed_results(text, value) if value else []
                fact = None if listed else verdict_result(text, name, row)
                facts += listed
            if fact:
                facts.append(fact)
    return facts
