"""Allergies: allergy sections, 'Allergies:' lines and 'allergic to ...' (an allergen is never a
medication), and rows of allergy tables.
"""

import functools
import re

from spacy.tokens import Doc, Span

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
    AS_OF_A_DATE,
    COLUMN_GAP,
    LABEL_LINE,
    LIST_ITEM_LINE,
    LIST_MARKER,
    TESTED,
    Region,
    clean_name,
    in_regions,
    is_absence,
    labelled,
    line_bounds,
    normalize_space,
    quote_for,
    wrapped_end,
)
from medpipeline.extraction.offline.vocabularies import find_drug
from medpipeline.extraction.schema import AllergyFact, Assertion
from medpipeline.terminology import icd10cm_code

# The word that names a list of allergies ('Allergies:', 'Food allergies:', 'Intolerance:',
# 'Adverse reactions:', 'Allergies/Intolerances:', 'Allergies reviewed:').
ALLERGY_LIST_WORD = (
    r"(?:allerg(?:y|ies)|intolerances?|adverse[ \t]+(?:drug[ \t]+)?reactions?)"
    r"(?:[ \t]*(?:/|&|and)[ \t]*(?:intolerances?|adverse[ \t]+reactions?))?"
)
# What a list's label says of the list after its word: 'Allergies reviewed:', 'Allergy history:',
# 'Allergy list:'.
ALLERGY_LIST_STATE = (
    rf"(?:[ \t]+(?:reviewed|verified|updated|history|list)){{0,2}}{AS_OF_A_DATE}"  # 'list reviewed'
)
ALLERGY_LABEL = (
    rf"\b(?:(?:(?:drug|food|medication|past)\s+)?{ALLERGY_LIST_WORD}{ALLERGY_LIST_STATE}"
    r"|(?-i:All|ALL))\s*:"  # 'All: PCN (hives)'
)
INLINE_ALLERGY_LABEL = re.compile(ALLERGY_LABEL, re.IGNORECASE)


# 'allergic to', 'allergic reaction to', 'allergy to', 'intolerant of': the substances follow.
ALLERGIC_TO_WORDS = (
    r"allergic\s+(?:reactions?\s+)?to|(?:allergy|allergies|intolerance|hypersensitivity)\s+to"
    r"|intolerant\s+(?:of|to)"
)
ALLERGIC_TO = re.compile(rf"\b(?:{ALLERGIC_TO_WORDS})\b", re.IGNORECASE)


MAX_ALLERGY_LINES = 6
# An allergy list's item labelled field by field ('Substance: Eggs   Reaction: Hives').
SUBSTANCE_LABEL = r"(?:substance|allergen|agent)"
SUBSTANCE_LINE = re.compile(rf"^[ \t]*{SUBSTANCE_LABEL}[ \t]*:", re.IGNORECASE)
# ... or a field to a line under its substance ('Allergen: Penicillin' / 'Reaction: Hives' /
# 'Severity: Moderate'): one item, read as the one-line form; such a block is an allergy list
# without any heading when it names an allergen or a reaction ('Substance: Alcohol' / 'Use:
# socially' in a social history is none).
ALLERGY_FIELD = (
    r"(?:reactions?|severity|status|criticality|type|onset(?:[ \t]+date)?|(?:date[ \t]+)?noted"
    r"|verified|source|comments?|notes?)"
)
ALLERGY_FIELD_LINE = re.compile(rf"^[ \t]*{ALLERGY_FIELD}[ \t]*:", re.IGNORECASE)
SUBSTANCE_BLOCK = re.compile(
    rf"^[ \t]*(?P<label>{SUBSTANCE_LABEL})[ \t]*:[^\n]*"
    rf"(?P<fields>(?:\n[ \t]*{ALLERGY_FIELD}[ \t]*:[^\n]*)*)",
    re.IGNORECASE | re.MULTILINE,
)
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
    for index in range(MAX_ALLERGY_LINES):
        if end >= region[1] or NONE_KNOWN_LINE.search(text, region[0], end):
            break  # 'ALLERGIES: NKDA': nothing follows in the list
        line = text[end + 1 : line_bounds(text, end + 1, end + 1)[1]]
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


NO_KNOWN_ALLERGIES = re.compile(
    r"\b(?:NKDA|NKA|no\s+known\s+(?:drug\s+)?allerg(?:y|ies)|no\s+allergies)\b", re.IGNORECASE
)


