"""The medspaCy pipeline (PyRuSH sentences, our term matcher, sectionizer, ConText), built once per
process, and how ConText's attributes become one `Assertion`.

PHI: PyRuSH logs every token (document text) through loguru at DEBUG; those loggers are disabled.
"""

import bisect
import functools
import itertools
import re
from collections.abc import Callable

import medspacy
from loguru import logger
from medspacy.context import ConTextRule
from medspacy.section_detection import SectionRule
from medspacy.target_matcher import TargetRule
from spacy.language import Language
from spacy.tokens import Doc, Span

from medpipeline.extraction.offline.lexicons import (
    condition_names,
    drug_names,
    read_lexicon,
    split_names,
)
from medpipeline.extraction.offline.sig import has_sig
from medpipeline.extraction.offline.term_matcher import TermMatcher
from medpipeline.extraction.offline.text import (
    AS_OF_A_DATE,
    LIST_ITEM_LINE,
    Region,
    sentence_region,
)
from medpipeline.extraction.offline.vocabularies import (
    icd10_narrative_terms,
    narrative_drug_names,
)
from medpipeline.extraction.schema import (
    Assertion,
)

LOGURU_MODULES_TO_SILENCE = ("PyRuSH", "medspacy")


CONDITION = "CONDITION"


DRUG = "DRUG"
MEDICATIONS = "medications"  # medspaCy's section category


def silence_loguru() -> None:
    """PyRuSH logs every token (document text) at DEBUG through loguru: switch that off."""
    for module in LOGURU_MODULES_TO_SILENCE:
        logger.disable(module)


silence_loguru()


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


# medspaCy's default rules that we replace: it negates a resolved condition ('Resolved: pneumonia',
# 'asthma, now resolved'), where the patient had it and it is over (ours: RESOLVED); its 'free'
# negates whatever precedes, where 'latex free' says to keep latex away from an allergic patient
# (ours: for conditions and drugs only, 'pain free'); its ': no' negates backward ('Fever: no')
# and so, being longer, wins over 'no' in 'Constitutional: No fevers, chills' and negated nothing
# (ours: a ':' or '-' then 'no', 'none', 'negative', 'denies' or 'absent' that ends its phrase:
# 'Fever - denies.', 'Headache: negative.'; 'Cardiovascular: denies chest pain' is the forward
# 'denies'); its 'ruled out' looks forward only, where 'Sepsis ruled out.' rules out what
# precedes (ours: either side, two words; 'ruled out for' forward);
# its 'prophylaxis' negates what precedes, where 'DVT prophylaxis' names no condition of the
# patient at all (ours: NOT_A_CONDITION; with both, which of the two equal matches ConText kept
# depended on the order of the rules).
# its 'unlikely' looks back only, where 'Chest pain, unlikely ACS' doubts the ACS, not the chest
# pain (ours: forward when a condition follows, else back, `UNLIKELY`).
REPLACED_DEFAULT_RULES = {
    "resolved", "now resolved", "free", ": no", "ruled out", "prophylaxis", "unlikely",
    "evaluate for",
}  # fmt: skip
NO_WORDS = ["no", "none", "negative", "neg", "denies", "denied", "absent"]
NEGATIVE_ANSWER = ConTextRule(
    ": no",
    "NEGATED_EXISTENCE",
    direction="BACKWARD",
    pattern=[
        {"ORTH": {"IN": [":", "-"]}},
        {"LOWER": {"IN": NO_WORDS}},
        {"LOWER": "evidence", "OP": "?"},
        {"TEXT": {"REGEX": r"^(?:\s+|[.,;|)])$"}},
    ],
)
# A question the text answers no ('Fever? No.', 'Any history of seizures? Denies.'); one left
# unanswered doubts its finding ('Iron deficiency? Check ferritin.': lexicon/context_rules.csv).
ANSWERED_NO = ConTextRule(
    "? no",
    "NEGATED_EXISTENCE",
    direction="BACKWARD",
    max_scope=6,
    allowed_types={CONDITION},
    pattern=[
        {"ORTH": "?"},
        {"IS_SPACE": True, "OP": "*"},
        {"LOWER": {"IN": NO_WORDS}},
    ],
)
# A review of systems marks a finding absent with a minus sign before it ('+ cough, - wheezing',
# '(-) fever'); a dash that opens a line is a list bullet, not this.
MINUS_SIGN = [
    ConTextRule(
        literal,
        "NEGATED_EXISTENCE",
        direction="FORWARD",
        max_scope=3,
        allowed_types={CONDITION},
        pattern=pattern,
    )
    for literal, pattern in (
        (", -", [{"ORTH": {"IN": [",", ";"]}}, {"ORTH": "-"}]),
        ("(-)", [{"ORTH": "("}, {"ORTH": "-"}, {"ORTH": ")"}]),
    )
]


# 'metoprolol 50 mg twice daily, which was changed to carvedilol', 'transitioned to oral
# cefpodoxime', 'started on ceftriaxone, narrowed to cefazolin': the drug before the cue is
# stopped, only when a drug follows it ('Lisinopril was changed to 20 mg daily' is a new dose,
# `next_drug_start`). The cue itself ends before that drug, so that a chain of switches
# ('narrowed to cefazolin ..., then transitioned to oral cephalexin') stops each drug in turn:
# medspaCy ends a cue's scope at the next cue of its category.
ROUTE_WORDS = {"oral", "po", "iv", "intravenous", "subcutaneous", "sq", "inhaled", "topical"}
SWITCHED_TO = [
    ConTextRule(
        f"{verb} to",
        "MED_STOPPED",
        direction="BACKWARD",
        max_scope=12,
        allowed_types={DRUG},
        terminated_by={"MED_STARTED"},
    )
    for verb in ("switched", "changed", "transitioned", "narrowed", "broadened", "escalated",
                 "de-escalated", "converted")
]  # fmt: skip


