"""Extraction providers and the fallback chain that tries them in order, one chunk at a time.

A provider turns one chunk of text into a `ChunkExtraction` and reports the tokens the API said it
used. The chain classifies failures, retries what is worth retrying, falls back to the next
provider, and writes one `UsageRecord` per attempt — success or failure — for the cost ledger.
Error messages are never taken from the provider (they may echo the request, i.e. PHI).
"""

import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ValidationError

from medpipeline.costs import TokenUsage, price_usd
from medpipeline.extraction.schema import ChunkExtraction, ChunkOutcome, ChunkReport

PROMPT_VERSION = "extract-v1"

SYSTEM_PROMPT = """You extract clinical facts from a chunk of a medical document for conversion to \
FHIR R4. Record only what the text states about the patient. For every fact, `quote` must be the \
exact words of the text it came from (copy them verbatim, one line or sentence). Mark negated \
findings ("denies chest pain", "no fever") as negated, family history as family, uncertain ones \
as possible, past ones as historical, and conditional ones ("return if chest pain") as \
hypothetical. Give ICD-10-CM and LOINC codes only when you are sure; \
units in UCUM. "NKDA" or "no known allergies" is one allergy entry with no_known_allergies true. \
Return nothing that is not in the text."""


class ErrorClass(StrEnum):
    RATE_LIMIT = "rate_limit"
    TRANSIENT = "transient"
    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    CONTEXT_TOO_LONG = "context_too_long"
    MALFORMED = "malformed"
    REFUSAL = "refusal"


RETRYABLE = {ErrorClass.RATE_LIMIT, ErrorClass.TRANSIENT, ErrorClass.MALFORMED}


class ProviderError(Exception):
    """A classified provider failure. The message is ours, never the provider's text."""

    def __init__(
        self,
        error_class: ErrorClass,
        message: str,
        *,
        retry_after: float | None = None,
        usage: TokenUsage | None = None,
        request_id: str | None = None,
    ):
        super().__init__(f"{error_class.value}: {message}")
        self.error_class = error_class
        self.retry_after = retry_after
        self.usage = usage
        self.request_id = request_id


class ProviderReply(BaseModel):
    extraction: ChunkExtraction
    usage: TokenUsage
    model: str
    request_id: str | None = None


class ExtractionProvider(Protocol):
    name: str
    model: str

    def extract(self, text: str) -> ProviderReply: ...


class UsageRecord(BaseModel):
    """One provider attempt: a row of the per-document ledger and of `llm_calls`. No PHI."""

    call_id: str
    doc_id: str
    chunk_id: str
    run_id: str
    provider: str
    model: str
    prompt_version: str
    attempt: int
    outcome: str  # ok | error
    error_class: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float
    latency_ms: float
    request_id: str | None
    started_at: datetime


class ChunkResult(BaseModel):
    report: ChunkReport
    extraction: ChunkExtraction | None
    records: list[UsageRecord]


def build_reply(
    payload: str | dict, *, usage: TokenUsage, model: str, request_id: str | None
) -> ProviderReply:
    """Validate a provider's structured reply; one that is not the schema is `malformed` (and
    still carries the tokens it cost)."""
    try:
        data = json.loads(payload) if isinstance(payload, str) else payload
        extraction = ChunkExtraction.model_validate(data)
    except (json.JSONDecodeError, ValidationError, TypeError):
        raise ProviderError(
            ErrorClass.MALFORMED,
            "reply is not a valid extraction",
            usage=usage,
            request_id=request_id,
        ) from None
    return ProviderReply(extraction=extraction, usage=usage, model=model, request_id=request_id)


class ExtractionChain:
    """Tries providers in order for each chunk; bounded retries with jittered backoff."""

    def __init__(
        self,
        providers: Sequence[ExtractionProvider],
        *,
        max_attempts: int = 3,
        backoff_seconds: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not providers:
            raise ValueError("the extraction chain needs at least one provider")
        self.providers = list(providers)
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep

    def extract_chunk(self, doc_id: str, chunk_id: str, text: str, run_id: str) -> ChunkResult:
        records: list[UsageRecord] = []
        for position, provider in enumerate(self.providers):
            for attempt in range(1, self.max_attempts + 1):
                started, clock = datetime.now(UTC), time.perf_counter()
                reply, error = None, None
                try:
                    reply = provider.extract(text)
                except ProviderError as caught:
                    error = caught
                records.append(
                    _record(
                        doc_id, chunk_id, run_id, provider, attempt, started, clock, reply, error
                    )
                )
                if error is not None:
                    if error.error_class not in RETRYABLE or attempt == self.max_attempts:
                        break
                    self.sleep(self._delay(attempt, error.retry_after))
                    continue
                outcome = ChunkOutcome.OK if position == 0 else ChunkOutcome.FALLBACK
                report = ChunkReport(
                    chunk_id=chunk_id,
                    outcome=outcome,
                    provider=provider.name,
                    model=reply.model,
                    facts=reply.extraction.fact_count(),
                )
                return ChunkResult(report=report, extraction=reply.extraction, records=records)
        report = ChunkReport(chunk_id=chunk_id, outcome=ChunkOutcome.FAILED)
        return ChunkResult(report=report, extraction=None, records=records)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after + random.uniform(0, self.backoff_seconds / 2)
        return self.backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)


def _record(
    doc_id: str,
    chunk_id: str,
    run_id: str,
    provider: ExtractionProvider,
    attempt: int,
    started: datetime,
    clock: float,
    reply: ProviderReply | None,
    error: ProviderError | None,
) -> UsageRecord:
    usage = (reply.usage if reply else error.usage if error else None) or TokenUsage()
    model = reply.model if reply else provider.model
    return UsageRecord(
        call_id=uuid.uuid4().hex,
        doc_id=doc_id,
        chunk_id=chunk_id,
        run_id=run_id,
        provider=provider.name,
        model=model,
        prompt_version=PROMPT_VERSION,
        attempt=attempt,
        outcome="error" if error else "ok",
        error_class=error.error_class.value if error else None,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cost_usd=price_usd(provider.name, model, usage, at=started),
        latency_ms=round((time.perf_counter() - clock) * 1000, 3),
        request_id=reply.request_id if reply else error.request_id if error else None,
        started_at=started,
    )
