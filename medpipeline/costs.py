"""Pricing of LLM calls with genai-prices (date-aware), from the token counts APIs report."""

from datetime import datetime

from genai_prices import Usage, calc_price
from pydantic import BaseModel

OFFLINE_PROVIDER = "offline"

# Anthropic reports `input_tokens` without cache reads/writes; OpenAI's `prompt_tokens` include
# cached tokens. genai-prices wants the total, so providers whose count excludes the cache are
# normalised here and the ledger keeps the figures exactly as reported.
INPUT_EXCLUDES_CACHE = {"anthropic"}


class TokenUsage(BaseModel):
    """Token counts exactly as the provider's API reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


def price_usd(provider: str, model: str, usage: TokenUsage, *, at: datetime) -> float:
    """Cost of one call in USD; 0 for the offline provider and for calls with no tokens."""
    if provider == OFFLINE_PROVIDER or (usage.input_tokens == 0 and usage.output_tokens == 0):
        return 0.0
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
    )
    return float(price.total_price)
