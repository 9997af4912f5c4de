"""Patient identity by assigning authority: the one rule of the bundle, `patient_records` and the
warehouse's `patient_key`.

An identifier means something only together with who issued it: MRN 12345 at Community Health
Hospital and MRN 12345 at Get Well Clinic are two people. Every extracted identifier therefore gets
a FHIR `system` naming its issuer:
- a Social Security number: `http://hl7.org/fhir/sid/us-ssn` (nine digits; masked ones are dropped);
- an identifier printed with an assigning-authority OID (C-CDA renderings): `urn:oid:<oid>`;
- otherwise the facility the document names (the identifier's own issuer, else the document's
  organization): `urn:medpipeline:issuer:<facility slug>:<type>`;
- otherwise (no facility named) a system scoped to the document itself, which identifies the
  patient inside that document only and never links two documents.
The identifier's label is coded as its v2-0203 type ("MRN", "MR#", "Medical Record Number" and
"Patient ID" are all MR), so the label's wording never splits one patient in two.

Identity keys: `system|value` of every identifier that can link documents (the strongest first:
medical record numbers, then SSNs, then the rest); a patient with none is known by name and birth
date. The keys are PHI: they stay in memory, in `data/fhir/`, or inside an HMAC.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from medpipeline.extraction.schema import DocumentExtraction, Identifier, PatientFact

RULE_VERSION = "issuer-v1"  # part of the warehouse's document signatures: keys change with it
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
MBI_SYSTEM = "http://hl7.org/fhir/sid/us-mbi"
ISSUER_PREFIX = "urn:medpipeline:issuer:"
ORGANIZATION_SYSTEM = "urn:medpipeline:organization"
DOCUMENT_SCOPED_PREFIX = "urn:medpipeline:document"  # also the per-document patient placeholder
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"

# label words -> v2-0203 code and display; labels are compared lower-case, punctuation removed
_TYPES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(
        ("mrn", "mr", "medical record", "medical record number", "medical record no",
         "med rec", "med rec no", "medical rec no", "chart", "chart number", "chart no",
         "patient id", "patient ids", "patient identifier", "patient number", "patient no"),
        ("MR", "Medical record number"),
    ),
    **dict.fromkeys(
        ("ssn", "ss", "social security", "social security number", "social security no",
         "patient ss"),
        ("SS", "Social Security number"),
    ),
    **dict.fromkeys(
        ("account", "account number", "account no", "acct", "acct no", "billing account"),
        ("AN", "Account number"),
    ),
    **dict.fromkeys(
        ("medicare", "medicare number", "medicare id", "mbi", "medicare beneficiary identifier"),
        ("MC", "Patient's Medicare number"),
    ),
    **dict.fromkeys(("medicaid", "medicaid number", "medicaid id"),
                    ("MA", "Patient Medicaid number")),
    **dict.fromkeys(
        ("member id", "member number", "subscriber id", "insurance id", "policy number"),
        ("MB", "Member Number"),
    ),
    **dict.fromkeys(("driver license", "drivers license", "driver s license"),
                    ("DL", "Driver's license number")),
    **dict.fromkeys(("passport", "passport number"), ("PPN", "Passport number")),
}  # fmt: skip
_TYPE_RANK = {"MR": 0, "SS": 1, "MC": 2}  # strongest first; the rest after, in code order
_OID = re.compile(r"(?:urn:oid:)?([0-2](?:\.(?:0|[1-9]\d*))+)")
_SSN_DIGITS = re.compile(r"\d{3}-?\d{2}-?\d{4}")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_NAME_NOISE = {"dr", "mr", "mrs", "ms", "md", "do", "jr", "sr"}


@dataclass(frozen=True)
class PatientIdentifier:
    """One identifier with its issuer: what becomes `Patient.identifier` in FHIR."""

    system: str
    value: str
    type_code: str | None  # v2-0203, None when the label is not a known type
    type_display: str  # the v2-0203 display, else the label as written
    issuer: str | None  # the facility that issued it (its Organization is the assigner)

    @property
    def links_documents(self) -> bool:
        return links_documents(self.system)


@dataclass(frozen=True)
class IdentityKeys:
    """How documents find their patient: identifier keys (strongest first), else name + birth."""

    identifiers: tuple[str, ...]
    name_birth: str | None

    @property
    def primary(self) -> str | None:
        return self.identifiers[0] if self.identifiers else self.name_birth


def slug(name: str) -> str:
    """'St. Mary's Hospital' -> 'st-marys-hospital' (ASCII; apostrophes and dots join words)."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "-".join(_NOT_WORD.sub(" ", re.sub(r"['.]", "", ascii_text)).split())


