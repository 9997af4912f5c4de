"""The vocabulary terms (conditions and drugs) found in a document as entities.

spaCy's token `Matcher` tries every pattern at every token, so the twenty thousand spellings of the
vocabularies made it most of a page's extraction time, and adding them (each validated, and each
`IN` set compared with every set before it) most of a cold start. spaCy's `PhraseMatcher` looks
terms up by hash instead. It cannot skip a line break between two words of a term ('chronic
kidney' at a line's end, 'disease' on the next), so it reads the document's words without their
whitespace tokens and the matches are mapped back. Each entity carries its medspaCy `TargetRule`
(`span._.target_rule`), as medspaCy's target matcher would set it, for ConText and the extractors.
"""

import functools
import re

import inflect
from medspacy.target_matcher import TargetRule
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from medpipeline.english import english_words
from medpipeline.extraction.offline.lexicons import condition_names, drug_names
from medpipeline.extraction.offline.vocabularies import icd10_narrative_terms, narrative_drug_names

INFLECT = inflect.engine()


# American spellings and their British forms ('iron deficiency anaemia', 'hypokalaemia',
# 'oesophagitis', 'haemorrhoids', 'lymphoedema', 'ischaemic', 'sleep apnoea', 'coeliac
# disease'): UK and Commonwealth letters use them.
BRITISH_SPELLINGS = [
    (re.compile(pattern), british)
    for pattern, british in (
        (r"(?<=[a-z]{2})(?<![aeiou])emi(?=[ac])", "aemi"),  # not 'hemiplegia'
        (r"^hem(?=[oa])", "haem"),
        (r"edema", "oedema"),
        (r"esophag", "oesophag"),
        (r"rrhea", "rrhoea"),
        (r"pnea", "pnoea"),
        (r"^celiac", "coeliac"),
        (r"anesthe", "anaesthe"),
        (r"^tumor", "tumour"),
        (r"^estrogen", "oestrogen"),
        (r"^pediatric", "paediatric"),
        (r"gynecolog", "gynaecolog"),
        (r"^orthoped", "orthopaed"),
    )
]


def british(words: list[str]) -> list[str]:
    spelled = []
    for word in words:
        for pattern, replacement in BRITISH_SPELLINGS:
            word = pattern.sub(replacement, word)
        spelled.append(word)
    return spelled


def spellings(nlp: Language, phrase: str, plural: bool = False) -> list[list[str]]:
    """The word sequences a term is written as: lower case, in British spelling too, with a
    typographic apostrophe too, and the last word also in its plural if asked ('muscle spasms',
    'recurrent urinary tract infections')."""
    words = [token.lower_ for token in nlp.tokenizer(phrase)]
    variants = [words]
    if (spelled := british(words)) != words:
        variants.append(spelled)
    if any("'" in word for word in words):
        variants.append([word.replace("'", "\u2019") for word in words])
    if plural and words[-1].isalpha():
        variants += [[*variant[:-1], plural_of(variant[-1])] for variant in variants]
    unique = {tuple(variant): list(variant) for variant in variants}
    return list(unique.values())


@functools.cache
def plural_of(word: str) -> str:
    """The English plural of a noun (`inflect`: 'spasms', 'injuries', 'metastases')."""
    return INFLECT.plural_noun(word) or word


def is_exact_abbreviation(phrase: str) -> bool:
    """A short capitalised abbreviation, or one that spells an English word, matches only as
    written ('INH' is isoniazid, 'mcg/inh' per inhalation; 'AIDS' is no 'hearing aids')."""
    return phrase.isupper() and (len(phrase) <= 3 or phrase.lower() in english_words())


def after_non(words: list[Token], start: int) -> bool:
    """A term after 'non-' is not what it names: 'Non-Hodgkin lymphoma' is no Hodgkin lymphoma,
    'non-alcoholic fatty liver' no alcoholic one, 'non-insulin dependent' no insulin (a longer
    term that starts with 'non' still matches)."""
    before = [word.lower_ for word in words[max(0, start - 2) : start]]
    return before[-1:] == ["non"] or before == ["non", "-"]


@Language.factory("medpipeline_term_matcher")
class TermMatcher:
    """Finds the added `TargetRule` literals as `doc.ents`, the longest where they overlap."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.nlp = nlp
        self.any_case = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.as_written = PhraseMatcher(nlp.vocab, attr="ORTH")
        self.rules: list[TargetRule] = []

    def add(self, rules: list[TargetRule], plural_categories: set[str]) -> None:
        for rule in rules:
            key = str(len(self.rules))
            self.rules.append(rule)
            if is_exact_abbreviation(rule.literal):
                matcher = self.as_written
                written = [[token.text for token in self.nlp.tokenizer(rule.literal)]]
            else:
                matcher = self.any_case
                plural = rule.category in plural_categories
                written = spellings(self.nlp, rule.literal, plural)
            matcher.add(key, [Doc(self.nlp.vocab, words=words) for words in written])

    def __call__(self, doc: Doc) -> Doc:
        words = [token for token in doc if not token.is_space]
        view = Doc(doc.vocab, words=[token.text for token in words])
        spans = []
        for match_id, start, end in [*self.any_case(view), *self.as_written(view)]:
            if after_non(words, start):
                continue
            rule = self.rules[int(self.nlp.vocab.strings[match_id])]
            span = Span(doc, words[start].i, words[end - 1].i + 1, label=rule.category)
            span._.target_rule = rule
            spans.append(span)
        doc.ents = filter_spans(spans)
        return doc


CONDITION = "CONDITION"


DRUG = "DRUG"


def target_rules() -> list[TargetRule]:
    """The curated conditions and drugs, and the ICD-10-CM terms and dictionary drug names the
    curated lists lack."""
    curated = condition_names()
    known = {name.lower() for name, _ in curated}
    icd10_terms = [
        (term, {"icd10_code": code, "term": term})
        for term, code in icd10_narrative_terms().items()
        if term not in known
    ]
    curated_drugs = drug_names()
    known_drugs = {name.lower() for name, _ in curated_drugs}
    dictionary_drugs = [
        (name, {"generic_name": generic})
        for name, generic in narrative_drug_names().items()
        if name not in known_drugs
    ]
    rules = []
    for category, names in (
        (CONDITION, curated + icd10_terms),
        (DRUG, curated_drugs + dictionary_drugs),
    ):
        for name, metadata in names:
            rules.append(TargetRule(name, category, metadata=metadata))
    return rules
