"""Dagster resources: thin configurable wrappers around the plain-Python domain code."""

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
from pydantic import Field

from medpipeline.chunking import ChunkingConfig
from medpipeline.costs import OFFLINE_PROVIDER, OPENAI_COMPATIBLE_PROVIDER, SitePrice
from medpipeline.extraction.clients import AnthropicProvider, OfflineProvider, OpenAIProvider
from medpipeline.extraction.providers import (
    DEFAULT_MAX_RETRY_AFTER_SECONDS,
    ExtractionChain,
    ExtractionProvider,
    ResponseCache,
    UsageRecord,
)
from medpipeline.extraction.rate_limits import (
    ProviderRateLimit,
    RateLimitedProvider,
    SharedRateLimiter,
)
from medpipeline.extraction.vision import ImageFormat, VisionConfig
from medpipeline.pdf import PasswordMap, PdfLimits
from medpipeline.storage import DATA_DIR_ENV, DataLayout

ANTHROPIC = "anthropic"
OPENAI = "openai"
OPENAI_HOST = "api.openai.com"
# Settings a site changes without editing code: environment variable -> LLMResource field.
LLM_SETTINGS_ENV = {
    "MEDPIPELINE_ANTHROPIC_MODEL": "anthropic_model",
    "MEDPIPELINE_ANTHROPIC_STRICT": "anthropic_strict",
    "MEDPIPELINE_OPENAI_MODEL": "openai_model",
    "MEDPIPELINE_OPENAI_PROVIDER": "openai_provider",
    "MEDPIPELINE_FALLBACK_ORDER": "fallback_order",
    "MEDPIPELINE_SITE_INPUT_USD_PER_MTOK": "site_input_usd_per_mtok",
    "MEDPIPELINE_SITE_OUTPUT_USD_PER_MTOK": "site_output_usd_per_mtok",
    "MEDPIPELINE_LLM_TIMEOUT_SECONDS": "timeout_seconds",
    "MEDPIPELINE_MAX_OUTPUT_TOKENS": "max_output_tokens",
    "MEDPIPELINE_MAX_RETRY_AFTER_SECONDS": "max_retry_after_seconds",
    "MEDPIPELINE_CHUNK_CONCURRENCY": "chunk_concurrency",
    "MEDPIPELINE_VISION": "vision",
    "MEDPIPELINE_OPENAI_COMPATIBLE_VISION": "openai_compatible_vision",
    "MEDPIPELINE_VISION_MAX_SIDE_PX": "vision_max_side_px",
    "MEDPIPELINE_VISION_MAX_IMAGE_BYTES": "vision_max_image_bytes",
    "MEDPIPELINE_VISION_IMAGE_FORMAT": "vision_image_format",
    "MEDPIPELINE_VISION_MAX_PAGES": "vision_max_pages",
}


class DocumentStoreResource(dg.ConfigurableResource):
    """The data folder (inbox, quarantine, documents, ledger, warehouse) and input limits."""

    data_dir: str = Field(
        default="data", description=f"Root of the data folder (env {DATA_DIR_ENV})."
    )
    max_pdf_bytes: int = Field(default=100 * 1024 * 1024, description="Larger files: too_large.")
    max_pdf_pages: int = Field(default=500, description="Longer documents: too_large.")
    parse_timeout_seconds: float = Field(
        default=60.0, description="Wall-clock limit per PDF parse."
    )
    ocr_seconds_per_page: float = Field(
        default=20.0, description="Added to the text-extraction limit per page when OCR may run."
    )
    parse_memory_mb: int = Field(default=2048, description="Address-space limit of the parser.")
    chunk_max_tokens: int = Field(default=1500, description="Upper bound of tokens per chunk.")
    pdf_password_file: str | None = Field(
        default=None,
        description="JSON file {doc_id or sha256: password} for encrypted PDFs a site can open "
        "(env MEDPIPELINE_PDF_PASSWORDS); keep it out of the repository.",
    )
    failure_webhook_url: str | None = Field(
        default=None, description="POSTed a JSON record per failed document (ids and reason only)."
    )
    chunk_overlap_tokens: int = Field(default=100, description="Tokens shared by adjacent chunks.")

    @property
    def layout(self) -> DataLayout:
        return DataLayout(Path(self.data_dir).resolve()).ensure()

    @property
    def pdf_limits(self) -> PdfLimits:
        return PdfLimits(
            max_bytes=self.max_pdf_bytes,
            max_pages=self.max_pdf_pages,
            timeout_seconds=self.parse_timeout_seconds,
            ocr_seconds_per_page=self.ocr_seconds_per_page,
            memory_mb=self.parse_memory_mb,
        )

    def password_for(self, doc_id: str, sha256: str) -> str | None:
        return PasswordMap.from_file(self.pdf_password_file).password_for(doc_id, sha256)

    @property
    def chunking(self) -> ChunkingConfig:
        return ChunkingConfig(
            max_tokens=self.chunk_max_tokens, overlap_tokens=self.chunk_overlap_tokens
        )


