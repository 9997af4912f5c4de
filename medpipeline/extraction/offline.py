"""The offline provider's brain: a rule-based clinical extractor (medspaCy), no network, no API key.

`OfflineExtractor().extract(text)` returns a `ChunkExtraction` for one chunk of document text:
- conditions and medications: lexicon matches (medspaCy TargetMatcher), asserted by ConText and
  placed in sections by the medspaCy sectionizer (allergy sections hold allergies, not conditions
  or medications; a medication list holds no conditions); in a lab report (`DocumentType`) only
  a labelled field ('Diagnosis:', 'Clinical information:') names the patient's conditions, since
  its other disease names are interpretation ('may be associated with', reference charts);
- allergies, observations (labs and vitals) and patient demographics: line-oriented regexes;
  under a results table's heading row ('TEST RESULT FLAG UNITS REFERENCE INTERVAL') each row
  (name, numeric or word result, flag, unit, interval such as '3.5-5.0', '<4.5' or '>1.5') is an
  observation, unit in UCUM (`lab_units.csv`), LOINC code from `loinc_common.csv` by alias or
  LOINC long common name, fitting the unit (mmol/L glucose is not the mg/dL code);
- the encounter (visit, admission and discharge dates) and procedures listed under a procedures
  header; medications listed under "prescribed the following medications" (or in a sentence saying
  they were prescribed) are marked `prescribed`.
Every fact's `quote` is an exact substring of `text`: the line (or sentence, or a window of it)
holding the mention. All word lists live in CSV files under `lexicon/` (see its README).

PHI: PyRuSH logs every token through loguru at DEBUG; this module disables those loggers and
itself never logs nor puts document text into exception messages.
"""

import bisect
import csv
import dataclasses
import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import medspacy
from loguru import logger
from medspacy.context import ConTextRule
from medspacy.section_detection import SectionRule
from medspacy.target_matcher import TargetRule
from spacy.language import Language
from spacy.tokens import Doc, Span

from medpipeline.extraction.document_parties import (
    identifier_mentions,
    organization_facts,
    practitioner_facts,
)
from medpipeline.extraction.prompts import DocumentType
from medpipeline.extraction.schema import (
    AllergyFact,
    Assertion,
    ChunkExtraction,
    ConditionFact,
    EncounterFact,
    MedicationFact,
    MedicationStatus,
    ObservationFact,
    PatientFact,
    ProcedureFact,
)

LEXICON_DIR = Path(__file__).with_name("lexicon")
LOGURU_MODULES_TO_SILENCE = ("PyRuSH", "medspacy")
MAX_QUOTE_CHARS = 200
SIG_WINDOW_CHARS = 80
CONDITION = "CONDITION"
DRUG = "DRUG"

Region = tuple[int, int]


def silence_loguru() -> None:
    """PyRuSH logs every token (document text) at DEBUG through loguru: switch that off."""
    for module in LOGURU_MODULES_TO_SILENCE:
        logger.disable(module)


silence_loguru()


# ---------------------------------------------------------------------------------------------
# Lexicons (CSV data files)
# ---------------------------------------------------------------------------------------------


def read_lexicon(file_name: str) -> list[dict[str, str]]:
    with (LEXICON_DIR / file_name).open(newline="", encoding="utf-8") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def split_names(cell: str) -> list[str]:
    return [name.strip() for name in cell.split("|") if name.strip()]


def condition_names() -> list[tuple[str, dict[str, str]]]:
    """(name as matched, metadata) for every condition term and synonym."""
    names = []
    for row in read_lexicon("conditions.csv"):
        metadata = {"icd10_code": row["icd10_code"], "term": row["term"]}
        for name in [row["term"], *split_names(row["synonyms"])]:
            names.append((name, metadata))
    return names


def drug_names() -> list[tuple[str, dict[str, str]]]:
    """(name as matched, metadata) for every generic, brand and synonym drug name."""
    names = []
    for row in read_lexicon("drugs.csv"):
        metadata = {"generic_name": row["generic_name"]}
        all_names = [row["generic_name"], *split_names(row["brand_names"])]
        for name in all_names + split_names(row.get("synonyms", "")):
            names.append((name, metadata))
    return names


@dataclass(frozen=True)
class SigTerm:
    written: str  # the regex from the CSV
    pattern: re.Pattern[str]  # the same, as a whole word, case-insensitive
    value: str


@functools.cache
def sig_terms(kind: str) -> list[SigTerm]:
    """Medication sig vocabulary of one kind: dose_unit, route or frequency."""
    return [
        SigTerm(row["pattern"], re.compile(bounded(row["pattern"]), re.IGNORECASE), row["value"])
        for row in read_lexicon("medication_sig.csv")
        if row["kind"] == kind
    ]


@dataclass(frozen=True)
class ObservationKind:
    name: str
    loinc_code: str | None
    category: str
    default_unit: str | None
    long_name: str = ""


@functools.cache
def observation_kind_candidates() -> dict[str, list[ObservationKind]]:
    """Lower-cased alias or LOINC long common name -> the common labs or vital signs it names,
    in file order (lexicon/loinc_common.csv; 'glucose' names the mass and the molar test)."""
    kinds: dict[str, list[ObservationKind]] = {}
    for row in read_lexicon("loinc_common.csv"):
        kind = ObservationKind(
            name=row["name"],
            loinc_code=row["loinc_code"] or None,
            category=row["category"],
            default_unit=row["default_unit"] or None,
            long_name=row["loinc_long_common_name"],
        )
        for alias in split_names(row["aliases"]):
            kinds.setdefault(alias.lower(), []).append(kind)
        if kind.long_name:
            kinds.setdefault(normalize_space(kind.long_name).lower(), []).append(kind)
    return kinds


@functools.cache
def observation_aliases() -> frozenset[str]:
    """Lower-cased aliases of the common labs and vital signs (not their LOINC long names)."""
    return frozenset(
        alias.lower()
        for row in read_lexicon("loinc_common.csv")
        for alias in split_names(row["aliases"])
    )


