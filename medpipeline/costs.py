"""Pricing of LLM calls with genai-prices (date-aware), from the token counts APIs report.

Only the public APIs genai-prices prices (`GENAI_PRICED`) are looked up there. Any other provider
name — an OpenAI-compatible server set by base URL (`openai_compatible`, or a name the site sets)
— is priced at the site's configured per-token price, 0 by default: a local model must never be
billed at OpenAI's price because it shares a name with an OpenAI model. A model genai-prices does
not know has no price: its cost is None (NULL in the ledger and warehouse), never a crash.
"""

import threading
from datetime import datetime

from genai_prices import Usage, calc_price
from genai_prices.data_snapshot import get_snapshot
from pydantic import BaseModel

OFFLINE_PROVIDER = "offline"
OPENAI_COMPATIBLE_PROVIDER = "openai_compatible"
GENAI_PRICED = {"anthropic", "openai"}

# Anthropic reports `input_tokens` without cache reads/writes; OpenAI's `prompt_tokens` include
# cached tokens. genai-prices wants the total, so providers whose count excludes the cache are
# normalised here and the ledger keeps the figures exactly as reported.
INPUT_EXCLUDES_CACHE = {"anthropic"}
_PER_MTOK = 1_000_000
_unpriced_seen: set[tuple[str, str, str]] = set()
_unpriced_lock = threading.Lock()


class TokenUsage(BaseModel):
    """Token counts exactly as the provider's API reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


class SitePrice(BaseModel):
    """A site's own price for a provider genai-prices does not cover (USD per million tokens;
    cached prompt tokens are billed as input). All zero: a local model costs nothing per token."""

    input_usd_per_mtok: float = 0.0
    output_usd_per_mtok: float = 0.0

    def cost(self, usage: TokenUsage) -> float:
        return (
            usage.input_tokens * self.input_usd_per_mtok
            + usage.output_tokens * self.output_usd_per_mtok
        ) / _PER_MTOK


def genai_prices_knows(provider: str, model: str) -> bool:
    """Whether genai-prices has `model` under `provider` (its own lookup, as `calc_price` does)."""
    try:
        get_snapshot().find_provider_model(model, None, provider, None)
    except LookupError:
        return False
    return True


def price_usd(
    provider: str,
    model: str,
    usage: TokenUsage,
    *,
    at: datetime,
    site_price: SitePrice | None = None,
    batch: bool = False,
) -> float | None:
    """Cost of one call in USD; None when the price is unknown (a model genai-prices lacks).

    0 for the offline provider and for calls with no tokens; `site_price` (default 0) for every
    provider genai-prices does not price; `batch`: genai-prices' batch-processing rate."""
    if provider == OFFLINE_PROVIDER or (usage.input_tokens == 0 and usage.output_tokens == 0):
        return 0.0
    if provider not in GENAI_PRICED:
        return (site_price or SitePrice()).cost(usage)
    if not genai_prices_knows(provider, model):
        return None
    total_input = usage.input_tokens
    if provider in INPUT_EXCLUDES_CACHE:
        total_input += usage.cache_read_tokens + usage.cache_write_tokens
    price = calc_price(
        Usage(
            input_tokens=total_input,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens or None,
            cache_write_tokens=usage.cache_write_tokens or None,
        ),
        model_ref=model,
        provider_id=provider,
        genai_request_timestamp=at,
        price_context={"processing": "batch"} if batch else None,
    )
    return float(price.total_price)


def first_unpriced(run_id: str, provider: str, model: str) -> bool:
    """True the first time this process meets `model` without a price in run `run_id` (so the
    run warns once per model, however many documents and threads meet it)."""
    key = (run_id, provider, model)
    with _unpriced_lock:
        if key in _unpriced_seen:
            return False
        _unpriced_seen.add(key)
        return True
