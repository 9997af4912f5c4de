"""The extraction schema: what any provider (offline rules or an LLM) returns for one chunk.

This pydantic model is the contract between providers, grounding and the FHIR mapping. The JSON
schema handed to LLMs for structured output is generated from `ChunkExtraction`.
Every fact carries `quote`: the exact words of the document it was read from.
"""

from collections.abc import Iterator
from enum import StrEnum
from typing import get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema


class Assertion(StrEnum):
    """How the document asserts a finding (ConText-style)."""

    PRESENT = "present"
    NEGATED = "negated"
    POSSIBLE = "possible"
    HISTORICAL = "historical"
    FAMILY = "family"
    HYPOTHETICAL = "hypothetical"  # "return if chest pain": an instruction, not a finding


class MedicationStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    STOPPED = "stopped"
    ON_HOLD = "on-hold"  # "lisinopril held for hypotension": paused, to be resumed or reviewed
    UNKNOWN = "unknown"


class Evidence(BaseModel):
    """Where a fact's quote sits in the document text (filled by grounding, never by a provider).

    A fact a vision model read from a page image is grounded to its page only (`match` "page",
    no offset or length): the document text of that page is what OCR could not read."""

    offset: int | None = Field(description="Character offset in the whole document text.")
    length: int | None
    page: int = Field(description="1-based page number.")
    chunk_id: str
    match: str = Field(description="exact, normalized, fuzzy, or page (read from its image).")
    score: float = Field(default=100.0, description="Similarity 0-100 (100 unless fuzzy).")


class Fact(BaseModel):
    model_config = ConfigDict(extra="ignore")

    quote: str = Field(description="The exact words of the document this fact was read from.")
    evidence: SkipJsonSchema[Evidence | None] = None


class AssertedFact(Fact):
    """A finding the text can assert, deny, give to a relative or make hypothetical.

    `assertion` is what the pipeline acts on. An LLM fact is re-read with ConText at its grounded
    span (`extraction.assertions`): `context_assertion` is what ConText read there, and when it
    overrode the provider (the text denies, attributes elsewhere or makes hypothetical or
    uncertain what the provider called present) `provider_assertion` keeps the provider's word.
    """

    assertion: Assertion = Assertion.PRESENT
    context_assertion: SkipJsonSchema[Assertion | None] = None
    provider_assertion: SkipJsonSchema[Assertion | None] = None


class Identifier(BaseModel):
    kind: str = Field(description="Identifier type, e.g. MRN, SSN, account.")
    value: str
    issuer: str | None = Field(
        default=None,
        description="Who issued it when the document says so next to it: a facility name or an "
        "assigning-authority OID. Leave empty when only the document's facility is known.",
    )


class PatientFact(Fact):
    name: str | None = Field(default=None, description="Full name as written.")
    birth_date: str | None = Field(default=None, description="ISO date YYYY-MM-DD if known.")
    gender: str | None = Field(default=None, description="male, female, other or unknown.")
    identifiers: list[Identifier] = Field(default_factory=list)


class ConditionFact(AssertedFact):
    text: str = Field(description="The condition as named in the document.")
    icd10_code: str | None = Field(default=None, description="ICD-10-CM code if known.")
    onset_date: str | None = Field(default=None, description="ISO date of onset if stated.")
    resolved: bool = Field(
        default=False,
        description="True only when the text says the condition has resolved or is gone; a "
        "chronic condition in the past medical history is not resolved.",
    )
    inactive: bool = Field(
        default=False,
        description="True only when the text says the condition is inactive or no longer "
        "active without saying it resolved ('Asthma, not currently active', 'Migraine, "
        "inactive').",
    )
    in_remission: bool = Field(
        default=False,
        description="True only when the text says the condition is in remission (a cancer, "
        "leukaemia, depression or substance use disorder in full or partial remission).",
    )


