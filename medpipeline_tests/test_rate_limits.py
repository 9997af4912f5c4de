"""A provider's requests and input tokens per window hold across processes: several processes
calling the local wire-format server through the official SDK, each with its own limiter on the
shared Redis, never together exceed the limit in any window, counted where the requests arrive."""

import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from medpipeline.chunking import count_tokens
from medpipeline.extraction.clients import AnthropicProvider
from medpipeline.extraction.prompts import DocumentType, system_prompt
from medpipeline.extraction.providers import ExtractionRequest
from medpipeline.extraction.rate_limits import (
    ProviderRateLimit,
    RateLimitedProvider,
    SharedRateLimiter,
)
from medpipeline_tests.fake_llm_server import Served
from medpipeline_tests.services import ensure_redis

PROCESSES = 3
CALLS_PER_PROCESS = 6
WINDOW_SECONDS = 2.0
CHUNK = "Assessment: stable angina, continue aspirin 81 mg daily. " * 20


def _call_through_limit(
    base_url: str, redis_url: str, namespace: str, limit: dict | None, texts: list[str]
) -> None:
    """One worker process: its chunks through the Anthropic SDK, 3 in flight, limited or not."""
    provider = AnthropicProvider(
        api_key="test",
        model="claude-sonnet-5-5",
        base_url=base_url,
        timeout=30,
        max_output_tokens=512,
    )
    if limit is not None:
        limiter = SharedRateLimiter(
            redis_url, "anthropic", ProviderRateLimit.model_validate(limit), namespace
        )
        provider = RateLimitedProvider(provider, limiter)
    requests = [
        ExtractionRequest(text=text, document_type=DocumentType.PROGRESS_NOTE) for text in texts
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(provider.extract, requests))


@pytest.fixture(scope="module")
def processes():
    """Worker processes (spawned once for the module: starting them is the slow part)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=PROCESSES, mp_context=spawn) as pool:
        yield pool


def _texts() -> list[list[str]]:
    return [
        [f"Visit {process}-{call}. {CHUNK}" for call in range(CALLS_PER_PROCESS)]
        for process in range(PROCESSES)
    ]


def _run_processes(pool, llm_server, limit: dict | None) -> list[Served]:
    """Each process extracts its own chunks, all at once; the requests as the server saw them."""
    redis_url = ensure_redis() + "/0"
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    futures = [
        pool.submit(_call_through_limit, llm_server.base_url, redis_url, namespace, limit, own)
        for own in _texts()
    ]
    for future in futures:
        future.result()
    assert len(llm_server.served) == PROCESSES * CALLS_PER_PROCESS
    return llm_server.served


def _most_in_any_window(served: list[Served], weight) -> float:
    """The largest total weight of requests that arrived within one window of each other."""
    arrivals = sorted(served, key=lambda request: request.received_at)
    return max(
        sum(
            weight(later)
            for later in arrivals
            if 0 <= later.received_at - first.received_at < WINDOW_SECONDS
        )
        for first in arrivals
    )


def _input_tokens(request: Served) -> int:
    return count_tokens(request.system_text) + count_tokens(request.user_text)


def test_requests_per_window_hold_across_processes(processes, llm_server):
    llm_server.latency = 0.2
    unlimited = _run_processes(processes, llm_server, None)
    # without the limiter this load is well over the limit used below
    assert _most_in_any_window(unlimited, lambda _: 1) > 5
    llm_server.reset()
    limit = {"requests_per_minute": 5, "window_seconds": WINDOW_SECONDS}
    limited = _run_processes(processes, llm_server, limit)
    assert _most_in_any_window(limited, lambda _: 1) <= 5


def test_input_tokens_per_window_hold_across_processes(processes, llm_server):
    llm_server.latency = 0.2
    prompt = count_tokens(system_prompt(DocumentType.PROGRESS_NOTE))
    per_request = max(prompt + count_tokens(text) for own in _texts() for text in own)
    budget = per_request * 4  # about four requests' input per window
    limit = {"input_tokens_per_minute": budget, "window_seconds": WINDOW_SECONDS}
    limited = _run_processes(processes, llm_server, limit)
    assert _most_in_any_window(limited, _input_tokens) <= budget
    assert _most_in_any_window(limited, lambda _: 1) >= 3  # the budget is used, not starved


@pytest.fixture(autouse=True)
def _no_latency_after(llm_server):
    yield
    llm_server.latency = 0.0
