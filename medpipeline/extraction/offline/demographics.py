"""The document header's facts: the patient (name, birth date, sex, identifiers) and the encounter
(visit, admission and discharge dates).
"""

import re
from datetime import date, datetime

from medpipeline.extraction.document_parties import identifier_mentions
from medpipeline.extraction.offline.text import normalize_space, quote_for
from medpipeline.extraction.schema import (
    EncounterFact,
    PatientFact,
)
from medpipeline.extraction.sequences import unique

NAME_WORD = r"[A-Z][A-Za-z'\-]*\.?"  # 'Roe', 'O'Neil', 'Smith-Jones', 'M.'
# 'Name:', 'Patient:', 'Patient Name:'; on forms 'Pt:', 'Student:', 'Resident Name:' (not a bare
# 'Resident:', a hospital's resident physician).
NAME_LABEL = re.compile(
    r"(?:^[ \t]*(?:(?:patient|resident|student|client|member|child)(?:'s)?\s+)?name"
    r"|\b(?:patient|pt|student)(?:\s+name)?)[ \t]*:[ \t]*"
    rf"(?P<name>{NAME_WORD}(?:,?[ \t]{{1,2}}"  # wider is the next column
    r"(?!(?:DOB|MRN|Sex|Gender|Age|Date|ID|Room|Bed|Unit|Grade|Accession|Acct|Account|Case"
    r"|Specimen|Encounter|Visit|Location|Resident|Physician|Provider|Ordering)\b)"
    rf"{NAME_WORD}){{1,4}})",
    re.MULTILINE | re.IGNORECASE,
)

# A header line that prints the name without a label, its birth date or record number beside it
# ('Jane Roe   DOB: 03/04/1956', 'ROE, JANE M  MRN: 12345', as patient summaries print them; a
# letter's 'Re: Frank Delucca   DOB: 02/27/1958').
NAME_BEFORE_ITS_DETAILS = re.compile(
    rf"^[ \t]*(?i:re:[ \t]*)?(?P<name>{NAME_WORD}(?:,?[ \t]{NAME_WORD}){{1,3}})"
    r"(?:[ \t]*[,|(][ \t]*|[ \t]+)(?=(?:DOB|D\.O\.B|Date of Birth|DATE OF BIRTH|MRN|Born)\b)",
    re.MULTILINE,
)

# Year first ('2012/10/15') is tried first: its last eight characters read as a month-first date.
DATE = (
    r"\d{4}[/-]\d{1,2}[/-]\d{1,2}|(?<!\d)\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})"
    r"|[A-Za-z]{3,9}\.?[ \t]+\d{1,2},?[ \t]+\d{4}|\d{1,2}[ \t]+[A-Za-z]{3,9}\.?[ \t]+\d{4}"
    r"|\d{1,2}-[A-Za-z]{3}-\d{4}|[A-Za-z]{3}-\d{1,2}-\d{4}"  # '30-Jan-2013', 'Aug-06-2012'
)


BIRTH_DATE_LABEL = re.compile(
    rf"\b(?:DOB|D\.O\.B\.?|date[ \t]+of[ \t]+birth|birth[ \t]*date|born(?:[ \t]+on)?)"
    rf"[ \t]*[:#]?[ \t]*(?P<date>{DATE})(?!\d)",
    re.IGNORECASE,
)


# Month first, as US documents write dates; a date that cannot be read so ('14/01/2026', a UK
# letter's) is read day first.
DATE_FORMATS = (
    "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%m-%d-%y", "%Y-%m-%d", "%Y/%m/%d",
    "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y", "%d/%m/%Y", "%d/%m/%y",
)  # fmt: skip


SEX_LABEL = re.compile(r"\b(?:sex|gender)[ \t]*:?[ \t]*(?P<sex>male|female|M|F)\b", re.IGNORECASE)


AGE_SEX_PHRASE = re.compile(
    r"\b\d{1,3}[- ](?:year|yr)s?[- ]old\b(?:[ \t]+[a-z]+){0,3}?[ \t]+"
    r"(?P<sex>male|female|man|woman|boy|girl|gentleman|lady)\b",
    re.IGNORECASE,
)


GENDER_WORDS = {"m": "male", "man": "male", "boy": "male", "gentleman": "male"}


GENDER_WORDS |= {"f": "female", "woman": "female", "girl": "female", "lady": "female"}


NON_NAME_WORDS = {"the", "patient", "was", "is", "has", "with", "and", "of", "id", "name"}
NON_NAME_WORDS |= {"summary", "visit", "report", "information", "record", "details", "date"}