class MedicationFact(AssertedFact):
    text: str = Field(description="The medication as named in the document.")
    generic_name: str | None = Field(default=None, description="Generic (INN) name if known.")
    dose_value: float | None = None
    dose_unit: str | None = Field(default=None, description="UCUM unit of the dose, e.g. mg.")
    route: str | None = Field(default=None, description="e.g. oral, intravenous.")
    frequency: str | None = Field(default=None, description="As written, e.g. 'twice daily'.")
    status: MedicationStatus = MedicationStatus.ACTIVE
    prescribed: bool = Field(
        default=False,
        description="True when this document orders or prescribes it now (a discharge or new "
        "prescription); False for a list of what the patient takes.",
    )
    administered: bool = Field(
        default=False,
        description="True when the text records a single dose given or taken ('albuterol neb "
        "given in the ED', 'took ibuprofen 400 mg at home before arrival'), not the patient's "
        "ongoing use of the drug.",
    )
    name_by_spelling: SkipJsonSchema[bool] = Field(
        default=False,
        description="The offline rules knew the name only as a near spelling of a dictionary "
        "drug ('gliburide': glyburide): a human should confirm it.",
    )
    only_named: SkipJsonSchema[bool] = Field(
        default=False,
        description="The offline rules found the drug only named: no dose, route or frequency, "
        "no word of starting, stopping or giving it, in no list ('orthostatic hypotension from "
        "amlodipine'): no news of its status where another mention says one.",
    )


class AllergyFact(AssertedFact):
    substance: str | None = Field(default=None, description="None when no known allergies.")
    reaction: str | None = None
    no_known_allergies: bool = False
    severity: str | None = Field(default=None, description="mild, moderate or severe.")
    resolved: bool = Field(
        default=False, description="True only when the document lists the allergy as resolved."
    )
    inactive: bool = Field(
        default=False,
        description="True only when the document lists the allergy as inactive, not resolved.",
    )


class ObservationFact(Fact):
    name: str = Field(description="Test or vital sign as named in the document.")
    category: str = Field(
        default="laboratory", description="laboratory, vital-signs or imaging (an LVEF)."
    )
    loinc_code: str | None = None
    value: float | None = None
    value_text: str | None = Field(
        default=None,
        description="The result as written when not a plain number: 'Negative', '<1', '>= 60'.",
    )
    unit: str | None = Field(default=None, description="UCUM unit.")
    reference_low: float | None = None
    reference_high: float | None = None
    reference_text: str | None = None
    interpretation: str | None = Field(default=None, description="H, L, N, A as flagged.")
    effective_date: str | None = Field(default=None, description="ISO date of the result.")


class EncounterFact(Fact):
    encounter_class: str = Field(
        default="ambulatory",
        description="ambulatory, inpatient, emergency, virtual or home health.",
    )
    type_text: str | None = Field(default=None, description="e.g. 'discharge', 'office visit'.")
    start_date: str | None = Field(default=None, description="ISO date the encounter began.")
    end_date: str | None = Field(default=None, description="ISO date it ended (discharge).")


class ProcedureFact(AssertedFact):
    text: str = Field(description="The procedure as named in the document.")
    performed_date: str | None = Field(default=None, description="ISO date if stated.")


class ImmunizationFact(AssertedFact):
    """A vaccine the patient received: at this encounter (present) or reported from before
    (historical). One declined or refused is negated; one only due, recommended or planned is
    hypothetical (neither becomes a completed Immunization)."""

    text: str = Field(description="The vaccine as named in the document.")
    cvx_code: str | None = Field(default=None, description="CDC CVX vaccine code if known.")
    occurrence_date: str | None = Field(
        default=None, description="ISO date (or year, or year-month) the dose was given."
    )


class OrganizationFact(Fact):
    name: str = Field(
        description="The facility or practice the document comes from, as named in its letterhead, "
        "'Facility:' line or custodian (a hospital, clinic, practice or laboratory)."
    )


class PractitionerRole(StrEnum):
    AUTHOR = "author"  # wrote, dictated or signed the document
    ATTENDING = "attending"
    ADMITTING = "admitting"
    DISCHARGING = "discharging"
    CONSULTING = "consulting"
    REFERRING = "referring"
    PERFORMER = "performer"  # performed the service or procedure documented
    OTHER = "other"


class PractitionerFact(Fact):
    name: str = Field(description="The clinician's name as written, without 'Dr.' or credentials.")
    qualification: str | None = Field(default=None, description="Credentials, e.g. MD, DO, NP.")
    role: PractitionerRole = Field(
        default=PractitionerRole.OTHER, description="What the document says they did."
    )
    npi: str | None = Field(default=None, description="10-digit NPI when printed next to them.")


