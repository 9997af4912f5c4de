"""Allergies: allergy sections, 'Allergies:' lines and 'allergic to ...' (an allergen is never a
medication), and rows of allergy tables.
"""

import functools
import re

from spacy.tokens import Doc

from medpipeline.extraction.offline.allergy_items import (
    ALLERGEN_KIND_LABEL,
    ALLERGIC_TO_WORDS,
    ALLERGY_FIELD,
    ALLERGY_HEADER,
    ALLERGY_LABEL,
    ALLERGY_LIST_WORD,
    NO_KNOWN_ALLERGIES,
    NOT_A_TRUE_ALLERGY,
    PARENTHESES,
    SUBSTANCE_BLOCK,
    SUBSTANCE_DASH,
    SUBSTANCE_LABEL,
    allergy_from_item,
    allergy_items,
    split_substance_and_reaction,
)
from medpipeline.extraction.offline.lexicons import read_lexicon, split_names
from medpipeline.extraction.offline.sections_tables import (
    ALLERGY_CATEGORIES,
    ICD10_SYSTEM,
    Table,
    TableRow,
    printed_code,
    section_regions,
    status_says,
)
from medpipeline.extraction.offline.term_matcher import DRUG
from medpipeline.extraction.offline.text import (
    ADDED_TO_ALLERGIES,
    ALLERGY_WORD,
    ANAPHYLAXIS,
    COLUMN_GAP,
    LABEL_LINE,
    LIST_ITEM_LINE,
    Region,
    clean_name,
    in_regions,
    is_absence,
    labelled,
    line_bounds,
    normalize_space,
    past_blank_lines,
    quote_for,
    wrapped_end,
)
from medpipeline.extraction.offline.vocabularies import find_drug
from medpipeline.extraction.schema import AllergyFact, Assertion
from medpipeline.terminology import icd10cm_code

INLINE_ALLERGY_LABEL = re.compile(ALLERGY_LABEL, re.IGNORECASE)


ALLERGIC_TO = re.compile(rf"\b(?:{ALLERGIC_TO_WORDS})\b", re.IGNORECASE)


MAX_ALLERGY_LINES = 6


SUBSTANCE_LINE = re.compile(rf"^[ \t]*{SUBSTANCE_LABEL}[ \t]*:", re.IGNORECASE)


ALLERGY_FIELD_LINE = re.compile(rf"^[ \t]*{ALLERGY_FIELD}[ \t]*:", re.IGNORECASE)


REACTION_FIELD = re.compile(r"\n[ \t]*reactions?[ \t]*:", re.IGNORECASE)


# The heading row of allergy columns printed without bars ('Allergen / Drug   Type   Reaction
# Severity'): the rows under it are allergies, with or without a heading above.
ALLERGY_COLUMNS_HEADER = re.compile(
    rf"^[ \t]*(?:{SUBSTANCE_LABEL}|allerg(?:y|ies|ens?))\b[^\n|]*\breactions?\b[^\n|]*$",
    re.IGNORECASE | re.MULTILINE,
)


def substance_blocks(text: str) -> list[Region]:
    """The labelled allergen blocks of a text that say they are allergies."""
    return [
        block.span()
        for block in SUBSTANCE_BLOCK.finditer(text)
        if block["label"].lower() == "allergen" or REACTION_FIELD.search(block["fields"])
    ]


MAX_ALLERGY_ITEM_WORDS = 6


# Where the substances after 'allergic to' end: the sentence's end or the next clause ('He is
# allergic to shellfish and takes atorvastatin', '..., but tolerates codeine').
ALLERGIC_TO_END = re.compile(
    r"\.(?:\s|$)|\n|;|\?|\b(?:but|which(?![ \t]+(?:causes?|caused|gives?|gave)\b)|who|although"
    r"|though|because|however|whereas)\b"
    r"|(?:\band\b|,)[ \t]+(?:(?:he|she|they|the[ \t]+patient|patient)[ \t]+)?"
    r"(?:takes?|taking|uses?|using|is|was|has|had|reports?|reported|denies|denied|tolerates?"
    r"|tolerated|started|continues|continued|receives|received|gets|got|developed|remains)\b",
    re.IGNORECASE,
)


