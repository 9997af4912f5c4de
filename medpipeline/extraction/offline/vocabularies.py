"""Maintained vocabularies, loaded once per process on first use.

- Drug names: the dictionary that `drug-named-entity-recognition` ships in its wheel (about 107,000
  generic and brand names and spellings from MeSH, DrugBank, Wikipedia, NHS and MedlinePlus, each
  mapped to its canonical generic name; MIT licence; nothing is downloaded at run time: only its
  data is read, never its optional OMOP / PubChem / structure look-ups). No maintained package
  ships RxNorm codes offline, so medications keep their names (and generic name) uncoded.
- Conditions: the whole ICD-10-CM tabular list of `simple-icd-10-cm` (descriptions and inclusion
  terms of every code), besides the curated synonyms of `lexicon/conditions.csv`.
"""

import functools
import re
import warnings
from collections import defaultdict

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from spacy.lang.en.stop_words import STOP_WORDS

from medpipeline.english import english_words
from medpipeline.extraction.offline.lexicons import observation_aliases
from medpipeline.terminology import icd10cm_code, unspecified_icd10_leaf

MAX_DRUG_WORDS = 4
MIN_DRUG_CHARS = 4
# Dictionary entries that are also everyday or clinical words in a medication table's name cell,
# and analytes a sentence names as lab results ('Procalcitonin was 0.5').
NOT_DRUG_NAMES = {
    "tablet", "tablets", "capsule", "solution", "oral", "inhalation", "aerosol", "injection",
    "cream", "ointment", "patch", "spray", "suspension", "powder", "syrup", "drops", "gel",
    "unknown", "none", "active", "completed", "medication", "medications", "drug", "dose",
    "daily", "water", "air", "food", "diet", "home", "release", "extended", "delayed", "kit",
    "base", "plain", "regular", "standard", "test", "pain", "sodium", "chloride", "hcl",
    "hydrochloride", "sulfate", "potassium", "calcium", "acetate", "citrate", "phosphate",
    "procalcitonin", "haptoglobin", "haptoglobins", "transferrin", "triiodothyronine",
    "beta-hydroxybutyrate", "3-hydroxybutyrate", "hydroxybutyrate", "transaminase", "transaminases",
    "aminotransferase", "aminotransferases",
    # a dialysis machine's fluid, enzymes a class of drugs acts on
    "dialysate", "calcineurin", "aromatase",
}  # fmt: skip
# An antigen or antibody is what a test measures ('Hepatitis B surface antigen negative', 'HLA-B27
# antigen'), not a drug the patient takes; the dictionary holds hundreds (MeSH). Vaccines stay.
ANALYTE = re.compile(r"\b(?:auto)?(?:antigens?|antibod(?:y|ies))\b")
# A canonical name that is a pharmacological class (MeSH pharmacological actions such as
# 'hydroxymethylglutaryl-coa reductase inhibitors' for 'statin', 'anti-bacterial agents' for
# 'antibiotics'), not one drug.
DRUG_CLASS = re.compile(
    r"\b(?:agents|inhibitors|antagonists|agonists|blockers|blockaders|analgesics|diuretics"
    r"|antibiotics|inducers|modulators|hormones|vaccines|antibodies|steroids|statins"
    r"|anticoagulants|antidepressants|antihypertensives|antipsychotics|anticonvulsants"
    r"|antihistamines|bronchodilators|contraceptives|vitamins|opioids|benzodiazepines"
    r"|corticosteroids|sulfonamides|cephalosporins|macrolides|quinolones|fluoroquinolones"
    r"|tetracyclines|aminoglycosides|barbiturates|laxatives|antacids|antiemetics|antifungals"
    r"|antivirals|antiretrovirals|immunoglobulins)\b"
)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9'\-]*")
ICD_UNSPECIFIED = re.compile(
    r",?\s*\b(?:unspecified|not elsewhere classified|NEC|NOS|without mention of degree)\b", re.I
)
# A course or severity after a comma ('Sigmoid diverticulosis, moderate') is no part of the name.
QUALIFIER_AFTER = re.compile(
    r",\s*(?:mild|moderate|severe|chronic|acute|stable|controlled|uncontrolled|improved"
    r"|worsening|resolved|active)\s*$",
    re.I,
)
LINKING_WORDS = frozenset({"of", "the", "in", "and", "with", "to"})


