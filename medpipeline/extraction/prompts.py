"""Versioned extraction prompts, with instructions fitted to the document type.

The document type is detected cheaply from the text (keyword scores, no model call). The
response cache keys replies by the hash of the system prompt and of the schema as sent, so any
change here or to a field description of `schema.ChunkExtraction` stops old replies being served
on its own. PROMPT_VERSION is the label analysts see in every usage record and extraction: bump it
when the change matters for comparing runs.
"""

import re
from enum import StrEnum

PROMPT_VERSION = "extract-v9"

BASE_PROMPT = """You extract clinical facts from a chunk of a medical document for conversion to \
FHIR R4. Record only what the text states about the patient. For every fact, `quote` must be the \
exact words of the text it came from (copy them verbatim, one line or sentence). Mark negated \
findings ("denies chest pain", "no fever") as negated, family history as family, uncertain ones \
as possible, past ones as historical, and conditional ones ("return if chest pain") as \
hypothetical; the same holds for allergies ("no allergy to penicillin" is negated, "mother \
allergic to latex" is family) and medications ("if pain persists, take ibuprofen" is \
hypothetical). A chronic condition in the past medical history is historical, resolved only when \
the text says it resolved, inactive only when it says so ("not currently active"), in \
remission only when it says so. Mark prescribed only what this \
document orders now (discharge or new prescriptions), not a list of what the patient takes; \
mark administered a single dose given or taken ("albuterol neb given in the ED"). \
Vaccines are immunizations, never medications: one given at this visit is present, one given \
before historical (with its date), one declined or refused negated, one only due or recommended \
hypothetical. \
Give ICD-10-CM and LOINC codes only when you are sure; units in UCUM. "NKDA" or "no known \
allergies" is one allergy entry with no_known_allergies true. Record the facility the document \
comes from (letterhead, "Facility:", custodian) as an organization and the clinicians \
who wrote, signed or attended (author, attending, consulting ...) as practitioners; give an \
identifier's issuer only when the text names it next to the identifier. Return nothing that is \
not in the text."""


class DocumentType(StrEnum):
    DISCHARGE_SUMMARY = "discharge_summary"
    LAB_REPORT = "lab_report"
    REFERRAL = "referral"
    PROGRESS_NOTE = "progress_note"
    OTHER = "other"


TYPE_INSTRUCTIONS = {
    DocumentType.DISCHARGE_SUMMARY: "This is a discharge summary: discharge diagnoses are current "
    "conditions; the discharge medication list is active; medications stopped in hospital are "
    "stopped; past medical history is historical.",
    DocumentType.LAB_REPORT: "This is a laboratory report: record each result row as an "
    "observation with its value, unit, reference range and flag; a patient header gives the "
    "identifiers. Interpretation charts and method notes are not results.",
    DocumentType.REFERRAL: "This is a referral or consult letter: the reason for referral is a "
    "current condition; suspected diagnoses are possible; the current medication list is active.",
    DocumentType.PROGRESS_NOTE: "This is a progress, visit or emergency note: the assessment "
    "gives current conditions; review-of-systems negatives are negated findings; vitals are "
    "vital-signs observations.",
    DocumentType.OTHER: "The document type is unknown: it may hold no clinical facts at all.",
}

_SIGNALS: dict[DocumentType, tuple[str, ...]] = {
    DocumentType.DISCHARGE_SUMMARY: (
        r"discharge summary",
        r"discharge diagnos",
        r"hospital course",
        r"discharge medication",
        r"date of discharge",
        r"admission date",
        r"\b(?:admitted|discharged)[ \t]*:",  # labelled dates of the stay
        r"admission diagnos",
        r"condition on discharge|discharge condition",
    ),
    DocumentType.LAB_REPORT: (
        r"reference range",
        r"reference interval",
        r"specimen",
        r"collected",
        r"laboratory",
        r"\bflag\b",
        r"\bresult\b",
    ),
    DocumentType.REFERRAL: (
        r"referral",
        r"reason for referral",
        r"dear dr",
        r"thank you for (?:seeing|referring)",
        # a consultation letter, not a hospital stay's consults ('consulted Medicine')
        r"consultation (?:note|report|request|letter)|reason for consultation",
    ),
    DocumentType.PROGRESS_NOTE: (
        r"progress note",
        r"subjective",
        r"objective",
        r"assessment and plan",
        r"chief complaint",
        r"history of present illness",
        r"emergency department",
    ),
}
_HEAD_CHARS = 4000