def allergy_list_extent(text: str, region: Region) -> Region:
    """An allergy section ends at a blank, 'Label:' or prose line, or after a few lines."""
    end = line_bounds(text, region[0], region[0])[1]
    listed_end = listed_sentences_end(text, region[0], end)
    if listed_end < end:
        return region[0], min(listed_end, region[1])
    header_only = ALLERGY_HEADER.fullmatch(text, region[0], end) is not None
    if header_only:  # a title printed apart from its list
        end = min(past_blank_lines(text, end), region[1])
    elif text[region[0] : end].rstrip().endswith("."):
        # 'Allergies: Penicillin (hives). No other drug allergies.': the list was its line, and
        # what follows ('Pulmonary Function Tests - 10/14/2025' and its table) is another thing
        return region[0], min(end, region[1])
    for index in range(MAX_ALLERGY_LINES):
        if end >= region[1]:
            break
        none_known = NONE_KNOWN_LINE.search(text, region[0], end)
        line = text[end + 1 : line_bounds(text, end + 1, end + 1)[1]]
        if none_known and not (
            NO_DRUG_ALLERGIES.search(none_known[0]) and COMMON_ALLERGENS.match(line)
        ):
            break  # 'ALLERGIES: NKDA': nothing follows in the list but what is no drug ('Latex')
        first_line_of_list = index == 0 and header_only and line.strip()
        if not first_line_of_list and not is_allergy_list_line(line):
            break
        end += 1 + len(line)
    return region[0], min(end, region[1])


@functools.cache
def other_section_start() -> re.Pattern[str]:
    """A line opening with another section's title (after a form's field number: '18.A.
    Functional Limitations'), whatever follows it on the line (a PDF's text loses the blank
    line before it and runs a table's column names on: 'CURRENT MEDICATIONS Dose Continue
    Stop')."""
    titles = sorted(
        (
            title
            for row in read_lexicon("section_titles.csv")
            if row["category"] not in ALLERGY_CATEGORIES
            for title in split_names(row["title"])
        ),
        key=len,
        reverse=True,
    )
    words = "|".join(r"[ \t]+".join(map(re.escape, title.split())) for title in titles)
    # a form's numbered field ('18.A. Functional Limitations')
    return re.compile(rf"[ \t]*(?:\d{{1,2}}\.(?:[A-Z]\.)?[ \t]+)?(?:{words})\b", re.IGNORECASE)


# A list that says there are none ('ALLERGIES: NKDA', 'No Known Allergies'), its last line; of
# drugs only ('NKDA', 'No known drug allergies'), which a line of latex or food may follow.
NO_DRUG_ALLERGIES = re.compile(r"\bNKDA\b|\bdrug\b", re.IGNORECASE)
NONE_KNOWN_LINE = re.compile(
    rf"(?:^|:)[ \t]*(?:{NO_KNOWN_ALLERGIES.pattern}|none)[ \t.]*\Z", re.IGNORECASE | re.MULTILINE
)


# A heading in capitals ('SURVEILLANCE PLAN', 'ULTRASOUND (10/28/24, 32w3d): ...') after a list
# the text runs on into (a PDF's text loses the blank line before it).
CAPITALS_HEADING = re.compile(r"[ \t]*[A-Z]{3,}(?:[ \t/&]+[A-Z]{2,})*[ \t]*(?:[(:]|$)")


def is_allergy_list_line(line: str) -> bool:
    if (
        SUBSTANCE_LINE.match(line)
        or ALLERGY_FIELD_LINE.match(line)
        or ALLERGEN_KIND_LABEL.match(line)
    ):
        return True
    label = LABEL_LINE.match(line)
    if label and is_substance(label[0].rstrip(":")):
        return True  # 'Penicillin: historical label removed after a negative challenge'
    if not line.strip() or label or other_section_start().match(line):
        return False
    if CAPITALS_HEADING.match(line) and not COMMON_ALLERGENS.search(line) and not find_drug(line):
        return False
    longest_item = max(len(SPECK.sub("", item).split()) for item in re.split("[,;]", line))
    return bool(LIST_ITEM_LINE.match(line)) or longest_item <= MAX_ALLERGY_ITEM_WORDS


def is_substance(name: str) -> bool:
    """A drug or a common allergen, the whole name."""
    name = name.strip()
    drug = find_drug(name)
    return bool(COMMON_ALLERGENS.fullmatch(name)) or (
        drug is not None and drug[:2] == (0, len(name))
    )


# A scan's specks between words ('_ Penicillin ’ Anaphylaxis -.'): no words of an item.
SPECK = re.compile(r"(?<!\S)(?:[^\w\s|]|_)+(?!\S)")  # a table row's bars count


SENTENCE_BREAK = re.compile(r"(?<=[.?!])[ \t]+(?=\S)")


YEAR = re.compile(r"\b(?:19|20)\d{2}\b")


AMOUNT = re.compile(r"(?<![\w*.-])\d+(?:\.\d+)?(?![\w*])")  # not an allele's 'HLA-B*5701'