# A list that says there are none ('ALLERGIES: NKDA', 'No Known Allergies'), its last line.
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
    if not line.strip() or LABEL_LINE.match(line) or other_section_start().match(line):
        return False
    if CAPITALS_HEADING.match(line) and not COMMON_ALLERGENS.search(line) and not find_drug(line):
        return False
    longest_item = max(len(SPECK.sub("", item).split()) for item in re.split("[,;]", line))
    return bool(LIST_ITEM_LINE.match(line)) or longest_item <= MAX_ALLERGY_ITEM_WORDS


# A scan's specks between words ('_ Penicillin ’ Anaphylaxis -.'): no words of an item.
SPECK = re.compile(r"(?<!\S)(?:[^\w\s|]|_)+(?!\S)")  # a table row's bars count
SENTENCE_BREAK = re.compile(r"(?<=[.?!])[ \t]+(?=\S)")
PARENTHESES = re.compile(r"\([^()]*\)")
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
# A kind of allergen labelling its items in an allergy list ('Food: Peanut, tree nuts', 'Drug:
# penicillin'): no substance itself.
ALLERGEN_KIND = (
    r"(?:foods?|drugs?|medications?|environmental|environment|seasonal|contact|insects?|other)"
)
ALLERGEN_KIND_LABEL = re.compile(rf"^\s*{ALLERGEN_KIND}[ \t]*:[ \t]*", re.IGNORECASE)
# The reaction a line gives all its substances ('Food: Peanut, tree nuts   Reaction: hives, lip
# swelling').
LINE_REACTION = re.compile(
    r"(?<=\S)(?:[ \t]{2,}|[,.;][ \t]*)reactions?[ \t]*:[ \t]*(?P<reaction>[^\n]*)", re.I
)

# What opens an item by pointing at the list ('[X] See list: penicillin (anaphylaxis)').
SEE_LIST = re.compile(r"^\s*(?:see[ \t]+(?:the[ \t]+)?)?list(?:[ \t]+below)?[ \t]*:[ \t]*", re.I)


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


# A substance and a dash before 'no known allergy': none to that substance, not none at all.
SUBSTANCE_DASH = re.compile(
    r"(?:^|[.;,:\n])[ \t]*(?!(?:drug[ \t]+|known[ \t]+)?allerg)[A-Za-z]{3}[^.;,:\n]*"
    r"[-\u2013][ \t]*$",
    re.IGNORECASE,
)
NONE_ITEM = re.compile(r"(?:none|none known|no known)\.?", re.IGNORECASE)
# 'NKFA' (no known food allergies) beside a drug allergy: no substance, and nothing of drugs.
NONE_OF_A_KIND = re.compile(
    r"(?:NKFA|NKEA|no[ \t]+known[ \t]+(?:food|environmental|latex)[ \t]+allerg(?:y|ies))\.?",
    re.IGNORECASE,
)


ALLERGY_HEADER = re.compile(
    rf"\s*(?:#+\s*)?(?:(?:drug|known|food|medication|past)\s+)?"
    rf"(?:{ALLERGIC_TO_WORDS}|{ALLERGY_LIST_WORD}{ALLERGY_LIST_STATE}\s*:?|(?-i:All|ALL)\s*:)\s*",
    re.IGNORECASE,
)


# ',' ';' a line break, 'and', 'or', a sentence's end ('Codeine - nausea. Sulfa: rash') and
# another list's label ('NKDA. Intolerance: statins').
ALLERGY_ITEM_SEPARATOR = re.compile(
    rf"[,;\n]|(?<!\b[A-Z])\.(?=\s)|\band\b|\bor\b|{ALLERGY_LABEL}", re.IGNORECASE
)  # not an initial's full stop ('C. diff colitis')


REACTION_CLAUSE = (
    r",?[ \t]+(?:which|that)[ \t]+(?:causes?|caused|gives?|gave)[ \t]+(?:(?:him|her|them)[ \t]+)?"
)
REACTION_DELIMITER = re.compile(
    rf"{REACTION_CLAUSE}|\s*\(|\s+[-\u2013]\s+|\s*:\s*|{COLUMN_GAP}", re.IGNORECASE
)
ITEM_GOES_ON = re.compile(
    rf"(?<![,;\s])\n(?=[ \t]*(?-i:[a-z]))|(?={REACTION_CLAUSE}),", re.IGNORECASE
)