def next_drug_start(cue: Span, skipped: frozenset[str] = frozenset()) -> int | None:
    """Where the drug that follows the cue (after a route word or a `skipped` word, if any)
    starts, if one does."""
    doc = cue.doc
    index = cue.end
    while index < len(doc) and (
        doc[index].is_space or doc[index].lower_ in ROUTE_WORDS or doc[index].lower_ in skipped
    ):
        index += 1
    return doc[index].idx if index < len(doc) and doc[index].ent_type_ == DRUG else None


SUBJECT_WORDS = frozenset({"was", "were", "is", "are", "been", "being", "be", "then", "now"})


def has_its_own_subject(target: Span, cue: Span) -> bool:
    """Another drug stands right before the change as its subject ('Aspirin - STOPPED when
    apixaban started'): the change is that drug's, not one further back (unless the two are
    one subject: 'Metformin and glipizide were stopped')."""
    doc = cue.doc
    index = cue.start - 1
    while index > target.end and (doc[index].is_space or doc[index].lower_ in SUBJECT_WORDS):
        index -= 1
    if index < target.end or doc[index].ent_type_ != DRUG:
        return False
    return not all(
        token.is_space or token.ent_type_ == DRUG or token.lower_ in SUBJECT_JOINERS
        for token in doc[target.end : index]
    )


SUBJECT_JOINERS = frozenset({",", "and", "or", "&", "/", "+"})


# Between a change and the drug it is about: 'started on', 'started her on', 'held the'.
OBJECT_WORDS = frozenset({"on", "him", "her", "them", "the", "patient", "pt", "his"})


YES = re.compile(r"\s*yes\b", re.IGNORECASE)


def is_a_question(cue: Span) -> bool:
    """The change is asked and not answered yes ('Hold clopidogrel? No - continue.'; not 'Stop
    aspirin? Yes.')."""
    sentence = cue.sent
    answer = cue.doc.text[sentence.end_char : sentence.end_char + 8]
    return sentence.text.rstrip().endswith("?") and not YES.match(answer)


def names_its_drug(cue: Span) -> bool:
    """A start, stop or hold followed by its drug ('then started on methotrexate', 'stopped
    metformin') is about that drug, not about one before it ('Completed a course of prednisone,
    then started on methotrexate')."""
    start = next_drug_start(cue, OBJECT_WORDS)
    return start is not None and "\n" not in cue.doc.text[cue.end_char : start]


# After the drug: 'Nicotine patch offered, declined' (not taken); 'Thiamine and folate given.',
# 'Ondansetron given for nausea' (a dose given), where 'given his CKD' or 'given AKI' means
# 'because of' (only a 'given' that ends its phrase or goes on with where, when or why).
OFFERED_DECLINED = ConTextRule(
    "offered, declined",
    "NEGATED_EXISTENCE",
    direction="BACKWARD",
    max_scope=6,
    allowed_types={DRUG},
    pattern=[
        {"LOWER": {"IN": ["offered", "recommended", "suggested", "discussed"]}},
        {"ORTH": ",", "OP": "?"},
        {"LOWER": {"IN": ["but", "and"]}, "OP": "?"},
        {"LOWER": {"IN": ["declined", "refused"]}},
    ],
)
GIVEN_AFTER = ConTextRule(
    "given (after the drug)",
    "MED_GIVEN",
    direction="BACKWARD",
    max_scope=6,
    allowed_types={DRUG},
    terminated_by={"MED_STARTED"},
    pattern=[
        {"LOWER": {"IN": ["given", "administered"]}},
        {
            "LOWER": {
                "IN": [".", ",", ";", "in", "at", "today", "once", "x1", "prior", "for", "with",
                       "during", "on", "iv", "po", "im", "sl", "intravenously"]
            }
        },
    ],
)  # fmt: skip


# A diagnosis the writer doubts or excludes: 'unlikely ACS', 'ACS unlikely', 'Pulmonary embolism is
# less likely given ...', 'sepsis was excluded'. A backward cue followed by what it doubts is
# that one's, else what precedes it ('Chest pain, unlikely ACS': the chest pain stays),
# `cue_modifies`.
UNLIKELY = [
    ConTextRule(literal, "NEGATED_EXISTENCE", direction="BIDIRECTIONAL", max_scope=8,
                allowed_types={CONDITION}, pattern=pattern)
    for literal, pattern in (
        ("unlikely", [{"LOWER": {"IN": ["very", "highly", "less"]}, "OP": "?"},
                      {"LOWER": "unlikely"}]),
        ("less likely", [{"LOWER": {"IN": ["less", "not"]}}, {"LOWER": "likely"}]),
        ("excluded", [{"LOWER": {"IN": ["was", "were", "is", "been"]}, "OP": "?"},
                      {"LOWER": "excluded"}]),
        ("doubtful", [{"LOWER": "doubtful"}]),
    )
]  # fmt: skip
DOUBTS_WHAT_FOLLOWS = {id(rule) for rule in UNLIKELY}


def names_what_follows(cue: Span) -> bool:
    """A word that names what is doubted follows the cue ('unlikely ACS', 'unlikely to be
    aspiration'; not 'unlikely.', 'less likely given ...', 'unlikely at this time')."""
    index = cue.end
    while index < len(cue.doc) and cue.doc[index].lower_ in ("to", "be", "a", "an"):
        index += 1
    following = cue.doc[index : index + 1]
    return bool(following) and (
        following[0].ent_type_ == CONDITION
        or (following[0].is_alpha and following[0].lower_ not in CONNECTIVES)
    )


CONNECTIVES = {"given", "as", "because", "due", "at", "in", "based", "to", "and", "but", "with",
               "per", "on", "by", "from", "since", "now", "clinically", "or", "if"}  # fmt: skip


# 'positive for CAD in father', 'colon cancer in his mother': medspaCy's relatives look forward
# only ('father with MI').
RELATIVES = [
    "father", "mother", "brother", "sister", "son", "daughter", "grandfather", "grandmother",
    "uncle", "aunt", "cousin", "sibling", "siblings", "parents", "dad", "mom",
]  # fmt: skip
IN_A_RELATIVE = ConTextRule(
    "in a relative",
    "FAMILY",
    direction="BACKWARD",
    max_scope=6,
    allowed_types={CONDITION},
    pattern=[
        {"LOWER": "in"},
        {"LOWER": {"IN": ["his", "her", "the", "a", "patient's", "their"]}, "OP": "?"},
        {"LOWER": {"IN": ["maternal", "paternal"]}, "OP": "?"},
        {"LOWER": {"IN": RELATIVES}},
    ],
)