def listed_sentences_end(text: str, start: int, end: int) -> int:
    """Where an allergy list on one line ends: before the first sentence after its own with a
    number of its own outside parentheses other than a year, a dose or a reading ('Allergies:
    PCN (hives). Gave ASA 324 chewed, NTG 0.4 SL x1.'); the list's items name no amounts."""
    for gap in SENTENCE_BREAK.finditer(text, start, end):
        stop = SENTENCE_BREAK.search(text, gap.end(), end)
        sentence = text[gap.end() : stop.start() if stop else end]
        if AMOUNT.search(YEAR.sub("", PARENTHESES.sub("", sentence))):
            return gap.start()
    return end


# A form's allergy question and the list it asks for on its line or the next ('Are you allergic
# to any medications?  [X] Yes  [ ] No   If yes, list: sulfa - rash').
LISTED_AFTER_A_QUESTION = re.compile(
    rf"\b(?:{ALLERGIC_TO_WORDS}|{ALLERGY_LIST_WORD})\b[^?\n]*\?[^\n]*?(?:\n[^\n]*?)?"
    r"\b(?:list|specify|explain|describe|which)[ \t]*:",
    re.IGNORECASE,
)


# The reaction a line gives all its substances ('Food: Peanut, tree nuts   Reaction: hives, lip
# swelling').
LINE_REACTION = re.compile(
    rf"(?<=\S)(?:{COLUMN_GAP}|[,.;][ \t]*)reactions?[ \t]*:[ \t]*(?P<reaction>[^\n]*)", re.I
)


def allergy_regions(doc: Doc) -> list[Region]:
    """Where allergies are listed: allergy sections, 'Allergies:' lines and 'allergic to ...'."""
    text = doc.text
    regions = [
        allergy_list_extent(text, region) for region in section_regions(doc, ALLERGY_CATEGORIES)
    ]
    # another section's label in a note that runs them on ('Allergies: PCN (hives). Meds: ...')
    titles = [doc[section.title_start].idx for section in doc._.sections if section.title_end]
    for match in INLINE_ALLERGY_LABEL.finditer(text):
        line_end = wrapped_end(text, line_bounds(text, match.end(), match.end())[1])
        next_label = INLINE_ALLERGY_LABEL.search(text, match.end(), line_end)
        end = min(
            [
                next_label.start() if next_label else line_end,
                listed_sentences_end(text, match.end(), line_end),
            ]
            + [title for title in titles if match.end() <= title < line_end]
        )
        regions.append((match.start(), end))
    regions += [match.span("substance") for match in SUBSTANCE_ADDED.finditer(text)]
    regions += substance_blocks(text)
    regions += [
        allergy_list_extent(text, (match.start(), len(text)))
        for match in ALLERGY_COLUMNS_HEADER.finditer(text)
    ]
    regions += [
        (match.end(), line_bounds(text, match.end(), match.end())[1])
        for match in LISTED_AFTER_A_QUESTION.finditer(text)
    ]
    for match in ALLERGIC_TO.finditer(text):
        end = allergic_to_end(text, match.end())
        if text.startswith("?", end):
            continue  # a question ('Do you have allergies to medications, food, or latex?')
        regions.append((match.start(), end))
        # 'allergic to sulfa, which causes a rash, and to codeine'
        more = AND_ALSO_TO.match(text, end)
        if more:
            regions.append((more.end(), allergic_to_end(text, more.end())))
    return [part for region in regions for part in without_instructions(text, region)]


# What to do about an allergy, written in its list ('Iodine contrast - premedicate with
# prednisone and diphenhydramine', 'Peanut (anaphylaxis) - carries epinephrine auto-injector',
# 'Shellfish - hives, treated with diphenhydramine', 'Paclitaxel - flushing; switched to
# docetaxel'): the drugs named there are no allergens.
ALLERGY_INSTRUCTION = re.compile(
    r"(?:[ \t]*[-\u2013,(:][ \t]*|[ \t]+)(?:requires?[ \t]+|needs?[ \t]+)?"
    r"(?:(?:pre-?medicat|pre-?treat)\w*|carr(?:y|ies|ying)|treated[ \t]+with"
    r"|(?:switched|changed)[ \t]+to|replaced[ \t]+(?:with|by))\b"
    r"[^;.\n]*(?:\n[ \t]*[a-z][^;.\n]*)*",
    re.IGNORECASE,
)


def without_instructions(text: str, region: Region) -> list[Region]:
    """The region's parts outside the instructions written in it."""
    parts, start = [], region[0]
    for instruction in ALLERGY_INSTRUCTION.finditer(text, region[0], region[1]):
        parts.append((start, instruction.start()))
        start = instruction.end()
    parts.append((start, region[1]))
    return [(part_start, part_end) for part_start, part_end in parts if part_end > part_start]


