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
    max_retry_after_seconds: float = Field(
        default=DEFAULT_MAX_RETRY_AFTER_SECONDS,
        description="Longest retry-after wait honoured; a provider asking for more is treated "
        "as unavailable for that long and the chain moves on.",
    )

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

    def providers(self) -> list[ExtractionProvider]:
        built: list[ExtractionProvider] = []
        for name in self.fallback_order:
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
        return ExtractionChain(
            self.providers(),
            on_record=on_record,
            on_unpriced=on_unpriced,
            max_retry_after=self.max_retry_after_seconds,
            max_attempts=self.max_attempts,
            backoff_seconds=self.backoff_seconds,
            breaker_threshold=self.breaker_threshold,
            cache=cache,
        )


def env_or_none(name: str) -> dg.EnvVar | None:
    """An `EnvVar` for a set variable (secrets stay out of the run config), else None."""
    return dg.EnvVar(name) if os.environ.get(name) else None
