"""Immunizations: the vaccines a document says the patient received, declined or is due for.

A vaccine is named by a name of its own ('Tdap', 'Shingrix', 'flu shot', 'Prevnar 20') anywhere,
or by its disease where the text speaks of vaccines: in an immunizations section, table or list,
or followed by a vaccine word ('hepatitis B vaccine series', 'COVID-19 booster', 'pneumonia
shot'). Names and CVX codes are in `lexicon/vaccines.csv`. What is said of a vaccine is read in
its own list item first, then in its clause, then in the label or section it is listed under:
declined or refused is negated (an Immunization not done); due, recommended or planned is
hypothetical (no Immunization); given today, at this visit, or given with no date is present;
given on a date, received, completed or merely listed was given before (historical), on the date
its item prints. A table's row is one vaccine, named by its first cell or a later cell that names
the same vaccine more exactly.
"""

import functools
import re
from dataclasses import dataclass

from spacy.tokens import Doc

from medpipeline.extraction.offline.lexicons import read_lexicon, split_names
from medpipeline.extraction.offline.procedures import performed_on
from medpipeline.extraction.offline.sections_tables import (
    Table,
    section_regions,
    vaccine_list_regions,
)
from medpipeline.extraction.offline.text import Region, in_regions, line_bounds, quote_for
from medpipeline.extraction.schema import Assertion, ImmunizationFact
from medpipeline.terminology import cvx_code, cvx_for_vaccine_name

IMMUNIZATIONS = "immunizations"
PLAN_OF_CARE = "plan_of_care"

# A word after a disease's name that makes it a vaccine's ('influenza vaccine', 'hep B series',
# 'COVID-19 booster #2', 'MMR dose 2', 'pneumococcal (PPSV23) vaccination').
VACCINE_WORD = (
    r"[ \t]*(?:\([^()\n]{1,25}\)[ \t]*)?(?:-[ \t]*)?"
    r"(?:vaccin\w*|immuni[sz]ations?|shots?|boosters?|series|doses?\b|#[ \t]?\d|given\b"
    r"|administered\b)"
)
# What lies between a vaccine's name and a second name saying it exactly: 'Pneumococcal vaccine
# (PCV20)', 'Pneumococcal PPSV23', 'Hepatitis A (Havrix)'.
NAMED_EXACTLY_AFTER = re.compile(r"(?:[ \t]+vaccin\w*)?[ \t]*(?:\([^()\n]{0,20})?", re.IGNORECASE)
VACCINE_AFTER = re.compile(r"[ \t]+vaccin(?:e|ation)s?\b", re.IGNORECASE)
# ... or before it ('vaccinated against hepatitis A', 'vaccine for shingles').
VACCINE_FOR = r"(?:vaccin\w*|immuni[sz]ed|immuni[sz]ations?)[ \t]+(?:against|for)[ \t]+"

NEGATED = re.compile(
    r"\b(?:declin\w*|refus\w*|not[ \t]+(?:given|administered|received)|contraindicat\w*"
    r"|opted[ \t]+out|does[ \t]+not[ \t]+want|did[ \t]+not[ \t]+want|never[ \t]+(?:had|received)"
    # immune without it ('Hepatitis B: immune by serology, no vaccination needed'): none given
    r"|immune[ \t]+(?:by|per|on)[ \t]+(?:serology|titers?|titres?)"
    r"|no[ \t]+(?:vaccin\w*|immuni[sz]ation|booster|dose)s?[ \t]+(?:is[ \t]+)?(?:needed|required))",
    re.IGNORECASE,
)
NO_BEFORE = re.compile(r"\bno(?:[ \t]+(?:prior|previous|record[ \t]+of))?[ \t]*$", re.IGNORECASE)
# (not 'given' for 'because of': 'discussed given rural homestay with dogs')
GIVEN = re.compile(
    # (not 'to be given by GP', 'will be given': planned)
    r"\badministered\b|(?<!discussed )(?<!considered )(?<!to be )(?<!will be )"
    r"\bgiven\b(?![ \t]+(?:his|her|their|that"
    r"|this|rural|risk|recent|ongoing|travel|history|concerns?)\b)",
    re.IGNORECASE,
)
# No plan ('Tdap: 08/2018 (not due)', 'adult IPV booster not indicated'): what else is said decides.
NOT_DUE = re.compile(r"\bnot[ \t]+(?:yet[ \t]+)?(?:due|indicated|needed|required)\b", re.I)

