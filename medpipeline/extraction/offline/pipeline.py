"""The medspaCy pipeline (PyRuSH sentences, our term matcher, sectionizer, ConText), built once per
process, and how ConText's attributes become one `Assertion`.

PHI: PyRuSH logs every token (document text) through loguru at DEBUG; those loggers are disabled.
"""

import functools
import re

import medspacy
from loguru import logger
from spacy.language import Language
from spacy.tokens import Span

from medpipeline.extraction.offline.context_rules import context_rules, wrap_tolerant
from medpipeline.extraction.offline.section_rules import (
    HEADER_LEAD,
    LABELLED_PARAGRAPHS,
    SECTION_ASSERTIONS,
    section_rules,
)
from medpipeline.extraction.offline.sentences import (
    LIST_ITEM_SENTENCES,
    MEDICATION_ITEM_SENTENCES,
)
from medpipeline.extraction.offline.term_matcher import CONDITION, TermMatcher, target_rules
from medpipeline.extraction.schema import Assertion

LOGURU_MODULES_TO_SILENCE = ("PyRuSH", "medspacy")


def silence_loguru() -> None:
    """PyRuSH logs every token (document text) at DEBUG through loguru: switch that off."""
    for module in LOGURU_MODULES_TO_SILENCE:
        logger.disable(module)


silence_loguru()


LETTERS_FULL_STOP = r"(?<=^[A-Za-z])\.$"


@functools.cache
def build_pipeline() -> Language:
    """medspaCy (PyRuSH sentences, ConText, the sectionizer) with our rules, and our term matcher.

    The sectionizer runs before ConText so that section headers end sentences.
    """
    silence_loguru()
    nlp = medspacy.load()
    # medspaCy's tokenizer keeps a letter and its full stop together ('B.'), so 'Chronic
    # hepatitis B.' and 'Low vitamin D.' at a sentence's end missed their terms
    suffixes = nlp.tokenizer.suffix_search.__self__.pattern
    nlp.tokenizer.suffix_search = re.compile(rf"{suffixes}|{LETTERS_FULL_STOP}").search
    nlp.add_pipe(LIST_ITEM_SENTENCES, after="medspacy_pyrush")
    nlp.remove_pipe("medspacy_target_matcher")
    term_matcher: TermMatcher = nlp.add_pipe("medpipeline_term_matcher", after=LIST_ITEM_SENTENCES)
    term_matcher.add(target_rules(), plural_categories={CONDITION})
    nlp.remove_pipe("medspacy_context")
    context = nlp.add_pipe("medspacy_context", config={"rules": None})
    context.add(
        [
            wrap_tolerant(rule, nlp.tokenizer)
            for rule in context_rules(context.DEFAULT_RULES_FILEPATH)
        ]
    )
    sectionizer = nlp.add_pipe(
        "medspacy_sectionizer",
        before="medspacy_context",
        config={
            "rules": None,
            "require_start_line": True,
            "newline_pattern": HEADER_LEAD,
            "apply_sentence_boundary": True,
            "span_attrs": SECTION_ASSERTIONS,
        },
    )
    sectionizer.add(section_rules(nlp, sectionizer.DEFAULT_RULES_FILEPATH))
    nlp.add_pipe(MEDICATION_ITEM_SENTENCES, before="medspacy_context")
    nlp.add_pipe(LABELLED_PARAGRAPHS, after="medspacy_sectionizer")
    return nlp


def has_modifier(ent: Span, category: str) -> bool:
    return any(modifier.category == category for modifier in ent._.modifiers)


# A name made for children ("Children's multivitamin", "Children's Hospital", "Infants'
# Tylenol"): ConText's family cue, but no relative.
NAMED_FOR_CHILDREN = re.compile(r"(?:children|infants?|kids)\s*['\u2019]s?", re.IGNORECASE)


def is_a_relatives(ent: Span) -> bool:
    cues = [
        ent.doc[m.modifier_span[0] : m.modifier_span[1]].text
        for m in ent._.modifiers
        if m.category == "FAMILY"
    ]
    named_for_children = bool(cues) and all(NAMED_FOR_CHILDREN.fullmatch(cue) for cue in cues)
    return ent._.is_family and not (
        named_for_children and ent._.section_category != "family_history"
    )


def assertion_of(ent: Span, hypothetical_allowed: bool = True) -> Assertion:
    """ConText (and section) attributes as one assertion, the strongest first."""
    if ent._.is_negated:
        return Assertion.NEGATED
    if is_a_relatives(ent):
        return Assertion.FAMILY
    if ent._.is_uncertain:
        return Assertion.POSSIBLE
    if ent._.is_hypothetical and hypothetical_allowed:
        return Assertion.HYPOTHETICAL
    if ent._.is_historical or has_modifier(ent, "RESOLVED") or has_modifier(ent, "INACTIVE"):
        return Assertion.HISTORICAL
    return Assertion.PRESENT