# 'UTI treated with nitrofurantoin 11/20-11/25, resolved.': a 'resolved' that ends its phrase after
# a comma or dash is about the condition the phrase opened with, however far ('Diabetes,
# hypertension, resolved pneumonia': the 'resolved' is the pneumonia's, medspaCy's own rule).
RESOLVED_AFTER = ConTextRule(
    ", resolved",
    "RESOLVED",
    direction="BACKWARD",
    max_scope=12,
    allowed_types={CONDITION},
    pattern=[
        {"ORTH": {"IN": [",", "-"]}},
        {"LOWER": {"IN": ["resolved", "cleared", "recovered"]}},
        {"TEXT": {"REGEX": r"^(?:\s+|[.,;|)])$"}},
    ],
)
# A condition the text dates to a year ('She had a TIA in 2019'): an event of the past, a
# chronic condition since then (which stays active: `fhir.findings`).
IN_A_YEAR = ConTextRule(
    "in a year",
    "HISTORICAL",
    direction="BACKWARD",
    max_scope=4,
    allowed_types={CONDITION},
    pattern=[{"LOWER": "in"}, {"TEXT": {"REGEX": r"^(?:19|20)\d\d$"}}],
)

# 'since 2022' dates the start, it ends no scope (medspaCy's 'since' terminates one as 'because'
# does): 'Methotrexate 15 mg weekly since 2022, stopped 3/2024' is stopped.
SINCE_A_YEAR = ConTextRule(
    "since a year",
    "PSEUDO_SINCE",
    direction="PSEUDO",
    pattern=[{"LOWER": "since"}, {"TEXT": {"REGEX": r"^(?:\d{1,2}/)?(?:19|20)\d\d$"}}],
)

# A relative who tells what the patient has is no family history ('Pt's wife reports he had
# chest pain', 'Per mother, she has had a cough'): the words name the reporter.
REPORTING_RELATIVES = [
    "wife", "husband", "spouse", "partner", "mother", "mom", "father", "dad", "daughter", "son",
    "sister", "brother", "family", "caregiver", "parent", "parents", "grandmother", "grandfather",
    "granddaughter", "grandson", "niece", "nephew", "guardian",
]  # fmt: skip
REPORTING_VERBS = [
    "reports", "reported", "states", "stated", "stating", "says", "said", "called", "calling",
    "notes", "noted", "endorses", "concerned", "brought", "brings",
]  # fmt: skip
RELATIVE_REPORTS = [
    ConTextRule(
        "relative reports",
        "PSEUDO_FAMILY",
        direction="PSEUDO",
        pattern=[{"LOWER": {"IN": REPORTING_RELATIVES}}, {"LOWER": {"IN": REPORTING_VERBS}}],
    ),
    ConTextRule(
        "per relative",
        "PSEUDO_FAMILY",
        direction="PSEUDO",
        pattern=[{"LOWER": "per"}, {"LOWER": {"IN": REPORTING_RELATIVES}}],
    ),
]


def wrap_tolerant(rule: ConTextRule, tokenizer: Callable[[str], Doc]) -> ConTextRule:
    """A cue of several words is still found where the page wrapped its line between them ('She
    is considering\nstopping sertraline', 'Discussed risks\nof DVT'): line breaks (spaCy's
    whitespace tokens) may stand between the tokens of its literal or pattern."""
    pattern = rule.pattern
    if pattern is None:
        words = [token for token in tokenizer(rule.literal) if not token.is_space]
        pattern = [{"LOWER": word.lower_} for word in words]
    if isinstance(pattern, str) or len(pattern) < 2:  # a regular expression, or one token
        return rule
    # never at the cue's edges, or 'Assessment:\nRule out X' would take the line break before
    # 'Rule out' (its 'may' is optional) into the cue, and the cue into the header's sentence
    required = [element.get("OP") not in ("?", "*") for element in pattern]
    spaced = [pattern[0]]
    for index, element in enumerate(pattern[1:], start=1):
        if any(required[:index]) and any(required[index:]):
            spaced.append({"IS_SPACE": True, "OP": "*"})
        spaced.append(element)
    rule.pattern = spaced
    return rule


def context_rules(default_rules_path: str) -> list[ConTextRule]:
    """medspaCy's default ConText rules but those we replace, then ours
    (lexicon/context_rules.csv); a cue in brackets reaches only what the bracket is about."""
    rules = [
        rule
        for rule in ConTextRule.from_json(default_rules_path)
        if rule.literal.lower() not in REPLACED_DEFAULT_RULES
    ]
    rules += [
        NEGATIVE_ANSWER,
        ANSWERED_NO,
        *MINUS_SIGN,
        *SWITCHED_TO,
        IN_A_RELATIVE,
        IN_A_YEAR,
        SINCE_A_YEAR,
        *RELATIVE_REPORTS,
        RESOLVED_AFTER,
        OFFERED_DECLINED,
        GIVEN_AFTER,
        *UNLIKELY,
    ]
    for row in read_lexicon("context_rules.csv"):
        rules.append(
            ConTextRule(
                row["literal"],
                row["category"],
                direction=row["direction"],
                max_scope=int(row["max_scope"]) if row["max_scope"] else None,
                allowed_types=set(row["allowed_types"].split(";"))
                if row["allowed_types"]
                else None,
                terminated_by={row["terminated_by"]} if row["terminated_by"] else None,
            )
        )
    for rule in rules:
        rule.on_modifies = functools.partial(
            cue_modifies,
            backward=rule.direction == "BACKWARD",
            negation=rule.category == "NEGATED_EXISTENCE",
            change=rule.category in MEDICATION_CHANGES,
            switch=any(rule is switch for switch in SWITCHED_TO),
            within_its_item=rule.literal.lower() in ITEM_BOUND_CUES,
            doubts_what_follows=id(rule) in DOUBTS_WHAT_FOLLOWS,
        )
    return rules


