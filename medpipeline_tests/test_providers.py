"""Anthropic and OpenAI providers through the official SDKs over real HTTP (a local fake server):
structured replies parsed (a wrong-shaped reply is malformed), cut replies split and asked again,
only clean replies cached under a key that follows the prompt and schema, errors classified,
retries and fallback, one usage record per attempt with the tokens the API reported and
genai-prices' cost, provider error texts never passed on."""

import json
from datetime import datetime

import pytest
from genai_prices import Usage, calc_price

from medpipeline.extraction import prompts
from medpipeline.extraction.clients import AnthropicProvider, OpenAIProvider
from medpipeline.extraction.prompts import DocumentType, detect_document_type
from medpipeline.extraction.providers import ExtractionChain, ResponseCache
from medpipeline.extraction.schema import ChunkOutcome
from medpipeline_tests.fake_llm_server import ANTHROPIC, OPENAI, Reply

CHUNK = "DISCHARGE DIAGNOSES:\nCommunity-acquired pneumonia.\nHypertension."


@pytest.fixture
def server(llm_server):
    return llm_server


def anthropic(server, timeout: float = 5.0) -> AnthropicProvider:
    return AnthropicProvider(
        api_key="test-key",
        model="claude-sonnet-5-5",
        base_url=server.base_url,
        timeout=timeout,
        max_output_tokens=1024,
    )


def openai(server) -> OpenAIProvider:
    return OpenAIProvider(
        api_key="test-key",
        model="gpt-5.4-mini",
        base_url=server.base_url + "/v1",
        timeout=5.0,
        max_output_tokens=1024,
    )


class RecordingSleep:
    def __init__(self):
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def chain(*providers, sleep=None) -> ExtractionChain:
    return ExtractionChain(
        providers, max_attempts=3, backoff_seconds=0.01, sleep=sleep or RecordingSleep()
    )


def test_anthropic_tool_use_reply_is_parsed_and_usage_recorded_as_reported(server):
    result = chain(anthropic(server)).extract_chunk("doc", "doc-c000", CHUNK, "run")
    assert result.report.outcome == ChunkOutcome.OK
    assert result.extraction.conditions[0].quote == "DISCHARGE DIAGNOSES:"
    (record,) = result.records
    (served,) = server.served
    assert record.request_id == served.request_id
    assert record.input_tokens == (
        served.usage["input"] - served.usage["cache_read"] - served.usage["cache_write"]
    )
    assert record.cache_read_tokens == served.usage["cache_read"]
    assert record.cache_write_tokens == served.usage["cache_write"]
    assert record.output_tokens == served.usage["output"]
    expected = calc_price(
        Usage(
            input_tokens=served.usage["input"],
            output_tokens=served.usage["output"],
            cache_read_tokens=served.usage["cache_read"] or None,
            cache_write_tokens=served.usage["cache_write"] or None,
        ),
        model_ref="claude-sonnet-5-5",
        provider_id="anthropic",
        genai_request_timestamp=record.started_at,
    )
    assert record.cost_usd == pytest.approx(float(expected.total_price))
    assert record.cost_usd > 0


def test_openai_json_schema_reply_is_parsed_and_cached_tokens_recorded(server):
    result = chain(openai(server)).extract_chunk("doc", "doc-c000", CHUNK, "run")
    assert result.report.outcome == ChunkOutcome.OK
    (record,) = result.records
    (served,) = server.served
    assert (record.input_tokens, record.cache_read_tokens) == (
        served.usage["input"],
        served.usage["cache_read"],
    )
    assert record.request_id == served.request_id


def test_rate_limit_honours_retry_after_then_succeeds(server):
    server.script(ANTHROPIC, Reply(status=429, retry_after=2.5))
    sleep = RecordingSleep()
    result = chain(anthropic(server), sleep=sleep).extract_chunk("doc", "c", CHUNK, "run")
    assert result.report.outcome == ChunkOutcome.OK
    assert [r.error_class for r in result.records] == ["rate_limit", None]
    assert [r.attempt for r in result.records] == [1, 2]
    assert sleep.delays and sleep.delays[0] >= 2.5


@pytest.mark.parametrize("status", [500, 529])
def test_server_errors_are_retried_then_the_next_provider_answers(server, status):
    server.script(ANTHROPIC, *[Reply(status=status)] * 3)
    result = chain(anthropic(server), openai(server)).extract_chunk("doc", "c", CHUNK, "run")
    assert result.report.outcome == ChunkOutcome.FALLBACK
    assert result.report.provider == "openai"
    assert [(r.provider, r.outcome, r.error_class) for r in result.records] == [
        ("anthropic", "error", "transient")
    ] * 3 + [("openai", "ok", None)]


@pytest.mark.parametrize(
    ("status", "error_class"), [(401, "auth"), (403, "auth"), (400, "bad_request")]
)
def test_auth_and_bad_requests_are_not_retried(server, status, error_class):
    server.script(ANTHROPIC, Reply(status=status))
    result = chain(anthropic(server), openai(server)).extract_chunk("doc", "c", CHUNK, "run")
    assert [(r.provider, r.error_class) for r in result.records] == [
        ("anthropic", error_class),
        ("openai", None),
    ]


