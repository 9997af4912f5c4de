"""Who and where: the document's facility as an Organization, its clinicians as Practitioners, and
the Patient's identifiers with the Organization that issued them as assigner.

One Organization per facility the document names (its own, and any an identifier names as issuer),
identified by `urn:medpipeline:organization|<slug>`; one Practitioner per clinician (by name, a
person named twice with two roles is one Practitioner with both), with the NPI when printed.
Transaction entries create them conditionally (`ifNoneExist`) where they have an identifier, so a
server loading many documents of one facility holds one Organization.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from medpipeline.extraction.schema import DocumentExtraction, PractitionerFact, PractitionerRole
from medpipeline.identity import (
    IDENTIFIER_TYPE_SYSTEM,
    ORGANIZATION_SYSTEM,
    PatientIdentifier,
    document_organization,
    patient_identifiers,
    slug,
)

JsonDict = dict[str, Any]
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
# role -> Encounter.participant type (v3 ParticipationType); authors are on the DocumentReference
ENCOUNTER_ROLES = {
    PractitionerRole.ATTENDING: ("ATND", "attender"),
    PractitionerRole.ADMITTING: ("ADM", "admitter"),
    PractitionerRole.DISCHARGING: ("DIS", "discharger"),
    PractitionerRole.CONSULTING: ("CON", "consultant"),
    PractitionerRole.REFERRING: ("REF", "referrer"),
    PractitionerRole.PERFORMER: ("PPRF", "primary performer"),
}
_NPI = re.compile(r"\d{10}")
_NAME_NOISE = re.compile(r"^(?:dr\.?\s+)|(?:,?\s+dr\.?)$", re.IGNORECASE)


@dataclass
class Parties:
    """The parties of one document as bundle entries, and what other resources reference."""

    # (fullUrl, resource, ifNoneExist query or None)
    entries: list[tuple[str, JsonDict, str | None]] = field(default_factory=list)
    organization: str | None = None  # fullUrl of the document's facility
    authors: list[str] = field(default_factory=list)
    participants: list[JsonDict] = field(default_factory=list)  # Encounter.participant items
    organization_urls: dict[str, str] = field(default_factory=dict)  # facility slug -> fullUrl


def document_parties(
    extraction: DocumentExtraction, full_url: Callable[[str, int], str]
) -> Parties:
    """Organizations and Practitioners of the document; `full_url(kind, index)` names entries."""
    parties = Parties()
    facilities = [document_organization(extraction)] + [
        identifier.issuer for identifier in patient_identifiers(extraction)
    ]
    for name in dict.fromkeys(f for f in facilities if f):
        key = slug(name)
        if key in parties.organization_urls:
            continue
        url = full_url("organization", len(parties.organization_urls))
        parties.organization_urls[key] = url
        organization = {
            "resourceType": "Organization",
            "identifier": [{"system": ORGANIZATION_SYSTEM, "value": key}],
            "active": True,
            "name": name,
        }
        parties.entries.append((url, organization, search(ORGANIZATION_SYSTEM, key)))
    document_facility = document_organization(extraction)
    if document_facility:
        parties.organization = parties.organization_urls[slug(document_facility)]
    for index, (facts, roles) in enumerate(_clinicians(extraction.practitioners)):
        url = full_url("practitioner", index)
        practitioner, npi = _practitioner(facts)
        parties.entries.append((url, practitioner, search(NPI_SYSTEM, npi) if npi else None))
        if PractitionerRole.AUTHOR in roles:
            parties.authors.append(url)
        for role in sorted(roles & set(ENCOUNTER_ROLES)):
            code, display = ENCOUNTER_ROLES[role]
            parties.participants.append(
                {
                    "type": [
                        {
                            "coding": [
                                {"system": PARTICIPATION_TYPE, "code": code, "display": display}
                            ]
                        }
                    ],
                    "individual": {"reference": url},
                }
            )
    return parties


def identifier_json(identifier: PatientIdentifier, parties: Parties) -> JsonDict:
    """`Patient.identifier`: coded type, the issuer's system, its Organization as assigner."""
    if identifier.type_code:
        coding = {
            "system": IDENTIFIER_TYPE_SYSTEM,
            "code": identifier.type_code,
            "display": identifier.type_display,
        }
        identifier_type: JsonDict = {"coding": [coding]}
    else:
        identifier_type = {"text": identifier.type_display}
    result: JsonDict = {
        "use": "usual",
        "type": identifier_type,
        "system": identifier.system,
        "value": identifier.value,
    }
    assigner = parties.organization_urls.get(slug(identifier.issuer or ""))
    if assigner:
        result["assigner"] = {"reference": assigner, "display": identifier.issuer}
    return result


def search(system: str, value: str) -> str:
    """`identifier=<system>|<value>`, the query of a conditional create (escaped, URL-encoded)."""
    escaped = re.sub(r"([\\|,$])", r"\\\1", value)
    return f"identifier={quote(system, safe=':/')}|{quote(escaped, safe='')}"


def _clinicians(
    facts: list[PractitionerFact],
) -> list[tuple[list[PractitionerFact], set[PractitionerRole]]]:
    """Facts grouped by person (name without 'Dr.', case and word order ignored), with roles."""
    people: dict[str, tuple[list[PractitionerFact], set[PractitionerRole]]] = {}
    for fact in facts:
        name = _clean_name(fact.name)
        if not name:
            continue
        key = " ".join(sorted(name.casefold().replace(",", " ").replace(".", " ").split()))
        grouped, roles = people.setdefault(key, ([], set()))
        grouped.append(fact)
        roles.add(fact.role)
    return list(people.values())


def _clean_name(written: str) -> str:
    return " ".join(_NAME_NOISE.sub("", " ".join(written.split())).split())


def _practitioner(facts: list[PractitionerFact]) -> tuple[JsonDict, str | None]:
    name = _clean_name(facts[0].name)
    if "," in name:
        family, _, given = (part.strip() for part in name.partition(","))
    else:
        *given_parts, family = name.split()
        given = " ".join(given_parts)
    human_name: JsonDict = {"text": name, "family": family}
    if given:
        human_name["given"] = given.split()
    npi = next((f.npi for f in facts if f.npi and _NPI.fullmatch(f.npi.strip())), None)
    qualifications = dict.fromkeys(
        " ".join(f.qualification.split())
        for f in facts
        if f.qualification and f.qualification.strip()
    )
    practitioner: JsonDict = {"resourceType": "Practitioner", "active": True, "name": [human_name]}
    if npi:
        practitioner["identifier"] = [{"system": NPI_SYSTEM, "value": npi.strip()}]
    if qualifications:
        practitioner["qualification"] = [{"code": {"text": q}} for q in qualifications]
    return practitioner, npi.strip() if npi else None


def entry_request(resource_type: str, if_none_exist: str | None) -> JsonDict:
    """A transaction entry's request: a POST, conditional when the resource has an identifier."""
    request: JsonDict = {"method": "POST", "url": resource_type}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    return request
