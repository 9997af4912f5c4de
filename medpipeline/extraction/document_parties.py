"""Who and where, read by rules (the offline provider): the facility a document comes from, the
clinicians who wrote, signed or attended it, and the patient's identifiers with their issuer.

- Facility: a labelled field ("Facility:", "Organization:", "Hospital:", "Clinic:"), the custodian
  or provider organization of a rendered C-CDA ("Custodian <name> Contact Details"), a letterhead
  line in the first lines of a page ("Community Health Hospital", "Oakfield Family Practice"), or
  the facility a clinician signs for, on the clinician's line or under it ("Attending: Dr. Priya
  Raman, Lakeshore Community Hospital").
- Clinicians: a role label and a name ("Attending physician: Dr. Alan Exampleton", "Dictated by",
  "Electronically signed by", "Author", "Performer", "Referring", "Ordering provider" ...), or a
  signature line ("Dr. Priya Notarealdoc, MBBS", "Jane Roe, MD"); credentials and an NPI printed
  on the same line are kept. Words that are not a person ("unknown", "system", "admin") are not.
- Identifiers: MRN / medical record number / patient ID and SSN with their value; an assigning
  authority printed in parentheses after the value (an OID, or a name) is the issuer.
Every fact's quote is an exact substring of the text.
"""

import functools
import re

from medpipeline.extraction.schema import (
    Identifier,
    OrganizationFact,
    PractitionerFact,
    PractitionerRole,
)
from medpipeline.extraction.sequences import unique
from medpipeline.identity import identifier_type

LETTERHEAD_LINES = 6  # a letterhead is in the first lines of a page
_ORG_WORDS = (
    r"(?:Hospital|Medical[ \t]+Cent(?:er|re)|Health[ \t]+Cent(?:er|re)|Clinic|Health[ \t]+System"
    r"|Healthcare|Health[ \t]+Care|Medical[ \t]+Group|Practice|Infirmary|Laborator(?:y|ies)"
    r"|Associates|Surgery[ \t]+Cent(?:er|re)|Medical[ \t]+Associates|Corporation)s?"
)
_WORD = r"[A-Z0-9][\w&'’.-]*"
LETTERHEAD = re.compile(  # 'Community Health Hospital', 'Laboratory Corporation of America'
    rf"^[ \t]*(?P<name>(?:{_WORD}[ \t]+){{1,6}}?{_ORG_WORDS}"
    rf"(?:[ \t]+of(?:[ \t]+{_WORD}){{1,3}})?)\b",
    re.MULTILINE,
)
# Words of a section title that names a stay, not a place ('Procedures Done This Hospital Stay').
NOT_A_LETTERHEAD = re.compile(r"\b(?:This|That|During|Done|Procedures?)\b")
ORGANIZATION_LABEL = re.compile(
    r"(?:^[ \t]*(?i:hospital|clinic|practice|institution|custodian)"
    r"|\b(?i:facility|organi[sz]ation|performing[ \t]+(?:lab|laboratory|site)))"
    r"(?:[ \t]+(?i:name))?[ \t]*:[ \t]*(?P<name>[^\n]+)",
    re.MULTILINE,
)
CDA_ORGANIZATION = re.compile(
    r"^[ \t]*(?:Custodian|Provider[ \t]+Organization|Organization)[ \t]+(?P<name>\S.*?)"
    r"[ \t]+Contact[ \t]+Details",
    re.MULTILINE,
)
_ORG_END = re.compile(r",|;|\(|[ \t]{2,}|\t|\b(?:Tel|Phone|Fax|Contact|Authored|Date)\b", re.I)
# a name broken over two lines: 'Organization: Local Community' / 'Hospital, Authored On: ...'
_ORG_CONTINUATION = re.compile(
    rf"\n[ \t]*(?P<rest>(?:{_WORD}[ \t]+){{0,3}}?{_ORG_WORDS})(?=,|[ \t]*$)", re.MULTILINE
)