MEDICATION_CHANGES = {"MED_STOPPED", "MED_HELD", "MED_STARTED"}
# A test's verdict after the names it tests reaches them only within their item ('COVID/Flu
# negative'; not the cancer of 'Breast cancer, ER negative').
ITEM_BOUND_CUES = {"negative", "neg"}


def cue_modifies(
    target: Span,
    cue: Span,
    between: Span,
    backward: bool = False,
    negation: bool = False,
    change: bool = False,
    switch: bool = False,
    doubts_what_follows: bool = False,
    within_its_item: bool = False,
) -> bool:
    """medspaCy's `on_modifies` hook: whether a ConText cue (of a rule looking `backward` only,
    or not; a `negation` or not; a medication `change` or not; a `switch` to another drug or
    not; one that reaches only the names of its item, `within_its_item`, or not) is about the
    target mention (`between` runs from the earlier of the two to the later)."""
    return (
        (not switch or next_drug_start(cue) is not None)
        and not (
            doubts_what_follows and names_what_follows(cue) != (cue.start_char < target.start_char)
        )
        and not is_inside_a_mention(cue)
        and not is_an_earlier_items_cue(target, cue)
        and bracketed_cue_modifies(target, cue, between)
        and reaches_target(target, cue.start_char, backward)
        and not in_another_clause(target, cue, negation, switch)
        and not (change and (is_conditional(cue) or is_a_question(cue)))
        and not (
            change and not switch and target.end_char <= cue.start_char and names_its_drug(cue)
        )
        and not (change and target.end_char <= cue.start_char and has_its_own_subject(target, cue))
        and not (
            within_its_item and re.search(r"[,;:(]", cue.doc.text[target.end_char : cue.start_char])
        )
        and not (is_a_dash_remark(cue) and is_another_items(target, cue))
        and not is_given_because(cue)
    )


# 'given' before a drug is a dose given after its subject, a verb 'was' / 'were' or at a
# clause's start ('Patient given aspirin 325 mg', 'Given nitroglycerin x3', 'ED: given
# ceftriaxone') or as a label ('Meds given:'); after another word it means 'because of' ('Check
# EKG for QTc given azithro', 'caution given apixaban').
GIVEN_AFTER_ITS_SUBJECT = re.compile(
    r"(?:[.:;,(\n-]|\b(?:patient|pt|he|she|they|was|were|been|be|being|is|are|also|then|and"
    r"|subsequently|initially|ed|er|icu))[ \t]*$",
    re.IGNORECASE,
)


def is_given_because(cue: Span) -> bool:
    if cue.text.lower() != "given":
        return False
    text = cue.doc.text
    before = text[max(0, cue.start_char - 40) : cue.start_char]
    at_line_start = not text[text.rfind("\n", 0, cue.start_char) + 1 : cue.start_char].strip()
    labels = text[cue.end_char : cue.end_char + 3].lstrip().startswith(":")  # 'Meds given:'
    return not (at_line_start or labels or GIVEN_AFTER_ITS_SUBJECT.search(before))


DASH_BEFORE = re.compile(r"[ \t][-\u2013][ \t]*$")


def is_a_dash_remark(cue: Span) -> bool:
    """The cue follows a dash after a list item ('clopidogrel - stopped 2021', '- hold'), not
    after an answer ('Yes - father, MI at 54')."""
    text = cue.doc.text
    if cue.text.startswith("-"):
        return True
    dash = DASH_BEFORE.search(text, max(0, cue.start_char - 3), cue.start_char)
    return dash is not None and not ANSWER_BEFORE.search(
        text, max(0, dash.start() - 5), dash.start()
    )


ANSWER_BEFORE = re.compile(r"\b(?:yes|no)[ \t]*$", re.IGNORECASE)


def is_another_items(target: Span, cue: Span) -> bool:
    """A ',' or ';' between the two: the target is another item of the list ('aspirin 81,
    clopidogrel - stopped 2021, rosuvastatin 20': only clopidogrel is stopped)."""
    if target.end_char <= cue.start_char:
        start, end = target.end_char, cue.start_char
    else:
        start, end = cue.end_char, target.start_char
    return bool(re.search(r"[,;]", cue.doc.text[start:end]))


def is_inside_a_mention(cue: Span) -> bool:
    """The cue's words are part of a name ('migraine without aura'): no cue at all."""
    doc = cue.doc
    if "mention_bounds" not in doc.user_data:
        doc.user_data["mention_bounds"] = sorted((e.start_char, e.end_char) for e in doc.ents)
    bounds = doc.user_data["mention_bounds"]
    index = bisect.bisect_right(bounds, (cue.start_char, len(doc.text))) - 1
    return index >= 0 and bounds[index][1] > cue.start_char


def is_an_earlier_items_cue(target: Span, cue: Span) -> bool:
    """The cue is inside an earlier item of a ';' list, after that item's own mention: it is
    that item's ('migraine without aura; hypothyroidism; gout' - the gout is no less the
    patient's). A cue that opens the list ('Denies: chest pain; dyspnea') reaches every item."""
    if cue.start_char > target.start_char:
        return False
    text = target.doc.text
    if text.find(";", cue.end_char, target.start_char) < 0:
        return False
    sentence_start, _ = sentence_region(target)
    item_start = max(text.rfind(";", 0, cue.start_char) + 1, sentence_start)
    return any(
        item_start <= mention.start_char < cue.start_char for mention in sentence_mentions(target)
    )