@functools.cache
def drug_dictionary() -> dict[str, str]:
    """Lower-cased drug name or spelling -> canonical generic name (lower case)."""
    from drug_named_entity_recognition import drugs_finder  # reads its shipped pickle, ~3 s

    skip = set(STOP_WORDS) | NOT_DRUG_NAMES | {alias.lower() for alias in observation_aliases()}
    names: dict[str, str] = {}
    for variant, canonicals in drugs_finder.drug_variant_to_canonical.items():
        if len(variant) < MIN_DRUG_CHARS or variant in skip or not canonicals:
            continue
        if len(variant.split()) > MAX_DRUG_WORDS:
            continue
        data = drugs_finder.drug_canonical_to_data.get(canonicals[0], {})
        name = (data.get("name") or canonicals[0]).lower()
        if ANALYTE.search(variant) or (ANALYTE.search(name) and "vaccine" not in name):
            continue
        names[variant] = name
    return names


def find_drug(text: str) -> tuple[int, int, str] | None:
    """The first (longest at its start) dictionary drug name in text: (start, end, generic)."""
    dictionary = drug_dictionary()
    words = list(WORD.finditer(text))
    for index in range(len(words)):
        for size in range(min(MAX_DRUG_WORDS, len(words) - index), 0, -1):
            first, last = words[index], words[index + size - 1]
            phrase = " ".join(word.group() for word in words[index : index + size]).lower()
            generic = dictionary.get(phrase)
            if generic:
                return first.start(), last.end(), generic
    return None


# A drug's name misspelt or misread by a letter, by two in a longer name ('gliburide',
# 'miodarone', 'Ginko Biloba'; OCR's 'Metforrnin'): the words opening a medication line, when
# exactly one drug of the dictionary is that near and the words are no English ones.
MIN_SPELLING_CHARS = 6
LONG_SPELLING_CHARS = 9
OPENING_WORDS = re.compile(r"[ \t]*[A-Za-z]+(?:[ \t]+[A-Za-z]+){0,2}")


@functools.cache
def drug_names_by_word_count() -> dict[int, list[str]]:
    names = defaultdict(list)
    for name in drug_dictionary():
        names[len(name.split())].append(name)
    return names


def drug_by_spelling(text: str) -> tuple[int, int, str] | None:
    """The dictionary drug that the words opening the text misspell (start, end, generic), the
    longest such phrase first; None when no drug or several are that near."""
    opening = OPENING_WORDS.match(text)
    if opening is None:
        return None
    words = list(re.finditer(r"[A-Za-z]+", opening.group()))
    for count in range(len(words), 0, -1):
        phrase = " ".join(word.group().lower() for word in words[:count])
        if len(phrase) < MIN_SPELLING_CHARS or all(
            word in english_words() for word in phrase.split()
        ):
            continue
        edits = 1 if len(phrase) < LONG_SPELLING_CHARS else 2
        near = process.extract(
            phrase,
            drug_names_by_word_count()[count],
            scorer=Levenshtein.distance,
            score_cutoff=edits,
            limit=10,
        )
        if not near:
            continue
        nearest = min(distance for _, distance, _ in near)
        generics = {drug_dictionary()[name] for name, distance, _ in near if distance == nearest}
        if len(generics) == 1 and not is_drug_class(next(iter(generics))):
            return words[0].start(), words[count - 1].end(), generics.pop()
        return None
    return None


# A vaccine is an immunization, not a medication statement, also in a medication table or list
# (immunization sections are not read for medications; the narrative lexicon names no vaccine).
VACCINE = re.compile(r"\b(?:vaccines?|vacc|toxoids?)\b", re.IGNORECASE)


def is_vaccine(name: str, generic: str | None) -> bool:
    """The product or its generic name ('Fluzone': 'influenza vaccine ...') is a vaccine."""
    return bool(VACCINE.search(name) or (generic and VACCINE.search(generic)))


def names_a_vaccine(text: str) -> bool:
    """The text is a vaccine product's name ('Engerix-B', 'Gardasil 9')."""
    found = find_drug(text)
    return found is not None and is_vaccine(text, found[2])


# The dictionary's drug names the narrative matcher reads besides the curated ones: one word of
# six or more letters (or hyphenated: 'povidone-iodine') that is no English word and names one
# drug, not a class ('cefpodoxime' in 'changed to oral cefpodoxime', 'Plendil'); and names of
# several words that have a MedlinePlus drug monograph and hold such a word ('Trelegy Ellipta',
# 'sodium zirconium cyclosilicate'), no joining word ('amlodipine and benazepril' may be two
# drugs). Other names (English words, abbreviations, enzymes and receptors of several words)
# stay with the curated list, where each was chosen (a sentence has no table column to say that
# its word is a drug).
MIN_NARRATIVE_DRUG_CHARS = 6


