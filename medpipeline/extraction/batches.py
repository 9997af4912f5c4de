"""Chunks sent to the Anthropic Message Batches or OpenAI Batch API (half price, answered within
24 h) instead of live calls, and the answers read back through the same reply parsing as a live
call. Submitting and collecting are separate calls so nothing waits for a batch to end: a caller
keeps the batch id, asks `ended` now and then, and collects once.

An item that errored or expired comes back as a `ProviderError` (its chunk goes to a live call).
"""

import json
from collections.abc import Sequence
from io import BytesIO

import openai
from pydantic import BaseModel, ConfigDict

from medpipeline.extraction.clients import AnthropicProvider, OpenAIProvider
from medpipeline.extraction.errors import ErrorClass, ProviderError
from medpipeline.extraction.providers import ExtractionRequest, ProviderReply

OPENAI_ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"


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
        completion = openai.types.chat.ChatCompletion.model_validate(response["body"])
        try:
            reply = self.provider.reply_from(completion, response.get("request_id"))
        except ProviderError as error:
            return BatchResult(custom_id=custom_id, error=error)
        return BatchResult(custom_id=custom_id, reply=reply)


def batches_for(provider: AnthropicProvider | OpenAIProvider) -> AnthropicBatches | OpenAIBatches:
    if isinstance(provider, AnthropicProvider):
        return AnthropicBatches(provider)
    return OpenAIBatches(provider)