@pytest.mark.parametrize(
    "raw", ["Sure! Here are the facts: {oops", '{"answer": "the patient has pneumonia"}']
)
def test_malformed_reply_is_retried(server, raw):
    """No JSON at all, or valid JSON without any of the schema's keys: not an empty success."""
    server.script(OPENAI, Reply(raw_text=raw))
    result = chain(openai(server)).extract_chunk("doc", "c", CHUNK, "run")
    assert [r.error_class for r in result.records] == ["malformed", None]
    assert result.records[0].input_tokens > 0, "a malformed reply still cost tokens"
    assert result.extraction.conditions, "the retry's facts, not an empty extraction"


def test_timeout_is_transient(server):
    server.script(ANTHROPIC, Reply(delay=1.5))
    result = chain(anthropic(server, timeout=0.5), openai(server)).extract_chunk(
        "doc", "c", CHUNK, "run"
    )
    assert [(r.provider, r.error_class) for r in result.records] == [
        ("anthropic", "transient"),
        ("anthropic", None),
    ], "a timeout is retried on the same provider"
    assert result.report.outcome == ChunkOutcome.OK


def test_a_chunk_every_provider_fails_is_failed_with_every_attempt_recorded(server):
    server.script(ANTHROPIC, *[Reply(status=500)] * 3)
    server.script(OPENAI, Reply(status=401))
    result = chain(anthropic(server), openai(server)).extract_chunk("doc", "c", CHUNK, "run")
    assert result.report.outcome == ChunkOutcome.FAILED and result.extraction is None
    assert len(result.records) == 4


def test_provider_error_texts_echoing_the_request_are_never_passed_on(server, caplog):
    canary = "Canary Zzyzx MRN 99-1234"
    server.script(ANTHROPIC, Reply(status=400, error_message=f"bad input near '{canary}'"))
    server.script(OPENAI, *[Reply(status=500, error_message=f"failed on {canary}")] * 3)
    result = chain(anthropic(server), openai(server)).extract_chunk("doc", "c", canary, "run")
    assert result.report.outcome == ChunkOutcome.FAILED
    written = " ".join(r.model_dump_json() for r in result.records) + caplog.text
    assert "Zzyzx" not in written
    assert isinstance(result.records[0].started_at, datetime)


def test_context_too_long_splits_the_chunk_and_keeps_both_halves(server):
    server.script(ANTHROPIC, Reply(status=400, error_message="prompt is too long: 210000 tokens"))
    result = chain(anthropic(server)).extract_chunk("doc", "c", CHUNK, "run")
    assert result.report.outcome == ChunkOutcome.OK
    assert [r.error_class for r in result.records] == ["context_too_long", None, None]
    first_half, second_half = (served.user_text for served in server.served[1:])
    assert first_half + second_half == CHUNK
    quotes = [c.quote for c in result.extraction.conditions]
    assert quotes == [first_half.splitlines()[0], second_half.splitlines()[0]]


def test_circuit_breaker_skips_a_provider_that_keeps_failing(server):
    server.script(ANTHROPIC, *[Reply(status=401)] * 10)
    extraction_chain = chain(anthropic(server), openai(server))
    for index in range(5):
        result = extraction_chain.extract_chunk("doc", f"c{index}", f"{CHUNK} {index}", "run")
        assert result.report.outcome == ChunkOutcome.FALLBACK
    anthropic_requests = [s for s in server.served if s.api == ANTHROPIC]
    assert len(anthropic_requests) == extraction_chain.breaker_threshold == 3
    assert extraction_chain.skipped_providers() == ["anthropic"]


def test_response_cache_serves_a_repeat_without_a_call(server, tmp_path):
    cache = ResponseCache(tmp_path / "cache")
    first = ExtractionChain([anthropic(server)], cache=cache).extract_chunk(
        "doc", "c", CHUNK, "run-1"
    )
    requests_after_first = len(server.served)
    again = ExtractionChain([anthropic(server)], cache=cache).extract_chunk(
        "doc", "c", CHUNK, "run-2"
    )
    assert len(server.served) == requests_after_first == 1
    assert again.extraction == first.extraction
    (record,) = again.records
    assert (record.outcome, record.response_cache_hit, record.input_tokens, record.cost_usd) == (
        "cached",
        True,
        0,
        0.0,
    )
    assert again.report.cached
    # another document type (so another system prompt) or text is another key: a real call
    ExtractionChain([anthropic(server)], cache=cache).extract_chunk(
        "doc", "c", CHUNK, "run-3", DocumentType.LAB_REPORT
    )
    assert len(server.served) == 2