# A change the text makes on a condition ('If INR is above 3, hold warfarin', 'Stop metformin
# if eGFR falls below 30', 'will be restarted if blood pressure allows') or only proposes ('She
# is considering stopping sertraline') has not happened: it says nothing of what the drug is
# now. ('If needed', 'if tolerated' make no condition.)
IF_WORD = re.compile(
    r"\b(?:if|unless)\b(?![ \t]+(?:needed|necessary|required|tolerated))", re.IGNORECASE
)
CONSEQUENT_END = re.compile(r"[.;]|,[ \t]*(?:and|but|then)\b", re.IGNORECASE)
PROPOSED_CHANGE = re.compile(
    r"\b(?:consider(?:s|ed|ing)?|may|might|could|can|plan(?:s|ned|ning)?\s+to|recommend\w*"
    r"|will\s+need\s+to|needs?\s+to|should"
    r"|discuss\w*|suggest\w*|would\s+like\s+to|wants?\s+to)\s+(?:\w+\s+){0,2}$",
    re.IGNORECASE,
)


# A change timed ahead of a procedure ('aspirin - stop 7 days before surgery'): an instruction
# for later, the drug is taken until then.
AHEAD_OF_A_PROCEDURE = re.compile(
    r"[ \t]*(?:\d+|one|two|three|four|five|seven|ten)[ \t]*-?[ \t]*(?:days?|hours?|hrs?|weeks?)"
    r"[ \t]+(?:before|prior)\b",
    re.IGNORECASE,
)


def is_conditional(cue: Span) -> bool:
    """The change is only proposed ('considering stopping') or timed ahead of a procedure, or an
    'if' or 'unless' of the cue's sentence governs the cue: one before it ('If ..., hold
    warfarin', 'if she stops warfarin, ...'), or one after it in the same clause ('hold warfarin
    if ...')."""
    text = cue.doc.text
    sentence_start, sentence_end = sentence_region(cue)
    if PROPOSED_CHANGE.search(text, sentence_start, cue.start_char) or AHEAD_OF_A_PROCEDURE.match(
        text, cue.end_char
    ):
        return True
    for found in IF_WORD.finditer(text, sentence_start, sentence_end):
        if found.end() <= cue.start_char:
            if not re.search(r"[.;]", text[found.end() : cue.start_char]):
                return True
        elif not CONSEQUENT_END.search(text, cue.end_char, found.start()):
            return True
    return False


def bracketed_cue_modifies(target: Span, cue: Span, between: Span) -> bool:
    """A cue inside brackets is a remark on the mention the bracket follows: in 'Aspirin,
    lisinopril 10 mg (discontinued due to cough), atorvastatin' only lisinopril is stopped; in
    'Hypertension (resolved), diabetes' only hypertension is resolved. (medspaCy's `on_modifies`
    hook; `between` runs from the earlier of the two to the later.)"""
    text = cue.doc.text
    line_start = text.rfind("\n", 0, cue.start_char) + 1
    opening = text.rfind("(", line_start, cue.start_char)
    if opening < 0 or text.rfind(")", opening, cue.start_char) >= 0:
        return True
    if target.start_char > cue.start_char:
        return ")" not in text[cue.end_char : target.start_char]
    if target.end_char > opening:
        return True
    return not any(
        mention.label_ == target.label_ and mention.start_char < opening for mention in between.ents
    )


def sentence_mentions(span: Span) -> list[Span]:
    """The mentions of the span's label (drugs, conditions) in its sentence, in order: the
    entities, or the targets of a span group (ConText's re-reading of an LLM's facts,
    `extraction.assertions`)."""
    doc = span.doc
    key = f"mentions-{span.label_}"
    if key not in doc.user_data:  # asked for every cue and mention: found once per document
        mentions = [*doc.ents, *(mention for group in doc.spans.values() for mention in group)]
        labelled = {(m.start_char, m.end_char): m for m in mentions if m.label_ == span.label_}
        doc.user_data[key] = [labelled[key] for key in sorted(labelled)]
    mentions = doc.user_data[key]
    start, end = sentence_region(span)
    first = bisect.bisect_left([mention.start_char for mention in mentions], start)
    return list(itertools.takewhile(lambda mention: mention.start_char < end, mentions[first:]))


def drug_item(target: Span, drugs: list[Span]) -> Region:
    """The list item of the sentence's drugs that holds the target drug: a ',' or ';' between
    two drugs (the last one) ends the first one's item; drugs joined by 'and' share one."""
    text = target.doc.text
    sentence_start, sentence_end = sentence_region(target)
    bounds = [
        max(
            text.rfind(",", earlier.end_char, later.start_char),
            text.rfind(";", earlier.end_char, later.start_char),
        )
        for earlier, later in itertools.pairwise(drugs)
    ]
    start = max((b + 1 for b in bounds if 0 <= b < target.start_char), default=sentence_start)
    end = min((b for b in bounds if b >= target.end_char), default=sentence_end)
    return start, end


# Between two mentions of one list: the earlier one's sig (a drug's), then ',', 'and' or 'or'.
COORDINATION = re.compile(
    r"(?P<sig>[^,;:\n]*?)[ \t]*(?:,[ \t]*(?:(?:and|or)[ \t]+)?|[ \t]+(?:and|or)[ \t]+)",
    re.IGNORECASE,
)


def is_coordinated(text: str, earlier: Span, later: Span) -> re.Match[str] | None:
    """The two mentions are neighbours of one list (what is between them is a sig and a ',',
    'and' or 'or', besides a remark in parentheses: 'fluoxetine (GI upset) and escitalopram'):
    the match, or None."""
    joined = COORDINATION.fullmatch(text, earlier.end_char, later.start_char)
    if joined is None:
        return None
    sig = REMARK.sub("", joined["sig"])
    return joined if not sig.strip() or has_sig(sig) else None


REMARK = re.compile(r"\([^()\n]*\)")


AND_OR = re.compile(r"\b(?:and|or)\b", re.IGNORECASE)


def is_joined_list(target: Span, mentions: list[Span], last: Span) -> bool:
    """The mentions from the target to the last are one list: commas, then 'and' or 'or' before
    the last ('aspirin, clopidogrel and heparin'; not 'lisinopril 10 mg daily, metformin', nor
    'prednisone 40 mg daily, and ceftriaxone and azithromycin', two lists)."""
    text = target.doc.text
    chain = mentions[mentions.index(target) : mentions.index(last) + 1]
    joins = [is_coordinated(text, a, b) for a, b in itertools.pairwise(chain)]
    if not all(joins):
        return False
    words = [AND_OR.search(join.group(0)[len(join["sig"]) :]) for join in joins]
    return bool(words[-1]) and not any(words[:-1])