def identifier_type(label: str) -> tuple[str | None, str]:
    """(v2-0203 code or None, display) of an identifier label as a document prints it."""
    words = " ".join(_NOT_WORD.sub(" ", label.lower().replace("#", " no ")).split())
    words = words.removesuffix(" no") if words not in _TYPES else words
    code = _TYPES.get(words)
    return (code[0], code[1]) if code else (None, " ".join(label.split()))


def links_documents(system: str) -> bool:
    """Whether an identifier of this system can tie two documents to one patient."""
    return not system.startswith(DOCUMENT_SCOPED_PREFIX)


def patient_identifier(
    extracted: Identifier, organization: str | None, doc_id: str
) -> PatientIdentifier | None:
    """The identifier with the system of its issuer; None when it identifies nobody."""
    value = " ".join(extracted.value.split())
    code, display = identifier_type(extracted.kind)
    if not value or not display:
        return None
    if code == "SS":
        digits = _SSN_DIGITS.fullmatch(value.replace(" ", ""))
        if digits is None:  # masked ('XXX-XX-1234') or not an SSN
            return None
        return PatientIdentifier(SSN_SYSTEM, digits[0].replace("-", ""), code, display, None)
    value = value.replace(" ", "")
    issuer = " ".join((extracted.issuer or "").split()) or None
    oid = _OID.fullmatch(issuer) if issuer else None
    if oid:
        return PatientIdentifier(f"urn:oid:{oid[1]}", value, code, display, None)
    if code == "MC" and not issuer:
        return PatientIdentifier(MBI_SYSTEM, value.upper(), code, display, None)
    facility = issuer or organization
    kind = (code or slug(display) or "id").lower()
    if facility and slug(facility):
        system = f"{ISSUER_PREFIX}{slug(facility)}:{kind}"
        return PatientIdentifier(system, value, code, display, facility)
    return PatientIdentifier(
        f"{DOCUMENT_SCOPED_PREFIX}:{doc_id}:{kind}", value, code, display, None
    )


def document_organization(extraction: DocumentExtraction) -> str | None:
    """The facility the document comes from: the first organization it names (its letterhead)."""
    names = (" ".join(o.name.split()) for o in extraction.organizations)
    return next((name for name in names if slug(name)), None)


def patient_identifiers(extraction: DocumentExtraction) -> list[PatientIdentifier]:
    """The patient's identifiers with their issuers, strongest first, one per system and value."""
    patient = extraction.patient or PatientFact(quote="")
    organization = document_organization(extraction)
    found: dict[tuple[str, str], PatientIdentifier] = {}
    for extracted in patient.identifiers:
        identifier = patient_identifier(extracted, organization, extraction.doc_id)
        if identifier:
            found.setdefault((identifier.system, identifier.value.casefold()), identifier)
    return sorted(found.values(), key=_strength)


def _strength(identifier: PatientIdentifier) -> tuple:
    rank = _TYPE_RANK.get(identifier.type_code or "", len(_TYPE_RANK))
    return (not identifier.links_documents, rank, identifier.system, identifier.value)