_ROLE_LABELS: list[tuple[str, PractitionerRole]] = [
    (r"attending(?:[ \t]+(?:physician|provider|doctor))?", PractitionerRole.ATTENDING),
    (r"admitting(?:[ \t]+(?:physician|provider|doctor))?", PractitionerRole.ADMITTING),
    (r"discharging(?:[ \t]+(?:physician|provider|doctor))?", PractitionerRole.DISCHARGING),
    (r"consult(?:ing|ant)(?:[ \t]+(?:physician|provider|doctor))?", PractitionerRole.CONSULTING),
    (r"(?:referring|ordering)(?:[ \t]+(?:physician|provider|doctor))?", PractitionerRole.REFERRING),
    (r"surgeon|performed[ \t]+by|performer", PractitionerRole.PERFORMER),
    (
        r"author|dictated[ \t]+by|(?:electronically[ \t]+)?signed(?:[ \t]+by)?"
        r"|(?:legal[ \t]+)?authenticator|authenticated[ \t]+by|attested[ \t]+by",
        PractitionerRole.AUTHOR,
    ),
]
_CREDENTIALS = (
    r"M\.?D\.?|D\.?O\.?|MBBS|MBChB|N\.?P\.?|FNP(?:-C)?|ARNP|DNP|PA-C|P\.?A\.?|R\.?N\.?"
    r"|Ph\.?D\.?|DPM|DDS|CNM|CRNA"
)
# a word of a name: capitalised, not a label ('Specimen:'), not a credential ('MD')
_NAME_WORD = rf"(?![A-Za-z'’-]+:)(?!(?:{_CREDENTIALS})\b)[A-Z][A-Za-z'’-]*\.?"
_NAME = (
    rf"(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,3}})"
    rf"(?:,?[ \t]*(?P<cred>(?:{_CREDENTIALS})(?:,[ \t]*(?:{_CREDENTIALS}))*)(?![A-Za-z]))?"
)
LABELLED_PRACTITIONER = re.compile(
    rf"(?:\b(?P<colon_label>(?i:{'|'.join(f'(?:{p})' for p, _ in _ROLE_LABELS)}))[ \t]*:"
    rf"|^[ \t]*(?P<bare_label>(?i:(?:legal[ \t]+)?authenticator|author|performer))[ \t]*-?)"
    rf"[ \t]*(?:Dr\.?[ \t]+)?{_NAME}",
    re.MULTILINE,
)
SIGNATURE_LINE = re.compile(rf"^[ \t]*(?P<dr>Dr\.?[ \t]+)?{_NAME}", re.MULTILINE)  # + Dr or cred
NPI_ON_LINE = re.compile(r"\bNPI[ \t]*[:#]?[ \t]*(?P<npi>\d{10})\b")
_NOT_A_PERSON = {
    "unknown", "system", "systems", "admin", "ehr", "clinical", "contact", "details", "authored",
    "organization", "hospital", "clinic", "the", "patient", "none", "n/a", "date", "of", "care",
    "provider", "party", "responsible", "enterer", "recipient", "information", "data", "cda",
    "documents", "healthcare", "department", "service", "team",
}  # fmt: skip
# words before a name that say its role: 'Performer - Primary KHAN Samir', 'Legal Authenticator X'
_ROLE_PREFIX = {"primary", "attending", "performer", "author", "legal", "authenticator"}
_NAME_END = {"contact", "details", "authored", "signed", "tel", "phone", "date", "on", "at"}

IDENTIFIER_LABEL = re.compile(
    r"\b(?P<label>MRN|MR#|medical[ \t]+record[ \t]+(?:number|no\.?|#)|patient[ \t]*-?[ \t]*ids?"
    r"|SSN|SS#|social[ \t]+security[ \t]+(?:number|no\.?|#))"
    r"[ \t]*[:#]?[ \t]*(?P<value>[A-Za-z0-9*][A-Za-z0-9*.-]{1,47}[A-Za-z0-9])\b"
    r"(?:[ \t]*\((?P<issuer>[^()\n]{2,80})\))?",
    re.IGNORECASE,
)