class LLMResource(dg.ConfigurableResource):
    """The extraction providers in fallback order. A provider without a key is left out; the
    offline clinical-rules provider needs none, so with no key set it is what runs."""

    anthropic_api_key: str | None = Field(default=None, description="From ANTHROPIC_API_KEY.")
    anthropic_model: str = Field(default="claude-sonnet-5-5", description="Claude model.")
    anthropic_base_url: str | None = Field(default=None, description="ANTHROPIC_BASE_URL.")
    anthropic_strict: bool = Field(
        default=True,
        description="Strict tool use: the API constrains the tool input to the schema "
        "(MEDPIPELINE_ANTHROPIC_STRICT=false if an API version rejects the schema).",
    )
    openai_api_key: str | None = Field(default=None, description="From OPENAI_API_KEY.")
    openai_model: str = Field(default="gpt-5.4-mini", description="OpenAI or compatible model.")
    openai_base_url: str | None = Field(
        default=None, description="OPENAI_BASE_URL; any OpenAI-compatible server (local models)."
    )
    openai_provider: str | None = Field(
        default=None,
        description="Provider name of the OpenAI slot in the ledger (MEDPIPELINE_OPENAI_PROVIDER)."
        " Unset: 'openai' for OpenAI's own API, 'openai_compatible' for any other base URL.",
    )
    site_input_usd_per_mtok: float = Field(
        default=0.0,
        description="Price of an OpenAI-compatible server's input tokens (USD per million); "
        "genai-prices is never asked for it.",
    )
    site_output_usd_per_mtok: float = Field(
        default=0.0, description="Price of an OpenAI-compatible server's output tokens."
    )
    fallback_order: list[str] = Field(
        default=[ANTHROPIC, OPENAI, OFFLINE_PROVIDER],
        description="Providers tried in this order for every chunk (anthropic, openai — the "
        "OpenAI SDK slot, also for compatible servers — and offline); MEDPIPELINE_FALLBACK_ORDER "
        "as a comma-separated list.",
    )
    timeout_seconds: float = Field(default=60.0, description="Per API request.")
    max_output_tokens: int = Field(default=4096, description="Per API request.")
    max_attempts: int = Field(default=3, description="Attempts per provider for retryable errors.")
    backoff_seconds: float = Field(
        default=1.0, description="First retry delay; doubles per attempt, with jitter."
    )
    chunk_concurrency: int = Field(default=4, description="Chunks of one document in flight.")
    breaker_threshold: int = Field(
        default=3, description="Consecutive failed chunks after which a provider is skipped."
    )
    rate_limits: dict[str, dict[str, float]] = Field(
        default={},
        description="Per provider: requests_per_minute, input_tokens_per_minute (and "
        "window_seconds, default 60), e.g. {'anthropic': {'requests_per_minute': 50}}; held "
        "across every run and worker through rate_limit_redis_url.",
    )
    rate_limit_redis_url: str | None = Field(
        default=None,
        description="MEDPIPELINE_RATE_LIMIT_REDIS_URL: the Redis every run and worker counts "
        "provider calls in; rate_limits apply only when it is set.",
    )
    max_retry_after_seconds: float = Field(
        default=DEFAULT_MAX_RETRY_AFTER_SECONDS,
        description="Longest retry-after wait honoured; a provider asking for more is treated "
        "as unavailable for that long and the chain moves on.",
    )
    vision: bool = Field(
        default=True,
        description="Send the image of a page OCR could not read to a vision-capable provider "
        "(Anthropic, OpenAI; never the offline one). MEDPIPELINE_VISION=false keeps such pages "
        "flagged only.",
    )
    openai_compatible_vision: bool = Field(
        default=False,
        description="The OpenAI-compatible server's model reads images "
        "(MEDPIPELINE_OPENAI_COMPATIBLE_VISION); off by default.",
    )
    vision_max_side_px: int = Field(default=1568, description="Longest side of a page image.")
    vision_max_image_bytes: int = Field(
        default=1_000_000, description="Encoded page image size cap (quality, then size drops)."
    )
    vision_image_format: ImageFormat = Field(default=ImageFormat.JPEG, description="jpeg or png.")
    vision_max_pages: int = Field(default=20, description="Page images sent per document.")

    @classmethod
    def from_env(cls, **config: object) -> "LLMResource":
        """The resource with the `LLM_SETTINGS_ENV` settings the environment sets (read when the
        definitions load; Launchpad config still overrides them)."""
        for env_name, field_name in LLM_SETTINGS_ENV.items():
            value = os.environ.get(env_name, "").strip()
            if not value:
                continue
            if field_name == "fallback_order":
                config[field_name] = [part.strip() for part in value.split(",") if part.strip()]
            else:
                config[field_name] = value
        return cls(**config)

    @property
    def openai_provider_name(self) -> str:
        if self.openai_provider:
            return self.openai_provider
        if self.openai_base_url is None or urlsplit(self.openai_base_url).hostname == OPENAI_HOST:
            return OPENAI
        return OPENAI_COMPATIBLE_PROVIDER

    @property
    def vision_config(self) -> VisionConfig:
        return VisionConfig(
            max_side_px=self.vision_max_side_px,
            max_image_bytes=self.vision_max_image_bytes,
            image_format=self.vision_image_format,
            max_pages=self.vision_max_pages,
        )

    def providers(self, vision_only: bool = False) -> list[ExtractionProvider]:
        """The chain's providers in fallback order; `vision_only`: those that read page images
        (none when vision is off)."""
        built: list[ExtractionProvider] = []
        for name in self.fallback_order:
            if vision_only and (not self.vision or name == OFFLINE_PROVIDER):
                continue
            if name == ANTHROPIC and self.anthropic_api_key:
                built.append(
                    AnthropicProvider(
                        api_key=self.anthropic_api_key,
                        model=self.anthropic_model,
                        base_url=self.anthropic_base_url,
                        timeout=self.timeout_seconds,
                        max_output_tokens=self.max_output_tokens,
                        strict=self.anthropic_strict,
                    )
                )
            elif name in (OPENAI, self.openai_provider_name) and self.openai_api_key:
                built.append(
                    OpenAIProvider(
                        api_key=self.openai_api_key,
                        model=self.openai_model,
                        base_url=self.openai_base_url,
                        timeout=self.timeout_seconds,
                        max_output_tokens=self.max_output_tokens,
                        name=self.openai_provider_name,
                        site_price=SitePrice(
                            input_usd_per_mtok=self.site_input_usd_per_mtok,
                            output_usd_per_mtok=self.site_output_usd_per_mtok,
                        ),
                        supports_vision=self.openai_provider_name == OPENAI
                        or self.openai_compatible_vision,
                    )
                )
            elif name == OFFLINE_PROVIDER:
                built.append(OfflineProvider())
            elif name not in (ANTHROPIC, OPENAI, self.openai_provider_name):
                raise dg.Failure(
                    f"unknown provider {name!r} in fallback_order (use {ANTHROPIC}, {OPENAI}, "
                    f"{self.openai_provider_name} or {OFFLINE_PROVIDER})",
                    allow_retries=False,
                )
        if vision_only:
            return [provider for provider in built if provider.supports_vision]
        if not built:
            raise dg.Failure(
                "no extraction provider is usable: set an API key or add 'offline' to "
                "fallback_order",
                allow_retries=False,
            )
        return built

    def batch_provider(self, name: str | None = None) -> AnthropicProvider | OpenAIProvider | None:
        """The first provider of the chain with a batch API (Anthropic, OpenAI itself; not a
        compatible server) — or the one called `name`; None when there is none."""
        for provider in self.providers():
            batchable = isinstance(provider, AnthropicProvider) or provider.name == OPENAI
            if batchable and name in (None, provider.name):
                return provider
        return None

    def chain(
        self,
        cache: ResponseCache | None = None,
        on_record: Callable[[UsageRecord], None] | None = None,
        on_unpriced: Callable[[str, str], None] | None = None,
    ) -> ExtractionChain:
        return self._chain(self.providers(), cache, on_record, on_unpriced)

    def vision_chain(
        self,
        cache: ResponseCache | None = None,
        on_record: Callable[[UsageRecord], None] | None = None,
        on_unpriced: Callable[[str, str], None] | None = None,
    ) -> ExtractionChain | None:
        """The chain of the providers that read page images; None when there is none (offline,
        vision off, a compatible server without vision)."""
        providers = self.providers(vision_only=True)
        return self._chain(providers, cache, on_record, on_unpriced) if providers else None

    def _chain(
        self,
        providers: list[ExtractionProvider],
        cache: ResponseCache | None,
        on_record: Callable[[UsageRecord], None] | None,
        on_unpriced: Callable[[str, str], None] | None,
    ) -> ExtractionChain:
        return ExtractionChain(
            [self._rate_limited(provider) for provider in providers],
            on_record=on_record,
            on_unpriced=on_unpriced,
            max_retry_after=self.max_retry_after_seconds,
            max_attempts=self.max_attempts,
            backoff_seconds=self.backoff_seconds,
            breaker_threshold=self.breaker_threshold,
            cache=cache,
        )

    def _rate_limited(self, provider: ExtractionProvider) -> ExtractionProvider:
        limit = self.rate_limits.get(provider.name)
        if not limit or not self.rate_limit_redis_url:
            return provider
        limiter = SharedRateLimiter(
            self.rate_limit_redis_url, provider.name, ProviderRateLimit.model_validate(limit)
        )
        return RateLimitedProvider(provider, limiter)


def env_or_none(name: str) -> dg.EnvVar | None:
    """An `EnvVar` for a set variable (secrets stay out of the run config), else None."""
    return dg.EnvVar(name) if os.environ.get(name) else None