def test_response_cache_key_changes_with_the_prompt_text_or_schema_without_a_version_bump(
    server, tmp_path, monkeypatch
):
    cache = ResponseCache(tmp_path / "cache")
    ExtractionChain([anthropic(server)], cache=cache).extract_chunk("doc", "c", CHUNK, "run-1")
    monkeypatch.setattr(prompts, "BASE_PROMPT", prompts.BASE_PROMPT + " Be brief.")
    edited = ExtractionChain([anthropic(server)], cache=cache).extract_chunk(
        "doc", "c", CHUNK, "run-2"
    )
    assert len(server.served) == 2 and not edited.report.cached
    assert "Be brief." in server.served[1].system_text
    other_schema = anthropic(server)
    other_schema.schema_fingerprint = "another schema"
    ExtractionChain([other_schema], cache=cache).extract_chunk("doc", "c", CHUNK, "run-3")
    assert len(server.served) == 3


@pytest.mark.parametrize("api", [ANTHROPIC, OPENAI])
def test_refusal_moves_on_without_retry(server, api):
    refusal = Reply(stop_reason="refusal") if api == ANTHROPIC else Reply(refusal="I can't.")
    server.script(api, refusal)
    first, second = (anthropic(server), openai(server))
    providers = (first, second) if api == ANTHROPIC else (second, first)
    result = chain(*providers).extract_chunk("doc", "c", CHUNK, "run")
    assert [r.error_class for r in result.records] == ["refusal", None]
    assert result.report.outcome == ChunkOutcome.FALLBACK


TRUNCATED = json.dumps(
    {
        "conditions": [
            {"text": "Pneumonia", "quote": "Community-acquired pneumonia."},
            {"text": "Hypertension", "quote": "Hypertension."},
        ]
    }
)[:-30]


def cut_reply(api: str) -> Reply:
    return Reply(raw_text=TRUNCATED, stop_reason="max_tokens" if api == ANTHROPIC else "length")


@pytest.mark.parametrize("api", [ANTHROPIC, OPENAI])
def test_a_reply_cut_by_max_tokens_splits_the_chunk_and_asks_again(server, api, tmp_path):
    server.script(api, cut_reply(api))
    provider = anthropic(server) if api == ANTHROPIC else openai(server)
    cache = ResponseCache(tmp_path / "cache")
    result = ExtractionChain([provider], cache=cache).extract_chunk("doc", "c", CHUNK, "run")
    assert [(r.outcome, r.error_class) for r in result.records] == [
        ("error", "truncated"),
        ("ok", None),
        ("ok", None),
    ]
    assert result.records[0].output_tokens > 0, "the cut reply's tokens were paid for"
    first_half, second_half = (served.user_text for served in server.served[1:])
    assert first_half + second_half == CHUNK
    assert not result.report.truncated
    assert [c.quote for c in result.extraction.conditions] == [
        first_half.splitlines()[0],
        second_half.splitlines()[0],
    ]


@pytest.mark.parametrize("api", [ANTHROPIC, OPENAI])
def test_a_cut_reply_of_text_that_cannot_be_split_keeps_what_was_complete_uncached(
    server, api, tmp_path
):
    unsplittable = "Community-acquired-pneumonia."
    server.script(api, cut_reply(api))
    provider = anthropic(server) if api == ANTHROPIC else openai(server)
    cache = ResponseCache(tmp_path / "cache")
    result = ExtractionChain([provider], cache=cache).extract_chunk(
        "doc", "c", unsplittable, "run-1"
    )
    assert result.report.truncated
    assert result.extraction.conditions[0].text == "Pneumonia"
    assert result.records[0].parse_strategy == "repaired"
    assert list(cache.folder.glob("*.json")) == [], "a truncated reply is never cached"
    again = ExtractionChain([provider], cache=cache).extract_chunk(
        "doc", "c", unsplittable, "run-2"
    )
    assert len(server.served) == 2 and not again.report.cached


def test_a_salvaged_reply_is_used_once_and_never_cached(server, tmp_path):
    one_bad_item = {
        "conditions": [
            {"text": "Pneumonia", "quote": "Community-acquired pneumonia."},
            {"quote": "Hypertension."},  # no text: dropped
        ]
    }
    server.script(ANTHROPIC, Reply(content=one_bad_item))
    cache = ResponseCache(tmp_path / "cache")
    first = ExtractionChain([anthropic(server)], cache=cache).extract_chunk("d", "c", CHUNK, "r1")
    assert first.report.dropped_items == 1
    assert list(cache.folder.glob("*.json")) == []
    second = ExtractionChain([anthropic(server)], cache=cache).extract_chunk("d", "c", CHUNK, "r2")
    assert len(server.served) == 2 and not second.report.cached
    third = ExtractionChain([anthropic(server)], cache=cache).extract_chunk("d", "c", CHUNK, "r3")
    assert len(server.served) == 2 and third.report.cached, "the clean reply was cached"


def test_prompts_fit_the_detected_document_type(server):
    discharge = "DISCHARGE SUMMARY\nHospital course: uneventful.\nDischarge diagnoses: pneumonia."
    assert detect_document_type(discharge) == DocumentType.DISCHARGE_SUMMARY
    chain(openai(server)).extract_chunk(
        "doc", "c", discharge, "run", DocumentType.DISCHARGE_SUMMARY
    )
    assert "discharge summary" in server.served[0].system_text.lower()