def date_words(written: str) -> str:
    """A written date as `DATE_FORMATS` read it: no commas or periods, 'Sept' as 'Sep', the
    hyphens of a date with a month name as spaces ('30-Jan-2013')."""
    cleaned = normalize_space(written.replace(",", " ").replace(".", ""))
    if re.search(r"[A-Za-z]", cleaned):
        cleaned = cleaned.replace("-", " ")
    return re.sub(r"\bSept\b", "Sep", cleaned, flags=re.IGNORECASE)


def parse_date(written: str) -> str | None:
    """ISO date for a written birth date; two-digit years never land in the future."""
    cleaned = date_words(written)
    for date_format in DATE_FORMATS:
        try:
            parsed = datetime.strptime(cleaned, date_format).date()
        except ValueError:
            continue
        if parsed > date.today():
            try:
                parsed = parsed.replace(year=parsed.year - 100)
            except ValueError:  # 29 February of a year whose century year is not a leap year
                return None
        return parsed.isoformat()
    return None


def plausible_person_name(name: str) -> bool:
    words = {word.strip(",.").lower() for word in name.split()}
    return len(name) >= 3 and not words & NON_NAME_WORDS


def patient_fact(text: str) -> PatientFact | None:
    name_match = next(
        (
            m
            for pattern in (NAME_LABEL, NAME_BEFORE_ITS_DETAILS)
            for m in pattern.finditer(text)
            if plausible_person_name(m["name"])
        ),
        None,
    )
    birth_match = next((m for m in BIRTH_DATE_LABEL.finditer(text) if parse_date(m["date"])), None)
    sex_match = SEX_LABEL.search(text) or AGE_SEX_PHRASE.search(text)
    mentions = identifier_mentions(text)
    identifiers = [identifier for identifier, _ in mentions]
    quoted = name_match or birth_match or sex_match or (mentions[0][1] if mentions else None)
    if quoted is None:
        return None
    return PatientFact(
        quote=quote_for(text, quoted.start(), quoted.end()),
        name=normalize_space(name_match["name"]) if name_match else None,
        birth_date=parse_date(birth_match["date"]) if birth_match else None,
        gender=GENDER_WORDS.get(sex_match["sex"].lower(), sex_match["sex"].lower())
        if sex_match
        else None,
        identifiers=unique(identifiers, key=lambda i: (i.kind, i.value)),
    )


ENCOUNTER_DATE_LABEL = re.compile(
    rf"\b(?P<label>admission date|date of admission|admitted(?: on)?|discharge date|"
    rf"date of discharge|discharged(?: on)?|admit(?: date)?|admission|discharge|"
    rf"arrival(?: date| time)?|date of arrival|arrived(?: on)?|"
    rf"date of service|service date|visit date|clinic date|date of clinic|"
    rf"appointment date|date of appointment|date seen|"
    rf"date of visit|encounter date|review date|consult(?:ation)? date|"
    # 'Date/time of transfer: 02/08/2025 21:40', 'Date of review: 03/27/2025'
    rf"date(?:[ \t]*/[ \t]*time)? of (?:surgery|procedure|operation|transfer|encounter|review"
    rf"|consult(?:ation)?|assessment|evaluation|exam(?:ination)?)|"
    rf"(?<!last )(?<!prior )(?<!previous )encounter|DOS"
    # a letter's visit: 'whom I saw in surgery on 13/05/2024', 'seen in clinic on 02/03/2025'
    rf"|(?:saw|seen|reviewed|examined)\b[^.]{{0,30}}?\bin[ \t]+(?:the[ \t]+)?"
    rf"(?:surgery|clinic|office)[ \t]+on"
    # 'Visit: 03/11/2025 09:40', 'VISIT  : 02/18/2025' (not 'Last visit:', 'Next visit:')
    # or 'Visit 08/19/2025' in a header line
    rf"|(?<!last )(?<!next )(?<!prior )(?<!previous )(?<!follow-up )visit(?=[ \t]*:|[ \t]+\d)"
    # a line's own 'Date/Time:' (not a C-CDA header's 'Documentation Of | ..., Date/Time:')
    rf"|(?<![^\n])date[ \t]*/[ \t]*time|date)"
    # the date on the next line after a label's colon ('Admit date:\n06/02/2025', a grid's wrap),
    # or in the next cell ('| Visit date | 01/19/2024 09:40 |')
    rf"(?:[ \t]*:[ \t]*\n?|[ \t]*\|[ \t]*|[ \t]*#?)[ \t]*(?P<date>{DATE})(?!\d)",
    re.IGNORECASE,
)