MAX_REACTION_WORDS = 4


# Parenthesized words that classify the substance (SNOMED CT semantic tags), not a reaction.
NOT_REACTIONS = {"substance", "organism", "product", "medicinal product", "food", "finding"}


SUBSTANCE_WORDS = re.compile(r"[A-Za-z][A-Za-z' -]*")


MAX_SUBSTANCE_WORDS = 4


NOT_SUBSTANCE_WORDS = {"the", "a", "is", "was", "has", "with", "patient", "he", "she", "his", "her"}
NOT_SUBSTANCE_WORDS |= {"no", "not", "of", "to", "for", "in", "on", "reviewed", "see", "unknown"}
NOT_SUBSTANCE_WORDS |= {"but", "since", "seasonal", "environmental", "multiple", "other"}
# remarks an allergy list makes between its items ('prior rash', 'PCP aware', 'never exposed')
NOT_SUBSTANCE_WORDS |= {"prior", "aware", "never", "exposed", "pcp", "note", "per", "concern"}
NOT_SUBSTANCE_WORDS |= {"rash", "hives", "reaction", "reactions", "positive", "negative"}
# a column heading read as a row ('Substance    Reaction    Severity    Status')
NOT_SUBSTANCE_WORDS |= {"substance", "allergen", "allergens", "agent", "severity", "status"}
# what a form's question asks about ('Are you allergic to any medications?')
NOT_SUBSTANCE_WORDS |= {"any", "anything"}
# a form's answer ('Drug allergies: Yes', then the list below)
NOT_SUBSTANCE_WORDS |= {"yes", "y"}
# a row's severity and status read apart from it ('_ Penicillin ’ Anaphylaxis -. Severe Active')
SEVERITY_AND_STATUS = {"mild", "moderate", "severe", "high", "low"}
SEVERITY_AND_STATUS |= {"active", "inactive", "resolved"}
NOT_SUBSTANCE_WORDS |= SEVERITY_AND_STATUS - {"high", "low"}


def mask_parentheses(value: str) -> str:
    """Replace separators inside parentheses so '(hives, rash)' stays one item."""
    depth, chars = 0, []
    for char in value:
        depth += char == "("
        chars.append("\x00" if depth and char in ",;\n" else char)
        depth -= char == ")" and depth > 0
    return "".join(chars)


def mask_substance_blocks(value: str) -> str:
    """Replace separators inside a labelled block ('Allergen: Penicillin' / 'Reaction: Hives,
    itching') so that it stays one item."""
    for block in SUBSTANCE_BLOCK.finditer(value):
        start, end = block.span()
        masked = ALLERGY_ITEM_SEPARATOR.sub(lambda match: "\x00" * len(match[0]), value[start:end])
        value = value[:start] + masked + value[end:]
    return value


def is_a_row_end(text: str, position: int) -> bool:
    """The line ending at `position` prints columns: the next line is another row."""
    return re.search(COLUMN_GAP, text[text.rfind("\n", 0, position) + 1 : position]) is not None


def allergy_items(text: str, region: Region) -> list[Region]:
    """Character regions of the comma/semicolon/line separated items of an allergy list."""
    start, end = region
    header = ALLERGY_HEADER.match(text, start, end)
    if header:
        start = header.end()
    masked = mask_substance_blocks(mask_parentheses(text[start:end]))
    # an item the page wrapped ('Iodinated\ncontrast (hives)', not a row of columns); a
    # reaction told in a relative clause ('codeine, which causes vomiting')
    masked = ITEM_GOES_ON.sub(
        lambda match: match[0] if is_a_row_end(masked, match.start()) else "\x00" * len(match[0]),
        masked,
    )
    items, item_start = [], 0
    for separator in ALLERGY_ITEM_SEPARATOR.finditer(masked):
        items.append((start + item_start, start + separator.start()))
        item_start = separator.end()
    items.append((start + item_start, end))
    return [(a, b) for a, b in items if text[a:b].strip()]


# A form's yes before the allergy it gives ('Allergies: [x] Yes - cefuroxime (hives)'): the
# substance was the answer and the allergen its reaction.
ANSWERED_YES = re.compile(r"^[ \t]*(?:yes|y)[ \t]*[-\u2013:,][ \t]*", re.IGNORECASE)