# Headings of the sections a patient summary lists besides its results (a CCD, a referral or
# visit summary): a document with two kinds of them is no laboratory report, however many
# 'result' columns its results table has (an after-visit summary addresses the patient: 'YOUR
# DIAGNOSES TODAY', 'YOUR MEDICATION LIST').
_SUMMARY_HEADINGS = {
    "problems": r"(?:your[ \t]+)?(?:active[ \t]+)?(?:problems?(?:[ \t]+list)?|diagnoses)"
    r"(?:[ \t]+today)?",
    "medications": r"(?:your[ \t]+)?(?:current[ \t]+|active[ \t]+|home[ \t]+)?medications?"
    r"(?:[ \t]+list)?",
    "allergies": r"allerg(?:y|ies)\b[^\n]{0,40}",
    "vitals": r"vital[ \t]+signs|vitals",
}


def is_patient_summary(head: str) -> bool:
    found = [
        kind
        for kind, heading in _SUMMARY_HEADINGS.items()
        if re.search(rf"(?im)^[ \t]*{heading}[ \t]*:?[ \t]*$", head)
    ]
    return len(found) >= 2


# Headings of an operative or procedure note: its specimens and pathology do not make it a
# laboratory report.
_PROCEDURES_PERFORMED = r"(?:procedures?|operations?)[ \t]+performed"
_OPERATIVE_HEADINGS = (
    r"pre-?(?:operative|procedure)[ \t]+diagnos[ie]s",
    r"post-?(?:operative|procedure)[ \t]+diagnos[ie]s",
    r"(?:operative|procedure)[ \t]+findings",
    _PROCEDURES_PERFORMED,
    r"anesthesia",
    r"estimated[ \t]+blood[ \t]+loss",
    r"surgeon",
)


def is_operative_note(head: str) -> bool:
    found = [h for h in _OPERATIVE_HEADINGS if re.search(rf"(?im)^[ \t]*{h}[ \t]*:?", head)]
    return len(found) >= 2


# Headings only a clinician's note has (on a line of their own, before a colon, or run in
# before a full stop as a letter writes them: 'Assessment. Ms. Okonkwo has ...'), and a letter's
# salutation: a short note's one results table ('Test  Result  Flag') does not make it a
# laboratory report, whose conditions come only from a diagnosis field.
_NOTE_HEADINGS = (
    r"dear[ \t]+(?:dr|doctor|colleague)\b[^\n]*",
    r"assessment(?:[ \t]*(?:/|and|&)[ \t]*plan)?",
    r"a/p",
    r"impression(?:[ \t]*(?:/|and|&)[ \t]*plan)?",
    r"plan",
    r"history[ \t]+of[ \t]+present[ \t]+illness",
    r"hpi",
    r"chief[ \t]+complaint",
    r"physical[ \t]+exam(?:ination)?",
    # a procedure report's ('INDICATIONS', 'HISTORY', 'PROCEDURES PERFORMED', 'CONCLUSIONS'):
    # its pre-procedure labs table does not make it a laboratory report
    r"indications?",
    r"(?:past[ \t]+)?(?:medical[ \t]+|surgical[ \t]+)?history",
    _PROCEDURES_PERFORMED,
    r"conclusions?",
)


def is_clinical_note(head: str) -> bool:
    return any(re.search(rf"(?im)^[ \t]*{h}[ \t]*(?::|\.|,|$)", head) for h in _NOTE_HEADINGS)


def detect_document_type(text: str) -> DocumentType:
    """The type whose signals occur most often in the first pages (ties: the order above); a
    patient summary, an operative note or a clinician's note is never a laboratory report."""
    head = text[:_HEAD_CHARS].lower()
    scores = {
        kind: sum(len(re.findall(signal, head)) for signal in signals)
        for kind, signals in _SIGNALS.items()
    }
    if is_patient_summary(head) or is_operative_note(head) or is_clinical_note(head):
        scores[DocumentType.LAB_REPORT] = 0
    best = max(scores, key=lambda kind: scores[kind])
    return best if scores[best] >= 2 else DocumentType.OTHER


def system_prompt(document_type: DocumentType) -> str:
    return f"{BASE_PROMPT}\n\n{TYPE_INSTRUCTIONS[document_type]}"