@functools.cache
def lab_units() -> list[tuple[re.Pattern[str], str, str]]:
    """(written form, UCUM code, lab|vital) for result units (lexicon/lab_units.csv)."""
    return [
        (re.compile(row["pattern"], re.IGNORECASE), row["ucum"], row["kind"])
        for row in read_lexicon("lab_units.csv")
    ]


def bounded(pattern: str) -> str:
    """Wrap a regex so it matches whole words only (periods in 'p.o.' or 'b.i.d.' allowed)."""
    return rf"(?<![\w.])(?:{pattern})(?!\w|\.\w)"


# ---------------------------------------------------------------------------------------------
# The medspaCy pipeline (built once)
# ---------------------------------------------------------------------------------------------


def phrase_pattern(nlp: Language, phrase: str) -> list[dict]:
    """Token pattern for a phrase: case-insensitive, a line break allowed between words."""
    pattern: list[dict] = []
    for token in nlp.tokenizer(phrase):
        if pattern:
            pattern.append({"IS_SPACE": True, "OP": "?"})
        lower = token.lower_
        if "'" in lower:
            pattern.append({"LOWER": {"IN": [lower, lower.replace("'", "\u2019")]}})
        else:
            pattern.append({"LOWER": lower})
    return pattern


def target_rules(nlp: Language) -> list[TargetRule]:
    rules = []
    for category, names in ((CONDITION, condition_names()), (DRUG, drug_names())):
        for name, metadata in names:
            pattern = phrase_pattern(nlp, name)
            rules.append(TargetRule(name, category, pattern=pattern, metadata=metadata))
    return rules


def context_rules() -> list[ConTextRule]:
    rules = []
    for row in read_lexicon("context_rules.csv"):
        rules.append(
            ConTextRule(
                row["literal"],
                row["category"],
                direction=row["direction"],
                max_scope=int(row["max_scope"]) if row["max_scope"] else None,
                allowed_types={row["allowed_types"]} if row["allowed_types"] else None,
                terminated_by={row["terminated_by"]} if row["terminated_by"] else None,
            )
        )
    return rules


def section_rules(nlp: Language, default_rules_path: str) -> list[SectionRule]:
    """medspaCy's default headers that end with a colon, plus ours (lexicon/section_rules.csv)."""
    rules = [
        rule for rule in SectionRule.from_json(default_rules_path) if rule.literal.endswith(":")
    ]
    for row in read_lexicon("section_rules.csv"):
        pattern = None
        if row["case_sensitive"] == "yes":
            pattern = [{"TEXT": token.text} for token in nlp.tokenizer(row["header"])]
        max_scope = int(row["max_scope"]) if row["max_scope"] else None
        rules.append(SectionRule(row["header"], row["category"], pattern, max_scope=max_scope))
    return rules


# A line starting with a bullet ("•", its MacRoman mojibake "‚Ä¢", "-", "*") or "1." / "2)".
LIST_ITEM_LINE = re.compile(
    r"^[ \t]*(?:\u2022|\u201a\u00c4\u00a2|[-*\u00b7\u25aa\u25cf]|\d{1,2}[.)])[ \t]", re.M
)


@Language.component("medpipeline_list_item_sentences")
def list_item_sentences(doc: Doc) -> Doc:
    """Start a sentence at every list item so ConText scopes stop there (PyRuSH joins them)."""
    item_starts = {
        match.start() + len(match.group()) - len(match.group().lstrip())
        for match in LIST_ITEM_LINE.finditer(doc.text)
    }
    for token in doc[1:]:
        if token.idx in item_starts:
            token.is_sent_start = True
    return doc


# What a section says about its mentions: medspaCy's defaults but the allergy section (handled
# here: an allergy is neither a condition nor a medication).
SECTION_ASSERTIONS = {
    "past_medical_history": {"is_historical": True},
    "sexual_and_social_history": {"is_historical": True},
    "family_history": {"is_family": True},
    "patient_instructions": {"is_hypothetical": True},
    "education": {"is_hypothetical": True},
}


@functools.cache
def build_pipeline() -> Language:
    """medspaCy (PyRuSH sentences, target matcher, ConText) plus the sectionizer, with our rules.

    The sectionizer runs before ConText so that section headers end sentences.
    """
    silence_loguru()
    nlp = medspacy.load()
    nlp.add_pipe("medpipeline_list_item_sentences", after="medspacy_pyrush")
    nlp.get_pipe("medspacy_target_matcher").add(target_rules(nlp))
    nlp.get_pipe("medspacy_context").add(context_rules())
    sectionizer = nlp.add_pipe(
        "medspacy_sectionizer",
        before="medspacy_context",
        config={
            "rules": None,
            "require_start_line": True,
            "apply_sentence_boundary": True,
            "span_attrs": SECTION_ASSERTIONS,
        },
    )
    sectionizer.add(section_rules(nlp, sectionizer.DEFAULT_RULES_FILEPATH))
    return nlp


# ---------------------------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------

ALLERGY_CATEGORIES = {"allergy", "allergies"}
MEDICATION_CATEGORIES = {"medications"}
INLINE_ALLERGY_LABEL = re.compile(r"\b(?:drug\s+)?allerg(?:y|ies)\s*:", re.IGNORECASE)
ALLERGIC_TO = re.compile(r"\ballergic\s+to\b", re.IGNORECASE)
NEXT_LABEL_LINE = re.compile(r"^[ \t]*[A-Z][A-Za-z /&]{1,40}:", re.MULTILINE)
MAX_ALLERGY_LINES = 6
MAX_ALLERGY_ITEM_WORDS = 6
END_OF_SENTENCE = re.compile(r"\.(?:\s|$)|\n")


def section_regions(doc: Doc, categories: set[str]) -> list[Region]:
    """Character regions (title and body) of the sections of the given categories."""
    regions = []
    for section in doc._.sections:
        if section.category in categories and section.body_end > section.title_start:
            start = doc[section.title_start].idx
            last = doc[section.body_end - 1]
            regions.append((start, last.idx + len(last.text)))
    return regions