RECEIVED = re.compile(r"\b(?:received|got|had)\b", re.IGNORECASE)
PLANNED = re.compile(
    r"\b(?:due|overdue|recommend\w*|discuss\w*|will\b|plan\w*|schedul\w*|next[ \t]+(?:visit|dose)"
    r"|consider\w*|offer\w*|needs?\b|should\b|eligible|counsel\w*|defer\w*|pending|to[ \t]+be"
    r"[ \t]+given|return[ \t]+for|advis\w*|encourag\w*|candidate|ordered|to[ \t]+receive|if\b"
    r"|seek\w*)",
    re.IGNORECASE,
)
TODAY = re.compile(
    r"\b(?:today|this[ \t]+(?:visit|encounter|admission)|in[ \t]+(?:the[ \t]+)?(?:clinic|office"
    r"|ED|emergency[ \t]+department)|during[ \t]+(?:this|the)[ \t]+(?:visit|stay|admission"
    r"|hospitali[sz]ation)|(?:prior[ \t]+to|before|at)[ \t]+discharge)\b",
    re.IGNORECASE,
)
DONE = re.compile(r"\b(?:completed?|up[ \t]+to[ \t]+date|UTD|series[ \t]+complete)\b", re.I)
# Where one clause of a line ends: a ';' or a sentence's full stop (a table row is one clause).
CLAUSE_END = re.compile(r";|\.(?=\s)")
ITEM_END = re.compile(r",(?![^()]*\))")
TABLE_LINE = re.compile(r"\||\t")
# A label on a line of its own ('Medications administered today:', or a heading without a colon:
# 'Declined / Deferred') and the lines below it to the next blank line.
LABEL_LINE = re.compile(
    r"^[ \t]*(?P<label>[A-Za-z][^\n:]{0,60}:|[A-Z][a-z]+(?:[ \t]*(?:/|&|and|[A-Z][a-z]+))*)"
    r"[ \t]*\n",
    re.MULTILINE,
)
CONTINUED_ROW = re.compile(r"[ \t]*\|[ \t]*\|")  # a row whose first cell is empty
# A CVX code a row prints ('| CVX | 135 |', 'CVX: 140').
PRINTED_CVX = re.compile(r"\bCVX\b[ \t|:#]*(\d{1,3})\b")
EXPIRY = re.compile(r"\bexp\w*\.?[ \t]*:?[ \t]*[\d/.-]+", re.IGNORECASE)


@functools.cache
def vaccine_names() -> tuple[list[str], list[str]]:
    """(names of their own, disease names that name a vaccine only in a vaccine context)."""
    rows = read_lexicon("vaccines.csv")
    own = [name for row in rows for name in split_names(row["names"])]
    by_disease = [name for row in rows for name in split_names(row["context_names"])]
    return own, by_disease


def _alternatives(names: list[str]) -> str:
    written = sorted(names, key=len, reverse=True)
    return "|".join(re.escape(name).replace(r"\ ", r"\s+") for name in written)


@functools.cache
def vaccine_patterns() -> tuple[list[re.Pattern[str]], re.Pattern[str]]:
    """(patterns that name a vaccine anywhere, the disease names that do so only in a vaccine
    context). A name is a whole word: 'Td' is not in 'Tdap', 'flu' not in 'fluid'."""
    own, by_disease = vaccine_names()
    bounded = r"(?<![\w-])(?P<name>{})(?![\w-]|\.\w)"
    disease = bounded.format(_alternatives(by_disease))
    anywhere = [
        re.compile(bounded.format(_alternatives(own)), re.IGNORECASE),
        re.compile(rf"{disease}(?={VACCINE_WORD})", re.IGNORECASE),
        re.compile(rf"{VACCINE_FOR}{disease}", re.IGNORECASE),
    ]
    return anywhere, re.compile(disease, re.IGNORECASE)


def vaccine_mentions(text: str, contexts: list[Region]) -> list[re.Match[str]]:
    """Every vaccine name, longest first where two overlap, in the text's order."""
    anywhere, disease = vaccine_patterns()
    found = [match for pattern in anywhere for match in pattern.finditer(text)]
    found += [m for m in disease.finditer(text) if in_regions(m.start("name"), contexts)]
    found.sort(key=lambda m: (m.start("name"), -(m.end("name") - m.start("name"))))
    kept: list[re.Match[str]] = []
    for match in found:
        if kept and match.start("name") < kept[-1].end("name"):
            continue
        if kept and NAMED_EXACTLY_AFTER.fullmatch(text, kept[-1].end("name"), match.start("name")):
            kept[-1] = match
        else:
            kept.append(match)
    return kept


