"""A drug's sig: its dose, route and frequency, as written after (or before) its name."""

import functools
import re

from medpipeline.extraction.offline.lexicons import sig_terms
from medpipeline.extraction.offline.text import normalize_space


@functools.cache
def dose_pattern() -> re.Pattern[str]:
    units = "|".join(f"(?:{term.written})" for term in sig_terms("dose_unit"))
    return re.compile(
        rf"(?<![\w./:])(?P<value>\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)[ \t]*(?P<unit>{units})"
        r"(?:[ \t]*/[ \t]*(?P<per>ml|actuat(?:ion)?|hr|h|kg|m2|m\^2|m\u00b2))?"
        r"(?P<daily>[ \t]*/[ \t]*(?:day|d)|[ \t]+(?:per|a)[ \t]+day)?(?![A-Za-z])",
        re.IGNORECASE,
    )


PER_UNIT = {
    "ml": "/mL",
    "actuat": "/{actuat}",
    "actuation": "/{actuat}",
    "hr": "/h",
    "h": "/h",
    "kg": "/kg",
    "m2": "/m2",
    "m^2": "/m2",
    "m\u00b2": "/m2",
}


# A list's sig after the product's strength: 'metFORMIN 500 MG tablet Take 2 tablets (1,000 mg
# total) by mouth ...', 'insulin glargine 100 UNIT/ML injection pen Inject 24 Units ...'.
INSTRUCTION = re.compile(
    r"\b(?:take|inject|inhale|give|apply|use|instill|administer|chew|place|insert|dissolve)\b",
    re.IGNORECASE,
)
TOTAL_AFTER = re.compile(r"[ \t]*total\b", re.IGNORECASE)
DOSE_FORM = r"(?:tablets?|tabs?|capsules?|caps?)"
COUNT = r"(?P<count>\d+(?:\.\d+)?|one|two|three|four|half|1/2)"
COUNT_TAKEN = re.compile(
    rf"\b(?:take|chew|give)[ \t]+{COUNT}[ \t]+(?:\([a-z]+\)[ \t]+)?{DOSE_FORM}\b", re.IGNORECASE
)
COUNT_TOTAL = re.compile(r"[ \t]*\([ \t]*")  # 'take 2 tablets (' then the dose: their total
# '6 tabs (15 mg) once weekly': the tablets' total in brackets after their count
TABLETS_BEFORE = re.compile(rf"\b\d+(?:\.\d+)?[ \t]+{DOSE_FORM}[ \t]*\([ \t]*$", re.IGNORECASE)
COMPUTED = re.compile(r"=[ \t]*$")  # '14 mg/kg/day = 240 mg': the dose worked out
# 'Oxaliplatin 68 mg/m2 (135 mg) IV': the dose for this patient's body size in brackets after it
PER_BODY_SIZE_BEFORE = re.compile(
    r"/[ \t]*(?:kg|m2|m\^2|m\u00b2)(?:[ \t]*/[ \t]*(?:day|d))?[ \t]*\([ \t]*$", re.IGNORECASE
)
# tablets written after the strength with no instruction: 'Senna 8.6 mg 2 tablets qHS',
# 'amlodipine 5 mg tab, 1 tab PO daily'
BARE_COUNT = re.compile(
    rf"[ \t]*(?:(?:oral[ \t]+)?{DOSE_FORM}\b[ \t]*)?(?:[-,:][ \t]*)?{COUNT}[ \t]+{DOSE_FORM}\b",
    re.IGNORECASE,
)
COUNT_WORDS = {"one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "half": 0.5, "1/2": 0.5}


# A combination product's name ('sacubitril-valsartan', 'calcium carbonate-vitamin D3') and a
# strength of one of its parts ('49-51 mg': 49 mg and 51 mg; '600 mg-400 unit', '300 mg/30 mg'),
# which is no dose; a spaced dash after a unit separates the sig ('160/4.5 mcg - 2 puffs').
COMBINATION_NAME = re.compile(r"[A-Za-z]{3,}[ \t]*[-/][ \t]*[A-Za-z]{2,}")
PART_BEFORE = re.compile(r"(?:\d[ \t]*[-/]|[A-Za-z](?:-|[ \t]*/))[ \t]*$")
PART_AFTER = re.compile(r"(?:-|[ \t]*/)[ \t]*\d")


RANGE_BEFORE = re.compile(r"\d[ \t]*(?:-|\u2013|to)[ \t]*$")

# A strength the product's dose form follows ('Ibuprofen 200 mg tablet  400 mg PO q6h'): the
# tablet's, not the dose, when a later amount of its unit on the line is no limit.
FORM_AFTER = re.compile(rf"[ \t]*(?:oral[ \t]+)?{DOSE_FORM}\b", re.I)
LIMIT_BEFORE = re.compile(
    r"\b(?:max(?:imum)?|up[ \t]+to|not[ \t]+to[ \t]+exceed|no[ \t]+more[ \t]+than)[ \t:]*$", re.I
)


def dose_after_strength(window: str, matches: list[re.Match[str]]) -> list[re.Match[str]]:
    """The amounts of the first one's unit its line gives after it, when the first is a
    strength (its dose form follows it) and the later ones no concentration, daily total or
    limit."""
    first = matches[0]
    if not FORM_AFTER.match(window, first.end()):
        return []
    line_end = window.find("\n", first.end())
    return [
        m
        for m in matches[1:]
        if (line_end < 0 or m.start() < line_end)
        and m["unit"].lower() == first["unit"].lower()
        and not (m["per"] or m["daily"] or LIMIT_BEFORE.search(window, 0, m.start()))
    ]


# A changed sig that gives the old one first ('Was 1000 mg BID. Now 500 mg PO BID'): the old
# dose and frequency are no longer the drug's.
PREVIOUS_SIG = re.compile(r"\bwas\b[^.;\n]*[.;,]?[ \t]*now\b", re.IGNORECASE)


def without_previous_sig(text: str) -> str:
    return PREVIOUS_SIG.sub(" ", text)


def names_a_dose(text: str) -> bool:
    """The text writes a dose, one or a range ('25 mg', '5-10 mg', '49-51 mg')."""
    return dose_pattern().search(text) is not None


def parse_dose(
    window: str, anchored_at_end: bool = False, combination: bool = False
) -> tuple[float, str] | None:
    """The dose in the window (or the one ending it), as (value, UCUM unit): a total the sig
    gives ('(1,000 mg total)', 'take 2 tablets (50 mg)', '6 tabs (15 mg)', '14 mg/kg/day = 240
    mg', '68 mg/m2 (135 mg)'), else the
    strength before the instruction times the tablets it says to take ('500 MG tablet | take 2
    tablets ... then 250 mg'), else the first dose after the instruction verb ('Inject 24
    Units'), else one after a tablet's strength ('200 mg tablet  400 mg PO'), else the first
    one, times the tablets taken ('8.6 mg 2 tablets qHS'). A
    `combination` product's strength of its parts ('49-51 mg') is no dose, nor is a range
    ('oxycodone 5-10 mg')."""
    # a concentration ('insulin lispro 100 unit/mL') is no dose
    matches = [m for m in dose_pattern().finditer(window) if (m["per"] or "").lower() != "ml"]

    def is_a_part(m: re.Match[str]) -> bool:
        """A bound of a range ('oxycodone 5-10 mg' is no 10 mg) or a combination's part."""
        return bool(RANGE_BEFORE.search(window, 0, m.start())) or (
            combination
            and bool(PART_BEFORE.search(window, 0, m.start()) or PART_AFTER.match(window, m.end()))
        )

    if matches and is_a_part(matches[0]):
        # then only a dose the same line gives ('160/4.5 mcg - 2 puffs'), not the next line's
        line_end = window.find("\n", matches[0].end())
        matches = [
            m for m in matches if not is_a_part(m) and (line_end < 0 or m.start() < line_end)
        ]
    if anchored_at_end:
        matches = [m for m in matches if not window[m.end() :].strip()]
    if not matches:
        return None
    instruction = INSTRUCTION.search(window)
    count = COUNT_TAKEN.search(window)
    totals = [
        m
        for m in matches
        if TOTAL_AFTER.match(window, m.end())
        or (count and COUNT_TOTAL.fullmatch(window, count.end(), m.start()))
        or TABLETS_BEFORE.search(window, 0, m.start())
        or COMPUTED.search(window, 0, m.start())
        or PER_BODY_SIZE_BEFORE.search(window, 0, m.start())
    ]
    strengths = [m for m in matches if instruction and m.start() < instruction.start()]
    instructed = [m for m in matches if instruction and m.start() > instruction.start()]
    counted = strengths if count and strengths and not totals else []
    after_strength = [] if totals or counted or instructed else dose_after_strength(window, matches)
    match = (totals or counted or instructed or after_strength or matches)[0]
    if not (instruction or totals or count):
        count = BARE_COUNT.match(window, match.end())
    if not (counted or not (totals or instructed)):
        count = None
    times = COUNT_WORDS.get(count["count"].lower(), 0.0) or float(count["count"]) if count else 1.0
    if match["per"] or match["daily"]:
        times = 1.0  # a concentration or a daily total is no tablet's strength
    unit = next(
        term.value
        for term in sig_terms("dose_unit")
        if re.fullmatch(term.written, match["unit"], re.IGNORECASE)
    )
    if match["per"]:
        unit += PER_UNIT[match["per"].lower()]
    if match["daily"]:  # a daily total ('90 mg/kg/day divided BID'), not one dose
        unit += "/d"
    return float(match["value"].replace(",", "")) * times, unit


def parse_route(window: str, anchored_at_end: bool = False) -> str | None:
    """First route in the window (or the one ending it: 'IV ceftriaxone'); one the sig gives
    after the dose before the product's form ('Morphine oral solution 20 mg/mL  10 mg SL q2h':
    sublingual)."""
    found = [
        (m.start(), term.value)
        for term in sig_terms("route")
        for m in term.pattern.finditer(window)
        if not anchored_at_end or not window[m.end() :].strip()
    ]
    dose = None if anchored_at_end else dose_pattern().search(window)
    after_the_dose = [route for route in found if dose and route[0] >= dose.end()]
    return min(after_the_dose or found)[1] if found else None


JOINING_WORDS = re.compile(r"\bonly\b", re.IGNORECASE)  # 'every 4 hours only as needed'
# In an eye drop's sig 'OD' is the right eye, not the UK's once daily ('Dorzolamide 2% 1 gtt OD
# TID': three times a day).
EYE_DROPS = re.compile(r"\b(?:gtts?|drops?|ophthalmic|ophth|eyes?)\b", re.IGNORECASE)
RIGHT_EYE = re.compile(r"o\.?d\.?", re.IGNORECASE)


def parse_frequency(window: str) -> str | None:
    """Frequency as written; adjacent phrases are joined ('twice daily as needed', 'every 4
    hours only as needed'), across the line the page wrapped them onto ('twice\ndaily')."""
    window = window.replace("\n", " ")
    eye_drops = EYE_DROPS.search(window) is not None
    spans = sorted(
        (m.start(), m.end())
        for term in sig_terms("frequency")
        for m in term.pattern.finditer(window)
        if not (eye_drops and RIGHT_EYE.fullmatch(m.group()))
    )
    if not spans:
        return None
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start < end or not JOINING_WORDS.sub("", window[end:next_start]).strip(" \t,"):
            end = max(end, next_end)
        else:
            break
    written = normalize_space(window[start:end])
    # an abbreviation written without its dots took the sentence's full stop ('BID.', 'prn.')
    return written[:-1] if written.endswith(".") and written.count(".") == 1 else written


def has_sig(text: str) -> bool:
    """The text gives a dose or a frequency ('25 mg', '5-10 mg', 'BID')."""
    return names_a_dose(text) or parse_frequency(text) is not None
