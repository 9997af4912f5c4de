"""Chunks sent to the Anthropic Message Batches or OpenAI Batch API (half price, answered within
24 h) instead of live calls, and the answers read back through the same reply parsing as a live
call. Submitting and collecting are separate calls so nothing waits for a batch to end: a caller
keeps the batch id, asks `ended` now and then, and collects once.

An item that errored or expired comes back as a `ProviderError` (its chunk goes to a live call).
"""

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from medpipeline.costs import TokenUsage, price_usd
from medpipeline.extraction.clients import AnthropicProvider, OpenAIProvider
from medpipeline.extraction.errors import ErrorClass, ProviderError
from medpipeline.extraction.prompts import PROMPT_VERSION, DocumentType
from medpipeline.extraction.providers import (
    ExtractionRequest,
    ProviderReply,
    ResponseCache,
    call_fields,
)
from medpipeline.ledger import UsageJournal, UsageRecord
from medpipeline.storage import LLM_BATCHES_FOLDER, DataLayout, read_json, write_json

OPENAI_ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"
PENDING_FOLDER = LLM_BATCHES_FOLDER
BatchProvider = AnthropicProvider | OpenAIProvider


class BatchItem(BaseModel):
    """One chunk of a batch; `custom_id` (letters, digits, _ and -, at most 64) names it in the
    results and carries no PHI (e.g. the chunk id)."""

    custom_id: str
    request: ExtractionRequest


class BatchResult(BaseModel):
    """One item's answer: a reply, or the error that sends its chunk to a live call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    custom_id: str
    reply: ProviderReply | None = None
    error: ProviderError | None = None


def _failed(custom_id: str, error_class: ErrorClass, message: str) -> BatchResult:
    return BatchResult(custom_id=custom_id, error=ProviderError(error_class, message))


class AnthropicBatches:
    """The Message Batches API, with the live provider's request parameters and reply parsing."""

    def __init__(self, provider: AnthropicProvider):
        self.provider = provider

    def submit(self, items: Sequence[BatchItem]) -> str:
        batch = self.provider.client.messages.batches.create(
            requests=[
                {"custom_id": item.custom_id, "params": self.provider.request_params(item.request)}
                for item in items
            ]
        )
        return batch.id

    def ended(self, batch_id: str) -> bool:
        batch = self.provider.client.messages.batches.retrieve(batch_id)
        return batch.processing_status == "ended"

    def results(self, batch_id: str) -> list[BatchResult]:
        results = []
        for entry in self.provider.client.messages.batches.results(batch_id):
            outcome = entry.result
            if outcome.type != "succeeded":
                error_class = ErrorClass.TRANSIENT
                results.append(_failed(entry.custom_id, error_class, f"batch item {outcome.type}"))
                continue
            try:
                reply = self.provider.reply_from(outcome.message, None)
            except ProviderError as error:
                results.append(BatchResult(custom_id=entry.custom_id, error=error))
                continue
            results.append(BatchResult(custom_id=entry.custom_id, reply=reply))
        return results


class OpenAIBatches:
    """The Batch API: the items as a JSON-lines file, then a batch over it; results from the
    output file (answered items) and the error file (failed or expired items)."""

    def __init__(self, provider: OpenAIProvider):
        self.provider = provider

    def submit(self, items: Sequence[BatchItem]) -> str:
        lines = "".join(
            json.dumps(
                {
                    "custom_id": item.custom_id,
                    "method": "POST",
                    "url": OPENAI_ENDPOINT,
                    "body": self.provider.request_params(item.request),
                }
            )
            + "\n"
            for item in items
        )
        client = self.provider.client
        upload = client.files.create(
            file=("chunks.jsonl", BytesIO(lines.encode())), purpose="batch"
        )
        batch = client.batches.create(
            input_file_id=upload.id, endpoint=OPENAI_ENDPOINT, completion_window=COMPLETION_WINDOW
        )
        return batch.id

    def ended(self, batch_id: str) -> bool:
        status = self.provider.client.batches.retrieve(batch_id).status
        return status in ("completed", "failed", "expired", "cancelled")

    def results(self, batch_id: str) -> list[BatchResult]:
        client = self.provider.client
        batch = client.batches.retrieve(batch_id)
        results = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id is None:
                continue
            for line in client.files.content(file_id).text.splitlines():
                results.append(self._result(json.loads(line)))
        return results

    def _result(self, row: dict) -> BatchResult:
        custom_id, response = row["custom_id"], row.get("response")
        if response is None or response["status_code"] != 200:
            code = (row.get("error") or {}).get("code")
            reason = code or (f"HTTP {response['status_code']}" if response else "no response")
            return _failed(custom_id, ErrorClass.TRANSIENT, f"batch item failed: {reason}")
        from openai.types.chat import ChatCompletion  # the SDK is loaded with the provider

        completion = ChatCompletion.model_validate(response["body"])
        try:
            reply = self.provider.reply_from(completion, response.get("request_id"))
        except ProviderError as error:
            return BatchResult(custom_id=custom_id, error=error)
        return BatchResult(custom_id=custom_id, reply=reply)