def _clause(text: str, position: int, in_a_grid: bool = False) -> Region:
    """The clause of a line around `position`: between ';' and full stops; a table's row whole
    (but within a cell of several clauses); in a label grid's line, within its cell."""
    line_start, line_end = line_bounds(text, position, position)
    if in_a_grid:  # its tab cell
        line_start = max(line_start, text.rfind("\t", line_start, position) + 1)
        tab = text.find("\t", position, line_end)
        line_end = tab if tab >= 0 else line_end
    elif TABLE_LINE.search(text, line_start, line_end):
        bar, cell_end = text.rfind("|", line_start, position), text.find("|", position, line_end)
        if bar < 0 or cell_end < 0 or not CLAUSE_END.search(text, bar + 1, cell_end):
            return line_start, line_end
        # a cell of clauses ('| Influenza vaccine given; PCV20 declined |'): the vaccine's own
        line_start, line_end = bar + 1, cell_end
    before = [m.end() for m in CLAUSE_END.finditer(text, line_start, position)]
    after = CLAUSE_END.search(text, position, line_end)
    return (before[-1] if before else line_start), (after.start() if after else line_end)


def _item(text: str, start: int, end: int, clause: Region) -> Region:
    """The ','-separated item of a clause holding text[start:end] (not a comma in brackets, in
    the vaccine's name - 'Hep B, adult' - or in a table's row)."""
    if TABLE_LINE.search(text, *clause):
        return clause
    before = [m.end() for m in ITEM_END.finditer(text, clause[0], start)]
    after = ITEM_END.search(text, end, clause[1])
    return (before[-1] if before else clause[0]), (after.start() if after else clause[1])


def _said(words: str, dated: bool = False) -> Assertion | None:
    """What words say of a vaccine: declined or not indicated; given today, or given here without
    a date (this visit: present); given on a date, received, or done ('series complete', 'up to
    date') before (historical); planned (hypothetical; 'not due', 'not indicated' say nothing); or
    nothing."""
    words = NOT_DUE.sub(" ", words)
    if NEGATED.search(words):
        return Assertion.NEGATED
    if TODAY.search(words) and not PLANNED.search(words):
        return Assertion.PRESENT
    if GIVEN.search(words):
        return Assertion.HISTORICAL if dated else Assertion.PRESENT
    if RECEIVED.search(words):
        return Assertion.HISTORICAL
    if PLANNED.search(words):
        return Assertion.HYPOTHETICAL
    if DONE.search(words):
        return Assertion.HISTORICAL
    return None


@dataclass(frozen=True)
class Heading:
    """A title or label vaccines are listed under, and what it says of them."""

    region: Region
    assertion: Assertion


def _declined_after(text: str, clause: Region, mentions: list[re.Match[str]]) -> Assertion | None:
    """Negated when a later clause of the sentence that names no vaccine declines ('Rabies
    pre-exposure prophylaxis: discussed given rural homestay; client declined due to cost')."""
    sentence_end = CLAUSE_END.search(text, clause[1] + 1) if clause[1] < len(text) else None
    line_end = line_bounds(text, clause[1], clause[1])[1]
    end = min(line_end, sentence_end.start()) if sentence_end else line_end
    if text[clause[1] : clause[1] + 1] != ";" or any(
        clause[1] <= m.start("name") < end for m in mentions
    ):
        return None
    return Assertion.NEGATED if NEGATED.search(text, clause[1], end) else None


def _heading_says(titled: list[Heading], position: int) -> Assertion | None:
    """What the nearest label or title above the position, among those whose list holds it,
    says."""
    holding = [h for h in titled if h.region[0] <= position < h.region[1]]
    return max(holding, key=lambda h: h.region[0]).assertion if holding else None


def headings(doc: Doc, text: str) -> list[Heading]:
    """The labelled lines, vaccine lists and sections whose label or title says what was done
    ('Medications administered today:', 'Immunizations due', 'Plan')."""
    found = []
    for label in LABEL_LINE.finditer(text):
        if said := _said(label["label"]):
            blank = text.find("\n\n", label.end())
            found.append(Heading((label.start(), len(text) if blank < 0 else blank), said))
    for start, end in vaccine_list_regions(text):
        label = text[start : text.find(":", start, end) + 1 or end]
        if said := _said(label):
            found.append(Heading((start, end), said))
    for section in doc._.sections:
        title = doc[section.title_start : section.title_end].text
        said = _said(title)
        if said is None and section.category == PLAN_OF_CARE:
            said = Assertion.HYPOTHETICAL
        if said is not None and section.body_end > section.title_start:
            last = doc[section.body_end - 1]
            start = doc[section.title_start].idx
            found.append(Heading((start, last.idx + len(last.text)), said))
    return found


def vaccine_contexts(doc: Doc, text: str, tables: list[Table]) -> list[Region]:
    """Where a disease's name alone names its vaccine: immunizations sections, tables, lists."""
    in_tables = [table.region for table in tables if table.kind == IMMUNIZATIONS]
    return section_regions(doc, {IMMUNIZATIONS}) + in_tables + vaccine_list_regions(text)


def _words(name: str) -> set[str]:
    return {word for word in re.findall(r"[a-z]{3,}", name.lower()) if word != "vaccine"}