SUBSTANCE_ADDED = re.compile(
    rf"(?P<substance>[A-Za-z][\w-]*)\s+{ADDED_TO_ALLERGIES}", re.IGNORECASE
)


AND_ALSO_TO = re.compile(r"[^.;\n]*?\band[ \t]+(?:also[ \t]+)?to[ \t]+", re.IGNORECASE)


def allergic_to_end(text: str, start: int) -> int:
    stop = ALLERGIC_TO_END.search(text, start)
    return stop.start() if stop else len(text)


# A substance named with the word allergy after it ('Penicillin allergy (anaphylaxis)', 'latex
# allergy'): a drug of the lexicon or one of the common non-drug allergens.
ALLERGY_AFTER = re.compile(
    rf"[ \t]+{ALLERGY_WORD}(?:[ \t]*\((?P<reaction>[^()\n]{{1,40}})\))?", re.IGNORECASE
)


COMMON_ALLERGENS = re.compile(
    r"\b(?:latex|peanuts?|tree[ \t]+nuts?|shellfish|eggs?|milk|soy|wheat"
    r"|(?:bee|wasp|hornet|insect)(?:[ \t]*/[ \t]*(?:bee|wasp|hornet))?[ \t]+(?:stings?|venom)"
    r"|hymenoptera(?:[ \t]+venom)?"
    r"|iodine|contrast(?:[ \t]+dye)?|sulfa(?:[ \t]+drugs)?)\b",
    re.IGNORECASE,
)


def named_substances(doc: Doc) -> list[Region]:
    """The drugs of the lexicon and the common non-drug allergens the text names."""
    named = [(ent.start_char, ent.end_char) for ent in doc.ents if ent.label_ == DRUG]
    return named + [(match.start(), match.end()) for match in COMMON_ALLERGENS.finditer(doc.text)]


def named_allergies(doc: Doc) -> list[tuple[int, int, re.Match[str]]]:
    """(start, end, what follows) of each substance named with 'allergy' after it."""
    text = doc.text
    named = named_substances(doc)
    return [
        (start, end, after)
        for start, end in sorted(named)
        if (after := ALLERGY_AFTER.match(text, end)) is not None
    ]


def named_allergy_regions(doc: Doc) -> list[Region]:
    """Where a substance is named with 'allergy' and its reaction after it: 'Penicillin allergy
    (childhood rash)' names no rash of today."""
    return [(start, after.end()) for start, _, after in named_allergies(doc)]


# An anaphylaxis the text says a substance caused ('Anaphylaxis due to peanut (T78.01XA)',
# 'anaphylactic reaction to penicillin'): an allergy to it, whatever list it is in.
ANAPHYLAXIS_BEFORE = re.compile(
    rf"\b{ANAPHYLAXIS}[ \t]+(?:due[ \t]+to|caused[ \t]+by|secondary[ \t]+to|to|from|after)[ \t]+"
    r"(?:an?[ \t]+|the[ \t]+)?$",
    re.IGNORECASE,
)


REFUTED_AFTER = re.compile(rf"[ \t]*(?:{NOT_A_TRUE_ALLERGY.pattern})", re.IGNORECASE)


def substance_allergies(doc: Doc, skip_regions: list[Region]) -> list[AllergyFact]:
    text = doc.text
    facts = [
        AllergyFact(
            quote=quote_for(text, cause.start(), end),
            substance=normalize_space(text[start:end]),
            reaction="anaphylaxis",
        )
        for start, end in sorted(named_substances(doc))
        if not in_regions(start, skip_regions)
        and (cause := ANAPHYLAXIS_BEFORE.search(text, max(0, start - 40), start))
    ]
    for start, end, after in named_allergies(doc):
        if in_regions(start, skip_regions):
            continue
        reaction = normalize_space(after["reaction"]) if after["reaction"] else None
        # 'Penicillin allergy - ruled out by skin testing', 'Penicillin allergy label removed'
        refuted = REFUTED_AFTER.match(text, after.end())
        facts.append(
            AllergyFact(
                quote=quote_for(text, start, after.end()),
                substance=normalize_space(text[start:end]),
                reaction=reaction,
                assertion=Assertion.NEGATED if refuted else Assertion.PRESENT,
            )
        )
    return facts