# The encounter row of a rendered C-CDA's header (HL7's CDA stylesheet): '| Encounter | ID: ...,
# Date/Time: from July 11, 2013, 11AM to July 18, 2013 ...', 'Date/Time: March 12, 2011 10:32AM
# - 1:32PM' (one day), 'Date/Time: at March 7, 2013'.
ENCOUNTER_HEADER_ROW = re.compile(
    rf"^[ \t|]*Encounter[ \t]*\|[^\n]*?\bDate/Time:[ \t]*(?:from[ \t]+|at[ \t]+)?(?P<date>{DATE})"
    rf"(?:[^\n|]*?[ \t](?:to|-)[ \t]+(?P<end>{DATE}))?",
    re.IGNORECASE | re.MULTILINE,
)


LONE_DATE_LINE = re.compile(rf"\A\s*(?P<date>{DATE})[ \t]*$", re.MULTILINE)


EMERGENCY_WORDS = re.compile(r"\b(?:emergency department|emergency room|ED visit)\b", re.I)
# Words before them that make them no emergency visit: an instruction ('Return to clinic or go to
# the emergency department if you have ...') or a past visit ('went to the emergency room').
NOT_THIS_VISIT_BEFORE = re.compile(
    r"\b(?:go|going|return|come|proceed|head|call|seek\s+care\s+at|went|visits?\s+to)\s+"
    r"(?:to\s+)?(?:the\s+|an?\s+|your\s+|nearest\s+)*$",
    re.I,
)


# A date right after them: a visit the history dates ('Losartan (added at ED visit 01/2025)').
DATED_AFTER = re.compile(r"[ \t]+(?:on[ \t]+|in[ \t]+)?(?:\d{1,2}/){1,2}(?:19|20)?\d{2}\b")


def names_an_emergency_visit(text: str) -> bool:
    return any(
        not NOT_THIS_VISIT_BEFORE.search(text, max(0, match.start() - 40), match.start())
        and not DATED_AFTER.match(text, match.end())
        for match in EMERGENCY_WORDS.finditer(text)
    )


# An undated document's title still says what kind of stay it records ('EMERGENCY DEPARTMENT
# NOTE', 'Discharge Summary', 'ICU Progress Note', 'Hospital day 5', 'Clinic Note'): the
# encounter, without a period. Only a title counts: the first lines, not a history's 'went to the
# emergency room'.
TITLE_LINES = 3
# A title's first words, after the facility's name and a dash or a column gap ('MAPLE GROVE
# NURSING CENTER - Admission History and Physical', 'Riverbend Dialysis Center<tab>Progress Note').
TITLE_LEAD = r"^[ \t]*(?:[^\n]{0,80}?(?:[ \t]+[-\u2013|][ \t]+|\t))?(?:[\w&/-]+[ \t]+){0,3}"
TITLE_ENCOUNTER = [
    (kind, re.compile(rf"{TITLE_LEAD}(?:{words})\b[^\n]{{0,200}}$", re.I | re.M))
    for kind, words in (
        ("emergency", r"emergency[ \t]+(?:department|room)|ED[ \t]+(?:provider[ \t]+)?note"),
        (
            "inpatient",
            r"discharge[ \t]+summary|admission[ \t]+(?:note|H&P|history)|hospital[ \t]+day[ \t]+\d+"
            r"|transfer[ \t]+(?:summary|note)"
            r"|(?:(?:M|S|CV|C|N|P)?ICU|intensive[ \t]+care|critical[ \t]+care|inpatient"
            r"|hospitalist)[ \t]+(?:progress[ \t]+)?note",
        ),
        ("home health", r"home[ \t]+health|skilled[ \t]+nursing[ \t]+visit|home[ \t]+visit"),
        (
            "ambulatory",
            r"(?:clinic|office)[ \t]+(?:visit|note)|outpatient[ \t]+(?:visit|note)|urgent[ \t]+care"
            r"|(?:dialysis|infusion|endoscopy|ambulatory[ \t]+surgery)[ \t]+cent(?:er|re)",
        ),
        ("virtual", r"tele(?:health|medicine)|video[ \t]+visit|virtual[ \t]+visit"),
    )
]


# Visits a title places away from a clinic: by video or telephone, at the patient's home.
AWAY_FROM_A_CLINIC = ("virtual", "home health")