def allergy_from_item(text: str, item: Region, drugs: list[Span]) -> AllergyFact | None:
    raw = text[item[0] : item[1]]
    if NONE_OF_A_KIND.fullmatch(raw.strip()):
        return None
    if (none := NO_KNOWN_ALLERGIES.search(raw)) and SUBSTANCE_DASH.search(raw[: none.start()]):
        return None  # 'Daptomycin - no known allergy': that drug is no allergen
    if NO_KNOWN_ALLERGIES.search(raw) or NONE_ITEM.fullmatch(raw.strip()):
        return AllergyFact(quote=quote_for(text, *item), no_known_allergies=True)
    refuted = NOT_A_TRUE_ALLERGY.search(raw)
    if refuted:  # 'amoxicillin (rash - viral exanthem, not true allergy per allergist)'
        raw = raw[: refuted.start()] + raw[refuted.end() :]
    tolerated = TOLERATED.search(raw)
    if tolerated and (
        not re.search(r"[A-Za-z]", raw[tolerated.end() :])
        or TOLERATED_BEFORE.match(raw, tolerated.end())
    ):
        return None  # 'Amoxicillin - tolerated', 'Cefdinir tolerated in the past'
    if tolerated:  # 'Penicillin (hives), but tolerates cephalexin': the item ends before it
        raw = raw[: tolerated.start()]
        item = (item[0], item[0] + tolerated.start())
    item_text = ANSWERED_YES.sub("", LIST_MARKER.sub("", raw, count=1), count=1)
    item_text = ALLERGY_TO.sub(
        "", ALLERGEN_KIND_LABEL.sub("", SEE_LIST.sub("", item_text)), count=1
    )
    status_text = labelled(item_text, "status")
    if status_text is None and (listed := LISTED_STATUS.search(item_text)):
        status_text, item_text = listed["status"], item_text[: listed.start()]
    if substance_label := labelled(item_text, SUBSTANCE_LABEL):
        # 'Substance: Eggs   Reaction: Hives   Status: Active'
        written, reaction = substance_label, labelled(item_text, "reactions?")
    else:
        written, reaction = split_substance_and_reaction(item_text)
    written = NAMED_ALLERGY_WORD.sub("", written)  # 'Latex allergy' names latex
    item_drugs = [d for d in drugs if item[0] <= d.start_char < item[1]]
    drug = item_drugs[0] if item_drugs else None
    if (example := DRUG_EXAMPLE.match(raw)) and any(
        item[0] + example.start("example") <= d.start_char < item[0] + example.end("example")
        for d in item_drugs
    ):
        # 'Sulfa drugs (Bactrim) - hives', 'ACE inhibitors (lisinopril) - angioedema': the
        # bracket names a drug of the class, the reaction follows it
        reaction = normalize_space(example["reaction"]).rstrip(".,;: ")
        if drug.start_char >= item[0] + example.start("example"):
            drug, written = None, normalize_space(example["substance"])
    if drug is not None and TESTED_AFTER.match(text, drug.end_char):
        return None  # 'oral amoxicillin challenge tolerated': what an allergist tested
    substance = normalize_space(drug.text) if drug else written
    if not drug and not plausible_substance(substance):
        return None
    if refuted:
        assertion = Assertion.NEGATED
    elif (doubt := raw.find("?")) >= 0 and NO_REACTION_AFTER.match(text, item[0] + doubt):
        return None
    elif UNCERTAIN_ITEM.search(raw):
        assertion = Assertion.POSSIBLE
    else:
        assertion = Assertion.PRESENT
    resolved, inactive = status_says(status_text or "")
    return AllergyFact(
        quote=quote_for(text, *item),
        substance=substance.rstrip("?"),
        reaction=REMARK_AFTER.sub("", reaction).rstrip("?") if reaction else None,
        assertion=assertion,
        resolved=resolved,
        inactive=inactive,
    )


# A status closing an allergy list's item ('Eggs - Hives - Inactive', 'Latex (resolved)').
LISTED_STATUS = re.compile(
    r"[ \t]*(?:[-\u2013,][ \t]*|\()(?P<status>active|inactive|resolved)\)?[ \t.]*$", re.IGNORECASE
)


