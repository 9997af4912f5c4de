"""Sentence boundaries PyRuSH does not draw where ConText's scopes must stop or go on: list
items, table rows, indented items, a field's next line; cue lists, wrapped lines, trailing
statuses."""

import re

from spacy.language import Language
from spacy.tokens import Doc

from medpipeline.extraction.offline.context_rules import RELATIVES
from medpipeline.extraction.offline.section_rules import MEDICATIONS, is_section_title
from medpipeline.extraction.offline.term_matcher import DRUG
from medpipeline.extraction.offline.text import LIST_ITEM_LINE

# A status a line ends with after a dash ('hydrochlorothiazide 12.5 mg - 1 capsule daily - NOT
# TAKING', 'Aspirin 81 mg - STOPPED (bleeding risk)', 'Atorvastatin - DISCONTINUE (goals of
# care)', 'Type 2 diabetes - RESOLVED'): PyRuSH starts a sentence at the dash, which cut the
# status off its drug or condition.
TRAILING_STATUS = re.compile(
    r"(?<=[ \t])-[ \t]*(?:(?:not|no[ \t]+longer)[ \t]+(?:taking|prescribed|started|given|indicated)"
    r"|held|hold"
    r"|on[ \t]+hold|discontinued?|stop(?:ped)?|d/c|taper(?:ed)?[ \t]+(?:and[ \t]+stop|off)"
    r"|completed|continue|resolved|inactive|cured|in[ \t]+remission)\b[^\n]*$",
    re.IGNORECASE | re.MULTILINE,
)


# A line that opens with a name and its dose, an item of an unbulleted medication list
# ('alendronate 70 mg PO weekly - DISCONTINUED\nsenna 8.6 mg 2 tabs qHS - continue'): what one
# line says is not about the next line's drug.
DOSE_LINE = re.compile(
    r"^[ \t]*(?=[A-Za-z][\w/-]*(?:[ \t]+[A-Za-z][\w/-]*){0,3}[ \t]+\d+(?:\.\d+)?[ \t]*"
    r"(?:mg|mcg|g|units?|mL|%)\b)",
    re.MULTILINE | re.IGNORECASE,
)


# A line the page wrapped after a word that cannot end a sentence ('consider adding
# hydroxychloroquine or a\nTNF inhibitor such as adalimumab', 'we could consider a 3-day\ncourse
# of IV methylprednisolone 1 g daily', 'Avoid\nNSAIDs (ibuprofen, naproxen)'): PyRuSH, or a dose
# opening the line, started a sentence there and the proposal did not reach the drug.
WRAPPED_AFTER = re.compile(
    r"\b(?:a|an|the|or|and|of|to|with|for|by|than|consider|considering|add|adding|start|starting"
    r"|discuss|trial|including|such[ \t]+as|\d+-(?:day|week|month)|avoid|avoiding|give"
    # 'He received\nfurosemide 80 mg IV' (a dose opening the line started a sentence and the
    # dose given was a drug he is on), 'If diuresis is inadequate at\n24 hours, add ...'
    r"|received|receiving|given|gave|administered|took|taking|on|at|in|from|after|before"
    r"|is|are|was|were)[ \t]*\n[ \t]*(?=\S)",
    re.IGNORECASE,
)


# An abbreviation's full stop ends no sentence ('a statin (e.g. atorvastatin 20 mg)').
ABBREVIATION_STOP = re.compile(r"\b(?:e\.g|i\.e|approx|incl)\.,?[ \t]+(?=\S)", re.IGNORECASE)
# nor a genus's initial ('If H. pylori positive', 'E. coli UTI')
GENUS_INITIAL = re.compile(r"\b[A-Z]\.[ \t]+(?=[a-z]{3,})")


# A full stop after an acronym before a capitalised word ('No evidence of malignancy on prior CT.
# Hx of DVT in 2015'): PyRuSH at times joins the two (before a line's end), and the negation
# reached the next sentence's condition.
ACRONYM_FULL_STOP = re.compile(r"(?<![\w.])[A-Z][A-Z0-9]{1,5}\.[ \t]+(?=[A-Z])")


# The dash after a relative opening a line or a sentence ('Father - MI at 54', 'Mother - diabetes.
# Father - MI at 58.'): PyRuSH started a sentence at it, so the relative's condition was the
# patient's.
RELATIVE_DASH = re.compile(
    rf"(?:^|(?<=[.;]))[ \t]*(?:(?:yes|no)[ \t]*[-:,][ \t]*)?(?:{'|'.join(RELATIVES)})[ \t]+"
    r"(?=[-\u2013][ \t])",
    re.IGNORECASE | re.MULTILINE,
)


