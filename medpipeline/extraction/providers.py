"""Extraction providers and the fallback chain that tries them in order, one chunk at a time.

A provider turns one chunk of text into a `ChunkExtraction` and reports the tokens the API said it
used. The chain serves repeats from the response cache, classifies failures, retries what is worth
retrying, splits a chunk that is too long for the context, skips a provider that keeps failing
(circuit breaker), falls back to the next provider, and writes one `UsageRecord` per attempt —
success, failure or cache hit — for the cost ledger. Error messages are never taken from the
provider (they may echo the request, i.e. PHI).

A reply cut by the output-token limit is split and retried like a context overflow. Only clean
replies are cached (parsed as sent, nothing dropped, not truncated): a salvaged reply is used once
and asked again next time. A provider that answers "wait longer than `max_retry_after`", or that
does not know the model or the request (404, 422), is left out: of the chunk for a long wait, of
the run for the others.
"""

import hashlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from medpipeline.costs import SitePrice, TokenUsage, first_unpriced, price_usd
from medpipeline.extraction.errors import PERMANENT, RETRYABLE, ErrorClass, ProviderError
from medpipeline.extraction.prompts import PROMPT_VERSION, DocumentType, system_prompt
from medpipeline.extraction.replies import ParseStrategy, UnparseableReply, parse_reply
from medpipeline.extraction.schema import ChunkExtraction, ChunkOutcome, ChunkReport
from medpipeline.extraction.splitting import merge_two, split_in_two
from medpipeline.ledger import UsageRecord
from medpipeline.storage import DataLayout, read_json, write_json

CLEAN_STRATEGIES = {ParseStrategy.DIRECT, ParseStrategy.FENCED, ParseStrategy.EMBEDDED}
DEFAULT_MAX_RETRY_AFTER_SECONDS = 60.0
logger = logging.getLogger(__name__)


class PageImage(BaseModel):
    """A rendered page sent to a vision-capable model (held in memory only: it is PHI)."""

    page: int = Field(description="1-based page number.")
    media_type: str = Field(description="image/jpeg or image/png.")
    data_base64: str
    width: int
    height: int

    @property
    def digest(self) -> str:
        return _sha256(self.data_base64)


class ExtractionRequest(BaseModel):
    text: str
    document_type: DocumentType = DocumentType.OTHER
    image: PageImage | None = None  # a page OCR could not read: `text` is the instruction
    context: str = Field(
        default="",
        description="`Chunk.context`: read by the offline provider only (LLM providers and the "
        "response cache key ignore it).",
    )


class ProviderReply(BaseModel):
    extraction: ChunkExtraction
    usage: TokenUsage
    model: str
    request_id: str | None = None
    parse_strategy: str | None = None
    dropped_items: int = 0
    truncated: bool = False

    @property
    def clean(self) -> bool:
        """Parsed as sent with nothing dropped and not cut short: fit for the response cache."""
        return (
            not self.truncated
            and self.dropped_items == 0
            and (self.parse_strategy is None or self.parse_strategy in CLEAN_STRATEGIES)
        )


class ExtractionProvider(Protocol):
    name: str
    model: str
    cacheable: bool  # worth a response-cache entry (an API call costs money and time)
    schema_fingerprint: str  # hash of the output schema sent to the API (in the cache key)
    site_price: SitePrice | None  # price of a provider genai-prices does not cover
    supports_vision: bool  # reads page images (`ExtractionRequest.image`)

    def extract(self, request: ExtractionRequest) -> ProviderReply: ...


class ChunkResult(BaseModel):
    report: ChunkReport
    extraction: ChunkExtraction | None
    records: list[UsageRecord]


def build_reply(
    payload: str | dict,
    *,
    usage: TokenUsage,
    model: str,
    request_id: str | None,
    truncated: bool = False,
) -> ProviderReply:
    """Recover the extraction from a reply (see `replies`); a reply with no JSON object of the
    schema's shape is `malformed` and still carries the tokens it cost."""
    try:
        parsed = parse_reply(payload)
    except UnparseableReply:
        raise ProviderError(
            ErrorClass.MALFORMED, "no extraction in the reply", usage=usage, request_id=request_id
        ) from None
    return ProviderReply(
        extraction=parsed.extraction,
        usage=usage,
        model=model,
        request_id=request_id,
        parse_strategy=parsed.strategy.value,
        dropped_items=parsed.dropped_items,
        truncated=truncated,
    )