def organization_facts(text: str) -> list[OrganizationFact]:
    """Facilities the text names, in the order they appear (the first is the document's)."""
    found: list[tuple[int, OrganizationFact]] = []
    for match in ORGANIZATION_LABEL.finditer(text):
        name = _ORG_END.split(match["name"], maxsplit=1)[0].strip(" .:-")
        end = match.start("name") + len(name)
        continued = _ORG_CONTINUATION.match(text, match.end("name"))
        if continued and end == match.end("name") and not re.search(_ORG_WORDS, name):
            name, end = f"{name} {continued['rest']}", continued.end("rest")
        found.append((match.start(), _organization(text, match.start(), end, name)))
    for match in CDA_ORGANIZATION.finditer(text):
        name = match["name"].removesuffix("(Organization)").strip()
        found.append((match.start(), _organization(text, match.start(), match.end("name"), name)))
    for line in _first_lines(text, LETTERHEAD_LINES):
        match = LETTERHEAD.match(text, line.start(), line.end())
        if match and not NOT_A_LETTERHEAD.search(match["name"]):
            name = match["name"]
            found.append(
                (match.start(), _organization(text, match.start("name"), match.end(), name))
            )
    found += _signed_for(text)
    facts = [fact for _, fact in sorted(found, key=lambda pair: pair[0]) if fact]
    return unique(facts, key=lambda fact: fact.name.casefold())


def _organization(text: str, start: int, end: int, name: str) -> OrganizationFact | None:
    name = " ".join(name.split())
    if len(name) < 3 or not re.search(r"[A-Za-z]{2}", name) or name.lower() in _NOT_A_PERSON:
        return None
    return OrganizationFact(quote=text[start:end], name=name)


def _first_lines(text: str, count: int) -> list[re.Match[str]]:
    lines = [line for line in re.finditer(r"[^\n]+", text) if line.group().strip()]
    return lines[:count]


def practitioner_facts(text: str) -> list[PractitionerFact]:
    """Clinicians the text names with a role, and signature lines (authors), in text order."""
    ordered = [fact for _, fact in _practitioners(text)]
    return unique(ordered, key=lambda fact: (fact.name.casefold(), fact.role))


def practitioner_lines(text: str) -> list[tuple[int, int]]:
    """The lines that name a clinician: their specialty ('Consultant: Dr. Meera Sundaram,
    Infectious Diseases') is no condition of the patient."""
    return [
        (
            text.rfind("\n", 0, match.start()) + 1,
            end if (end := text.find("\n", match.end())) >= 0 else len(text),
        )
        for match, _ in _practitioners(text)
    ]


@functools.lru_cache(maxsize=8)  # organization_facts reads them again for the same chunk
def _practitioners(text: str) -> list[tuple[re.Match[str], PractitionerFact]]:
    found: list[tuple[re.Match[str], PractitionerFact]] = []
    for match in LABELLED_PRACTITIONER.finditer(text):
        label = (match["colon_label"] or match["bare_label"]).lower()
        role = next(
            (role for pattern, role in _ROLE_LABELS if re.fullmatch(pattern, label, re.I)),
            PractitionerRole.OTHER,
        )
        fact = _practitioner(text, match, role)
        if fact:
            found.append((match, fact))
    for match in SIGNATURE_LINE.finditer(text):
        all_capitals = match["name"].upper() == match["name"]  # 'CHEST XRAY, PA' is a heading
        if not (match["dr"] or (match["cred"] and not all_capitals)):
            continue
        fact = _practitioner(text, match, PractitionerRole.AUTHOR)
        if fact:
            found.append((match, fact))
    return sorted(found, key=lambda pair: pair[0].start())