def allergy_facts(doc: Doc, regions: list[Region], tables: list[Region]) -> list[AllergyFact]:
    """Allergies of the narrative: NKDA anywhere, items of allergy lists, substances named with
    'allergy' after them; table rows are read by `table_allergies`."""
    text = doc.text
    drugs = [ent for ent in doc.ents if ent.label_ == DRUG]
    facts = [
        AllergyFact(quote=quote_for(text, m.start(), m.end()), no_known_allergies=True)
        for m in NO_KNOWN_ALLERGIES.finditer(text)
        if not in_regions(m.start(), tables)
        and not SUBSTANCE_DASH.search(text[max(0, m.start() - 60) : m.start()])
    ]
    for region in regions:
        for item in allergy_items(text, region):
            if in_regions(item[0], tables):
                continue
            line_start, line_end = line_bounds(text, item[0], item[0])
            shared = LINE_REACTION.search(text, line_start, line_end)
            if SUBSTANCE_LINE.match(text[line_start:line_end]):
                shared = None  # 'Substance: Eggs   Reaction: Hives' is one item
            if shared and item[0] >= shared.start():
                continue  # the line's reaction, no item
            if shared and item[1] > shared.start():
                item = (item[0], shared.start())
            fact = allergy_from_item(text, item, drugs)
            if fact is not None:
                if shared and fact.reaction is None:
                    fact.reaction = normalize_space(shared["reaction"]).rstrip(".;, ")
                facts.append(fact)
    return facts + substance_allergies(doc, regions + tables)


SEVERITIES = re.compile(r"\b(?P<severity>mild|moderate|severe)", re.IGNORECASE)


def is_diagnosis_code(row: TableRow) -> bool:
    """The row prints an ICD-10-CM diagnosis code ('| ALLERGIC RHINITIS | ICD10 | J30.9 |'):
    a condition listed with the allergies, not a substance (Z88 and Z91.0 code allergy status)."""
    code = icd10cm_code(printed_code(row, ICD10_SYSTEM))
    return bool(code) and not code.startswith(("Z88", "Z91.0"))


ITEM_DASH = re.compile(r"\s[-\u2013]\s")


# A value with a unit of a measurement, not of a product ('Potassium 4.0 mmol/L 3.5-5.1', 'BP:
# 118/68 mmHg', 'TSH 3.10 uIU/mL'; not 'Amoxicillin 50 MG/ML Oral Suspension', 'lidocaine 2%
# jelly'): a row of results under an allergy title, not a substance.
MEASURED = re.compile(
    r"\d[ \t]*(?:mm[ \t]*hg|bpm|[a-z\u00b5]+/(?:d?l|min|hpf|[u\u00b5]l|mm3)"
    r"|(?:pg|ng|[mu\u00b5]?iu)/ml)\b|\d[ \t]*\u00b0",
    re.IGNORECASE,
)


def allergy_from_row(table: Table, row: TableRow, text: str) -> AllergyFact | None:
    """An allergy-table row: the substance from its name column, the reaction and severity from
    their columns or 'Reaction: ...' / 'Severity: ...' in a details cell, a resolved or inactive
    status from its status column. 'No known allergies' is that fact; 'not documented' or
    'unknown' rows are no fact."""
    cell = table.name_cell(row)
    if cell is None:
        return None
    quote = quote_for(text, cell.start, cell.end)
    if NO_KNOWN_ALLERGIES.search(cell.text):
        return AllergyFact(quote=quote, no_known_allergies=True)
    if is_absence(cell.text):
        return None
    details = table.row_text(row)
    reaction = table.cell(row, "reaction")
    reaction_text = reaction.text if reaction else labelled(details, "reactions?")
    substance = clean_name(cell.text)
    if reaction_text is None and not table.roles and ITEM_DASH.search(substance):
        # a list's item in a grid without columns ('| 1. Codeine - nausea/vomiting |')
        substance, reaction_text = split_substance_and_reaction(substance)
    if (
        not re.search(r"[A-Za-z]{3}", substance)
        or is_diagnosis_code(row)
        or MEASURED.search(substance)
    ):
        return None
    severity = table.cell(row, "severity")
    severity_text = severity.text if severity else labelled(details, "severity") or ""
    written_severity = SEVERITIES.search(severity_text)
    resolved, inactive = status_says(table.status_text(row))
    return AllergyFact(
        quote=quote,
        substance=substance,
        reaction=reaction_text,
        severity=written_severity["severity"].lower() if written_severity else None,
        resolved=resolved,
        inactive=not resolved and (inactive or table.says_not_current(row)),
    )


def table_allergies(tables: list[Table], text: str) -> list[AllergyFact]:
    facts = []
    for table in tables:
        if table.kind in ALLERGY_CATEGORIES:
            rows = [row for row in table.rows if not row.continues]
            facts += [f for row in rows if (f := allergy_from_row(table, row, text))]
    return facts
