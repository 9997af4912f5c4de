"""Re-reading an LLM fact's grounded span with ConText: the text, not the model, decides assertions.

An LLM may call "chest pain" present when its quote sits in "denies chest pain". Every grounded
fact of an LLM provider that can be asserted (condition, medication, allergy, procedure) is read
again with the offline provider's medspaCy ConText rules and sectionizer (`extraction/lexicon/`)
at its evidence span, the fact's name inside that span being the ConText target. When ConText
finds the text negates it, gives it to a relative, makes it hypothetical or uncertain, and the LLM
said otherwise, ConText wins (the fact is not asserted as the patient's active finding) and the
provider's word is kept in `provider_assertion`; every disagreement is a review item.

A fact read from a page image (grounded to the page, no span in the text) is read in its own
quote — the model's transcription of the page — the same way.

The offline provider's allergies are read the same way (its allergy rules read lists and tables,
not ConText), without a disagreement: ConText is that provider's own reading.
One document is one spaCy Doc; the targets go in a span group, so overlapping facts are fine.
Nothing here logs or raises with document text.
"""

import functools
from collections.abc import Iterator

import medspacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from medpipeline.costs import OFFLINE_PROVIDER
from medpipeline.extraction.grounding import locate_quote
from medpipeline.extraction.offline.context_rules import context_rules
from medpipeline.extraction.offline.forms import BLANKED, mark_answers
from medpipeline.extraction.offline.pipeline import assertion_of, silence_loguru
from medpipeline.extraction.offline.section_rules import (
    LABELLED_PARAGRAPHS,
    SECTION_ASSERTIONS,
    section_rules,
)
from medpipeline.extraction.offline.sentences import LIST_ITEM_SENTENCES
from medpipeline.extraction.offline.term_matcher import CONDITION, DRUG
from medpipeline.extraction.schema import (
    AllergyFact,
    AssertedFact,
    Assertion,
    ConditionFact,
    DocumentExtraction,
    ImmunizationFact,
    MedicationFact,
    ProcedureFact,
)

TARGETS = "medpipeline_recheck"
ALLERGY, PROCEDURE = "ALLERGY", "PROCEDURE"  # span labels the offline matcher has no use for
# How far an assertion is from "the patient has it": ConText overrides only towards a higher rank.
_RANK = {
    Assertion.PRESENT: 0,
    Assertion.HISTORICAL: 0,
    Assertion.POSSIBLE: 1,
    Assertion.NEGATED: 2,
    Assertion.FAMILY: 2,
    Assertion.HYPOTHETICAL: 2,
}


@functools.cache
def recheck_pipeline() -> Language:
    """Sentences (PyRuSH, list items), the sectionizer (a labelled section ends with its
    paragraph) and ConText with the offline rules, all
    reading the span group `TARGETS` instead of entities found by a matcher."""
    silence_loguru()
    nlp = medspacy.load(medspacy_enable=["medspacy_pyrush"])
    nlp.add_pipe(LIST_ITEM_SENTENCES, after="medspacy_pyrush")
    sectionizer = nlp.add_pipe(
        "medspacy_sectionizer",
        config={
            "rules": None,
            "require_start_line": True,
            "apply_sentence_boundary": True,
            "span_attrs": SECTION_ASSERTIONS,
            "input_span_type": "group",
            "span_group_name": TARGETS,
        },
    )
    sectionizer.add(section_rules(nlp, sectionizer.DEFAULT_RULES_FILEPATH))
    nlp.add_pipe(LABELLED_PARAGRAPHS, after="medspacy_sectionizer")
    context = nlp.add_pipe(
        "medspacy_context",
        config={"rules": None, "input_span_type": "group", "span_group_name": TARGETS},
    )
    context.add(context_rules(context.DEFAULT_RULES_FILEPATH))
    return nlp


def _target_label(fact: AssertedFact) -> str:
    if isinstance(fact, ConditionFact):
        return CONDITION
    if isinstance(fact, MedicationFact | ImmunizationFact):  # 'declined the flu shot'
        return DRUG
    if isinstance(fact, AllergyFact):
        return ALLERGY
    return PROCEDURE


def _name(fact: AssertedFact) -> str | None:
    if isinstance(fact, AllergyFact):
        return fact.substance
    if isinstance(fact, MedicationFact):
        return fact.text or fact.generic_name
    if isinstance(fact, ConditionFact | ProcedureFact | ImmunizationFact):
        return fact.text
    return None


def target_span(fact: AssertedFact, text: str) -> tuple[int, int] | None:
    """Characters of the fact's name inside its evidence span (the whole span if not found);
    None for a fact without a span in the text."""
    evidence = fact.evidence
    if evidence is None or evidence.offset is None or evidence.length is None:
        return None
    return _name_within(fact, text, evidence.offset, evidence.offset + evidence.length)