DRUG_EXAMPLE = re.compile(
    r"^[ \t]*(?P<substance>[^()\n]+?)[ \t]*\((?P<example>[^()\n]+)\)[ \t]*[-\u2013:][ \t]*"
    r"(?P<reaction>[^()\n]+?)[ \t.]*$"
)
REMARK_AFTER = re.compile(r"[ \t]*\([^()]*\)$")  # 'angioedema? (unclear history)'
REACTION_REMARK = re.compile(r"[ \t]*(?:\([^()]*\)?|[-\u2013][ \t][^()]*)$")
# An allergy the item doubts: 'Morphine? - itching only', 'Lisinopril - angioedema? (unclear)'.
UNCERTAIN_ITEM = re.compile(
    r"\?|\b(?:possible|possibly|questionable|probable|unclear|unsure|uncertain|suspected"
    r"|unconfirmed|unverified)\b",
    re.IGNORECASE,
)
# A doubted allergy the next words answer: 'Oxaliplatin? No prior reaction.'
NO_REACTION_AFTER = re.compile(
    r"[?.\s]*(?:no|denies|without)\s+(?:(?:prior|known|previous|past)\s+)?reactions?\b",
    re.IGNORECASE,
)


# An allergy the item itself says the patient does not have: an allergist's or a challenge's
# verdict.
NOT_A_TRUE_ALLERGY = re.compile(
    r"[,;-]?\s*\b(?:(?:is\s+)?not\s+(?:an?\s+)?(?:true\s+)?allerg\w*"
    r"|no\s+true\s+allerg\w*|not\s+(?:truly\s+)?allergic|de-?labell?ed"
    r"|(?:passed|tolerated)\s+(?:an?\s+)?(?:oral\s+|drug\s+)?challenge)\b[^,;()]*",
    re.IGNORECASE,
)
# A drug an allergist tested, the words maybe wrapped onto the next line.
TESTED_AFTER = re.compile(rf"\s*(?:{TESTED})\b", re.IGNORECASE)
# A substance the patient takes without a reaction, named in an allergy list: not an allergen.
TOLERATED = re.compile(r"\btolerat(?:e|es|ed|ing)\b", re.IGNORECASE)
# what was tolerated is the substance before ('Cefdinir tolerated in the past'), not one after
TOLERATED_BEFORE = re.compile(
    r"[ \t]+(?:it[ \t]+)?(?:in[ \t]+the[ \t]+past|well|previously|before|fine|without)\b",
    re.IGNORECASE,
)


NAMED_ALLERGY_WORD = re.compile(rf"[ \t]+{ALLERGY_WORD}$", re.IGNORECASE)


# 'contrast dye in 2015': when the reaction happened, not part of the substance.
WHEN_AFTER = re.compile(r"\s+(?:in|since|on)\s+(?:\d{1,2}/)?(?:19|20)\d{2}\b.*$", re.DOTALL)


# A row of an allergy list printed in columns without bars: substance, severity, the date it was
# noted, reaction type, reactions ('Penicillins High 01/02/2010 Hives', 'Sulfa Antibiotics Low
# 03/04/2015 Allergy Rash').
DATED_ROW = re.compile(
    r"^(?P<substance>[A-Za-z][^\d\n()]*?)(?:[ \t]+(?:high|low|medium|mild|moderate|severe))?"
    r"[ \t]+\d{1,2}/\d{1,2}/\d{2,4}(?:[ \t]+(?:allergy|intolerance|side[ \t]+effect))?"
    r"(?:[ \t]+(?P<reaction>[A-Za-z][^\n]*?))?[ \t]*$",
    re.IGNORECASE,
)


TYPE_COLUMN = re.compile(
    r"[A-Za-z]{1,2}|allergy|intolerance|drug|food|environmental|medication|side[ \t]+effect"
    r"|adverse[ \t]+reaction|-+",
    re.IGNORECASE,
)


# A common reaction ending an item written without a delimiter.
REACTION_AT_END = re.compile(
    r"(?<=\S)[ \t]+(?P<reaction>(?:(?:throat|facial|lip|tongue)[ \t]+)?(?:rash|hives|urticaria"
    r"|itching|pruritus|swelling|angioedema|anaphylaxis|nausea|vomiting|diarrh(?:o)?ea|wheezing"
    r"|dizziness|headache|myalgias?|flushing|shortness[ \t]+of[ \t]+breath|GI[ \t]+upset))$",
    re.IGNORECASE,
)


