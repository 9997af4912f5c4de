"""Provider errors against the fake server through the official SDKs: the wait a provider asks
for is honoured in each of its forms (`retry-after-ms`, `retry-after` seconds, `retry-after` as an
HTTP date) up to a cap; a longer wait makes the provider unavailable for that long and the chain
moves on; 404 and 422 are permanent for the provider (no retry, skipped for the rest of the run)."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from medpipeline.extraction.clients import AnthropicProvider, OpenAIProvider
from medpipeline.extraction.providers import ExtractionChain
from medpipeline.extraction.schema import ChunkOutcome
from medpipeline_tests.fake_llm_server import ANTHROPIC, OPENAI, Reply

CHUNK = "DISCHARGE DIAGNOSES:\nCommunity-acquired pneumonia.\nHypertension."
JITTER = 0.05  # backoff_seconds / 2: the most the chain adds to a requested wait


def providers(server):
    first = AnthropicProvider(
        api_key="k", model="claude-sonnet-5-5", base_url=server.base_url, timeout=5.0,
        max_output_tokens=1024,
    )  # fmt: skip
    second = OpenAIProvider(
        api_key="k", model="gpt-5.4-mini", base_url=server.base_url + "/v1", timeout=5.0,
        max_output_tokens=1024,
    )  # fmt: skip
    return first, second


def chain_of(server, delays: list[float], max_retry_after: float = 60.0) -> ExtractionChain:
    return ExtractionChain(
        providers(server),
        backoff_seconds=0.1,
        max_retry_after=max_retry_after,
        sleep=delays.append,
    )


@pytest.mark.parametrize("api", [ANTHROPIC, OPENAI])
@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        ({"retry-after-ms": "2500"}, 2.5, 2.5),
        ({"retry-after": "7"}, 7.0, 7.0),
        # milliseconds win over seconds when both are sent (OpenAI sends both)
        ({"retry-after-ms": "1200", "retry-after": "2"}, 1.2, 1.2),
    ],
)
def test_the_wait_the_provider_asks_for_is_honoured(llm_server, api, headers, low, high):
    llm_server.script(api, Reply(status=429, headers=headers))
    delays: list[float] = []
    extraction_chain = chain_of(llm_server, delays)
    if api == OPENAI:
        extraction_chain.providers.reverse()
    result = extraction_chain.extract_chunk("doc", "c", CHUNK, "run")
    assert [(r.provider, r.error_class) for r in result.records] == [
        (api, "rate_limit"),
        (api, None),
    ]
    (delay,) = delays
    assert low <= delay <= high + JITTER


def test_an_http_date_retry_after_is_honoured(llm_server):
    when = datetime.now(UTC) + timedelta(seconds=30)
    llm_server.script(
        ANTHROPIC, Reply(status=529, headers={"retry-after": format_datetime(when, usegmt=True)})
    )
    delays: list[float] = []
    result = chain_of(llm_server, delays).extract_chunk("doc", "c", CHUNK, "run")
    assert [r.error_class for r in result.records] == ["transient", None]
    (delay,) = delays
    assert 25.0 <= delay <= 30.0 + JITTER  # whole seconds in the header; the test ran in between


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "120"},
        {"retry-after-ms": "90000"},
        {"retry-after": format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)},
    ],
)
def test_a_wait_beyond_the_cap_makes_the_provider_unavailable_and_the_chain_moves_on(
    llm_server, headers
):
    llm_server.script(ANTHROPIC, Reply(status=429, headers=headers))
    delays: list[float] = []
    extraction_chain = chain_of(llm_server, delays, max_retry_after=60.0)
    result = extraction_chain.extract_chunk("doc", "c1", CHUNK, "run")
    assert delays == [], "no sleep for a wait beyond the cap"
    assert result.report.outcome == ChunkOutcome.FALLBACK
    assert [(r.provider, r.error_class) for r in result.records] == [
        (ANTHROPIC, "rate_limit"),
        (OPENAI, None),
    ]
    assert extraction_chain.skipped_providers() == [ANTHROPIC]
    later = extraction_chain.extract_chunk("doc", "c2", CHUNK + " 2", "run")
    assert [r.provider for r in later.records] == [OPENAI], "unavailable: not asked again"


def test_the_cap_is_configurable(llm_server):
    llm_server.script(ANTHROPIC, Reply(status=429, headers={"retry-after": "120"}))
    delays: list[float] = []
    result = chain_of(llm_server, delays, max_retry_after=300.0).extract_chunk(
        "doc", "c", CHUNK, "run"
    )
    assert [r.provider for r in result.records] == [ANTHROPIC, ANTHROPIC]
    assert 120.0 <= delays[0] <= 120.0 + JITTER


@pytest.mark.parametrize("api", [ANTHROPIC, OPENAI])
@pytest.mark.parametrize(("status", "error_class"), [(404, "not_found"), (422, "unprocessable")])
def test_404_and_422_are_permanent_for_the_provider(llm_server, api, status, error_class):
    llm_server.script(api, Reply(status=status, error_message="model not found"))
    delays: list[float] = []
    extraction_chain = chain_of(llm_server, delays)
    if api == OPENAI:
        extraction_chain.providers.reverse()
    other = OPENAI if api == ANTHROPIC else ANTHROPIC
    first = extraction_chain.extract_chunk("doc", "c1", CHUNK, "run")
    assert [(r.provider, r.error_class) for r in first.records] == [
        (api, error_class),
        (other, None),
    ], "not retried"
    assert delays == []
    second = extraction_chain.extract_chunk("doc", "c2", CHUNK + " 2", "run")
    assert [r.provider for r in second.records] == [other], "skipped for the rest of the run"
    assert [s.api for s in llm_server.served].count(api) == 1