def allergy_list_extent(text: str, region: Region) -> Region:
    """An allergy section ends at a blank, 'Label:' or prose line, or after a few lines."""
    end = line_bounds(text, region[0], region[0])[1]
    header_only = ALLERGY_HEADER.fullmatch(text, region[0], end) is not None
    for index in range(MAX_ALLERGY_LINES):
        if end >= region[1]:
            break
        line = text[end + 1 : line_bounds(text, end + 1, end + 1)[1]]
        first_line_of_list = index == 0 and header_only and line.strip()
        if not first_line_of_list and not is_allergy_list_line(line):
            break
        end += 1 + len(line)
    return region[0], min(end, region[1])


def is_allergy_list_line(line: str) -> bool:
    if not line.strip() or NEXT_LABEL_LINE.match(line):
        return False
    longest_item = max(len(item.split()) for item in re.split("[,;]", line))
    return bool(LIST_ITEM_LINE.match(line)) or longest_item <= MAX_ALLERGY_ITEM_WORDS


def allergy_regions(doc: Doc) -> list[Region]:
    """Where allergies are listed: allergy sections, 'Allergies:' lines and 'allergic to ...'."""
    text = doc.text
    regions = [
        allergy_list_extent(text, region) for region in section_regions(doc, ALLERGY_CATEGORIES)
    ]
    for match in INLINE_ALLERGY_LABEL.finditer(text):
        regions.append((match.start(), line_bounds(text, match.end(), match.end())[1]))
    for match in ALLERGIC_TO.finditer(text):
        stop = END_OF_SENTENCE.search(text, match.end())
        regions.append((match.start(), stop.start() if stop else len(text)))
    return regions


# ---------------------------------------------------------------------------------------------
# Conditions and medications (medspaCy entities)
# ---------------------------------------------------------------------------------------------


def has_modifier(ent: Span, category: str) -> bool:
    return any(modifier.category == category for modifier in ent._.modifiers)


def assertion_of(ent: Span, hypothetical_allowed: bool = True) -> Assertion:
    """ConText (and section) attributes as one assertion, the strongest first."""
    if ent._.is_negated:
        return Assertion.NEGATED
    if ent._.is_family:
        return Assertion.FAMILY
    if ent._.is_uncertain:
        return Assertion.POSSIBLE
    if ent._.is_hypothetical and hypothetical_allowed:
        return Assertion.HYPOTHETICAL
    if ent._.is_historical:
        return Assertion.HISTORICAL
    return Assertion.PRESENT


# In a lab report a disease name is interpretation (a reference chart, 'may be associated with'),
# not the patient's diagnosis, unless a labelled field of the request gives it.
DIAGNOSIS_FIELD = re.compile(
    r"^[ \t]*(?:(?:clinical|working|provisional)[ \t]+)?(?:diagnos[ie]s|indications?"
    r"|clinical[ \t]+(?:information|history|details)|reason[ \t]+for[ \t]+(?:test|testing))"
    r"[ \t]*:[^\n]*",
    re.IGNORECASE | re.MULTILINE,
)


def diagnosis_field_regions(text: str) -> list[Region]:
    return [(match.start(), match.end()) for match in DIAGNOSIS_FIELD.finditer(text)]


def condition_facts(
    doc: Doc, skip_regions: list[Region], only_regions: list[Region] | None = None
) -> list[ConditionFact]:
    """Conditions named in the text, outside `skip_regions` (and inside `only_regions` if set)."""
    facts = []
    for ent in doc.ents:
        if ent.label_ != CONDITION or in_regions(ent.start_char, skip_regions):
            continue
        if only_regions is not None and not in_regions(ent.start_char, only_regions):
            continue
        if has_modifier(ent, "NOT_A_CONDITION"):
            continue
        facts.append(
            ConditionFact(
                quote=quote_for(doc.text, ent.start_char, ent.end_char, sentence_region(ent)),
                text=normalize_space(ent.text),
                icd10_code=ent._.target_rule.metadata["icd10_code"] or None,
                assertion=assertion_of(ent),
            )
        )
    return facts


SIG_STOP = re.compile(r";|\.\s+(?=[A-Z][a-z])|\n\s*\n|\n\s*(?:\d+[.)]|[-\u2022*])\s")


def sig_window(text: str, ent: Span, next_drug_start: int) -> str:
    """Text after a drug mention that may hold its dose, route and frequency."""
    limit = min(next_drug_start, ent.end_char + SIG_WINDOW_CHARS, len(text))
    window = text[ent.end_char : limit]
    stop = SIG_STOP.search(window)
    return window[: stop.start()] if stop else window


@functools.cache
def dose_pattern() -> re.Pattern[str]:
    units = "|".join(f"(?:{term.written})" for term in sig_terms("dose_unit"))
    return re.compile(
        rf"(?<![\w./])(?P<value>\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)[ \t]*(?P<unit>{units})"
        r"(?:[ \t]*/[ \t]*(?P<per>ml|actuat|hr|h|kg))?(?![A-Za-z])",
        re.IGNORECASE,
    )


PER_UNIT = {"ml": "/mL", "actuat": "/{actuat}", "hr": "/h", "h": "/h", "kg": "/kg"}


def parse_dose(window: str, anchored_at_end: bool = False) -> tuple[float, str] | None:
    """First 'value unit' in the window (or the one ending it), as (value, UCUM unit)."""
    matches = list(dose_pattern().finditer(window))
    if anchored_at_end:
        matches = [m for m in matches if not window[m.end() :].strip()]
    if not matches:
        return None
    match = matches[0]
    unit = next(
        term.value
        for term in sig_terms("dose_unit")
        if re.fullmatch(term.written, match["unit"], re.IGNORECASE)
    )
    if match["per"]:
        unit += PER_UNIT[match["per"].lower()]
    return float(match["value"].replace(",", "")), unit


def parse_route(window: str) -> str | None:
    found = [
        (m.start(), term.value)
        for term in sig_terms("route")
        for m in term.pattern.finditer(window)
    ]
    return min(found)[1] if found else None


def parse_frequency(window: str) -> str | None:
    """Frequency as written; adjacent phrases are joined ('twice daily as needed')."""
    spans = sorted(
        (m.start(), m.end())
        for term in sig_terms("frequency")
        for m in term.pattern.finditer(window)
    )
    if not spans:
        return None
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start < end or not window[end:next_start].strip(" \t\n,"):
            end = max(end, next_end)
        else:
            break
    return normalize_space(window[start:end])


