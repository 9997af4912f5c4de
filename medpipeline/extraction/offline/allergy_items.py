"""One item of an allergy list read as a fact: its substance, reaction, severity and status, and
whether it is an allergy at all (a tolerance, a test, a drug example); the labels and words that
frame allergy lists."""

import re

from spacy.tokens import Span

from medpipeline.extraction.offline.sections_tables import (
    status_says,
)
from medpipeline.extraction.offline.text import (
    ALLERGY_WORD,
    AS_OF_A_DATE,
    COLUMN_GAP,
    LIST_MARKER,
    TESTED,
    Region,
    labelled,
    mask_parentheses,
    normalize_space,
    quote_for,
)
from medpipeline.extraction.schema import AllergyFact, Assertion

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


# 'allergic to', 'allergic reaction to', 'allergy to', 'intolerant of': the substances follow.
ALLERGIC_TO_WORDS = (
    r"allergic\s+(?:reactions?\s+)?to|(?:allergy|allergies|intolerance|hypersensitivity)\s+to"
    r"|intolerant\s+(?:of|to)"
)


# An allergy list's item labelled field by field ('Substance: Eggs   Reaction: Hives').
SUBSTANCE_LABEL = r"(?:substance|allergen|agent)"


# ... or a field to a line under its substance ('Allergen: Penicillin' / 'Reaction: Hives' /
# 'Severity: Moderate'): one item, read as the one-line form; such a block is an allergy list
# without any heading when it names an allergen or a reaction ('Substance: Alcohol' / 'Use:
# socially' in a social history is none).
ALLERGY_FIELD = (
    r"(?:reactions?|severity|status|criticality|type|onset(?:[ \t]+date)?|(?:date[ \t]+)?noted"
    r"|verified|source|comments?|notes?)"
)


SUBSTANCE_BLOCK = re.compile(
    rf"^[ \t]*(?P<label>{SUBSTANCE_LABEL})[ \t]*:[^\n]*"
    rf"(?P<fields>(?:\n[ \t]*{ALLERGY_FIELD}[ \t]*:[^\n]*)*)",
    re.IGNORECASE | re.MULTILINE,
)


NO_KNOWN_ALLERGIES = re.compile(
    r"\b(?:NKDA|NKA|no\s+known\s+(?:drug\s+)?allerg(?:y|ies)|no\s+allergies)\b", re.IGNORECASE
)


PARENTHESES = re.compile(r"\([^()]*\)")


# A kind of allergen labelling its items in an allergy list ('Food: Peanut, tree nuts', 'Drug:
# penicillin'): no substance itself.
ALLERGEN_KIND = (
    r"(?:foods?|drugs?|medications?|environmental|environment|seasonal|contact|insects?|other)"
)


# ('Drug:', 'Other drug:')
ALLERGEN_KIND_LABEL = re.compile(rf"^\s*(?:other[ \t]+)?{ALLERGEN_KIND}[ \t]*:[ \t]*", re.I)


# What opens an item by pointing at the list ('[X] See list: penicillin (anaphylaxis)').
SEE_LIST = re.compile(r"^\s*(?:see[ \t]+(?:the[ \t]+)?)?list(?:[ \t]+below)?[ \t]*:[ \t]*", re.I)


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
    rf"[,;\n]|(?<!\b[A-Z])(?<!\.)\.(?=\s)|\band\b|\bor\b|{ALLERGY_LABEL}", re.IGNORECASE
)  # not an initial's full stop ('C. diff colitis'), nor a dot leader's last dot


REACTION_CLAUSE = (
    r",?[ \t]+(?:which|that)[ \t]+(?:causes?|caused|gives?|gave)[ \t]+(?:(?:him|her|them)[ \t]+)?"
)


REACTION_CLAUSE_LIST = re.compile(rf"{REACTION_CLAUSE}[^.;,\n]*", re.IGNORECASE)


REACTION_DELIMITER = re.compile(
    rf"{REACTION_CLAUSE}|\s*\(|\s+[-\u2013]\s+|\s*:\s*|{COLUMN_GAP}"
    r"|[ \t]*(?:\.{3,}|\u2026+)[ \t]*",  # dot leaders: 'Latex ........ contact dermatitis'
    re.IGNORECASE,
)


ITEM_GOES_ON = re.compile(
    rf"(?<![,;\s])\n(?=[ \t]*(?-i:[a-z]))|(?={REACTION_CLAUSE}),", re.IGNORECASE
)


MAX_REACTION_WORDS = 4


# Parenthesized words that classify the substance (SNOMED CT semantic tags), not a reaction.
NOT_REACTIONS = {"substance", "organism", "product", "medicinal product", "food", "finding"}


# (two named as one: 'Bee / wasp stings'; not 'N/A')
SUBSTANCE_WORDS = re.compile(r"[A-Za-z][A-Za-z' -]*(?:/[ \t]*[A-Za-z]{2,}[A-Za-z' -]*)?")


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