@dataclass(frozen=True)
class _Ids:
    """Who a usage record belongs to."""

    doc_id: str
    chunk_id: str
    run_id: str
    document_type: DocumentType


class ResponseCache:
    """Replies kept per (system prompt, output schema, provider, model, chunk text, page image
    if any) — each by its hash — so re-materializing a document whose text has not changed makes
    no LLM call, and any change of what the model is asked is a new key without a version bump.
    Entries hold extracted facts (PHI): the folder must be inside a PHI store (the document's
    folder)."""

    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def of_document(cls, layout: DataLayout, doc_id: str) -> "ResponseCache":
        return cls(layout.document_dir(doc_id) / "response_cache")

    @staticmethod
    def key(request: ExtractionRequest, provider: ExtractionProvider) -> str:
        parts = (
            _sha256(system_prompt(request.document_type)),
            provider.schema_fingerprint,
            provider.name,
            provider.model,
            _sha256(request.text),
            *([request.image.digest] if request.image else []),
        )
        return _sha256("|".join(parts))[:32]

    def get(self, key: str) -> ProviderReply | None:
        path = self.folder / f"{key}.json"
        return ProviderReply.model_validate(read_json(path)) if path.exists() else None

    def put(self, key: str, reply: ProviderReply) -> None:
        write_json(self.folder / f"{key}.json", reply)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ExtractionChain:
    """Tries providers in order for each chunk; safe to call from several threads at once."""

    def __init__(
        self,
        providers: Sequence[ExtractionProvider],
        *,
        max_attempts: int = 3,
        backoff_seconds: float = 1.0,
        breaker_threshold: int = 3,
        max_splits: int = 2,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER_SECONDS,
        cache: ResponseCache | None = None,
        on_record: Callable[[UsageRecord], None] | None = None,
        on_unpriced: Callable[[str, str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """`on_record` sees every usage record the moment it exists (the run's journal);
        `on_unpriced(provider, model)` is told once per run of a model without a price."""
        if not providers:
            raise ValueError("the extraction chain needs at least one provider")
        self.providers = list(providers)
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.breaker_threshold = breaker_threshold
        self.max_splits = max_splits
        self.max_retry_after = max_retry_after
        self.cache = cache
        self.on_record = on_record
        self.on_unpriced = on_unpriced or _warn_unpriced
        self.sleep = sleep
        self._consecutive_failures = {provider.name: 0 for provider in self.providers}
        self._unavailable_until: dict[str, float] = {}  # monotonic deadline of a long wait
        self._lock = threading.Lock()

    def skipped_providers(self) -> list[str]:
        """Providers whose circuit breaker is open (skipped for the rest of this run), or that
        asked for a wait beyond `max_retry_after` that has not ended yet."""
        now = time.monotonic()
        with self._lock:
            return [
                name
                for name, failures in self._consecutive_failures.items()
                if failures >= self.breaker_threshold
                or self._unavailable_until.get(name, 0.0) > now
            ]

    def extract_chunk(
        self,
        doc_id: str,
        chunk_id: str,
        text: str,
        run_id: str,
        document_type: DocumentType = DocumentType.OTHER,
        image: PageImage | None = None,
        context: str = "",
    ) -> ChunkResult:
        request = ExtractionRequest(
            text=text, document_type=document_type, image=image, context=context
        )
        ids = _Ids(doc_id, chunk_id, run_id, document_type)
        cached = self._from_cache(request, ids)
        if cached is not None:
            return cached
        records: list[UsageRecord] = []
        skipped = set(self.skipped_providers())
        for position, provider in enumerate(self.providers):
            if provider.name in skipped:
                continue
            reply = self._try_provider(provider, request, ids, records, depth=0)
            self._count(provider, failed=reply is None)
            if reply is None:
                continue
            if self.cache is not None and provider.cacheable and reply.clean:
                self.cache.put(ResponseCache.key(request, provider), reply)
            outcome = ChunkOutcome.OK if position == 0 else ChunkOutcome.FALLBACK
            return _result(chunk_id, outcome, provider, reply, records)
        report = ChunkReport(chunk_id=chunk_id, outcome=ChunkOutcome.FAILED)
        return ChunkResult(report=report, extraction=None, records=records)

    def extract_chunks(
        self,
        doc_id: str,
        chunks: Sequence[tuple[str, str, str]],
        run_id: str,
        document_type: DocumentType,
        concurrency: int,
    ) -> list[ChunkResult]:
        """(chunk_id, text, context) triples, up to `concurrency` in flight; results in input
        order."""
        with ThreadPoolExecutor(max_workers=max(concurrency, 1)) as pool:
            return list(
                pool.map(
                    lambda chunk: self.extract_chunk(
                        doc_id, chunk[0], chunk[1], run_id, document_type, context=chunk[2]
                    ),
                    chunks,
                )
            )

    def _from_cache(self, request: ExtractionRequest, ids: _Ids) -> ChunkResult | None:
        if self.cache is None:
            return None
        for position, provider in enumerate(self.providers):
            if not provider.cacheable:
                continue
            started, clock = datetime.now(UTC), time.perf_counter()
            reply = self.cache.get(ResponseCache.key(request, provider))
            if reply is None:
                continue
            record = _record(ids, provider, 1, started, clock, reply, None, cached=True)
            outcome = ChunkOutcome.OK if position == 0 else ChunkOutcome.FALLBACK
            self._keep([], record)
            return _result(ids.chunk_id, outcome, provider, reply, [record], cached=True)
        return None

    def _try_provider(
        self,
        provider: ExtractionProvider,
        request: ExtractionRequest,
        ids: _Ids,
        records: list[UsageRecord],
        depth: int,
    ) -> ProviderReply | None:
        """Attempts on one provider; a context-too-long error or a reply cut by the output
        limit splits the text in two (a cut reply is kept when the text cannot be split)."""
        for attempt in range(1, self.max_attempts + 1):
            started, clock = datetime.now(UTC), time.perf_counter()
            try:
                reply = provider.extract(request)
            except ProviderError as error:
                record = _record(ids, provider, attempt, started, clock, None, error)
                self._keep(records, record)
                if error.error_class is ErrorClass.CONTEXT_TOO_LONG:
                    return self._split(provider, request, ids, records, depth)
                if error.error_class in PERMANENT:
                    self._disable(provider)
                    return None
                if error.error_class not in RETRYABLE or attempt == self.max_attempts:
                    return None
                if error.retry_after is not None and error.retry_after > self.max_retry_after:
                    self._unavailable_for(provider, error.retry_after)
                    return None
                self.sleep(self._delay(attempt, error.retry_after))
                continue
            if reply.truncated and self._can_split(request, depth):
                cut = ProviderError(
                    ErrorClass.TRUNCATED,
                    "reply cut by max_tokens",
                    usage=reply.usage,
                    request_id=reply.request_id,
                )
                self._keep(records, _record(ids, provider, attempt, started, clock, None, cut))
                return self._split(provider, request, ids, records, depth)
            self._keep(records, _record(ids, provider, attempt, started, clock, reply, None))
            return reply
        return None

    def _can_split(self, request: ExtractionRequest, depth: int) -> bool:
        """A page image cannot be cut in two: its cut reply is kept (and flagged truncated)."""
        if request.image is not None:
            return False
        return depth < self.max_splits and split_in_two(request.text) is not None

    def _split(
        self,
        provider: ExtractionProvider,
        request: ExtractionRequest,
        ids: _Ids,
        records: list[UsageRecord],
        depth: int,
    ) -> ProviderReply | None:
        if not self._can_split(request, depth):
            return None
        halves = split_in_two(request.text)
        replies = [
            self._try_provider(
                provider, request.model_copy(update={"text": half}), ids, records, depth + 1
            )
            for half in halves
        ]
        if any(reply is None for reply in replies):
            return None
        first, second = replies
        return first.model_copy(
            update={
                "extraction": merge_two(first.extraction, second.extraction),
                "usage": TokenUsage(
                    **{
                        field: getattr(first.usage, field) + getattr(second.usage, field)
                        for field in TokenUsage.model_fields
                    }
                ),
                "dropped_items": first.dropped_items + second.dropped_items,
                "truncated": first.truncated or second.truncated,
                "parse_strategy": _least_clean(first.parse_strategy, second.parse_strategy),
            }
        )

    def _keep(self, records: list[UsageRecord], record: UsageRecord) -> None:
        """Keep a call's record; the run is told once of a model without a price."""
        if not record.price_known and first_unpriced(record.run_id, record.provider, record.model):
            self.on_unpriced(record.provider, record.model)
        records.append(record)
        if self.on_record is not None:
            self.on_record(record)

    def _disable(self, provider: ExtractionProvider) -> None:
        with self._lock:
            self._consecutive_failures[provider.name] = self.breaker_threshold

    def _unavailable_for(self, provider: ExtractionProvider, seconds: float) -> None:
        with self._lock:
            self._unavailable_until[provider.name] = time.monotonic() + seconds

    def _count(self, provider: ExtractionProvider, failed: bool) -> None:
        with self._lock:
            self._consecutive_failures[provider.name] = (
                self._consecutive_failures[provider.name] + 1 if failed else 0
            )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after + random.uniform(0, self.backoff_seconds / 2)
        return self.backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)


def _warn_unpriced(provider: str, model: str) -> None:
    logger.warning(
        "genai-prices has no price for %s model %s: its calls are recorded with cost NULL "
        "(price_known = false)",
        provider,
        model,
    )


def _least_clean(first: str | None, second: str | None) -> str | None:
    """The parse strategy of a merged reply: a repaired half makes the whole repaired."""
    strategies = {first, second}
    return ParseStrategy.REPAIRED.value if ParseStrategy.REPAIRED.value in strategies else first


def _result(
    chunk_id: str,
    outcome: ChunkOutcome,
    provider: ExtractionProvider,
    reply: ProviderReply,
    records: list[UsageRecord],
    cached: bool = False,
) -> ChunkResult:
    report = ChunkReport(
        chunk_id=chunk_id,
        outcome=outcome,
        provider=provider.name,
        model=reply.model,
        facts=reply.extraction.fact_count(),
        cached=cached,
        dropped_items=reply.dropped_items,
        truncated=reply.truncated,
    )
    return ChunkResult(report=report, extraction=reply.extraction, records=records)


def call_fields(
    reply: ProviderReply | None, error: ProviderError | None, usage: TokenUsage, cost: float | None
) -> dict[str, Any]:
    """The ledger fields of a call that its reply (or error), usage and price give, alike for a
    live and a batched call."""
    return {
        "error_class": error.error_class.value if error else None,
        "parse_strategy": reply.parse_strategy if reply else None,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cost_usd": cost,
        "price_known": cost is not None,
    }


def _record(
    ids: _Ids,
    provider: ExtractionProvider,
    attempt: int,
    started: datetime,
    clock: float,
    reply: ProviderReply | None,
    error: ProviderError | None,
    cached: bool = False,
) -> UsageRecord:
    usage = TokenUsage() if cached else (reply.usage if reply else error.usage) or TokenUsage()
    model = reply.model if reply else provider.model
    cost = price_usd(provider.name, model, usage, at=started, site_price=provider.site_price)
    return UsageRecord(
        call_id=uuid.uuid4().hex,
        doc_id=ids.doc_id,
        chunk_id=ids.chunk_id,
        run_id=ids.run_id,
        provider=provider.name,
        model=model,
        prompt_version=PROMPT_VERSION,
        document_type=ids.document_type.value,
        attempt=attempt,
        outcome="cached" if cached else "error" if error else "ok",
        response_cache_hit=cached,
        **call_fields(reply, error, usage, cost),
        latency_ms=round((time.perf_counter() - clock) * 1000, 3),
        request_id=None if cached else reply.request_id if reply else error.request_id,
        started_at=started,
    )