def split_substance_and_reaction(item: str) -> tuple[str, str | None]:
    """'Penicillin (hives)', 'sulfa - rash', 'codeine: nausea', 'Penicillins High 01/02/2010
    Hives' -> (substance, reaction)."""
    item = item.strip()
    if row := DATED_ROW.match(item):
        return normalize_space(row["substance"]), row["reaction"]
    if len(columns := re.split(COLUMN_GAP, item)) > 1:
        # 'Sulfa (Sulfonamide Antibiotics)    Rash': the bracket names the substance's class;
        # a type column ('A', 'Drug') is no reaction
        reactions = [column for column in columns[1:] if not TYPE_COLUMN.fullmatch(column)]
        item = f"{PARENTHESES.sub('', columns[0]).strip()}  {'  '.join(reactions)}".strip()
    parts = REACTION_DELIMITER.split(WHEN_AFTER.sub("", item), maxsplit=1)
    substance = normalize_space(parts[0]).rstrip(". ")
    if len(parts) == 1:
        # a PDF's text closes up the column gap: 'Sulfa Antibiotics Rash'
        if reaction_after := REACTION_AT_END.search(substance):
            return substance[: reaction_after.start()], reaction_after["reaction"]
        return substance, None
    rest = parts[1]
    reaction = rest.split(")")[0] if item[len(parts[0]) :].lstrip().startswith("(") else rest
    reaction = re.split(COLUMN_GAP, reaction.strip())[0]  # not the severity column after it
    reaction = re.sub(r"^(?:an?|the)[ \t]+", "", reaction, flags=re.IGNORECASE)  # 'caused a rash'
    reaction = normalize_space(reaction).rstrip(".,;:-\u2013 ")  # 'rash - tolerates ...'
    if len(reaction.split()) > MAX_REACTION_WORDS:
        # 'infusion reaction (grade 2, cycle 4)', 'rash - SJS concern per patient': the
        # reaction without the remark on it
        reaction = REACTION_REMARK.sub("", reaction)
    too_long = len(reaction.split()) > MAX_REACTION_WORDS
    if not reaction or too_long or reaction.lower() in NOT_REACTIONS | SEVERITY_AND_STATUS:
        return substance, None
    return substance, reaction


def plausible_substance(value: str) -> bool:
    words = value.lower().split()
    return (
        bool(SUBSTANCE_WORDS.fullmatch(value))
        and 0 < len(words) <= MAX_SUBSTANCE_WORDS
        and not set(words) & NOT_SUBSTANCE_WORDS
    )


# A substance named with the word allergy after it ('Penicillin allergy (anaphylaxis)', 'latex
# allergy'): a drug of the lexicon or one of the common non-drug allergens.
ALLERGY_AFTER = re.compile(
    rf"[ \t]+{ALLERGY_WORD}(?:[ \t]*\((?P<reaction>[^()\n]{{1,40}})\))?", re.IGNORECASE
)
COMMON_ALLERGENS = re.compile(
    r"\b(?:latex|peanuts?|tree[ \t]+nuts?|shellfish|eggs?|milk|soy|wheat|bee[ \t]+stings?"
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
        facts.append(
            AllergyFact(
                quote=quote_for(text, start, after.end()),
                substance=normalize_space(text[start:end]),
                reaction=reaction,
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


# A list item written 'Allergy to Bee Pollen': the substance follows.
ALLERGY_TO = re.compile(r"^\s*(?:allerg(?:y|ies|ic)|intolerance)\s+to\s+", re.IGNORECASE)
SEVERITIES = re.compile(r"\b(?P<severity>mild|moderate|severe)", re.IGNORECASE)


def is_diagnosis_code(row: TableRow) -> bool:
    """The row prints an ICD-10-CM diagnosis code ('| ALLERGIC RHINITIS | ICD10 | J30.9 |'):
    a condition listed with the allergies, not a substance (Z88 and Z91.0 code allergy status)."""
    code = icd10cm_code(printed_code(row, ICD10_SYSTEM))
    return bool(code) and not code.startswith(("Z88", "Z91.0"))


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
    substance = clean_name(cell.text)
    if not re.search(r"[A-Za-z]{3}", substance) or is_diagnosis_code(row):
        return None
    details = table.row_text(row)
    reaction = table.cell(row, "reaction")
    severity = table.cell(row, "severity")
    severity_text = severity.text if severity else labelled(details, "severity") or ""
    written_severity = SEVERITIES.search(severity_text)
    resolved, inactive = status_says(table.status_text(row))
    return AllergyFact(
        quote=quote,
        substance=substance,
        reaction=reaction.text if reaction else labelled(details, "reactions?"),
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