# Where two clauses of a sentence may meet, and a verb (or 'now') that makes the words around a
# drug a clause of its own ('Warfarin was stopped and apixaban 5 mg twice daily was started',
# 'Stopped atorvastatin due to myalgias, now on rosuvastatin').
CLAUSE_JOIN = re.compile(r"[,;]|\b(?:and|but|or|then)\b", re.IGNORECASE)
CLAUSE_VERB = re.compile(
    r"\b(?:is|are|was|were|been|has|have|had|will|continue[sd]?|continuing|resum\w*|restart\w*"
    r"|start\w*|began|begin\w*|initiat\w*|take|takes|taking|took|use[sd]?|using|stop\w*"
    r"|discontinu\w*|held|hold|increas\w*|decreas\w*|chang\w*|switch\w*|transition\w*"
    # not 'given' for 'because of' ('hold spironolactone given AKI', 'given his CKD')
    r"|given(?!\s+(?:his|her|their|its|the|that|this|concern|risk|recent|ongoing|known|history"
    r"|(?-i:[A-Z]{2,})\b))"
    r"|receiv\w*|denie[sd]|refus\w*|declin\w*|now|currently|on)\b",
    re.IGNORECASE,
)


def in_another_clause(target: Span, cue: Span, negation: bool, switch: bool = False) -> bool:
    """The target drug has a clause of its own and the cue is in another clause, one that names
    another drug or negates: in 'Amlodipine was discontinued due to edema; started
    hydrochlorothiazide' the start is not about the amlodipine, in 'Warfarin was stopped and
    apixaban ... was continued' the stop is not about the apixaban, in 'No fever, takes aspirin'
    the aspirin is taken. ('If pain persists, take ibuprofen': the condition's clause names no
    drug and reaches it; 'Aspirin and clopidogrel were discontinued': the aspirin's clause has
    no verb of its own.) The writer's decisions ('We will increase her carvedilol ... and
    initiate spironolactone', `medications.cue_before`) reach every verb they govern; the drug a
    cue names ('changed to carvedilol', `SWITCHED_TO`) is not another drug of its clause."""
    drugs = sentence_mentions(target) if target.label_ == DRUG else []
    if target not in drugs:
        return False
    text = target.doc.text
    sentence_start, sentence_end = sentence_region(target)
    joins = [(m.start(), m.end()) for m in CLAUSE_JOIN.finditer(text, sentence_start, sentence_end)]
    cue_start = cue.start_char
    cue_before = cue_start < target.start_char
    near, far = (cue_start, target.start_char) if cue_before else (target.end_char, cue_start)
    if not any(near <= start and end <= far for start, end in joins):
        return False

    def clause(position: int) -> Region:
        start = max((end for _, end in joins if end <= position), default=sentence_start)
        end = min((start for start, _ in joins if start >= position), default=sentence_end)
        return start, end

    cue_clause = clause(cue_start)
    named = next_drug_start(cue) if switch else None
    if not negation and not any(
        drug is not target
        and cue_clause[0] <= drug.start_char < cue_clause[1]
        and drug.start_char != named
        for drug in drugs
    ):
        return False
    return has_own_verb(target, *clause(target.start_char))


def has_own_verb(target: Span, start: int, end: int) -> bool:
    """The words around the target drug from start to end have a verb of their own (not one of
    a clause that a subordinating word opens after it: 'Do not take ibuprofen or naproxen while
    taking ketorolac')."""
    text = target.doc.text
    if subordinate := SUBORDINATE_CLAUSE.search(text, target.end_char, end):
        end = subordinate.start()
    return bool(
        CLAUSE_VERB.search(text, start, target.start_char)
        or CLAUSE_VERB.search(text, target.end_char, end)
    )


SUBORDINATE_CLAUSE = re.compile(
    r"\b(?:while|when|whilst|because|unless|until|before|after|since)\b", re.IGNORECASE
)


def reaches_target(target: Span, cue_start: int, backward: bool = False) -> bool:
    """Whether a cue of the target's sentence is about the target. A cue that looks back only (or
    any cue after a condition: 'Diabetes, hypertension, asthma - resolved') is about the nearest
    mention of the target's kind before it ('metoprolol 50 mg twice daily,
    which was changed to carvedilol', 'lisinopril 10 mg daily, metformin held'; 'Diabetes,
    hypertension, breast cancer in remission'), or every mention of a list it ends ('Lisinopril
    10 mg daily and metformin 500 mg BID were held'). For a drug: a cue inside an item of a list
    of drugs is about that item ('aspirin 81 mg daily, no longer taking warfarin, metoprolol 25 mg
    BID': only the warfarin); one before the list's first drug is about every item ('Stopped
    lisinopril 10 mg, amlodipine 5 mg') but one with a verb of its own ('If pain persists, take
    ibuprofen 400 mg, continue lisinopril 10 mg daily') or after a ';' ('hold aspirin; cipro
    500 mg once'). A cue reaches another item's drug only when that item gives no dose or
    frequency of its own ('denies taking aspirin, ibuprofen')."""
    mentions = sentence_mentions(target)
    if target not in mentions:
        return True
    if backward or (target.label_ == CONDITION and target.end_char <= cue_start):
        before_cue = [m for m in mentions if target.end_char <= m.start_char < cue_start]
        return not before_cue or is_joined_list(target, mentions, before_cue[-1])
    if target.label_ != DRUG:
        return True
    start, end = drug_item(target, mentions)
    if start <= cue_start < end:
        return True
    if cue_start < mentions[0].start_char:
        # a ';' after the cue's own drug ends its reach ('hold aspirin 7 days before biopsy;
        # ciprofloxacin 500 mg PO once')
        text = target.doc.text
        return (
            not has_own_verb(target, start, end)
            and ";" not in text[mentions[0].end_char : target.start_char]
        )
    return not has_sig(target.doc.text[target.end_char : end])


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
    for row in read_lexicon("section_titles.csv"):
        rules.append(SectionRule(row["title"], row["category"], pattern=whole_line_title(row)))
        if row["category"] not in LISTS_NO_LABEL_STARTS:
            rules.append(SectionRule(row["title"], row["category"], pattern=labelled_title(row)))
    rules.append(SectionRule("medications label", MEDICATIONS, pattern=MEDICATIONS_LABEL))
    return rules


