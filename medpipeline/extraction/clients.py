"""The concrete providers: Anthropic (strict tool use), OpenAI and compatible servers (strict JSON
schema response format), and the offline clinical-rules provider that needs no key and no network.

Both APIs get the same strict schema of `ChunkExtraction` (every property required, no extra
properties), built by the OpenAI SDK's public `type_to_response_format_param`; the APIs then
constrain the model's output to it.

The SDKs are imported where a provider is built or an API error classified, not at module load:
loading the code location (which only wires the providers) must not pay for them.
"""

import functools
import hashlib
import json
import logging
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from medpipeline.chunking import count_tokens
from medpipeline.costs import OFFLINE_PROVIDER, SitePrice, TokenUsage
from medpipeline.extraction.errors import ErrorClass, ProviderError
from medpipeline.extraction.grounding import locate_quote
from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.prompts import system_prompt
from medpipeline.extraction.providers import ExtractionRequest, ProviderReply, build_reply
from medpipeline.extraction.schema import FACT_LISTS, ChunkExtraction

if TYPE_CHECKING:
    import anthropic
    import openai

EXTRACTION_TOOL = "record_clinical_facts"
# The SDKs and their HTTP stack log whole requests (document text) at DEBUG, and ANTHROPIC_LOG /
# OPENAI_LOG turn that on: whatever the logging setup, these loggers stay at WARNING.
SDK_LOGGERS = ("anthropic", "openai", "httpx", "httpcore")
OFFLINE_MODEL = "medspacy-rules-v1"


@functools.cache
def extraction_format() -> dict[str, Any]:
    """The strict `response_format` of `ChunkExtraction`; its JSON schema is the tool's too."""
    from openai.lib import type_to_response_format_param

    return dict(type_to_response_format_param(ChunkExtraction))


