"""Text helpers of the offline rules: quotes (exact substrings of the chunk), regions, lists."""

import bisect
import re

from spacy.tokens import Span

MAX_QUOTE_CHARS = 200


Region = tuple[int, int]


# A line starting with a bullet ("•", its MacRoman mojibake "‚Ä¢", "-", "*") or "1." / "2)".
LIST_ITEM_LINE = re.compile(
    r"^[ \t]*(?:\u2022|\u201a\u00c4\u00a2|[-*\u00b7\u25aa\u25cf]|\d{1,2}[.)])[ \t]", re.M
)

# A column gap: printouts without bars print a row's cells apart ('Sulfa Antibiotics    Rash
# Moderate', 'Depression, major, single episode      Resolved    2015').
COLUMN_GAP = r"[ \t]*\t[ \t]*|[ \t]{2,}"
# The date a patient summary prints after a title ('Allergies as of 12/1/2026', 'Medications
# (reviewed 03/02/2025)').
AS_OF_A_DATE = (
    r"(?:[ \t]+\(?(?:as[ \t]+of|(?:last[ \t]+)?(?:reviewed|updated)(?:[ \t]+on)?)[ \t]*:?[ \t]*"
    r"\d{1,2}/\d{1,2}/\d{2,4}\)?)?"
)


def normalize_space(value: str) -> str:
    return " ".join(value.split())


def line_bounds(text: str, start: int, end: int) -> Region:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end == -1 else line_end