def encounter_facts(text: str) -> list[EncounterFact]:
    """The encounter the document records: its dates (admission/discharge make it inpatient)."""
    start = end = None
    quoted: re.Match[str] | None = None
    admitted = discharged = clinic = False
    day_first = writes_day_first(text)
    for match in ENCOUNTER_DATE_LABEL.finditer(text):
        written = as_month_first(match["date"]) if day_first else match["date"]
        label, parsed = match["label"].lower(), parse_encounter_date(written)
        if parsed is None or "birth" in text[max(0, match.start() - 12) : match.start()].lower():
            continue
        # a clinic's own date: an emergency the letter tells of was another visit
        clinic = clinic or "clinic" in label or "appointment" in label
        if "discharg" in label:
            end, discharged = end or parsed, True
        elif "admi" in label:
            start, admitted = start or parsed, True
        else:
            start = start or parsed
        quoted = quoted or match
    emergency = names_an_emergency_visit(text) and not clinic
    # a discharge from the emergency department ('Arrival: ... Discharge: ...') is no stay
    inpatient = admitted or (discharged and not emergency)
    lone = LONE_DATE_LINE.search(text)
    header = ENCOUNTER_HEADER_ROW.search(text)
    if start is None and end is None and header and parse_encounter_date(header["date"]):
        start, quoted = parse_encounter_date(header["date"]), header
        end = parse_encounter_date(header["end"]) if header["end"] else None
    elif start is None and end is None and lone and parse_encounter_date(lone["date"]):
        start, quoted = parse_encounter_date(lone["date"]), lone
    titled = titled_encounter(text)
    if quoted is None:
        return titled
    inpatient = inpatient or any(fact.encounter_class == "inpatient" for fact in titled)
    encounter_class = "inpatient" if inpatient else "ambulatory"
    if emergency or any(f.encounter_class == "emergency" for f in titled):
        encounter_class = "emergency"
    elif not inpatient and (
        away := [f.encounter_class for f in titled if f.encounter_class in AWAY_FROM_A_CLINIC]
    ):
        encounter_class = away[0]  # 'TELEHEALTH FOLLOW-UP VISIT (video)', 'HOME HEALTH'

    return [
        EncounterFact(
            quote=quote_for(text, quoted.start("date"), quoted.end("date")),
            encounter_class=encounter_class,
            type_text="hospital stay" if inpatient else None,
            start_date=start,
            end_date=end,
        )
    ]


def titled_encounter(text: str) -> list[EncounterFact]:
    """The encounter an undated document's title names, without a period."""
    title = "\n".join(text.split("\n", TITLE_LINES)[:TITLE_LINES])  # its first lines
    for kind, pattern in TITLE_ENCOUNTER:
        if match := pattern.search(title):
            return [
                EncounterFact(
                    quote=quote_for(text, match.start(), match.end()),
                    encounter_class=kind,
                    type_text="hospital stay" if kind == "inpatient" else None,
                )
            ]
    return []


def parse_encounter_date(written: str) -> str | None:
    """ISO date of a written date; unlike birth dates, two-digit years stay in this century."""
    cleaned = date_words(written)
    for date_format in DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, date_format).date().isoformat()
        except ValueError:
            continue
    return None


# A date written with numbers only ('05/03/2025', '18.11.2024'): day, month, year or month, day,
# year.
NUMERIC_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})")


def only_day_first(written: str) -> bool:
    """Whether a date reads no way but day first ('18/11/2024', 'DOB 17/12/1972')."""
    found = NUMERIC_DATE.fullmatch(written.strip())
    return bool(found and int(found[1]) > 12)


def as_month_first(written: str) -> str:
    """A numeric date written day first, rewritten month first for the parsers ('05/03/2025', of
    a document that writes the day first, is 5 March); any other date as written."""
    found = NUMERIC_DATE.fullmatch(written.strip())
    return f"{found[2]}/{found[1]}/{found[3]}" if found else written


def writes_day_first(text: str) -> bool:
    """Whether the text writes dates day first: one of its dates reads no other way (a UK
    letter's 'DOB 17/12/1972' says its 'Clinic date: 05/03/2026' is 5 March)."""
    return any(only_day_first(found.group()) for found in re.finditer(DATE, text))


def first_date(written: str) -> str | None:
    """ISO date of the first date written in a cell ('1/21/2013 12:00 AM', 'Onset: May 2, 2012'),
    past words that only look like one ('Lot MRN-12-2012')."""
    dates = (parse_encounter_date(found.group()) for found in re.finditer(DATE, written))
    return next((parsed for parsed in dates if parsed), None)
