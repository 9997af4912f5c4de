"""The extraction schema: what any provider (offline rules or an LLM) returns for one chunk.

This pydantic model is the contract between providers, grounding and the FHIR mapping. The JSON
schema handed to LLMs for structured output is generated from `ChunkExtraction`.
Every fact carries `quote`: the exact words of the document it was read from.
"""

from enum import StrEnum

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
    UNKNOWN = "unknown"


class Evidence(BaseModel):
    """Where a fact's quote sits in the document text (filled by grounding, never by a provider)."""

    offset: int = Field(description="Character offset in the whole document text.")
    length: int
    page: int = Field(description="1-based page number.")
    chunk_id: str
    match: str = Field(description="exact, normalized or fuzzy.")


class Fact(BaseModel):
    model_config = ConfigDict(extra="ignore")

    quote: str = Field(description="The exact words of the document this fact was read from.")
    evidence: SkipJsonSchema[Evidence | None] = None


class Identifier(BaseModel):
    kind: str = Field(description="Identifier type, e.g. MRN, SSN, account.")
    value: str


class PatientFact(Fact):
    name: str | None = Field(default=None, description="Full name as written.")
    birth_date: str | None = Field(default=None, description="ISO date YYYY-MM-DD if known.")
    gender: str | None = Field(default=None, description="male, female, other or unknown.")
    identifiers: list[Identifier] = Field(default_factory=list)


class ConditionFact(Fact):
    text: str = Field(description="The condition as named in the document.")
    icd10_code: str | None = Field(default=None, description="ICD-10-CM code if known.")
    assertion: Assertion = Assertion.PRESENT


class MedicationFact(Fact):
    text: str = Field(description="The medication as named in the document.")
    generic_name: str | None = Field(default=None, description="Generic (INN) name if known.")
    dose_value: float | None = None
    dose_unit: str | None = Field(default=None, description="UCUM unit of the dose, e.g. mg.")
    route: str | None = Field(default=None, description="e.g. oral, intravenous.")
    frequency: str | None = Field(default=None, description="As written, e.g. 'twice daily'.")
    status: MedicationStatus = MedicationStatus.ACTIVE
    assertion: Assertion = Assertion.PRESENT


class AllergyFact(Fact):
    substance: str | None = Field(default=None, description="None when no known allergies.")
    reaction: str | None = None
    no_known_allergies: bool = False


class ObservationFact(Fact):
    name: str = Field(description="Test or vital sign as named in the document.")
    category: str = Field(default="laboratory", description="laboratory or vital-signs.")
    loinc_code: str | None = None
    value: float | None = None
    value_text: str | None = Field(default=None, description="Non-numeric result as written.")
    unit: str | None = Field(default=None, description="UCUM unit.")
    reference_low: float | None = None
    reference_high: float | None = None
    reference_text: str | None = None
    interpretation: str | None = Field(default=None, description="H, L, N, A as flagged.")


class ChunkExtraction(BaseModel):
    """Everything found in one chunk of text."""

    model_config = ConfigDict(extra="ignore")

    patient: PatientFact | None = None
    conditions: list[ConditionFact] = Field(default_factory=list)
    medications: list[MedicationFact] = Field(default_factory=list)
    allergies: list[AllergyFact] = Field(default_factory=list)
    observations: list[ObservationFact] = Field(default_factory=list)

    def fact_count(self) -> int:
        return (
            (1 if self.patient else 0)
            + len(self.conditions)
            + len(self.medications)
            + len(self.allergies)
            + len(self.observations)
        )


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


class DocumentExtraction(ChunkExtraction):
    """All chunks' facts of one document, merged, deduplicated and grounded."""

    doc_id: str
    chunks: list[ChunkReport] = Field(default_factory=list)
    ungrounded_facts: int = 0
    prompt_version: str

    @property
    def providers(self) -> list[str]:
        return sorted({c.provider for c in self.chunks if c.provider})

    @property
    def models(self) -> list[str]:
        return sorted({c.model for c in self.chunks if c.model})