def quote_for(text: str, start: int, end: int, sentence: Region | None = None) -> str:
    """Context for text[start:end]: its sentence if short, else its line, else a window of it."""
    if sentence is not None and sentence[1] - sentence[0] <= MAX_QUOTE_CHARS:
        low, high = min(sentence[0], start), max(sentence[1], end)
    else:
        low, high = line_bounds(text, start, end)
    if high - low > MAX_QUOTE_CHARS:
        margin = max(0, (MAX_QUOTE_CHARS - (end - start)) // 2)
        low, high = max(low, start - margin), min(high, end + margin)
        low = word_start(text, low, start)
        high = word_end(text, high, end)
    return text[low:high].strip()


def word_start(text: str, position: int, limit: int) -> int:
    """Move position forward to the start of a word, never past limit."""
    while 0 < position < limit and not text[position - 1].isspace():
        position += 1
    return position


def word_end(text: str, position: int, limit: int) -> int:
    """Move position back to the end of a word, never before limit."""
    while limit < position < len(text) and not text[position].isspace():
        position -= 1
    return position


def in_regions(position: int, regions: list[Region]) -> bool:
    return any(start <= position < end for start, end in regions)


def sentence_region(span: Span) -> Region:
    """Character region of the span's sentence (sentence starts are cached on the doc)."""
    doc = span.doc
    if "sentence_starts" not in doc.user_data:
        doc.user_data["sentence_starts"] = [sentence.start_char for sentence in doc.sents]
    starts = doc.user_data["sentence_starts"]
    index = bisect.bisect_right(starts, span.start_char) - 1
    end = starts[index + 1] if index + 1 < len(starts) else len(doc.text)
    return starts[index], end


# The rest of a list item the page wrapped onto the next line: it starts in lower case or with
# the item's date or codes in parentheses ('symptomatic cholelithiasis (2012/10/15)').
WRAPPED_ITEM_LINE = re.compile(r"^[ \t]*(?:[a-z]|\()")


# A line the page wrapped right after a negation, going on in lower case ('Skin: no\nrash.',
# 'warm and dry, no\nrash or lesions'). Read as one line, the negation reaches what it negates
# (the medspaCy pipeline started a sentence at the new line, and 'Skin: no' denied the skin). A
# next line opening with a capital or holding a label is another field's ('Tobacco: no\nAlcohol:
# socially').
NEGATION_WRAPPED = re.compile(
    r"\b(?i:no|not|without|denies|denied|negative[ \t]+for|free[ \t]+of)[ \t]*(\n)[ \t]*"
    r"(?=[a-z][^\n:]*$)",
    re.MULTILINE,
)


def join_wrapped_negations(text: str) -> str:
    """The text with the line break after a wrapped negation a space (same length)."""
    breaks = [match.start(1) for match in NEGATION_WRAPPED.finditer(text)]
    if not breaks:
        return text
    characters = list(text)
    for position in breaks:
        characters[position] = " "
    return "".join(characters)


# What an allergist does with a drug ('Penicillin skin testing', 'oral amoxicillin challenge',
# 'desensitization'): named so, the drug is neither a medication nor an allergen.
TESTED = (
    r"(?:(?:skin|allergy|patch|suppression|stimulation)\s+)?test(?:s|ed|ing)?"
    r"|(?:(?:oral|drug)\s+)?challenge"
    r"|desensiti[sz]ation"
)


def wrapped_end(text: str, line_end: int) -> int:
    """The end of the line's text with the lines the page wrapped it onto (lines that go on in
    lower case: 'skin testing negative, oral amoxicillin' / 'challenge tolerated. Peanut ...')."""
    while line_end < len(text):
        line, next_end = next_line(text, line_end)
        if not WRAPPED_ITEM_LINE.match(line) or not line.strip():
            break
        line_end = next_end
    return line_end


def wrapped_text_before(text: str, position: int) -> str:
    """The text before `position` on its line and on the lines the page wrapped that line from
    (each going on in lower case after a line that ends no sentence: 'her father had a
    myocardial\ninfarction at age 52 and subsequently underwent coronary artery bypass
    grafting'), joined by spaces."""
    line_start = text.rfind("\n", 0, position) + 1
    while line_start > 0 and WRAPPED_ITEM_LINE.match(text[line_start:position]):
        above = text.rfind("\n", 0, line_start - 1) + 1
        line_above = text[above : line_start - 1]
        if not line_above.strip() or re.search(r"[.?!:]\s*$", line_above):
            break
        line_start = above
    return text[line_start:position].replace("\n", " ")


# An item's own numbered points ('1) air-fluid level ... 2) a retention cyst') in a list numbered
# '1.', '2.': a line the page starts with one is the item going on, not the next item.
INNER_POINT_LINE = re.compile(r"^[ \t]*\d{1,2}\)[ \t]")


def next_line(text: str, end: int) -> tuple[str, int]:
    """The line after the line break at `end` (or after the line ending there), and its end."""
    line_end = text.find("\n", end + 1)
    line_end = len(text) if line_end == -1 else line_end
    return text[end + 1 : line_end], line_end


def parts_between(text: str, separator: re.Pattern[str], start: int = 0) -> list[tuple[int, str]]:
    """The parts of `text` between the separator's matches, each with its offset (`start` plus
    its position in `text`); empty parts too."""
    parts, begin = [], 0
    for found in separator.finditer(text):
        parts.append((start + begin, text[begin : found.start()]))
        begin = found.end()
    parts.append((start + begin, text[begin:]))
    return parts


def mask_parentheses(value: str) -> str:
    """Replace separators inside parentheses so '(hives, rash)' stays one item (same length)."""
    depth, chars = 0, []
    for char in value:
        depth += char == "("
        chars.append("\x00" if depth and char in ",;\n" else char)
        depth -= char == ")" and depth > 0
    return "".join(chars)


def past_blank_lines(text: str, end: int) -> int:
    """`end` moved over the blank lines after its line: a title printed apart from its list."""
    while end < len(text):
        line, line_end = next_line(text, end)
        if line.strip() or line_end >= len(text):
            break
        end = line_end
    return end


def list_items(text: str, header: re.Pattern[str]) -> list[Region]:
    """The list items (bulleted or numbered lines) right after each header line, each with the
    lines the page wrapped it onto."""
    items: list[Region] = []
    for match in header.finditer(text):
        end = past_blank_lines(text, match.end())
        first_item: str | None = None
        while end < len(text):
            line, line_end = next_line(text, end)
            continues = items and items[-1][1] == end
            inner_point = first_item is not None and not INNER_POINT_LINE.match(first_item)
            if continues and inner_point and INNER_POINT_LINE.match(line):
                items[-1] = (items[-1][0], line_end)
            elif LIST_ITEM_LINE.match(line + " "):
                items.append((end + 1, line_end))
                first_item = first_item or line
            elif continues and WRAPPED_ITEM_LINE.match(line):
                items[-1] = (items[-1][0], line_end)
            else:
                break
            end = line_end
    return [part for item in items for part in inline_numbered_items(text, item)]


# The next number of a list run on within one paragraph, after a sentence's end ('1. Left heart
# catheterization. 2. Selective coronary angiography. 3. ...').
RUN_ON_NUMBER = re.compile(r"(?<=[.;])\s+(?P<number>\d{1,2})(?P<marker>[.)])[ \t]+(?=[A-Za-z])")


def inline_numbered_items(text: str, item: Region) -> list[Region]:
    """A numbered item split where the list runs on in it, numbers counting up from its own,
    marked as it is ('2.' after '1.'; a '2)' after '1.' numbers the item's own findings)."""
    start, end = item
    first = re.match(r"\s*(\d{1,2})([.)])", text[start:end])
    if not first:
        return [item]
    parts, number = [], int(first.group(1))
    for match in RUN_ON_NUMBER.finditer(text, start, end):
        if int(match["number"]) == number + 1 and match["marker"] == first.group(2):
            parts.append((start, match.start()))
            start, number = match.start("number"), number + 1
    return [*parts, (start, end)]


# What some printouts put before a list's title: a markdown hash, an arrow ('>> START TAKING these
# medications:', '=> Stop taking:', '► New medicines').
HEADING_MARK = r"(?:(?:#+|>+|=+>|\u25ba|\u25b6)[ \t]*)?"

LIST_MARKER = re.compile(r"^\s*(?:[-\u2022*]|\d+[.)])\s+")

# The word after a substance that names it an allergen ('penicillin allergy', 'codeine
# intolerance'), for the allergy rules and for keeping allergens out of the medications.
ALLERGY_WORD = r"(?:allerg(?:y|ies)|intolerance|hypersensitivity)\b"
# The severest reaction, named with its cause after it ('anaphylaxis due to peanut').
ANAPHYLAXIS = r"anaphyla(?:xis|ctic[ \t]+reaction)"
# After a substance: 'Amoxicillin added to allergy list', 'penicillin was added to her allergies'.
ADDED_TO_ALLERGIES = (
    r"(?:(?:was|were|has\s+been|have\s+been)\s+)?added\s+to\s+"
    r"(?:(?:the|his|her|patient's|the\s+patient's)\s+)?allerg(?:y|ies)\b"
)


def most_informative(items: list, key) -> list:
    """One item per key, in first-seen order: the one with most fields filled (first on ties)."""
    best: dict = {}
    for item in items:
        filled = sum(value is not None for value in item.model_dump().values())
        if key(item) not in best or filled > best[key(item)][0]:
            best[key(item)] = (filled, item)
    return [item for _, item in best.values()]


# A row that records the absence of a fact, not a fact: 'No Known Medications', 'Procedures not
# documented', 'Medication excluded/not available', 'No information about allergies', 'None'.
NOT_A_FACT = re.compile(
    r"^(?:no|none|nil|denies|negative)\b|\bnot\s+(?:documented|available|applicable|recorded"
    r"|known|reported|on file|given|taken)\b|\bexcluded\b|\bunknown\b|\bno\s+(?:known|information"
    r"|data|active)\b|^(?-i:n/a|N/A|N/a|NA|na)$",  # not 'Na', sodium
    re.IGNORECASE,
)
# '(493.90, J45.909)', '[RxNorm: 617312]', '(test code = 718-7)': codes after a name, their
# system's label optional.
TRAILING_CODES = re.compile(
    r"\s*[\[(](?=[^\])]*\d)(?:[A-Za-z][\w -]{1,15}[:=][ \t]*)?[A-Z0-9., ;:/-]{2,60}[\])]\s*$"
)
CODE_IN_PARENTHESES = re.compile(r"\b[A-Z]\d{2}(?:\.[0-9A-Z]{1,4})?\b")
# The value runs to the next label: a capitalised word, or two ending in date, type or noted,
# before a colon ('Reaction: Shortness of Breath Severity: Moderate', 'Onset Date: 2019').
LABELLED_VALUE = (
    r"(?:^|\s){label}\s*:\s*(?P<value>.+?)"
    r"(?=\s+(?-i:[A-Z])[A-Za-z]{{1,20}}(?:[ \t]+(?:date|type|noted))?\s*:|$)"
)


# A form's field filled in, in a cell or an item ('Surgeon: R. Abernathy, MD', 'Scheduled
# procedure: Laparoscopic cholecystectomy', 'Isolation: [X] None').
CELL_FIELD = re.compile(r"(?P<label>[A-Za-z][^:|\n]{0,40}):[ \t]*(?P<value>\S.*)", re.DOTALL)


def is_absence(name: str) -> bool:
    return bool(NOT_A_FACT.search(name.strip()))


def clean_name(name: str) -> str:
    """A name without the codes or date printed after it ('Asthma (493.90, J45.909)',
    'Cholecystectomy (2006/06/01)')."""
    return normalize_space(TRAILING_CODES.sub("", name)).strip(" ,;:-")


def labelled(cells: str, label: str) -> str | None:
    """The value after 'Label:' in a cell ('Reaction: Hives Status: Active' -> 'Hives')."""
    found = re.search(LABELLED_VALUE.format(label=label), cells, re.IGNORECASE)
    return normalize_space(found["value"]) if found else None


# A line that opens with a label of a few words and a colon ('Vitals (home):', 'Plan:'): where a
# list or a block of results under the line before it ends.
LABEL_LINE = re.compile(r"^[ \t]*[A-Z][A-Za-z /&()]{1,40}:", re.MULTILINE)