# The line after a labelled field's line, opening with a capital ('Emergency contact: daughter
# Ana (555-0142)\nShe has atrial fibrillation'): PyRuSH joined them, so the contact's relative
# made the patient's conditions the daughter's. A value wrapped onto a line in lower case, or
# lines indented under the field ('ORDER: Potassium chloride\n    Give 1 tablet daily'), stay
# the field's.
AFTER_A_FIELD_LINE = re.compile(
    r"^(?P<indent>[ \t]*)[A-Za-z][A-Za-z /&'-]{0,40}:[ \t]*\S[^\n]*\n(?P=indent)(?=[A-Z])",
    re.MULTILINE,
)


# A row of a table written with bars ('Metformin | 1000 mg | BID | No - hold'): what one row says
# is not about the next row's drug.
TABLE_ROW_LINE = re.compile(r"^[ \t]*(?=[^\n|]*\|[^\n|]*\|)", re.MULTILINE)
# nor about the line after the table ('| Azithromycin 250 mg | ... | NEW - prescribed today |\n
# Follow-up of COPD after an exacerbation treated with prednisone': not a prescription).
AFTER_A_TABLE_ROW = re.compile(r"^[ \t]*\|[^\n]*\|[ \t]*\n[ \t]*(?=[^\s|])", re.MULTILINE)


# A line opening with a capital letter under a heading indented less ('Today's Diagnoses\n  Type 2
# diabetes mellitus without complication\n  Essential hypertension'): an item of the heading's
# list. PyRuSH starts a sentence at a line opening with a capital, but not after an indent, so
# the 'without' negated the hypertension. Lines under an item ('ORDER: Potassium chloride 20
# mEq\n    Give 1 tablet daily\n    DISCONTINUED 11/03') are the item's own.
INDENTED_LINE = re.compile(r"^(?P<indent>[ \t]*)(?P<content>\S[^\n]*)", re.MULTILINE)


HEADING_LIKE = re.compile(r"[^\d.;,]{1,40}")


# A line that ends with a bracket, its item's printed code or a remark ('Gastroesophageal
# reflux disease without esophagitis (K21.9)\nVitamin D deficiency (E55.9)', 'Preeclampsia
# without severe features, postpartum (gestational hypertension antepartum)\nAcute postpartum
# blood loss anemia'): an item of a list, the next line another (PyRuSH joined them, and
# 'without' negated the items below). After a code any capital opens the next item ('HTN');
# after a remark, a capitalised word.
AFTER_A_CLOSED_BRACKET = re.compile(
    r"[(\[](?:[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?|\d{6,9})[)\]][ \t]*\n[ \t]*(?=[A-Z])"
    r"|\)[ \t]*\n[ \t]*(?=[A-Z][a-z])"
)


def indented_item_starts(text: str) -> set[int]:
    starts: set[int] = set()
    above: list[tuple[int, str]] = []  # the nearest line above of each smaller indent
    for line in INDENTED_LINE.finditer(text):
        indent = len(line["indent"].expandtabs(4))
        while above and above[-1][0] >= indent:
            above.pop()
        if indent and line["content"][0].isupper():
            parent = above[-1][1] if above else None
            if parent is None or HEADING_LIKE.fullmatch(parent.rstrip(": \t")):
                starts.add(line.start("content"))
        above.append((indent, line["content"]))
    return starts