@functools.cache
def narrative_drug_names() -> dict[str, str]:
    """Lower-cased drug name -> generic name (lower case) for the narrative matcher."""
    from drug_named_entity_recognition import drugs_finder

    english = english_words()

    def is_specific(word: str) -> bool:
        return (
            len(word) >= MIN_NARRATIVE_DRUG_CHARS
            and word.replace("-", "").isalpha()
            and word not in english
        )

    def has_monograph(name: str) -> bool:
        canonical = drugs_finder.drug_variant_to_canonical[name][0]
        return "medline_plus_id" in drugs_finder.drug_canonical_to_data.get(canonical, {})

    names = {}
    for name, generic in drug_dictionary().items():
        words = name.split()
        if is_drug_class(generic):
            continue
        if len(words) == 1 and is_specific(name):
            names[name] = generic
        elif (
            len(words) > 1
            and all(word.replace("-", "").isalpha() for word in words)
            and not LINKING_WORDS.intersection(words)
            and any(is_specific(word) for word in words)
            and has_monograph(name)
        ):
            names[name] = generic
    return names


def is_drug_class(generic: str) -> bool:
    """Whether a canonical drug name names a class of drugs ('statin', 'NSAIDs', 'antibiotics')."""
    return bool(DRUG_CLASS.search(generic))


def normalize_condition(name: str) -> str:
    name = ICD_UNSPECIFIED.sub("", name.lower())
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name).split())


def condition_words(key: str) -> frozenset[str]:
    return frozenset(key.split()) - LINKING_WORDS


@functools.cache
def icd10_word_index() -> dict[frozenset[str], str]:
    """The same terms by their words in any order ('colon polyp' is 'polyp of colon')."""
    index: dict[frozenset[str], str] = {}
    for key, code in icd10_index().items():
        words = condition_words(key)
        if words and (words not in index or len(code) > len(index[words])):
            index[words] = code
    return index


@functools.cache
def icd10_index() -> dict[str, str]:
    """Normalised ICD-10-CM description or inclusion term -> dotted code (the most specific code
    when a term names several: 'Acute pharyngitis' is J02.9, not the category J02). The package
    lists codes with their dots, so no code is looked up again (its `add_dot` searches the whole
    list for each code)."""
    with warnings.catch_warnings():  # the package reads its data with deprecated importlib calls
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as icd

    index: dict[str, str] = {}
    for code in icd.get_all_codes(with_dots=True):
        if icd.is_chapter_or_block(code):
            continue
        for term in [icd.get_description(code), *icd.get_inclusion_term(code)]:
            key = normalize_condition(term)
            if key and (key not in index or len(code) > len(index[key])):
                index[key] = code
    return {key: unspecified_icd10_leaf(code) for key, code in index.items()}


# The ICD-10-CM terms the narrative matcher reads besides the curated ones: diseases and symptoms
# (chapters A-N and R00-R69; not abnormal findings of tests and imaging, R70-R99, where 'low
# density' is a mammogram's; not injuries, external causes or 'encounter for' factors), two to four
# plain words that name one thing ('night sweats', 'internal hemorrhoids', 'mixed hyperlipidemia'),
# or one word of six or more letters with a disease's suffix ('cholecystitis', 'pneumothorax',
# 'atelectasis', 'orthopnea', 'aphasia'; not 'illness', 'falling', 'worries'); not the tabular
# list's classifying words ('other', 'specified', 'without' ...).
NARRATIVE_CHAPTERS = re.compile(r"[A-N]|R[0-6]")
CLASSIFYING_WORDS = frozenset(
    "other specified classified elsewhere unspecified without with due and or not nos type site"
    " sites part parts multiple single region unknown certain use in on for by".split()
)


DISEASE_WORD = re.compile(
    r"[a-z]{2,}(?:itis|osis|iasis|emia|oma|pathy|algia|plegia|rrhea|rrhagia|ectasis|megaly|cele"
    r"|thorax|penia|uria|ptysis|emesis|pnea|cardia|phagia|esthesia|opia|asia|axia|trophy|plasia)"
)


@functools.cache
def icd10_narrative_terms() -> dict[str, str]:
    """Normalised term -> ICD-10-CM code for the narrative matcher."""
    terms = {}
    for key, code in icd10_index().items():
        words = key.split()
        if not NARRATIVE_CHAPTERS.match(code) or not (
            2 <= len(words) <= 4 or DISEASE_WORD.fullmatch(key)
        ):
            continue
        if any(word in CLASSIFYING_WORDS or not word.isalpha() for word in words):
            continue
        terms[key] = code
    return terms


def icd10_code(name: str) -> str | None:
    """The ICD-10-CM code whose description or inclusion term is this name, if one is: as
    written, without a course or severity after a comma, or with its words in another order."""
    key = normalize_condition(QUALIFIER_AFTER.sub("", name))
    code = icd10_index().get(key) or icd10_word_index().get(condition_words(key))
    return icd10cm_code(code) if code else None