# A label naming the patient's medications with words of when or where ('Home meds continued:',
# 'Meds at discharge:'), at a line's start or after a sentence (`HEADER_LEAD`): a medication
# list starts there. Not one naming what was done to them ('Meds given:', 'Stopped meds:').
_MEDICATIONS_WORD = r"(?:meds|medications|medicines)"
MEDICATIONS_LABEL = (
    r"(?i)(?<![\w/-])(?:(?:home|current|outpatient|usual|chronic|daily|active|other)[ \t]+)?"
    rf"{_MEDICATIONS_WORD}(?:[ \t]+(?:continued|unchanged|reviewed|reconciled|list"
    r"|(?:at|on)[ \t]+(?:discharge|admission|transfer)))?[ \t]*:"
)


def joined_titles(row: dict[str, str], status_titles: bool = True) -> str:
    """One of the row's titles, or several of them joined by commas, '&', '/' or 'and'
    ('Allergies, Adverse Reactions and Alerts'); without those naming a status
    ('Stopped medications') unless `status_titles`."""
    titles = "|".join(
        r"[ \t]+".join(re.escape(word) for word in title.split())
        for title in sorted(split_names(row["title"]), key=len, reverse=True)
        if status_titles or not STATUS_WORD.search(title)
    )
    return rf"(?:{titles})(?:[ \t]*(?:,|&|/|\band\b)[ \t]*(?:and[ \t]+)?(?:{titles}))*"


# A scan's specks around a title on its line: quotes, brackets or stops before it ('“ALLERGIES:',
# '(CURRENT MEDICATIONS:'; not a list's bullet, not a table's bar), marks after its colon ('PAST
# MEDICAL HISTORY: |', 'ALLERGIES: | ,™').
_SPECKS_BEFORE = "(?:[\"'“”‘’(\\[_.,;:~]){0,3}"
_SPECKS_AFTER = r"(?:[ \t]*(?:[^\w\s]|_)){1,4}"


def whole_line_title(row: dict[str, str]) -> str:
    """A regex (medspaCy's RegexMatcher) matching the row's titles as a whole line, any case, with
    an optional colon: 'Vital Signs', 'ALLERGIES AND ADVERSE REACTIONS:', and OCR's specks."""
    return (
        rf"(?im)^[ \t]*{_SPECKS_BEFORE}[ \t]?{joined_titles(row)}{AS_OF_A_DATE}"
        rf"(?:[ \t]*:{_SPECKS_AFTER}|[ \t]*:?)[ \t]*(?=\n|\Z)"
    )


def labelled_title(row: dict[str, str]) -> str:
    """The row's titles as a label its items follow on the same line ('Problems: HTN, DM2'),
    at a line's start or, in a note that runs its labels on, after a sentence (`HEADER_LEAD`)."""
    return (
        rf"(?i)(?<![\w/-]){joined_titles(row, status_titles=False)}{AS_OF_A_DATE}"
        rf"(?:[ \t]*\([^()\n]{{1,30}}\))?[ \t]*:(?=[ \t]*\S)"  # 'Surgeries (list with year):'
    )


# A title's word that says what became of its items: on the items' line, ConText reads it there
# ('Stopped medications: lisinopril (because of AKI)').
STATUS_WORD = re.compile(
    r"\b(?:discontinued|stopped|inactive|past|expired|administered|resolved|held)\b", re.I
)


@functools.cache
def section_title_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(whole_line_title(row)) for row in read_lexicon("section_titles.csv"))