def dose_before(text: str, ent: Span) -> tuple[float, str] | None:
    """A dose written just before the drug name ('81 mg aspirin')."""
    line_start = line_bounds(text, ent.start_char, ent.start_char)[0]
    before = text[max(line_start, ent.start_char - 16) : ent.start_char]
    return parse_dose(before, anchored_at_end=True)


def is_bracketed_brand(text: str, ent: Span, earlier_drugs: list[Span]) -> bool:
    """'acetaminophen 325 mg oral tablet [Tylenol]': the bracketed brand repeats the product."""
    opens_bracket = text[ent.start_char - 1 : ent.start_char] == "["
    closes_bracket = text[ent.end_char : ent.end_char + 1] == "]"
    if not (opens_bracket and closes_bracket and earlier_drugs):
        return False
    segment_start = max(text.rfind(";", 0, ent.start_char), text.rfind("\n", 0, ent.start_char))
    return earlier_drugs[-1].start_char > segment_start


PRESCRIBED_HEADER = re.compile(
    r"^[ \t]*(?:#+[ \t]*)?(?:.*\bprescribed the following medications?|new medications|"
    r"(?:new )?prescriptions|medications prescribed|rx)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
PRESCRIBED_IN_SENTENCE = re.compile(r"\b(?:prescribed|prescribe|prescribing)\b", re.IGNORECASE)
PREVIOUSLY = re.compile(r"\b(?:previously|formerly|was once|in the past)\b", re.IGNORECASE)


def listed_regions(text: str, header: re.Pattern[str]) -> list[Region]:
    """The list items (bulleted or numbered lines) right after each header line."""
    regions = []
    for match in header.finditer(text):
        end = match.end()
        start = end
        while end < len(text):
            line_end = text.find("\n", end + 1)
            line_end = len(text) if line_end == -1 else line_end
            line = text[end + 1 : line_end]
            if not LIST_ITEM_LINE.match(line + " "):
                break
            end = line_end
        if end > start:
            regions.append((start, end))
    return regions


def is_prescribed(text: str, ent: Span, prescribed_lists: list[Region]) -> bool:
    if in_regions(ent.start_char, prescribed_lists):
        return True
    sentence_start, _ = sentence_region(ent)
    before = text[sentence_start : ent.start_char]
    return bool(PRESCRIBED_IN_SENTENCE.search(before)) and not PREVIOUSLY.search(before)


def medication_facts(doc: Doc, skip_regions: list[Region]) -> list[MedicationFact]:
    text = doc.text
    prescribed_lists = listed_regions(text, PRESCRIBED_HEADER)
    drugs = [ent for ent in doc.ents if ent.label_ == DRUG]
    facts = []
    for index, ent in enumerate(drugs):
        if in_regions(ent.start_char, skip_regions) or is_bracketed_brand(text, ent, drugs[:index]):
            continue
        next_start = drugs[index + 1].start_char if index + 1 < len(drugs) else len(text)
        window = sig_window(text, ent, next_start)
        dose = parse_dose(window) or dose_before(text, ent)
        stopped = has_modifier(ent, "MED_STOPPED")
        facts.append(
            MedicationFact(
                quote=quote_for(text, ent.start_char, ent.end_char, sentence_region(ent)),
                text=normalize_space(ent.text),
                generic_name=ent._.target_rule.metadata["generic_name"],
                dose_value=dose[0] if dose else None,
                dose_unit=dose[1] if dose else None,
                route=parse_route(window),
                frequency=parse_frequency(window),
                status=MedicationStatus.STOPPED if stopped else MedicationStatus.ACTIVE,
                # 'as needed' or an instructions section does not make a prescribed drug unreal
                assertion=assertion_of(ent, hypothetical_allowed=False),
                prescribed=is_prescribed(text, ent, prescribed_lists),
            )
        )
    return facts


# ---------------------------------------------------------------------------------------------
# Allergies
# ---------------------------------------------------------------------------------------------

NO_KNOWN_ALLERGIES = re.compile(
    r"\b(?:NKDA|NKA|no\s+known\s+(?:drug\s+)?allerg(?:y|ies)|no\s+allergies)\b", re.IGNORECASE
)
NONE_ITEM = re.compile(r"(?:none|none known|no known)\.?", re.IGNORECASE)
ALLERGY_HEADER = re.compile(
    r"\s*(?:#+\s*)?(?:(?:drug|known)\s+)?(?:allerg(?:y|ies)\s*:?|allergic\s+to)\s*",
    re.IGNORECASE,
)
ALLERGY_ITEM_SEPARATOR = re.compile(r"[,;\n]|\band\b|\bor\b", re.IGNORECASE)
LIST_MARKER = re.compile(r"^\s*(?:[-\u2022*]|\d+[.)])\s+")
REACTION_DELIMITER = re.compile(r"\s*\(|\s+[-\u2013]\s+|\s*:\s*")
MAX_REACTION_WORDS = 4
# Parenthesized words that classify the substance (SNOMED CT semantic tags), not a reaction.
NOT_REACTIONS = {"substance", "organism", "product", "medicinal product", "food", "finding"}
SUBSTANCE_WORDS = re.compile(r"[A-Za-z][A-Za-z' -]*")
MAX_SUBSTANCE_WORDS = 4
NOT_SUBSTANCE_WORDS = {"the", "a", "is", "was", "has", "with", "patient", "he", "she", "his", "her"}
NOT_SUBSTANCE_WORDS |= {"no", "not", "of", "to", "for", "in", "on", "reviewed", "see", "unknown"}


def mask_parentheses(value: str) -> str:
    """Replace separators inside parentheses so '(hives, rash)' stays one item."""
    depth, chars = 0, []
    for char in value:
        depth += char == "("
        chars.append("\x00" if depth and char in ",;\n" else char)
        depth -= char == ")" and depth > 0
    return "".join(chars)


def allergy_items(text: str, region: Region) -> list[Region]:
    """Character regions of the comma/semicolon/line separated items of an allergy list."""
    start, end = region
    header = ALLERGY_HEADER.match(text, start, end)
    if header:
        start = header.end()
    masked = mask_parentheses(text[start:end])
    items, item_start = [], 0
    for separator in ALLERGY_ITEM_SEPARATOR.finditer(masked):
        items.append((start + item_start, start + separator.start()))
        item_start = separator.end()
    items.append((start + item_start, end))
    return [(a, b) for a, b in items if text[a:b].strip()]


def allergy_from_item(text: str, item: Region, drugs: list[Span]) -> AllergyFact | None:
    raw = text[item[0] : item[1]]
    if NO_KNOWN_ALLERGIES.search(raw) or NONE_ITEM.fullmatch(raw.strip()):
        return AllergyFact(quote=quote_for(text, *item), no_known_allergies=True)
    written, reaction = split_substance_and_reaction(LIST_MARKER.sub("", raw, count=1))
    drug = next((d for d in drugs if item[0] <= d.start_char < item[1]), None)
    substance = normalize_space(drug.text) if drug else written
    if not drug and not plausible_substance(substance):
        return None
    return AllergyFact(quote=quote_for(text, *item), substance=substance, reaction=reaction)


def split_substance_and_reaction(item: str) -> tuple[str, str | None]:
    """'Penicillin (hives)', 'sulfa - rash', 'codeine: nausea' -> (substance, reaction)."""
    parts = REACTION_DELIMITER.split(item, maxsplit=1)
    substance = normalize_space(parts[0])
    if len(parts) == 1:
        return substance, None
    rest = parts[1]
    reaction = rest.split(")")[0] if item[len(parts[0]) :].lstrip().startswith("(") else rest
    reaction = normalize_space(reaction).rstrip(".")
    too_long = len(reaction.split()) > MAX_REACTION_WORDS
    if not reaction or too_long or reaction.lower() in NOT_REACTIONS:
        return substance, None
    return substance, reaction


def plausible_substance(value: str) -> bool:
    words = value.lower().split()
    return (
        bool(SUBSTANCE_WORDS.fullmatch(value))
        and 0 < len(words) <= MAX_SUBSTANCE_WORDS
        and not set(words) & NOT_SUBSTANCE_WORDS
    )


def allergy_facts(doc: Doc, regions: list[Region]) -> list[AllergyFact]:
    text = doc.text
    drugs = [ent for ent in doc.ents if ent.label_ == DRUG]
    facts = [
        AllergyFact(quote=quote_for(text, m.start(), m.end()), no_known_allergies=True)
        for m in NO_KNOWN_ALLERGIES.finditer(text)
    ]
    for region in regions:
        for item in allergy_items(text, region):
            fact = allergy_from_item(text, item, drugs)
            if fact is not None:
                facts.append(fact)
    return facts


# ---------------------------------------------------------------------------------------------
# Observations (labs and vitals)
# ---------------------------------------------------------------------------------------------

NUMBER = r"\d+(?:\.\d+)?"
SEPARATOR = r"[ \t]*\|?[ \t]*"
CELL_GAP = r"(?:(?:[ \t]*\|)+[ \t]*|[ \t]+)"  # between two cells: spaces or rules (| |)
FLAG = r"HH|LL|H|L|A|N|High|Low|Abnormal|Normal|Critical"
FLAG_CODES = {"hh": "H", "ll": "L", "high": "H", "low": "L", "abnormal": "A", "normal": "N"}
FLAG_CODES |= {"critical": "A"}
RANGE = rf"\(?[ \t]*(?P<low>{NUMBER})[ \t]*[-\u2013\u2212][ \t]*(?P<high>{NUMBER})[ \t]*\)?"
COMPARATOR = r"<=|>=|[<>\u2264\u2265]"
# A reference interval cell: '135-180', '(3.5 - 5.0)', '<4.5' (high only) or '>1.5' (low only).
RANGE_CELL = (
    rf"\(?[ \t]*(?:(?P<low>{NUMBER})[ \t]*[-\u2013\u2212][ \t]*(?P<high>{NUMBER})"
    rf"|(?P<bound_op>{COMPARATOR})[ \t]*(?P<bound>{NUMBER}))[ \t]*\)?"
)
QUALITATIVE_RESULTS = r"Negative|Positive|Not Detected|Detected|Non-?reactive|Reactive|[<>]?1:\d+"
TABLE_RESULTS = (
    r"Negative|Positive|Not[ \t]+Detected|Detected|Non-?reactive|Reactive|Trace|Equivocal"
    r"|Indeterminate|Borderline|Present|Absent|[<>]?1:\d+"
)
REFERENCE_WORDS = r"Negative|Not[ \t]+Detected|Non-?reactive|Absent"
# A unit the lexicon does not know, as a table writes it: a token with a slash and a letter.
UNKNOWN_UNIT = r"(?=[^\s|]*[A-Za-z%])[^\s|/]*/[^\s|]+"
RESULT_WORDS = {"negative", "positive", "borderline", "detected", "reactive", "nonreactive"}
RESULT_WORDS |= {"trace", "equivocal", "indeterminate", "present", "absent", "non-reactive"}
NAME_STOP_WORDS = {"was", "were", "is", "are", "be", "been", "not", "no", "of", "the", "and"}
# In a results table a name may hold 'of', 'in', 'and' ('pH of Urine'), but no verb, and a name
# never ends with a joining word ('Page 1 of' 2 is not a result).
TABLE_NAME_VERBS = {"was", "were", "is", "are", "be", "been", "may", "can", "will", "should"}
TABLE_NAME_VERBS |= {"has", "have", "had", "see", "please", "call", "contact", "reported"}
JOINING_WORDS = {"of", "in", "and", "or", "the", "to", "at", "by", "for", "with", "a", "an", "-"}
MAX_TABLE_NAME_WORDS = 12
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


def alias_regex(alias: str) -> str:
    """Short aliases (Na, K, HR, BP) match as written or upper-case only; others ignore case."""
    words = r"[ \t]+".join(re.escape(word) for word in alias.split())
    if len(alias) <= 3:
        variants = sorted({re.escape(alias), re.escape(alias.upper())})
        return "(?-i:" + "|".join(variants) + ")"
    return words


@functools.cache
def unit_regex(kinds: tuple[str, ...]) -> str:
    patterns = [pattern.pattern for pattern, _, kind in lab_units() if kind in kinds]
    return "|".join(f"(?:{p})" for p in sorted(patterns, key=len, reverse=True))


@functools.cache
def known_observation_pattern() -> re.Pattern[str]:
    aliases = sorted(observation_aliases(), key=len, reverse=True)
    names = "|".join(alias_regex(alias) for alias in aliases)
    units = unit_regex(("lab", "vital"))
    return re.compile(
        rf"(?<![\w/])(?P<name>{names})(?![\w/])"
        r"[ \t]*(?:[:=|]|\bis\b|\bwas\b|\bof\b)?[ \t]*\n?[ \t]*\|?[ \t]*"
        rf"(?P<value>(?P<systolic>\d{{2,3}})[ \t]*/[ \t]*(?P<diastolic>\d{{2,3}})"
        rf"|[<>]?{NUMBER})(?![+\d]|[ \t]*[-\u2013][ \t]*\d)"
        rf"(?:{SEPARATOR}(?P<unit>{units})(?![A-Za-z0-9]))?"
        rf"(?:{SEPARATOR}{RANGE})?"
        rf"(?:{SEPARATOR}(?P<flag>{FLAG})(?![\w]))?",
        re.IGNORECASE,
    )


@functools.cache
def lab_row_pattern(in_table: bool) -> re.Pattern[str]:
    """One line of a results table, as pdfplumber writes a row: its cells separated by spaces
    (or '|'): name, result, [flag], unit, [reference interval], [flag], [performing-lab code].

    Anywhere (`in_table` False) the result must be a number and the unit one the lexicon knows
    as a lab unit. Under a table's heading row (`in_table`) the unit may be missing or unknown,
    the result may be a word ('Negative', 'Trace', '1:160') and a word may be the interval."""
    known = unit_regex(("lab",))
    if in_table:
        name = r"(?P<name>[A-Za-z][^\n|:]{0,119}?)[ \t]*\|?[ \t]*"
        result = rf"(?P<value>(?:(?:{COMPARATOR})[ \t]?)?{NUMBER}|(?P<word>(?i:{TABLE_RESULTS})))"
        unit = rf"(?:{CELL_GAP}(?P<unit>(?i:{known})|{UNKNOWN_UNIT})(?!\S))?"
        interval = rf"(?:{CELL_GAP}(?:{RANGE_CELL}|(?P<ref_word>(?i:{REFERENCE_WORDS}))))?"
    else:
        name = r"(?P<name>[A-Z][A-Za-z0-9 ,()'/+.#\[\]-]{1,80}?)[ \t]*[:|]?[ \t]*"
        result = rf"(?P<value>[<>]?{NUMBER})"
        unit = rf"{SEPARATOR}(?P<unit>(?i:{known}))(?![A-Za-z0-9])"
        interval = rf"(?:{SEPARATOR}{RANGE_CELL})?"
    flag = rf"(?:{CELL_GAP}(?P<flag>{FLAG})(?!\S))?"
    late_flag = rf"(?:{CELL_GAP}(?P<late_flag>{FLAG})(?!\S))?"
    lab_code = rf"(?:{CELL_GAP}(?P<lab_code>\d{{2}}))?" if in_table else ""
    result_end = r"(?!\S)" if in_table else ""
    return re.compile(
        rf"^[ \t]*\|?[ \t]*{name}{result}{result_end}{flag}{unit}"
        rf"{interval}(?!\S){late_flag}{lab_code}(?:[ \t]*\|)*[ \t]*$",
        re.MULTILINE,
    )


QUALITATIVE_ROW = re.compile(
    r"^[ \t]*(?P<name>[A-Z][A-Za-z0-9 ,()'/+-]{1,40}?)[ \t]+(?P<result>"
    + QUALITATIVE_RESULTS
    + r")(?:[ \t]+(?P<flag>High|Low|Abnormal|H|L|A))?(?:[ \t]+\d{1,2})?[ \t]*$",
    re.MULTILINE,
)


def ucum_unit(written: str | None) -> str | None:
    if not written:
        return None
    for pattern, ucum, _ in lab_units():
        if pattern.fullmatch(written.strip()):
            return ucum
    return None


def interpretation(flag: str | None) -> str | None:
    if not flag:
        return None
    return FLAG_CODES.get(flag.lower(), flag.upper())


def plausible_test_name(name: str) -> bool:
    words = name.lower().replace(",", " ").split()
    return 0 < len(words) <= 6 and not set(words) & NAME_STOP_WORDS and words[0] not in RESULT_WORDS


def plausible_table_name(name: str) -> bool:
    """A test name in a results table: a few words, no verb, not a result word, not cut off."""
    words = name.lower().replace(",", " ").split()
    return (
        0 < len(words) <= MAX_TABLE_NAME_WORDS
        and not set(words) & TABLE_NAME_VERBS
        and words[0] not in RESULT_WORDS
        and words[-1] not in JOINING_WORDS
    )


def float_or_none(value: str | None) -> float | None:
    return float(value) if value else None


UNIT_DIMENSIONS = {"mol": "moles", "eq": "moles", "g": "mass"}
VOLUMES = {"L", "dL", "mL"}


def unit_dimension(ucum: str | None) -> str | None:
    """'moles' for mmol/L or meq/L, 'mass' for mg/dL or g/L, else None (counts, ratios ...)."""
    numerator, _, denominator = (ucum or "").partition("/")
    if denominator not in VOLUMES:
        return None
    for base, dimension in UNIT_DIMENSIONS.items():
        if numerator.endswith(base) and len(numerator) <= len(base) + 1:
            return dimension
    return None


KIND_PROPERTIES = {"[moles/volume]": "moles", "[mass/volume]": "mass", "[presence]": "presence"}


def kind_dimension(kind: ObservationKind) -> str | None:
    """What the LOINC code measures, from its long name: moles, mass, presence, or None."""
    long_name = kind.long_name.lower()
    return next((dimension for key, dimension in KIND_PROPERTIES.items() if key in long_name), None)


def observation_kind(
    name: str, unit: str | None, qualitative: bool = False
) -> ObservationKind | None:
    """The lab or vital sign a name (alias or LOINC long name) denotes, fitting the result.

    'Glucose' in mmol/L is the molar glucose code, in mg/dL the mass one; a word result
    ('Negative') takes a [Presence] code, a number never does. A name whose codes all measure
    something else keeps its name and category but loses the code."""
    key = normalize_space(name.replace("\u200b", "")).lower()
    candidates = observation_kind_candidates().get(key)
    if not candidates:
        return None
    if qualitative:
        fitting = [kind for kind in candidates if kind_dimension(kind) in ("presence", None)]
    else:
        wanted = unit_dimension(unit)
        fitting = [
            kind
            for kind in candidates
            if kind_dimension(kind) != "presence"
            and (wanted is None or kind_dimension(kind) in (wanted, None))
        ]
    return fitting[0] if fitting else dataclasses.replace(candidates[0], loinc_code=None)


def known_observation(text: str, match: re.Match[str]) -> ObservationFact:
    written_unit = ucum_unit(match["unit"])
    kind = observation_kind(match["name"], written_unit)
    assert kind is not None  # the pattern matched one of its aliases
    unit = written_unit or kind.default_unit
    is_pair = match["systolic"] is not None
    value = match["value"].lstrip("<>")
    specimen = SPECIMEN_BEFORE.search(text, max(0, match.start() - 24), match.start())
    name = normalize_space(match["name"])
    return ObservationFact(
        quote=quote_for(text, match.start(), match.end()),
        name=f"{specimen['specimen']} {name}" if specimen else name,
        category=kind.category,
        loinc_code=None if specimen else kind.loinc_code,  # the code is for serum or blood
        value=None if is_pair else float(value),
        value_text=normalize_space(match["value"]) if is_pair or value != match["value"] else None,
        unit=unit,
        reference_low=float_or_none(match["low"]),
        reference_high=float_or_none(match["high"]),
        interpretation=interpretation(match["flag"]),
    )


def reference_bounds(match: re.Match[str]) -> tuple[float | None, float | None]:
    """(low, high) of a reference interval cell: '3.5-5.0', '<4.5' (high), '>1.5' (low)."""
    if match["bound"] is None:
        return float_or_none(match["low"]), float_or_none(match["high"])
    bound = float(match["bound"])
    return (None, bound) if match["bound_op"] in ("<", "<=", "\u2264") else (bound, None)


def table_row_observation(text: str, match: re.Match[str]) -> ObservationFact:
    """An observation from a results-table row (lab_row_pattern)."""
    groups = match.groupdict()
    name = normalize_space(match["name"])
    written_unit = groups.get("unit")
    unit = ucum_unit(written_unit) or (written_unit or None)  # an unknown unit stays as written
    word = groups.get("word")
    kind = observation_kind(name, unit, qualitative=word is not None)
    written = normalize_space(match["value"])
    number = None if word else float(written.lstrip("<>=\u2264\u2265 \t"))
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
        interpretation=interpretation(match["flag"] or groups.get("late_flag")),
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


def observation_facts(doc: Doc) -> list[ObservationFact]:
    text = doc.text
    drug_regions = [(e.start_char, e.end_char) for e in doc.ents if e.label_ == DRUG]
    facts = []
    taken: list[Region] = []
    for match in table_rows(text):
        facts.append(table_row_observation(text, match))
        taken.append((match.start(), match.end()))
    rows = list(taken)
    for match in known_observation_pattern().finditer(text):
        if match["systolic"] and normalize_space(match["name"]).lower() not in BLOOD_PRESSURE:
            continue
        if in_regions(match.start(), drug_regions) or in_regions(match.start(), rows):
            continue
        facts.append(known_observation(text, match))
        taken.append((match.start(), match.end()))
    for match in lab_row_pattern(in_table=False).finditer(text):
        if plausible_test_name(match["name"]) and not in_regions(match.start("value"), taken):
            facts.append(table_row_observation(text, match))
    for match in QUALITATIVE_ROW.finditer(text):
        if plausible_test_name(match["name"]) and not in_regions(match.start("name"), rows):
            facts.append(qualitative_observation(text, match))
    return facts


BLOOD_PRESSURE = {"blood pressure", "bp", "b/p"}
SPECIMEN_BEFORE = re.compile(
    r"\b(?P<specimen>urine|urinary|CSF|stool|pleural fluid|peritoneal fluid|synovial fluid)[ \t]+$",
    re.IGNORECASE,
)


# ---------------------------------------------------------------------------------------------
# Patient demographics
# ---------------------------------------------------------------------------------------------

NAME_LABEL = re.compile(
    r"(?:^[ \t]*(?:patient\s+)?name|\bpatient(?:\s+name)?)[ \t]*:[ \t]*"
    r"(?P<name>[A-Z][A-Za-z'\-]*\.?(?:,?[ \t]+(?!(?:DOB|MRN|Sex|Gender|Age|Date|ID)\b)"
    r"[A-Z][A-Za-z'\-]*\.?){1,4})",
    re.MULTILINE | re.IGNORECASE,
)
DATE = (
    r"\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2}"
    r"|[A-Za-z]{3,9}\.?[ \t]+\d{1,2},?[ \t]+\d{4}|\d{1,2}[ \t]+[A-Za-z]{3,9}\.?[ \t]+\d{4}"
)
BIRTH_DATE_LABEL = re.compile(
    rf"\b(?:DOB|D\.O\.B\.?|date[ \t]+of[ \t]+birth|birth[ \t]*date|born(?:[ \t]+on)?)"
    rf"[ \t]*[:#]?[ \t]*(?P<date>{DATE})(?!\d)",
    re.IGNORECASE,
)
DATE_FORMATS = (
    "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%m-%d-%y", "%Y-%m-%d",
    "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y",
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


def parse_date(written: str) -> str | None:
    """ISO date for a written birth date; two-digit years never land in the future."""
    cleaned = normalize_space(written.replace(",", " ").replace(".", ""))
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
        (m for m in NAME_LABEL.finditer(text) if plausible_person_name(m["name"])), None
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


# ---------------------------------------------------------------------------------------------
# Encounter and procedures
# ---------------------------------------------------------------------------------------------

ENCOUNTER_DATE_LABEL = re.compile(
    rf"\b(?P<label>admission date|date of admission|admitted(?: on)?|discharge date|"
    rf"date of discharge|discharged(?: on)?|date of service|service date|visit date|"
    rf"date of visit|encounter date|date)[ \t]*[:#]?[ \t]*(?P<date>{DATE})(?!\d)",
    re.IGNORECASE,
)
LONE_DATE_LINE = re.compile(rf"\A\s*(?P<date>{DATE})[ \t]*$", re.MULTILINE)
EMERGENCY_WORDS = re.compile(r"\b(?:emergency department|emergency room|ED visit)\b", re.I)
PROCEDURE_HEADER = re.compile(
    r"^[ \t]*(?:#+[ \t]*)?(?:.*\bthe following procedures were (?:conducted|performed)|"
    r"procedures?(?: performed)?|operations?(?: performed)?)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
SEMANTIC_TAG = re.compile(r"\s*\((?:procedure|regime/therapy)\)\s*$", re.IGNORECASE)


def encounter_facts(text: str) -> list[EncounterFact]:
    """The encounter the document records: its dates (admission/discharge make it inpatient)."""
    start = end = None
    quoted: re.Match[str] | None = None
    inpatient = False
    for match in ENCOUNTER_DATE_LABEL.finditer(text):
        label, parsed = match["label"].lower(), parse_encounter_date(match["date"])
        if parsed is None or "birth" in text[max(0, match.start() - 12) : match.start()].lower():
            continue
        if "discharg" in label:
            end, inpatient = end or parsed, True
        elif "admi" in label:
            start, inpatient = start or parsed, True
        else:
            start = start or parsed
        quoted = quoted or match
    lone = LONE_DATE_LINE.search(text)
    if start is None and end is None and lone and parse_encounter_date(lone["date"]):
        start, quoted = parse_encounter_date(lone["date"]), lone
    if quoted is None:
        return []
    encounter_class = "inpatient" if inpatient else "ambulatory"
    if EMERGENCY_WORDS.search(text):
        encounter_class = "emergency"
    return [
        EncounterFact(
            quote=quote_for(text, quoted.start("date"), quoted.end("date")),
            encounter_class=encounter_class,
            type_text="hospital stay" if inpatient else None,
            start_date=start,
            end_date=end,
        )
    ]


def parse_encounter_date(written: str) -> str | None:
    """ISO date of a written date; unlike birth dates, two-digit years stay in this century."""
    cleaned = normalize_space(written.replace(",", " ").replace(".", ""))
    for date_format in DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, date_format).date().isoformat()
        except ValueError:
            continue
    return None


def procedure_facts(text: str) -> list[ProcedureFact]:
    facts = []
    for start, end in listed_regions(text, PROCEDURE_HEADER):
        for line_match in re.finditer(r"[^\n]+", text[start:end]):
            line_start = start + line_match.start()
            item = LIST_MARKER.sub("", line_match.group(), count=1)
            name = SEMANTIC_TAG.sub("", item).strip(" .;")
            if not name or len(name.split()) > 12:
                continue
            facts.append(
                ProcedureFact(
                    quote=quote_for(text, line_start, start + line_match.end()),
                    text=normalize_space(name),
                )
            )
    return facts


# ---------------------------------------------------------------------------------------------
# Deduplication and the extractor
# ---------------------------------------------------------------------------------------------


def unique(items: list, key) -> list:
    """Items in order, dropping later ones whose key was already seen."""
    seen, kept = set(), []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            kept.append(item)
    return kept


def most_informative(items: list, key) -> list:
    """One item per key, in first-seen order: the one with most fields filled (first on ties)."""
    best: dict = {}
    for item in items:
        filled = sum(value is not None for value in item.model_dump().values())
        if key(item) not in best or filled > best[key(item)][0]:
            best[key(item)] = (filled, item)
    return [item for _, item in best.values()]


def condition_key(fact: ConditionFact) -> tuple:
    return fact.text.lower(), fact.assertion


def medication_key(fact: MedicationFact) -> tuple:
    return fact.text.lower(), fact.assertion, fact.prescribed


def allergy_key(fact: AllergyFact) -> tuple:
    return fact.no_known_allergies, (fact.substance or "").lower()


def observation_key(fact: ObservationFact) -> tuple:
    return fact.loinc_code or fact.name.lower(), fact.value, fact.value_text, fact.unit


class OfflineExtractor:
    """Rule-based extraction with medspaCy; the pipeline is built once per process, on first use."""

    @property
    def nlp(self) -> Language:
        return build_pipeline()

    def extract(self, text: str, document_type: DocumentType | None = None) -> ChunkExtraction:
        """Facts of one chunk; in a lab report (`document_type`) conditions only from a labelled
        diagnosis or clinical-information field."""
        if not text.strip():
            return ChunkExtraction()
        doc = self.nlp(text)
        allergy_areas = allergy_regions(doc)
        medication_lists = section_regions(doc, MEDICATION_CATEGORIES)
        diagnosis_fields = (
            diagnosis_field_regions(text) if document_type == DocumentType.LAB_REPORT else None
        )
        return ChunkExtraction(
            patient=patient_fact(text),
            conditions=unique(
                condition_facts(doc, allergy_areas + medication_lists, diagnosis_fields),
                condition_key,
            ),
            medications=most_informative(
                medication_facts(doc, allergy_areas + lab_row_regions(text)), medication_key
            ),
            allergies=unique(allergy_facts(doc, allergy_areas), allergy_key),
            observations=unique(observation_facts(doc), observation_key),
            encounters=encounter_facts(text),
            procedures=unique(procedure_facts(text), lambda fact: fact.text.lower()),
            organizations=organization_facts(text),
            practitioners=practitioner_facts(text),
        )