# A heading that ends in a negation or a condition and a colon, over the findings it denies or
# makes hypothetical, one per line ('Denies:\nChest pain\nShortness of breath', 'Review of
# systems negative for:', 'Pertinent negatives:', 'Call your doctor if:\n- You have chest pain',
# 'Symptoms to report:'). PyRuSH starts a sentence at each line, so the cue reached none.
CUE_LIST_HEADING = re.compile(
    r"^[^\n:]{0,60}?\b(?:denies|denied|negative[ \t]+for|neg[ \t]+for|pertinent[ \t]+negatives?"
    r"|no[ \t]+(?:known[ \t]+)?history[ \t]+of|never[ \t]+had|has[ \t]+not[ \t]+had"
    r"|if\b[^\n:]{0,40}|symptoms[ \t]+to[ \t]+report|warning[ \t]+signs"
    r"|report[ \t]+(?:any[ \t]+of[ \t]+)?the[ \t]+following(?:[ \t]+symptoms)?)[ \t]*:[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


# A line of such a list: short, or a bulleted item ('- Redness spreading around the wound, red
# streaks, pus, or a bad smell'), not a heading of its own.
CUE_LIST_LINE = re.compile(
    r"[ \t]*(?:[-*\u2022][ \t]+[^\n]{1,120}|[^\s:][^\n]{0,58})(?<!:)[ \t]*(?=\n|$)"
)


def cue_list_line_starts(text: str) -> set[int]:
    """Where the lines a cue list heading is about start (the lines up to a blank one, a
    heading or a line of prose)."""
    starts = set()
    for heading in CUE_LIST_HEADING.finditer(text):
        position = heading.end() + 1
        while line := CUE_LIST_LINE.match(text, position):
            if is_section_title(line.group().strip()):
                break
            starts.add(position + len(line.group()) - len(line.group().lstrip()))
            position = line.end() + 1
    return starts


LIST_ITEM_SENTENCES = "medpipeline_list_item_sentences"
MEDICATION_ITEM_SENTENCES = "medpipeline_medication_item_sentences"


@Language.component(LIST_ITEM_SENTENCES)
def list_item_sentences(doc: Doc) -> Doc:
    """Start a sentence at every list item, table row and indented item of a heading's list,
    and after an acronym's full stop, so ConText scopes stop there (PyRuSH joins them), but none
    inside a cue list (the heading's cue reaches every line) or at the dash before a line's
    trailing status."""
    item_starts = {
        match.start() + len(match.group()) - len(match.group().lstrip())
        for match in (
            *LIST_ITEM_LINE.finditer(doc.text),
            *TABLE_ROW_LINE.finditer(doc.text),
            *DOSE_LINE.finditer(doc.text),
        )
    } | indented_item_starts(doc.text)
    item_starts |= {match.end() for match in AFTER_A_FIELD_LINE.finditer(doc.text)}
    item_starts |= {match.end() for match in ACRONYM_FULL_STOP.finditer(doc.text)}
    item_starts |= {match.end() for match in AFTER_A_TABLE_ROW.finditer(doc.text)}
    item_starts |= {match.end() for match in AFTER_A_CLOSED_BRACKET.finditer(doc.text)}
    list_items = {match.end() for match in LIST_ITEM_LINE.finditer(doc.text)}
    joined = (
        cue_list_line_starts(doc.text)
        | {match.end() for match in WRAPPED_AFTER.finditer(doc.text)} - list_items
        | {match.end() for match in ABBREVIATION_STOP.finditer(doc.text)}
        | {match.end() for match in GENUS_INITIAL.finditer(doc.text)}
        | {match.start() for match in TRAILING_STATUS.finditer(doc.text)}
        | {match.end() for match in RELATIVE_DASH.finditer(doc.text)}
    )
    for token in doc[1:]:
        if token.idx in joined or (token.is_space and token.idx + len(token) in joined):
            token.is_sent_start = False
        elif token.idx in item_starts:
            token.is_sent_start = True
    return doc


# Before a drug that starts an item of a medication list: a line or ';' start, a list marker.
MEDICATION_ITEM_LEAD = re.compile(r"[ \t]*(?:(?:[-*\u2022]|\d{1,2}[.)])[ \t]+)?")


# A word's full stop before a drug in a note that starts its sentences in lower case: PyRuSH
# joined the two sentences ('d/c IVF. thiamine 100 mg daily' stopped the thiamine).
AFTER_A_FULL_STOP = re.compile(r"(?<![\w.])(?!(?:vs|dr|st|mr|mrs|ms)\.)\w{2,}\.[ \t]+$", re.I)


@Language.component(MEDICATION_ITEM_SENTENCES)
def medication_item_sentences(doc: Doc) -> Doc:
    """In a medication section, start a sentence at every drug that begins a line or a
    ';'-separated item, so what one item says ('Lisinopril 10 mg daily (discontinued due to
    cough)') does not reach the next item's drug; a sig line under a drug stays its item's.
    Anywhere, start one at a drug after a word's full stop (`AFTER_A_FULL_STOP`)."""
    text = doc.text
    bodies = [
        (section.body_start, section.body_end)
        for section in doc._.sections
        if section.category == MEDICATIONS
    ]
    wrapped = {match.end() for match in WRAPPED_AFTER.finditer(text)}
    for ent in doc.ents:
        if ent.label_ != DRUG or ent.start == 0:
            continue
        if AFTER_A_FULL_STOP.search(text, max(0, ent.start_char - 40), ent.start_char):
            doc[ent.start].is_sent_start = True  # 'd/c IVF. thiamine 100 mg daily.'
            continue
        if not any(start <= ent.start < end for start, end in bodies) or ent.start_char in wrapped:
            continue  # (not a drug the page wrapped a sentence onto: 'Do not give\naspirin')
        item_start = max(text.rfind("\n", 0, ent.start_char), text.rfind(";", 0, ent.start_char))
        if item_start >= 0 and MEDICATION_ITEM_LEAD.fullmatch(text, item_start + 1, ent.start_char):
            doc[ent.start].is_sent_start = True
    return doc