def is_section_title(text: str) -> bool:
    """Whether the text is a section title EHRs print ('Vital Signs', 'Allergies, Adverse
    Reactions & Alerts'), as in a table cell of a rendered table of contents."""
    return any(pattern.search(text) for pattern in section_title_patterns())


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
# of IV methylprednisolone 1 g daily'): PyRuSH, or a dose opening the line, started a sentence
# there and the proposal did not reach the drug.
WRAPPED_AFTER = re.compile(
    r"\b(?:a|an|the|or|and|of|to|with|for|by|than|consider|considering|add|adding|start|starting"
    r"|discuss|trial|including|such[ \t]+as|\d+-(?:day|week|month))[ \t]*\n[ \t]*(?=\S)",
    re.IGNORECASE,
)
# An abbreviation's full stop ends no sentence ('a statin (e.g. atorvastatin 20 mg)').
ABBREVIATION_STOP = re.compile(r"\b(?:e\.g|i\.e|approx|incl)\.,?[ \t]+(?=\S)", re.IGNORECASE)
# The dash after a relative opening a line ('Father - MI at 54'): PyRuSH started a sentence at
# it, so the relative's condition was the patient's.
RELATIVE_DASH = re.compile(
    rf"^[ \t]*(?:(?:yes|no)[ \t]*[-:,][ \t]*)?(?:{'|'.join(RELATIVES)})[ \t]+(?=[-\u2013][ \t])",
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


# A line opening with a capital letter under a heading indented less ('Today's Diagnoses\n  Type 2
# diabetes mellitus without complication\n  Essential hypertension'): an item of the heading's
# list. PyRuSH starts a sentence at a line opening with a capital, but not after an indent, so
# the 'without' negated the hypertension. Lines under an item ('ORDER: Potassium chloride 20
# mEq\n    Give 1 tablet daily\n    DISCONTINUED 11/03') are the item's own.
INDENTED_LINE = re.compile(r"^(?P<indent>[ \t]*)(?P<content>\S[^\n]*)", re.MULTILINE)
HEADING_LIKE = re.compile(r"[^\d.;,]{1,40}")


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
# A line of such a list: short, not a heading of its own.
CUE_LIST_LINE = re.compile(r"[ \t]*[^\s:][^\n]{0,58}(?<!:)[ \t]*(?=\n|$)")


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


@Language.component("medpipeline_list_item_sentences")
def list_item_sentences(doc: Doc) -> Doc:
    """Start a sentence at every list item, table row and indented item of a heading's list so
    ConText scopes stop there (PyRuSH joins them), but none inside a cue list (the
    heading's cue reaches every line) or at the dash before a line's trailing status."""
    item_starts = {
        match.start() + len(match.group()) - len(match.group().lstrip())
        for match in (
            *LIST_ITEM_LINE.finditer(doc.text),
            *TABLE_ROW_LINE.finditer(doc.text),
            *DOSE_LINE.finditer(doc.text),
        )
    } | indented_item_starts(doc.text)
    item_starts |= {match.end() for match in AFTER_A_FIELD_LINE.finditer(doc.text)}
    list_items = {match.end() for match in LIST_ITEM_LINE.finditer(doc.text)}
    joined = (
        cue_list_line_starts(doc.text)
        | {match.end() for match in WRAPPED_AFTER.finditer(doc.text)} - list_items
        | {match.end() for match in ABBREVIATION_STOP.finditer(doc.text)}
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


@Language.component("medpipeline_medication_item_sentences")
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
    for ent in doc.ents:
        if ent.label_ != DRUG or ent.start == 0:
            continue
        if AFTER_A_FULL_STOP.search(text, max(0, ent.start_char - 40), ent.start_char):
            doc[ent.start].is_sent_start = True  # 'd/c IVF. thiamine 100 mg daily.'
            continue
        if not any(start <= ent.start < end for start, end in bodies):
            continue
        item_start = max(text.rfind("\n", 0, ent.start_char), text.rfind(";", 0, ent.start_char))
        if item_start >= 0 and MEDICATION_ITEM_LEAD.fullmatch(text, item_start + 1, ent.start_char):
            doc[ent.start].is_sent_start = True
    return doc


# What a section says about its mentions: medspaCy's defaults but the allergy section (handled
# here: an allergy is neither a condition nor a medication).
SECTION_ASSERTIONS = {
    "past_medical_history": {"is_historical": True},
    "sexual_and_social_history": {"is_historical": True},
    "family_history": {"is_family": True},
    "patient_instructions": {"is_hypothetical": True},
    "education": {"is_hypothetical": True},
    "plan_of_care": {"is_hypothetical": True},
    "planned_procedures": {"is_hypothetical": True},
}


LETTERS_FULL_STOP = r"(?<=^[A-Za-z])\.$"

# Sections whose items are none of the extracted kinds (a vaccine is not a medication statement,
# a planned activity not a condition): no condition or medication is read from their narrative.
# Family and social history are read: ConText and the section mark them family or historical.
NO_FACT_SECTIONS = {
    "immunizations",
    "obstetric_history",  # counts and dates of pregnancies and screenings, not conditions
    "plan_of_care",
    "planned_procedures",
    "functional_status",
    "administrative",
    "encounters",
    "contents",  # a rendered table of contents
}
# Sections a label with its items on the same line does not open: what they say of their items
# (not facts, hypothetical) would reach the prose after the label's line ('Immunizations: up
# to date. Hypertension, diabetes.'); only a title on a line of its own opens them.
LISTS_NO_LABEL_STARTS = NO_FACT_SECTIONS | {
    category
    for category, attributes in SECTION_ASSERTIONS.items()
    if "is_hypothetical" in attributes
}

# What the token before a section header ends with: a line break, or a sentence's full stop or a
# ';' in a note that runs its labels on in one paragraph ('Allergies: penicillin (hives).
# Medications: lisinopril 10 mg daily. PMH: HTN.'), where the allergy section ran over the
# medications and problems.
HEADER_LEAD = r"(?:[\n\r]+[\s]*|^[.;][ \t]+)$"


PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


@Language.component("medpipeline_labelled_paragraphs")
def labelled_paragraphs(doc: Doc) -> Doc:
    """A section a label opens on its content's line ('Family history: Her mother has MS.') is
    that paragraph: what follows a blank line is not the family's, the past's or the plan's
    (the sectionizer runs a section on to the next title, so the patient's own drugs and
    allergies below were the mother's)."""
    text = doc.text
    for section in doc._.sections:
        attributes = SECTION_ASSERTIONS.get(section.category)
        if not attributes or section.title_end <= section.title_start:
            continue
        title_end = doc[section.title_end - 1].idx + len(doc[section.title_end - 1])
        line_end = text.find("\n", title_end)
        body_end = doc[section.body_end - 1].idx if section.body_end > section.body_start else 0
        if line_end < 0 or not text[title_end:line_end].strip(" \t:"):
            continue  # a title on a line of its own heads the whole section
        paragraph_end = PARAGRAPH_BREAK.search(text, line_end, body_end)
        if paragraph_end is None:
            continue
        targets = [*doc.ents, *(span for group in doc.spans.values() for span in group)]
        for target in targets:
            if paragraph_end.end() <= target.start_char <= body_end:
                for attribute in attributes:
                    setattr(target._, attribute, False)
    return doc


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
    nlp.add_pipe("medpipeline_list_item_sentences", after="medspacy_pyrush")
    nlp.remove_pipe("medspacy_target_matcher")
    term_matcher: TermMatcher = nlp.add_pipe(
        "medpipeline_term_matcher", after="medpipeline_list_item_sentences"
    )
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
    nlp.add_pipe("medpipeline_medication_item_sentences", before="medspacy_context")
    nlp.add_pipe("medpipeline_labelled_paragraphs", after="medspacy_sectionizer")
    return nlp


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
    if ent._.is_historical or has_modifier(ent, "RESOLVED") or has_modifier(ent, "INACTIVE"):
        return Assertion.HISTORICAL
    return Assertion.PRESENT