def _name_within(fact: AssertedFact, text: str, start: int, end: int) -> tuple[int, int]:
    name = _name(fact)
    located = locate_quote(name, text[start:end]) if name else None
    if located:
        return start + located[0], start + located[0] + located[1]
    return start, end


def contextual_assertions(text: str, spans: list[tuple[int, int, str]]) -> list[Assertion | None]:
    """ConText's assertion of each (start, end, label) character span of `text` (None when the
    span does not cover a token). A printed form is read as the offline provider reads it
    (`forms.mark_answers`): a choice the form does not make ('[ ] Diabetes', 'Latex allergy?
    [ ] Yes [X] No') is negated."""
    if not spans:
        return []
    reading = mark_answers(text)
    nlp = recheck_pipeline()
    doc: Doc = nlp.make_doc(reading)
    not_chosen = [
        bool(text[start:end].strip()) and not reading[start:end].strip(BLANKED)
        for start, end, _ in spans
    ]
    targets: list[Span | None] = [
        None if unchosen else doc.char_span(start, end, label=label, alignment_mode="expand")
        for (start, end, label), unchosen in zip(spans, not_chosen, strict=True)
    ]
    for name, component in nlp.pipeline:
        if name == "medspacy_sectionizer":
            doc.spans[TARGETS] = [span for span in targets if span is not None]
        doc = component(doc)
    group = {(span.start, span.end, span.label_): span for span in doc.spans[TARGETS]}
    return [
        Assertion.NEGATED
        if unchosen
        else _assertion(group[(span.start, span.end, span.label_)])
        if span is not None
        else None
        for span, unchosen in zip(targets, not_chosen, strict=True)
    ]


def _assertion(span: Span) -> Assertion:
    """As the offline provider asserts: a drug is hypothetical only by a ConText cue ("if pain
    persists, take ..."), not by sitting in a patient-instructions section."""
    if span.label_ != DRUG:
        return assertion_of(span)
    asserted = assertion_of(span, hypothetical_allowed=False)
    cued = any(modifier.category == "HYPOTHETICAL" for modifier in span._.modifiers)
    return Assertion.HYPOTHETICAL if asserted == Assertion.PRESENT and cued else asserted


def _facts_to_read(extraction: DocumentExtraction) -> Iterator[tuple[AssertedFact, bool]]:
    """(fact, from an LLM) for every grounded fact to re-read: all of an LLM's, and the offline
    provider's allergies (its allergy rules read lists and tables, not ConText)."""
    providers = {report.chunk_id: report.provider for report in extraction.chunks}
    for fact in [
        *extraction.conditions,
        *extraction.medications,
        *extraction.allergies,
        *extraction.procedures,
        *extraction.immunizations,
    ]:
        if fact.evidence is None or not providers.get(fact.evidence.chunk_id):
            continue
        if isinstance(fact, AllergyFact) and fact.no_known_allergies:
            continue  # "no known allergies" is negated by its nature
        from_llm = providers[fact.evidence.chunk_id] != OFFLINE_PROVIDER
        if from_llm or isinstance(fact, AllergyFact):
            yield fact, from_llm


def _read_quote(fact: AssertedFact) -> Assertion | None:
    """ConText's assertion of the fact's name in its own quote (a page image's transcription)."""
    start, end = _name_within(fact, fact.quote, 0, len(fact.quote))
    return contextual_assertions(fact.quote, [(start, end, _target_label(fact))])[0]


def disagrees(fact: AssertedFact) -> bool:
    """ConText and the provider differ on whether the fact is the patient's active finding."""
    said = fact.provider_assertion or fact.assertion
    read = fact.context_assertion
    if read is None or read == said:
        return False
    return _RANK[read] != _RANK[said] or _RANK[read] == 2


def recheck_assertions(extraction: DocumentExtraction, text: str) -> DocumentExtraction:
    """A copy whose LLM facts (and offline allergies) carry ConText's reading; where ConText
    finds the text denies, relativises or conditions what the provider asserted, ConText's
    assertion is the fact's."""
    checked = extraction.model_copy(deep=True)
    in_text, on_page, spans = [], [], []
    for fact, from_llm in _facts_to_read(checked):
        span = target_span(fact, text)
        if span is None:  # read from a page image: no span in the text
            on_page.append((fact, from_llm))
        else:
            in_text.append((fact, from_llm))
            spans.append((*span, _target_label(fact)))
    facts = in_text + on_page
    reads = contextual_assertions(text, spans) + [_read_quote(fact) for fact, _ in on_page]
    changed = 0
    for (fact, from_llm), read in zip(facts, reads, strict=True):
        fact.provider_assertion = None
        fact.context_assertion = read
        if read is not None and _RANK[read] > _RANK[fact.assertion]:
            if from_llm:  # the offline provider's own reading is ConText: no disagreement
                fact.provider_assertion = fact.assertion
            fact.assertion = read
            changed += 1
    checked.assertions_rechecked = len(facts)
    checked.assertions_changed = changed
    return checked