def _is_a_label_grid(text: str, line: Region, row: list[re.Match[str]]) -> bool:
    """A line of tab-separated cells, each naming its own vaccine ('MMR: 2 doses (1991, 1995)
    <tab> Hepatitis B: series complete 2004 <tab> Tdap: 08/2018'): each cell is an item of its
    own, not one row of one vaccine."""
    return "|" not in text[line[0] : line[1]] and len(_same_vaccine(row)) < len(row)


def _same_vaccine(row: list[re.Match[str]]) -> list[re.Match[str]]:
    """The row's first mention and the later ones naming the same vaccine."""
    first = row[0]
    return [first] + [
        match
        for match in row[1:]
        if _words(match["name"]) & _words(first["name"])
        or cvx_for_vaccine_name(match["name"]) == cvx_for_vaccine_name(first["name"])
    ]


def _best_in_row(row: list[re.Match[str]]) -> re.Match[str]:
    """The mention that names a table row's vaccine: the first (its name column), or a later
    one that says the same vaccine more exactly ('| Influenza Vaccine | CVX | 135 | Influenza,
    high dose seasonal |'); a later name of another vaccine is not the row's ('| MMR | ... |
    GARDASIL |' in a vendor's test data)."""
    own = {name.lower() for name in vaccine_names()[0]}
    return max(
        _same_vaccine(row),
        key=lambda m: (" ".join(m["name"].lower().split()) in own, len(m["name"])),
    )


def immunization_facts(
    doc: Doc, tables: list[Table], skip_regions: list[Region]
) -> list[ImmunizationFact]:
    """One fact per vaccine mention outside `skip_regions` (allergy lists: an allergy to a
    vaccine is no dose of it), one per table row."""
    text = doc.text
    titled = headings(doc, text)
    mentions = [
        match
        for match in vaccine_mentions(text, vaccine_contexts(doc, text, tables))
        if not in_regions(match.start("name"), skip_regions)
    ]
    rows: dict[Region, list[re.Match[str]]] = {}  # a table row's mentions, by its line
    for match in mentions:
        clause = _clause(text, match.start("name"))
        if TABLE_LINE.search(text, *clause):
            above = _clause(text, clause[0] - 1) if clause[0] else None
            if above in rows and CONTINUED_ROW.match(text, *clause):
                clause = above  # '|  | CPT | 90669 | Pneumococcal vacc |' goes on the row above
            rows.setdefault(clause, []).append(match)
    grids = {clause for clause, row in rows.items() if _is_a_label_grid(text, clause, row)}
    rows = {clause: row for clause, row in rows.items() if clause not in grids}
    row_of = {id(match): clause for clause, row in rows.items() for match in row}
    facts = []
    for number, match in enumerate(mentions):
        start, end = match.start("name"), match.end("name")
        clause = row_of.get(id(match)) or _clause(
            text, start, line_bounds(text, start, start) in grids
        )
        row = rows.get(clause)
        if row:
            if match is not _best_in_row(row):
                continue
            # the row's words but its vaccines' names say what was done, and when
            own_before, own_after = "", _without(text, clause, row)
        else:
            item = _item(text, start, end, clause)
            # its own words: up to the vaccines before and after it in its item ('received
            # the COVID-19 booster in 09/2024 and the flu shot today')
            before = mentions[number - 1].end("name") if number else item[0]
            after = mentions[number + 1].start("name") if number + 1 < len(mentions) else item[1]
            own_before = text[max(item[0], before) : start]
            own_after = text[end : min(item[1], after)]
        occurred = performed_on(EXPIRY.sub(" ", own_after))
        said = (
            (Assertion.NEGATED if NO_BEFORE.search(own_before) else None)
            or _declined_after(text, clause, mentions)
            or _said(f"{own_before} {own_after}", bool(occurred))
            or _said(text[clause[0] : clause[1]], bool(occurred))
            or _heading_says(titled, start)
            or Assertion.HISTORICAL
        )
        printed = PRINTED_CVX.search(text, *clause) if row else None
        named = VACCINE_AFTER.match(text, end)
        facts.append(
            ImmunizationFact(
                quote=quote_for(text, start, end, clause),
                text=" ".join(text[start : named.end() if named else end].split()),
                cvx_code=(cvx_code(printed[1]) if printed else None)
                or cvx_for_vaccine_name(match["name"]),
                occurrence_date=occurred,
                assertion=said,
            )
        )
    return facts


def _without(text: str, region: Region, names: list[re.Match[str]]) -> str:
    """The text of a region with the names in it blanked."""
    words = text[region[0] : region[1]]
    for match in reversed(names):
        start, end = match.start("name") - region[0], match.end("name") - region[0]
        words = f"{words[:start]} {words[end:]}"
    return words