# how the allergy is managed, an item of its own ('confirmed by pediatric allergist, strict
# avoidance, epinephrine auto-injector prescribed'; 'Peanut allergy: continue avoidance')
NOT_SUBSTANCE_WORDS |= {"avoidance", "avoid", "confirmed", "allergist", "continue", "strict"}


# The remedy an allergy list names (an epinephrine auto-injector carried or prescribed): no
# allergen.
REMEDY = re.compile(
    r"\b(?:carr(?:y|ies|ying)|prescribed|auto-?injectors?|epi-?pens?|action[ \t]+plan)\b",
    re.IGNORECASE,
)


# a row's severity and status read apart from it ('_ Penicillin ’ Anaphylaxis -. Severe Active')
SEVERITY_AND_STATUS = {"mild", "moderate", "severe", "high", "low"}


SEVERITY_AND_STATUS |= {"active", "inactive", "resolved"}


NOT_SUBSTANCE_WORDS |= SEVERITY_AND_STATUS - {"high", "low"}


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
    # the reactions a relative clause or a dash joins are one item's ('which causes nausea and
    # vomiting', 'Codeine - nausea and vomiting')
    for reactions in (REACTION_CLAUSE_LIST, DASH_REACTION_LIST):
        masked = reactions.sub(
            lambda match: re.sub(r",|\b(?:and|or)\b", lambda word: "\x00" * len(word[0]), match[0]),
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
    item_text = ADDED_AFTER.sub("", item_text)
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
    if drug is not None and REMEDY.search(raw):
        return None  # 'carries EpiPen', 'epinephrine auto-injector 0.1 mg prescribed'
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
# An allergy list's update ('... grass and birch pollen added'): the item is the substance.
ADDED_AFTER = re.compile(r"[ \t]+(?:added|new)[ \t.]*$", re.IGNORECASE)


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
    r"[,;\u2013-]?\s*\b(?:(?:is\s+)?not\s+(?:an?\s+)?(?:true\s+)?allerg\w*"
    r"|no\s+true\s+allerg\w*|not\s+(?:truly\s+)?allergic|de-?labell?ed"
    # 'Penicillin allergy - ruled out by skin testing', 'allergy label removed', an allergy
    # list's update 'penicillin removed'
    r"|ruled\s+out|(?:label\s+)?removed"
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
REACTION_WORD = (
    r"(?:(?:throat|facial|lip|tongue)[ \t]+)?(?:rash|hives|urticaria"
    r"|itching|pruritus|swelling|angioedema|anaphylaxis|nausea|vomiting|diarrh(?:o)?ea|wheezing"
    r"|dizziness|headache|myalgias?|flushing|shortness[ \t]+of[ \t]+breath|GI[ \t]+upset)"
)
REACTION_AT_END = re.compile(rf"(?<=\S)[ \t]+(?P<reaction>{REACTION_WORD})$", re.IGNORECASE)


# Reactions joined after a dash are one item's ('Codeine - nausea and vomiting'; not 'Penicillin
# - hives and sulfa - rash').
DASH_REACTION_LIST = re.compile(
    rf"[ \t]+[-\u2013][ \t]+{REACTION_WORD}"
    rf"(?:(?:[ \t]*,[ \t]*(?:(?:and|or)[ \t]+)?|[ \t]+(?:and|or)[ \t]+){REACTION_WORD})+",
    re.IGNORECASE,
)


YEAR_AT_END = re.compile(r"[ \t,]+\(?(?:\d{1,2}/)?(?:19|20)\d{2}\)?$")


# The reaction after a dash that follows the substance's bracket ('(hymenoptera venom) - hives').
DASH_AFTER_BRACKET = re.compile(r"[^()]*\)[ \t]*[-\u2013:][ \t]*(?P<reaction>\S.*)$", re.DOTALL)


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
    bracketed = item[len(parts[0]) :].lstrip().startswith("(")
    if bracketed and (after := DASH_AFTER_BRACKET.match(rest)):
        rest = after["reaction"]  # 'Bee stings (hymenoptera venom) - anaphylaxis': a remark
        bracketed = False
    reaction = rest.split(")")[0] if bracketed else rest
    reaction = re.split(COLUMN_GAP, reaction.strip())[0]  # not the severity column after it
    reaction = re.sub(r"^(?:an?|the)[ \t]+", "", reaction, flags=re.IGNORECASE)  # 'caused a rash'
    reaction = normalize_space(reaction).rstrip(".,;:-\u2013 ")  # 'rash - tolerates ...'
    reaction = YEAR_AT_END.sub("", reaction)  # 'anaphylaxis 2017': when, not what
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


# A list item written 'Allergy to Bee Pollen': the substance follows.
ALLERGY_TO = re.compile(r"^\s*(?:allerg(?:y|ies|ic)|intolerance)\s+to\s+", re.IGNORECASE)