class ChunkExtraction(BaseModel):
    """Everything found in one chunk of text."""

    model_config = ConfigDict(extra="ignore")

    patient: PatientFact | None = None
    conditions: list[ConditionFact] = Field(default_factory=list)
    medications: list[MedicationFact] = Field(default_factory=list)
    allergies: list[AllergyFact] = Field(default_factory=list)
    observations: list[ObservationFact] = Field(default_factory=list)
    encounters: list[EncounterFact] = Field(default_factory=list)
    procedures: list[ProcedureFact] = Field(default_factory=list)
    immunizations: list[ImmunizationFact] = Field(default_factory=list)
    organizations: list[OrganizationFact] = Field(default_factory=list)
    practitioners: list[PractitionerFact] = Field(default_factory=list)

    def fact_count(self) -> int:
        return (
            (1 if self.patient else 0)
            + len(self.conditions)
            + len(self.medications)
            + len(self.allergies)
            + len(self.observations)
            + len(self.encounters)
            + len(self.procedures)
            + len(self.immunizations)
            + len(self.organizations)
            + len(self.practitioners)
        )


# Every list of facts in an extraction, with its item model: the one place that knows them.
FACT_MODELS: dict[str, type[Fact]] = {
    name: get_args(field.annotation)[0]
    for name, field in ChunkExtraction.model_fields.items()
    if get_origin(field.annotation) is list
}
FACT_LISTS = tuple(FACT_MODELS)


class ChunkOutcome(StrEnum):
    OK = "ok"
    FALLBACK = "fallback"
    FAILED = "failed"


class ChunkReport(BaseModel):
    chunk_id: str
    outcome: ChunkOutcome
    provider: str | None = None
    model: str | None = None
    facts: int = 0
    cached: bool = Field(default=False, description="Served by the response cache (no call).")
    dropped_items: int = Field(default=0, description="Reply items that failed validation.")
    truncated: bool = Field(default=False, description="The reply hit max_tokens.")


class DocumentExtraction(ChunkExtraction):
    """All chunks' facts of one document, merged, deduplicated and grounded."""

    doc_id: str
    chunks: list[ChunkReport] = Field(default_factory=list)
    ungrounded_facts: int = 0
    grounded_facts: int = Field(default=0, description="Facts whose quote was found.")
    ungrounded_kept: bool = Field(
        default=False, description="Ungrounded facts were kept (without evidence), not dropped."
    )
    ungrounded: ChunkExtraction = Field(
        default_factory=ChunkExtraction,
        description="Facts whose quote was not found, left out of the lists above (for review).",
    )
    assertions_rechecked: int = Field(
        default=0, description="LLM facts whose grounded span ConText re-read."
    )
    assertions_changed: int = Field(
        default=0, description="Re-read facts ConText made not the patient's active finding."
    )
    prompt_version: str
    near_duplicate_of: str | None = Field(
        default=None,
        description="doc_id of the earlier document with the same text whose facts these are "
        "(no provider was called; see medpipeline.near_duplicates).",
    )
    near_duplicate_similarity: float | None = Field(
        default=None, description="Estimated Jaccard similarity of the two texts' word shingles."
    )

    @property
    def providers(self) -> list[str]:
        return sorted({c.provider for c in self.chunks if c.provider})

    @property
    def models(self) -> list[str]:
        return sorted({c.model for c in self.chunks if c.model})


PATIENT_LIST = "patient"  # the patient, as if a list of one (index 0)


def fact_id(kind: str, index: int) -> str:
    """A fact's id within its document: its list and position ('conditions-3', 'patient-0')."""
    return f"{kind}-{index}"


def iter_facts(extraction: ChunkExtraction) -> Iterator[tuple[str, int, Fact]]:
    """(list, index, fact) of every fact: the patient first, then each list in order."""
    if extraction.patient is not None:
        yield PATIENT_LIST, 0, extraction.patient
    for kind in FACT_LISTS:
        for index, fact in enumerate(getattr(extraction, kind)):
            yield kind, index, fact
