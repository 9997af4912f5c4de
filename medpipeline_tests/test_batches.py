"""Batch submission (issue 13 point 5, first part) through the official SDKs against the fake
server's Anthropic Message Batches and OpenAI Batch/Files wire formats: chunks go out as one
batch, the batch is polled without waiting, and each item's answer comes back through the same
reply parsing as a live call with the tokens the API reported; errored and expired items come
back as errors (for a live call), and batch calls are priced at genai-prices' batch rate."""

from datetime import UTC, datetime

import pytest

from medpipeline.costs import TokenUsage, price_usd
from medpipeline.extraction.batches import BatchItem, batches_for
from medpipeline.extraction.clients import AnthropicProvider, OpenAIProvider
from medpipeline.extraction.providers import ExtractionRequest
from medpipeline_tests.fake_llm_server import ANTHROPIC, OPENAI, Reply

TEXTS = {
    "doc-c000": "DISCHARGE DIAGNOSES:\nCommunity-acquired pneumonia.",
    "doc-c001": "MEDICATIONS:\nAmoxicillin 500 mg three times daily.",
    "doc-c002": "ALLERGIES:\nPenicillin (rash).",
}


def provider_for(api: str, server):
    if api == ANTHROPIC:
        return AnthropicProvider(
            api_key="k", model="claude-sonnet-5-5", base_url=server.base_url, timeout=5.0,
            max_output_tokens=1024,
        )  # fmt: skip
    return OpenAIProvider(
        api_key="k", model="gpt-5.4-mini", base_url=server.base_url + "/v1", timeout=5.0,
        max_output_tokens=1024,
    )  # fmt: skip


@pytest.mark.parametrize("api", [ANTHROPIC, OPENAI])
def test_a_batch_round_trip_parses_each_answer_like_a_live_call(llm_server, api):
    llm_server.batches.polls_before_end = 1
    llm_server.batches.expired_custom_ids.add("doc-c002")
    llm_server.script(api, Reply(), Reply(status=500))  # c000 answered, c001 errored
    batches = batches_for(provider_for(api, llm_server))
    items = [
        BatchItem(custom_id=custom_id, request=ExtractionRequest(text=text))
        for custom_id, text in TEXTS.items()
    ]
    batch_id = batches.submit(items)
    assert not batches.ended(batch_id), "in progress at the first poll: nobody waits"
    assert batches.ended(batch_id)
    results = {result.custom_id: result for result in batches.results(batch_id)}
    assert set(results) == set(TEXTS)

    answered = results["doc-c000"]
    assert answered.error is None
    assert answered.reply.extraction.conditions[0].quote == "DISCHARGE DIAGNOSES:"
    served = next(s for s in llm_server.served if s.status == 200)
    assert served.user_text == TEXTS["doc-c000"]
    assert answered.reply.usage.output_tokens == served.usage["output"]
    assert answered.reply.usage.cache_read_tokens == served.usage["cache_read"]
    request = served.body
    if api == ANTHROPIC:
        assert request["tools"][0]["strict"] is True, "the live call's parameters"
    else:
        assert request["response_format"]["json_schema"]["strict"] is True

    assert results["doc-c001"].reply is None and results["doc-c001"].error is not None
    assert results["doc-c002"].reply is None and "expired" in str(results["doc-c002"].error)
    assert len(llm_server.served) == 2, "the expired item was never answered"


@pytest.mark.parametrize(
    ("provider", "model"), [(ANTHROPIC, "claude-sonnet-5-5"), (OPENAI, "gpt-5.4-mini")]
)
def test_batch_calls_are_priced_at_half_the_live_rate(provider, model):
    usage = TokenUsage(input_tokens=120_000, output_tokens=9_000, cache_read_tokens=0)
    at = datetime(2026, 11, 2, 12, tzinfo=UTC)
    live = price_usd(provider, model, usage, at=at)
    batch = price_usd(provider, model, usage, at=at, batch=True)
    assert live > 0
    assert batch == pytest.approx(live / 2)
