"""ConText rules: medspaCy's defaults but those we replace, the cues written here as token
patterns, and the lexicon's (`lexicon/context_rules.csv`)."""

import functools
from collections.abc import Callable

from medspacy.context import ConTextRule
from spacy.tokens import Doc

from medpipeline.extraction.offline.context_scope import cue_modifies
from medpipeline.extraction.offline.lexicons import (
    read_lexicon,
)
from medpipeline.extraction.offline.term_matcher import CONDITION, DRUG

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
# what ends the answer's phrase: a space or line break, a stop, a comma, a bar or a bracket
PHRASE_END = {"TEXT": {"REGEX": r"^(?:\s+|[.,;|)])$"}}


NEGATIVE_ANSWER = ConTextRule(
    ": no",
    "NEGATED_EXISTENCE",
    direction="BACKWARD",
    pattern=[
        {"ORTH": {"IN": [":", "-"]}},
        {"LOWER": {"IN": NO_WORDS}},
        {"LOWER": "evidence", "OP": "?"},
        PHRASE_END,
    ],
)


# A label grid's cell answering no ('Edema<tab>None', 'Fever<tab>No'): about the finding in the
# cell before it only.
NEGATIVE_CELL = ConTextRule(
    "<tab> none",
    "NEGATED_EXISTENCE",
    direction="BACKWARD",
    max_scope=3,
    allowed_types={CONDITION},
    pattern=[{"TEXT": {"REGEX": r"^\t[\t ]*$"}}, {"LOWER": {"IN": NO_WORDS}}, PHRASE_END],
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
                       "during", "on", "iv", "po", "im", "sl", "intravenously", "within", "before",
                       "preoperatively", "intraoperatively", "overnight", "stat", "via", "over"]
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
        # or said when or how ('Gestational diabetes in first pregnancy - resolved postpartum')
        {"LOWER": {"REGEX": r"^(?:\s+|[.,;|)]|postpartum|spontaneously|completely|fully|after)$"}},
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


# 'started 11:05' is when an infusion began, no drug started ('Ferric carboxymaltose 1000 mg IV
# over 15 minutes, started 11:05, completed 11:22').
STARTED_AT_A_TIME = ConTextRule(
    "started at a time",
    "PSEUDO_STARTED",
    direction="PSEUDO",
    pattern=[
        {"LOWER": {"IN": ["started", "begun", "commenced"]}},
        {"LOWER": "at", "OP": "?"},
        {"TEXT": {"REGEX": r"^\d{1,2}$"}},
        {"TEXT": ":"},
        {"TEXT": {"REGEX": r"^\d{2}$"}},
    ],
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
        NEGATIVE_CELL,
        ANSWERED_NO,
        *MINUS_SIGN,
        *SWITCHED_TO,
        IN_A_RELATIVE,
        IN_A_YEAR,
        SINCE_A_YEAR,
        STARTED_AT_A_TIME,
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
        if rule.direction == "TERMINATE":
            # medspaCy ends a cue's scope at a terminating cue only when the two scopes overlap
            # by its test, which is false where the terminating cue's scope (its sentence) holds
            # the other's whole: 'Avoid ibuprofen while on lisinopril if possible.' kept
            # lisinopril in the scope of 'avoid' (six words). The words around it are scope
            # enough for ending another cue's.
            rule.max_scope = 1
        rule.on_modifies = functools.partial(
            cue_modifies,
            backward=rule.direction == "BACKWARD",
            negation=rule.category == "NEGATED_EXISTENCE",
            change=rule.category in MEDICATION_CHANGES,
            switch=any(rule is switch for switch in SWITCHED_TO),
            within_its_item=rule.literal.lower() in ITEM_BOUND_CUES,
            doubts_what_follows=id(rule) in DOUBTS_WHAT_FOLLOWS,
            # 'Diabetes, hypertension, resolved pneumonia': the pneumonia's, not the hypertension's
            resolves_what_follows=rule.category == "RESOLVED" and rule.direction == "BIDIRECTIONAL",
        )
    return rules


MEDICATION_CHANGES = {"MED_STOPPED", "MED_HELD", "MED_STARTED"}


# A test's verdict after the names it tests reaches them only within their item ('COVID/Flu
# negative', 'HIV 1/2 Ag/Ab NONREACTIVE'; not the cancer of 'Breast cancer, ER negative').
ITEM_BOUND_CUES = {"negative", "neg", "nonreactive", "non-reactive"}
