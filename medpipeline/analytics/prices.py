"""Unit prices (USD per token, by token kind) from genai-prices, for cost breakdowns and forecasts.

The ledger's `cost_usd` is the authoritative price of each call (computed at call time by
`medpipeline.costs.price_usd`). The warehouse splits it by token kind with these unit prices, and
the forecast prices tokens that have not been spent yet, at standard or batch rates.
"""

from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from functools import cache

from genai_prices import Usage, calc_price
from genai_prices.types import TieredPrices
from pydantic import BaseModel

from medpipeline.costs import GENAI_PRICED, OFFLINE_PROVIDER

_PER_MTOK = Decimal(1_000_000)


class Processing(StrEnum):
    STANDARD = "standard"
    BATCH = "batch"


class UnitPrices(BaseModel):
    """USD per token of each kind; None when genai-prices does not know the model."""

    input: float
    output: float
    cache_read: float
    cache_write: float


ZERO = UnitPrices(input=0.0, output=0.0, cache_read=0.0, cache_write=0.0)


def _per_token(price: Decimal | TieredPrices | None, fallback: float) -> float:
    if price is None:
        return fallback
    base = price.base if isinstance(price, TieredPrices) else price
    return float(base / _PER_MTOK)


@cache
def unit_prices(
    provider: str, model: str, day: date, processing: Processing = Processing.STANDARD
) -> UnitPrices | None:
    """Base-tier unit prices of `model` on `day` (noon UTC); ZERO for the offline provider; None
    for a provider genai-prices does not price (e.g. `openai_compatible`: its name would otherwise
    match OpenAI's) and for a model it does not know."""
    if provider == OFFLINE_PROVIDER:
        return ZERO
    if provider not in GENAI_PRICED:
        return None
    context = {"processing": "batch"} if processing is Processing.BATCH else None
    try:
        calculation = calc_price(
            Usage(input_tokens=1),
            model_ref=model,
            provider_id=provider,
            genai_request_timestamp=datetime.combine(day, time(12), tzinfo=UTC),
            price_context=context,
        )
    except LookupError:
        return None
    prices = calculation.model_price
    input_price = _per_token(prices.input_mtok, 0.0)
    return UnitPrices(
        input=input_price,
        output=_per_token(prices.output_mtok, 0.0),
        # a model without a cache price bills cached tokens as input
        cache_read=_per_token(prices.cache_read_mtok, input_price),
        cache_write=_per_token(prices.cache_write_mtok, input_price),
    )