def batches_for(provider: BatchProvider) -> AnthropicBatches | OpenAIBatches:
    if isinstance(provider, AnthropicProvider):
        return AnthropicBatches(provider)
    return OpenAIBatches(provider)


class PendingItem(BaseModel):
    custom_id: str
    chunk_id: str
    text: str


class PendingBatch(BaseModel):
    """A submitted batch until its results are collected. Kept in the document's folder (a PHI
    store: it holds the chunk texts the answers are cached under)."""

    batch_id: str
    doc_id: str
    run_id: str  # the run that submitted it; its usage records carry this run id
    provider: str
    model: str
    document_type: DocumentType
    submitted_at: datetime
    items: list[PendingItem]


def pending_path(layout: DataLayout, doc_id: str, batch_id: str) -> Path:
    return layout.document_dir(doc_id) / PENDING_FOLDER / f"{batch_id}.json"


def pending_batches(layout: DataLayout) -> list[PendingBatch]:
    """Every batch submitted and not yet collected, oldest first."""
    found = [
        PendingBatch.model_validate(read_json(path))
        for path in layout.documents.glob(f"*/{PENDING_FOLDER}/*.json")
    ]
    return sorted(found, key=lambda pending: pending.submitted_at)


def pending_for(layout: DataLayout, doc_id: str) -> PendingBatch | None:
    """The document's batch still waiting to be collected, if any."""
    paths = sorted((layout.document_dir(doc_id) / PENDING_FOLDER).glob("*.json"))
    return PendingBatch.model_validate(read_json(paths[0])) if paths else None


def submit_document(
    layout: DataLayout,
    doc_id: str,
    run_id: str,
    chunks: Sequence[tuple[str, str]],
    document_type: DocumentType,
    provider: BatchProvider,
) -> PendingBatch | None:
    """Submit the (chunk_id, text) chunks the response cache cannot answer as one batch; None
    when there is nothing to ask."""
    cache = ResponseCache.of_document(layout, doc_id)
    items = [
        PendingItem(custom_id=chunk_id, chunk_id=chunk_id, text=text)
        for chunk_id, text in chunks
        if cache.get(ResponseCache.key(_request(text, document_type), provider)) is None
    ]
    if not items:
        return None
    submitted_at = datetime.now(UTC)
    batch_id = batches_for(provider).submit(
        [BatchItem(custom_id=i.custom_id, request=_request(i.text, document_type)) for i in items]
    )
    pending = PendingBatch(
        batch_id=batch_id,
        doc_id=doc_id,
        run_id=run_id,
        provider=provider.name,
        model=provider.model,
        document_type=document_type,
        submitted_at=submitted_at,
        items=items,
    )
    write_json(pending_path(layout, doc_id, batch_id), pending)
    return pending


def collect(
    layout: DataLayout, pending: PendingBatch, provider: BatchProvider
) -> list[UsageRecord]:
    """An ended batch's answers into the document's response cache (clean replies only) and its
    usage records, at the batch rate, into the document's usage journal — the next run of the
    document is then served by the cache and re-asks live only the items that failed. The
    pending file is removed last, so a collection cut short is repeated, not lost."""
    collected_at = datetime.now(UTC)
    cache = ResponseCache.of_document(layout, pending.doc_id)
    items = {item.custom_id: item for item in pending.items}
    records = []
    # answers of a model no longer configured are paid for but not served to the new model
    same_model = provider.model == pending.model
    with UsageJournal(layout, pending.doc_id, pending.run_id) as journal:
        for result in batches_for(provider).results(pending.batch_id):
            item = items[result.custom_id]
            if same_model and result.reply is not None and result.reply.clean:
                request = _request(item.text, pending.document_type)
                cache.put(ResponseCache.key(request, provider), result.reply)
            record = _batch_record(pending, item, result, provider, collected_at)
            journal.append(record)
            records.append(record)
    pending_path(layout, pending.doc_id, pending.batch_id).unlink(missing_ok=True)
    return records


def _request(text: str, document_type: DocumentType) -> ExtractionRequest:
    return ExtractionRequest(text=text, document_type=document_type)


def _batch_record(
    pending: PendingBatch,
    item: PendingItem,
    result: BatchResult,
    provider: BatchProvider,
    collected_at: datetime,
) -> UsageRecord:
    reply, error = result.reply, result.error
    usage = reply.usage if reply else (error.usage if error else None) or TokenUsage()
    model = reply.model if reply else pending.model
    cost = price_usd(
        pending.provider,
        model,
        usage,
        at=pending.submitted_at,
        site_price=provider.site_price,
        batch=True,
    )
    return UsageRecord(
        call_id=uuid.uuid4().hex,
        doc_id=pending.doc_id,
        chunk_id=item.chunk_id,
        run_id=pending.run_id,
        provider=pending.provider,
        model=model,
        prompt_version=PROMPT_VERSION,
        document_type=pending.document_type.value,
        attempt=1,
        outcome="ok" if reply else "error",
        response_cache_hit=False,
        **call_fields(reply, error, usage, cost),
        batch_id=pending.batch_id,
        latency_ms=(collected_at - pending.submitted_at).total_seconds() * 1000,
        request_id=reply.request_id if reply else None,
        started_at=pending.submitted_at,
    )