def fingerprint(payload: Any) -> str:
    """Hash of what is sent to the API as the output schema (part of the response-cache key)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def quiet_sdk_loggers() -> None:
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def classify_api_error(error: Exception) -> ProviderError:
    """Map an SDK exception (either SDK) to an error class, without copying its message."""
    import anthropic
    import openai

    request_id = getattr(error, "request_id", None)
    if isinstance(error, anthropic.APITimeoutError | openai.APITimeoutError):
        return ProviderError(ErrorClass.TRANSIENT, "request timed out", request_id=request_id)
    if isinstance(error, anthropic.APIConnectionError | openai.APIConnectionError):
        return ProviderError(ErrorClass.TRANSIENT, "connection failed", request_id=request_id)
    status = getattr(error, "status_code", None)
    if status is None:
        return ProviderError(ErrorClass.TRANSIENT, type(error).__name__, request_id=request_id)
    headers = error.response.headers if hasattr(error, "response") else {}
    if status in (401, 403):
        return ProviderError(ErrorClass.AUTH, f"HTTP {status}", request_id=request_id)
    if status == 404:
        return ProviderError(ErrorClass.NOT_FOUND, "HTTP 404", request_id=request_id)
    if status in (400, 413, 422):
        body = str(getattr(error, "body", "") or "").lower()
        too_long = any(hint in body for hint in ("too long", "context_length", "maximum context"))
        if too_long:
            error_class = ErrorClass.CONTEXT_TOO_LONG
        else:
            error_class = ErrorClass.UNPROCESSABLE if status == 422 else ErrorClass.BAD_REQUEST
        return ProviderError(error_class, f"HTTP {status}", request_id=request_id)
    error_class = ErrorClass.RATE_LIMIT if status == 429 else ErrorClass.TRANSIENT
    return ProviderError(
        error_class,
        f"HTTP {status}",
        retry_after=retry_after_seconds(headers),
        request_id=request_id,
    )


def retry_after_seconds(headers: Any, now: datetime | None = None) -> float | None:
    """The wait a provider asked for: `retry-after-ms` (OpenAI), else `retry-after` in seconds
    or as an HTTP date; None when absent or unreadable."""
    try:
        return max(float(headers.get("retry-after-ms")) / 1000, 0.0)
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class AnthropicProvider:
    """Claude through the Messages API, structured output by a forced strict tool call (the API
    constrains the tool input to the schema). The fixed system prompt and the tool schema are
    marked for prompt caching."""

    name = "anthropic"
    cacheable = True
    site_price = None  # genai-prices prices Anthropic
    supports_vision = True  # every current Claude model reads images

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None,
        timeout: float,
        max_output_tokens: int,
        strict: bool = True,
    ):
        """`strict=False` lets the model's tool input deviate from the schema (the reply parser
        still checks it): a way out if the API ever rejects the strict schema."""
        import anthropic

        quiet_sdk_loggers()
        self.model = model
        self.max_output_tokens = max_output_tokens
        self.client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )
        self._tool = {
            "name": EXTRACTION_TOOL,
            "description": "Record the clinical facts found in the text.",
            "input_schema": extraction_format()["json_schema"]["schema"],
            "strict": strict,
            "cache_control": {"type": "ephemeral"},
        }
        self.schema_fingerprint = fingerprint(self._tool)

    def request_params(self, request: ExtractionRequest) -> dict[str, Any]:
        """The Messages API parameters for one chunk (live call or batch item alike)."""
        system = system_prompt(request.document_type)
        return {
            "model": self.model,
            "max_tokens": self.max_output_tokens,
            "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
            "tools": [self._tool],
            "tool_choice": {"type": "tool", "name": EXTRACTION_TOOL},
            "messages": [{"role": "user", "content": self._content(request)}],
        }

    @staticmethod
    def _content(request: ExtractionRequest) -> str | list[dict[str, Any]]:
        """The text, or a page image (a base64 `image` block) followed by the instruction."""
        if request.image is None:
            return request.text
        source = {
            "type": "base64",
            "media_type": request.image.media_type,
            "data": request.image.data_base64,
        }
        return [{"type": "image", "source": source}, {"type": "text", "text": request.text}]

    def extract(self, request: ExtractionRequest) -> ProviderReply:
        import anthropic  # loaded by __init__ already

        try:
            response = self.client.messages.create(**self.request_params(request))
        except anthropic.APIError as error:
            raise classify_api_error(error) from None
        return self.reply_from(response, response._request_id)

    @staticmethod
    def reply_from(response: "anthropic.types.Message", request_id: str | None) -> ProviderReply:
        """The extraction and usage of a Messages API reply; a refusal raises `ProviderError`."""
        usage = TokenUsage(
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            cache_read_tokens=response.usage.cache_read_input_tokens or 0,
            cache_write_tokens=response.usage.cache_creation_input_tokens or 0,
        )
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
    """OpenAI Chat Completions (or any compatible server by base URL) with a strict JSON schema.

    `name` is the provider recorded in the ledger: "openai" for OpenAI itself; a compatible
    server is its own provider (`openai_compatible` or the site's name), priced at `site_price`
    (0 by default), never at OpenAI's price. `supports_vision`: the model reads page images
    (OpenAI's do; a compatible server's only when the site says so)."""

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
        site_price: SitePrice | None = None,
        supports_vision: bool = True,
    ):
        import openai

        quiet_sdk_loggers()
        self.name = name
        self.site_price = site_price
        self.supports_vision = supports_vision
        self.model = model
        self.max_output_tokens = max_output_tokens
        self.client = openai.OpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )
        self._response_format = extraction_format()
        self.schema_fingerprint = fingerprint(self._response_format)

    def request_params(self, request: ExtractionRequest) -> dict[str, Any]:
        """The Chat Completions body for one chunk (live call or batch item alike)."""
        return {
            "model": self.model,
            "max_completion_tokens": self.max_output_tokens,
            "response_format": self._response_format,
            "messages": [
                {"role": "system", "content": system_prompt(request.document_type)},
                {"role": "user", "content": self._content(request)},
            ],
        }

    @staticmethod
    def _content(request: ExtractionRequest) -> str | list[dict[str, Any]]:
        """The text, or the instruction followed by the page image as a `data:` URL."""
        if request.image is None:
            return request.text
        url = f"data:{request.image.media_type};base64,{request.image.data_base64}"
        return [
            {"type": "text", "text": request.text},
            {"type": "image_url", "image_url": {"url": url, "detail": "high"}},
        ]

    def extract(self, request: ExtractionRequest) -> ProviderReply:
        import openai  # loaded by __init__ already

        try:
            response = self.client.chat.completions.create(**self.request_params(request))
        except openai.APIError as error:
            raise classify_api_error(error) from None
        return self.reply_from(response, response._request_id)

    @staticmethod
    def reply_from(
        response: "openai.types.chat.ChatCompletion", request_id: str | None
    ) -> ProviderReply:
        """The extraction and usage of a Chat Completions reply; a refusal raises."""
        details = response.usage.prompt_tokens_details if response.usage else None
        usage = TokenUsage(
            input_tokens=response.usage.prompt_tokens if response.usage else 0,
            output_tokens=response.usage.completion_tokens if response.usage else 0,
            cache_read_tokens=(details.cached_tokens or 0) if details else 0,
            cache_write_tokens=(details.cache_write_tokens or 0) if details else 0,
        )
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


def _found_in(extraction: ChunkExtraction, text: str) -> ChunkExtraction:
    """The facts of `extraction` whose quote is in `text`, as grounding would find it there."""
    patient = extraction.patient
    return extraction.model_copy(
        update={
            "patient": patient if patient and locate_quote(patient.quote, text) else None,
            **{
                kind: [fact for fact in getattr(extraction, kind) if locate_quote(fact.quote, text)]
                for kind in FACT_LISTS
            },
        }
    )


class OfflineProvider:
    """Clinical rules (medspaCy sections and ConText, shipped lexicons): no key, no network.

    No API reports its tokens: its usage record holds the chunker's tokenizer count (o200k) so
    analysts can compare volumes with LLM runs; the cost is always 0.
    """

    name = OFFLINE_PROVIDER
    model = OFFLINE_MODEL
    cacheable = False  # cheaper to recompute than to cache; lexicon changes apply at once
    schema_fingerprint = ""
    site_price = None
    supports_vision = False

    def __init__(self) -> None:
        self._extractor = OfflineExtractor()
        self._lock = threading.Lock()  # one spaCy pipeline; not documented as thread-safe

    def extract(self, request: ExtractionRequest) -> ProviderReply:
        """Facts of the chunk, read after its `context` (the heading and header row of the
        section it begins inside) so rows continued from an earlier chunk are read as what they
        are; a fact read from the context alone is dropped (the chunk holding those lines gives
        it, grounded there). The table reader fits the header's columns to rows as wide as it
        or wider only by empty edge columns (`sections_tables.fit_columns`)."""
        text = request.text
        prefix = f"{request.context}\n" if request.context else ""
        with self._lock:
            extraction = self._extractor.extract(prefix + text, request.document_type)
        if prefix:
            extraction = _found_in(extraction, text)
        output_tokens = count_tokens(json.dumps(extraction.model_dump(mode="json")))
        usage = TokenUsage(input_tokens=count_tokens(text), output_tokens=output_tokens)
        return ProviderReply(extraction=extraction, usage=usage, model=self.model)
