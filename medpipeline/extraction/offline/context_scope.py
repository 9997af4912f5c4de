"""Whether a ConText cue reaches a mention: clauses, list items, brackets, questions and
conditions that end a cue's scope before medspaCy's window does (`cue_modifies`, each rule's
`on_modifies` hook)."""

import bisect
import itertools
import re

from spacy.tokens import Span

from medpipeline.extraction.offline.sig import has_sig
from medpipeline.extraction.offline.term_matcher import CONDITION, DRUG
from medpipeline.extraction.offline.text import (
    Region,
    sentence_region,
)

# 'metoprolol 50 mg twice daily, which was changed to carvedilol', 'transitioned to oral
# cefpodoxime', 'started on ceftriaxone, narrowed to cefazolin': the drug before the cue is
# stopped, only when a drug follows it ('Lisinopril was changed to 20 mg daily' is a new dose,
# `next_drug_start`). The cue itself ends before that drug, so that a chain of switches
# ('narrowed to cefazolin ..., then transitioned to oral cephalexin') stops each drug in turn:
# medspaCy ends a cue's scope at the next cue of its category.
ROUTE_WORDS = {"oral", "po", "iv", "intravenous", "subcutaneous", "sq", "inhaled", "topical"}


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
    resolves_what_follows: bool = False,
) -> bool:
    """medspaCy's `on_modifies` hook: whether a ConText cue (of a rule looking `backward` only,
    or not; a `negation` or not; a medication `change` or not; a `switch` to another drug or
    not; one that reaches only the names of its item, `within_its_item`, or not; a resolution
    that, followed by a condition, is only that one's) is about the target mention (`between`
    runs from the earlier of the two to the later)."""
    return (
        (not switch or next_drug_start(cue) is not None)
        and not (
            doubts_what_follows and names_what_follows(cue) != (cue.start_char < target.start_char)
        )
        and not (
            resolves_what_follows
            and target.start_char < cue.start_char
            and cue.doc[cue.end : cue.end + 1].text != ""
            and cue.doc[cue.end].ent_type_ == CONDITION
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
    """A ',' or ';' between the two and a mention in the cue's item: the target is another item
    of the list ('aspirin 81, clopidogrel - stopped 2021, rosuvastatin 20': only clopidogrel is
    stopped). An item naming nothing before the cue qualifies the target before it ('Alcohol use
    disorder, moderate - in sustained remission')."""
    text = cue.doc.text
    if target.end_char <= cue.start_char:
        separators = list(re.finditer(r"[,;]", text[target.end_char : cue.start_char]))
        if not separators:
            return False
        item = (target.end_char + separators[-1].end(), cue.start_char)
        return any(item[0] <= ent.start_char < item[1] for ent in cue.doc.ents)
    return bool(re.search(r"[,;]", text[cue.end_char : target.start_char]))


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


AND_JOINED = re.compile(r"[ \t]+and[ \t]+")


def bracketed_cue_modifies(target: Span, cue: Span, between: Span) -> bool:
    """A cue inside brackets is a remark on the mention the bracket follows: in 'Aspirin,
    lisinopril 10 mg (discontinued due to cough), atorvastatin' only lisinopril is stopped; in
    'Hypertension (resolved), diabetes' only hypertension is resolved; mentions joined by 'and'
    share it. (medspaCy's `on_modifies` hook; `between` runs from the earlier of the two to the
    later.)"""
    text = cue.doc.text
    line_start = text.rfind("\n", 0, cue.start_char) + 1
    opening = text.rfind("(", line_start, cue.start_char)
    if opening < 0 or text.rfind(")", opening, cue.start_char) >= 0:
        return True
    if target.start_char > cue.start_char:
        return ")" not in text[cue.end_char : target.start_char]
    if target.end_char > opening:
        return True
    others = [m for m in between.ents if m.label_ == target.label_ and m.start_char < opening]
    # one remark on mentions joined by 'and' ('insulin glargine and insulin lispro correction
    # scale (discontinued)')
    joined = all(
        AND_JOINED.fullmatch(text[earlier.end_char : later.start_char])
        for earlier, later in itertools.pairwise([target, *others])
    )
    return not others or joined


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
    two drugs (the last one) ends the first one's item; drugs joined by 'and' share one; the
    bracket a list is printed in ends its last item ('induction of anesthesia (propofol,
    fentanyl, rocuronium) and intubation, the abdomen was prepped')."""
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
    closing = text.find(")", target.end_char, end)
    if (
        closing >= 0
        and "(" not in text[target.end_char : closing]
        and text.rfind("(", sentence_start, target.start_char)
        > text.rfind(")", sentence_start, target.start_char)
    ):
        end = closing
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
