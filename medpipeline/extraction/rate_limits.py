"""Per-provider requests and input tokens per minute, held across every run, process and machine.

Each provider has two sliding-window logs in Redis (pyrate-limiter's `RedisBucket`: a Lua script
counts the window and admits a request atomically), shared by every extraction thread of every run
on every worker, so parallel runs together never exceed a provider's limits; a call waits for its
place instead of drawing a 429.
"""

import random
import time
from functools import lru_cache

import redis
from pydantic import BaseModel, Field
from pyrate_limiter import Limiter, Rate, RedisBucket
from pyrate_limiter.buckets.redis_bucket import LuaScript

from medpipeline.chunking import count_tokens
from medpipeline.extraction.prompts import DocumentType, system_prompt
from medpipeline.extraction.providers import ExtractionProvider, ExtractionRequest, ProviderReply

KEY_PREFIX = "medpipeline:rate_limit"
POLL_SECONDS = 0.05


class ProviderRateLimit(BaseModel):
    """A provider's limits (None: no limit of that kind). Providers state theirs per minute;
    `window_seconds` is the window they are counted over. A request reaches the provider a
    little after it is admitted (connection, a busy machine), so admissions are counted over the
    window plus `delivery_margin_seconds`: requests delivered up to that late still fit."""

    requests_per_minute: int | None = Field(default=None, gt=0)
    input_tokens_per_minute: int | None = Field(default=None, gt=0)
    window_seconds: float = Field(default=60.0, gt=0)
    delivery_margin_seconds: float = Field(default=1.0, ge=0)


class SharedRateLimiter:
    """The limits of one provider, counted in Redis (`redis_url`) under `namespace`."""

    def __init__(
        self, redis_url: str, provider: str, limit: ProviderRateLimit, namespace: str = "default"
    ):
        self.limit = limit
        client = redis.Redis.from_url(redis_url)
        key = f"{KEY_PREFIX}:{namespace}:{provider}"
        window = int((limit.window_seconds + limit.delivery_margin_seconds) * 1000)
        self._requests = _limiter(client, f"{key}:requests", limit.requests_per_minute, window)
        self._tokens = _limiter(client, f"{key}:tokens", limit.input_tokens_per_minute, window)

    def acquire(self, input_tokens: int) -> None:
        """Wait until one more request with `input_tokens` fits in both windows, and take it."""
        if self._requests is not None:
            _wait_for(self._requests, 1)
        if self._tokens is not None and self.limit.input_tokens_per_minute is not None:
            # a request larger than the whole window's budget waits for an empty window
            _wait_for(self._tokens, min(input_tokens, self.limit.input_tokens_per_minute))


def _wait_for(limiter: Limiter, weight: int) -> None:
    """Take `weight` from the limiter, trying again with the time of each try.

    Not the limiter's own blocking wait: that stamps the item with the planned end of its sleep,
    and on a busy machine a sleep overruns, so the log would hold times earlier than the real
    ones and admit later requests too soon."""
    while not limiter.try_acquire("call", weight=weight, blocking=False):
        time.sleep(random.uniform(0.5, 1.5) * POLL_SECONDS)


class ServerTimeRedisBucket(RedisBucket):
    """pyrate-limiter's Redis bucket, timed by the Redis server inside its script.

    The stock script stamps a request with the caller's time taken before the round trip, and
    counts the window only up to that time. A caller paused between the two (a busy machine)
    then misses requests admitted meanwhile by other processes, and its own entry leaves the
    window early: 3 processes at limit 5 got 6-9 requests into one window here. With the time
    read in the script and the window counted to its end, admission is exact across processes
    and machines, whatever their clocks."""

    @classmethod
    def init(cls, rates, redis, bucket_key, algorithm=None):  # noqa: ANN001 - the parent's signature
        return cls(rates, redis, bucket_key, redis.script_load(SERVER_TIME_SCRIPT), algorithm)


def _server_time_script() -> str:
    script = LuaScript.PUT_ITEM
    edits = {
        # the caller's time only gives each window's length; now is the server's
        "local now = ARGV[1]\n": "local client_now = tonumber(ARGV[1])\n"
        "    local time = redis.call('TIME')\n"
        "    local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)\n",
        "local window_start = tonumber(ARGV[5 + offset])\n": "local window_start = now - "
        "(client_now - tonumber(ARGV[5 + offset]))\n",
        "redis.call('ZCOUNT', bucket, window_start, now)": "redis.call('ZCOUNT', bucket, "
        "window_start, '+inf')",
    }
    for old, new in edits.items():
        if script.count(old) != 1:
            raise RuntimeError(f"pyrate-limiter's Redis script changed: {old!r} not found once")
        script = script.replace(old, new)
    return script


SERVER_TIME_SCRIPT = _server_time_script()


def _limiter(client: redis.Redis, key: str, limit: int | None, window_ms: int) -> Limiter | None:
    if limit is None:
        return None
    return Limiter(ServerTimeRedisBucket.init([Rate(limit, window_ms)], client, key))


@lru_cache(maxsize=16)
def _prompt_tokens(document_type: DocumentType) -> int:
    return count_tokens(system_prompt(document_type))


def input_tokens_of(request: ExtractionRequest) -> int:
    """Input tokens a request will be charged (system prompt + chunk text, o200k count)."""
    return _prompt_tokens(request.document_type) + count_tokens(request.text)


class RateLimitedProvider:
    """A provider whose every API call first takes its place in the shared limits; otherwise
    the provider itself (name, model and the rest are the wrapped provider's)."""

    def __init__(self, provider: ExtractionProvider, limiter: SharedRateLimiter):
        self._provider = provider
        self._limiter = limiter

    def __getattr__(self, attribute: str):
        return getattr(self._provider, attribute)

    def extract(self, request: ExtractionRequest) -> ProviderReply:
        self._limiter.acquire(input_tokens_of(request))
        return self._provider.extract(request)