def identity_keys(
    identifiers: Iterable[tuple[str, str]], name: str | None, birth_date: str | None
) -> IdentityKeys:
    """Keys of a patient from (system, value) pairs in strength order, its name and birth date."""
    keys = [
        f"id|{system}|{''.join(value.split()).casefold()}"
        for system, value in identifiers
        if system and value and links_documents(system)
    ]
    name_key = _name_key(name)
    name_birth = f"name|{name_key}|{birth_date}" if name_key and birth_date else None
    return IdentityKeys(tuple(dict.fromkeys(keys)), name_birth)


def extraction_identity(extraction: DocumentExtraction) -> IdentityKeys:
    """The identity keys of a document's patient, from its extraction (the warehouse's view)."""
    patient = extraction.patient or PatientFact(quote="")
    pairs = ((i.system, i.value) for i in patient_identifiers(extraction))
    return identity_keys(pairs, patient.name, patient.birth_date)


def patient_resource_identity(patient: Mapping) -> IdentityKeys:
    """The identity keys of a FHIR Patient built from `patient_identifiers` (records' view)."""
    pairs = ((i.get("system", ""), i.get("value", "")) for i in patient.get("identifier", []))
    names = [name.get("text") for name in patient.get("name", []) if name.get("text")]
    return identity_keys(pairs, names[0] if names else None, patient.get("birthDate"))


def _name_key(name: str | None) -> str | None:
    """'Levin, Henry L.' and 'Henry L. Levin' are one key: case, punctuation and order dropped."""
    if not name:
        return None
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = sorted(set(_NOT_WORD.sub(" ", ascii_text).split()) - _NAME_NOISE)
    return " ".join(words) or None


def group_by_identity(identities: Mapping[str, IdentityKeys]) -> list[list[str]]:
    """Documents (id -> keys) grouped into patients. Documents sharing an identifier key are one
    patient (transitively). A document with no linking identifier joins the one patient whose
    name and birth date it shares, if exactly one has them; else those documents group together
    by name and birth date; a document with neither stands alone."""
    parent = {doc: doc for doc in identities}

    def root(doc: str) -> str:
        while parent[doc] != doc:
            parent[doc] = parent[parent[doc]]
            doc = parent[doc]
        return doc

    def union(first: str, second: str) -> None:
        parent[root(second)] = root(first)

    holder: dict[str, str] = {}
    for doc in sorted(identities):
        for key in identities[doc].identifiers:
            if key in holder:
                union(holder[key], doc)
            else:
                holder[key] = doc
    identified_by_name: dict[str, set[str]] = {}
    for doc in sorted(identities):
        keys = identities[doc]
        if keys.identifiers and keys.name_birth:
            identified_by_name.setdefault(keys.name_birth, set()).add(root(doc))
    unidentified_by_name: dict[str, str] = {}
    for doc in sorted(identities):
        keys = identities[doc]
        if keys.identifiers or not keys.name_birth:
            continue
        candidates = {root(d) for d in identified_by_name.get(keys.name_birth, set())}
        if len(candidates) == 1:
            union(candidates.pop(), doc)
        elif keys.name_birth in unidentified_by_name:
            union(unidentified_by_name[keys.name_birth], doc)
        else:
            unidentified_by_name[keys.name_birth] = doc
    groups: dict[str, list[str]] = {}
    for doc in sorted(identities):
        groups.setdefault(root(doc), []).append(doc)
    return list(groups.values())


__all__ = [
    "IDENTIFIER_TYPE_SYSTEM",
    "ORGANIZATION_SYSTEM",
    "RULE_VERSION",
    "SSN_SYSTEM",
    "IdentityKeys",
    "PatientIdentifier",
    "document_organization",
    "extraction_identity",
    "group_by_identity",
    "identifier_type",
    "identity_keys",
    "links_documents",
    "patient_identifier",
    "patient_identifiers",
    "patient_resource_identity",
    "slug",
]