# The facility a clinician signs for: after a comma on the clinician's line ('Attending: Dr.
# Priya Raman, Lakeshore Community Hospital'), or a line of its own under it, after a department
# perhaps ('Marcus Feld, MD\nCardiology, Riverside General Hospital'); not a sentence that names
# a place ('Follow up at Siskin Rehab Hospital').
SIGNATURE_BLOCK_LINES = 2
_ORG_NAME = (
    rf"(?P<name>(?:{_WORD}[ \t]+){{1,6}}?{_ORG_WORDS}(?:[ \t]+of(?:[ \t]+{_WORD}){{1,3}})?)\b"
)
_DEPARTMENT = r"(?:[A-Z][\w&'’ -]*,[ \t]*)?"
ORGANIZATION_AFTER_NAME = re.compile(rf"[^\n]*?,[ \t]*{_DEPARTMENT}{_ORG_NAME}")
ORGANIZATION_LINE = re.compile(rf"\n[ \t]*{_DEPARTMENT}{_ORG_NAME}[ \t]*(?:,[^\n]*)?(?=\n|$)")
NO_FACILITY_NAMES = {"family practice", "private practice", "group practice", "general practice"}


def _signed_for(text: str) -> list[tuple[int, OrganizationFact]]:
    found = []
    for match, _ in _practitioners(text):
        named = ORGANIZATION_AFTER_NAME.match(text, match.end())
        position = text.find("\n", match.end())
        for _ in range(SIGNATURE_BLOCK_LINES):
            if named or position < 0:
                break
            named = ORGANIZATION_LINE.match(text, position)
            position = text.find("\n", position + 1)
        if named and named["name"].lower() not in NO_FACILITY_NAMES:
            fact = _organization(text, named.start("name"), named.end("name"), named["name"])
            found.append((named.start("name"), fact))
    return [(start, fact) for start, fact in found if fact]


def _practitioner(
    text: str, match: re.Match[str], role: PractitionerRole
) -> PractitionerFact | None:
    words = list(re.finditer(r"\S+", match["name"]))
    while words and words[0].group().lower() in _ROLE_PREFIX:
        words.pop(0)
    kept = []
    for word in words:
        if word.group().lower().strip(".") in _NAME_END:
            break
        kept.append(word)
    stopped_early = len(kept) < len(words)
    if kept and kept[-1].group().rstrip(".").lower() == "dr":  # 'RODRIGUEZ Martin Dr' (C-CDA)
        kept.pop()
    names = [word.group() for word in kept]
    if len(names) < 2 or {name.lower().strip(".,") for name in names} & _NOT_A_PERSON:
        return None
    credentials = None if stopped_early else match["cred"]
    end = match.end("cred") if credentials else match.start("name") + kept[-1].end()
    line_end = text.find("\n", match.end())
    npi = NPI_ON_LINE.search(text, match.end(), line_end if line_end >= 0 else len(text))
    return PractitionerFact(
        quote=text[match.start() : end].strip(),
        name=" ".join(names),
        qualification=credentials,
        role=role,
        npi=npi["npi"] if npi else None,
    )


def identifier_mentions(text: str) -> list[tuple[Identifier, re.Match[str]]]:
    """The patient identifiers the text labels (MRN, patient ID, SSN), with their matches."""
    mentions = []
    for match in IDENTIFIER_LABEL.finditer(text):
        if not any(char.isdigit() for char in match["value"]):
            continue
        issuer = " ".join((match["issuer"] or "").split()) or None
        label = "Patient ID" if match["label"].lower().startswith("patient") else match["label"]
        if issuer and identifier_type(issuer)[0]:  # 'Patient-IDs 123-45-6789 (SSN)': its type
            label, issuer = issuer, None
        identifier = Identifier(kind=label, value=match["value"], issuer=issuer)
        mentions.append((identifier, match))
    return mentions
