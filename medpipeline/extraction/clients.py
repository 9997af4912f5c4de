"""The concrete providers: Anthropic (tool use), OpenAI and compatible servers (JSON schema
response format), and the offline clinical-rules provider that needs no key and no network."""

import json
import logging
import threading
from typing import Any

import anthropic
import openai
from openai.lib._pydantic import to_strict_json_schema

from medpipeline.chunking import count_tokens
from medpipeline.costs import OFFLINE_PROVIDER, TokenUsage
from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.prompts import system_prompt
from medpipeline.extraction.providers import (
    ErrorClass,
    ExtractionRequest,
    ProviderError,
    ProviderReply,
    build_reply,
)
from medpipeline.extraction.schema import ChunkExtraction

EXTRACTION_TOOL = "record_clinical_facts"
# The SDKs and their HTTP stack log whole requests (document text) at DEBUG, and ANTHROPIC_LOG /
# OPENAI_LOG turn that on: whatever the logging setup, these loggers stay at WARNING.
SDK_LOGGERS = ("anthropic", "openai", "httpx", "httpcore")
OFFLINE_MODEL = "medspacy-rules-v1"


def quiet_sdk_loggers() -> None:
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def classify_api_error(error: Exception) -> ProviderError:
    """Map an SDK exception (either SDK) to an error class, without copying its message."""
    request_id = getattr(error, "request_id", None)
    if isinstance(error, anthropic.APITimeoutError | openai.APITimeoutError):
        return ProviderError(ErrorClass.TRANSIENT, "request timed out", request_id=request_id)
    if isinstance(error, anthropic.APIConnectionError | openai.APIConnectionError):
        return ProviderError(ErrorClass.TRANSIENT, "connection failed", request_id=request_id)
    status = getattr(error, "status_code", None)
    if status is None:
        return ProviderError(ErrorClass.TRANSIENT, type(error).__name__, request_id=request_id)
    headers = error.response.headers if hasattr(error, "response") else {}
    if status == 429:
        return ProviderError(
            ErrorClass.RATE_LIMIT,
            "HTTP 429",
            retry_after=_retry_after(headers),
            request_id=request_id,
        )
    if status in (401, 403):
        return ProviderError(ErrorClass.AUTH, f"HTTP {status}", request_id=request_id)
    if status in (400, 413, 422):
        body = str(getattr(error, "body", "") or "").lower()
        too_long = any(hint in body for hint in ("too long", "context_length", "maximum context"))
        error_class = ErrorClass.CONTEXT_TOO_LONG if too_long else ErrorClass.BAD_REQUEST
        return ProviderError(error_class, f"HTTP {status}", request_id=request_id)
    return ProviderError(ErrorClass.TRANSIENT, f"HTTP {status}", request_id=request_id)


def _retry_after(headers: Any) -> float | None:
    try:
        return float(headers.get("retry-after"))
    except (TypeError, ValueError):
        return None


class AnthropicProvider:
    """Claude through the Messages API, structured output by a forced tool call. The fixed
    system prompt and the tool schema are marked for prompt caching."""

    name = "anthropic"
    cacheable = True

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None,
        timeout: float,
        max_output_tokens: int,
    ):
        quiet_sdk_loggers()
        self.model = model
        self.max_output_tokens = max_output_tokens
        self._client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )
        self._tool = {
            "name": EXTRACTION_TOOL,
            "description": "Record the clinical facts found in the text.",
            "input_schema": ChunkExtraction.model_json_schema(),
            "cache_control": {"type": "ephemeral"},
        }

    def extract(self, request: ExtractionRequest) -> ProviderReply:
        system = system_prompt(request.document_type)
        try:
            response = self._client.messages.create(
                model=self.model,
                max_tokens=self.max_output_tokens,
                system=[{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
                tools=[self._tool],
                tool_choice={"type": "tool", "name": EXTRACTION_TOOL},
                messages=[{"role": "user", "content": request.text}],
            )
        except anthropic.APIError as error:
            raise classify_api_error(error) from None
        usage = TokenUsage(
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            cache_read_tokens=response.usage.cache_read_input_tokens or 0,
            cache_write_tokens=response.usage.cache_creation_input_tokens or 0,
        )
        request_id = response._request_id
        if response.stop_reason == "refusal":
            raise ProviderError(
                ErrorClass.REFUSAL, "the model refused", usage=usage, request_id=request_id
            )
        tool_inputs = [block.input for block in response.content if block.type == "tool_use"]
        text = "".join(block.text for block in response.content if block.type == "text")
        return build_reply(
            tool_inputs[0] if tool_inputs else text,
            usage=usage,
            model=response.model,
            request_id=request_id,
            truncated=response.stop_reason == "max_tokens",
        )


class OpenAIProvider:
    """OpenAI Chat Completions (or any compatible server by base URL) with a strict JSON schema."""

    name = "openai"
    cacheable = True

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None,
        timeout: float,
        max_output_tokens: int,
        name: str = "openai",
    ):
        quiet_sdk_loggers()
        self.name = name
        self.model = model
        self.max_output_tokens = max_output_tokens
        self._client = openai.OpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )
        self._response_format = {
            "type": "json_schema",
            "json_schema": {
                "name": "chunk_extraction",
                "schema": to_strict_json_schema(ChunkExtraction),
                "strict": True,
            },
        }

    def extract(self, request: ExtractionRequest) -> ProviderReply:
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                max_completion_tokens=self.max_output_tokens,
                response_format=self._response_format,
                messages=[
                    {"role": "system", "content": system_prompt(request.document_type)},
                    {"role": "user", "content": request.text},
                ],
            )
        except openai.APIError as error:
            raise classify_api_error(error) from None
        details = response.usage.prompt_tokens_details if response.usage else None
        usage = TokenUsage(
            input_tokens=response.usage.prompt_tokens if response.usage else 0,
            output_tokens=response.usage.completion_tokens if response.usage else 0,
            cache_read_tokens=(details.cached_tokens or 0) if details else 0,
        )
        request_id = response._request_id
        choice = response.choices[0]
        message = choice.message
        if message.refusal:
            raise ProviderError(
                ErrorClass.REFUSAL, "the model refused", usage=usage, request_id=request_id
            )
        return build_reply(
            message.content or "",
            usage=usage,
            model=response.model,
            request_id=request_id,
            truncated=choice.finish_reason == "length",
        )


class OfflineProvider:
    """Clinical rules (medspaCy sections and ConText, shipped lexicons): no key, no network.

    No API reports its tokens: its usage record holds the chunker's tokenizer count (o200k) so
    analysts can compare volumes with LLM runs; the cost is always 0.
    """

    name = OFFLINE_PROVIDER
    model = OFFLINE_MODEL
    cacheable = False  # cheaper to recompute than to cache; lexicon changes apply at once

    def __init__(self) -> None:
        self._extractor = OfflineExtractor()
        self._lock = threading.Lock()  # one spaCy pipeline; not documented as thread-safe

    def extract(self, request: ExtractionRequest) -> ProviderReply:
        text = request.text
        with self._lock:
            extraction = self._extractor.extract(text, request.document_type)
        output_tokens = count_tokens(json.dumps(extraction.model_dump(mode="json")))
        usage = TokenUsage(input_tokens=count_tokens(text), output_tokens=output_tokens)
        return ProviderReply(extraction=extraction, usage=usage, model=self.model)
