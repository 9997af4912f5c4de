"""The fake LLM server is faithful where the ledger depends on it: its usage objects have each
API's current shape (every field the official SDK types declare as required, nothing they do not
know), Anthropic reports cache writes then reads only for requests that carry `cache_control`, and
the providers really send `cache_control` and a strict schema (checked on the recorded request)."""

import anthropic
import openai
import pytest

from medpipeline.extraction.clients import AnthropicProvider, OpenAIProvider
from medpipeline.extraction.providers import ExtractionChain
from medpipeline_tests.fake_llm_server import ANTHROPIC, OPENAI

CHUNK = "DISCHARGE DIAGNOSES:\nCommunity-acquired pneumonia.\nHypertension."


def required_fields(model: type) -> set[str]:
    return {name for name, info in model.model_fields.items() if info.is_required()}


def test_anthropic_usage_has_the_sdk_shape(llm_server):
    client = anthropic.Anthropic(api_key="k", base_url=llm_server.base_url, max_retries=0)
    raw = client.messages.with_raw_response.create(
        model="claude-sonnet-5-5",
        max_tokens=64,
        messages=[{"role": "user", "content": CHUNK}],
    )
    usage = raw.http_response.json()["usage"]
    assert (
        required_fields(anthropic.types.Usage)
        <= usage.keys()
        <= (anthropic.types.Usage.model_fields.keys())
    )
    assert set(usage["cache_creation"]) <= anthropic.types.CacheCreation.model_fields.keys()
    parsed = raw.parse().usage
    assert (parsed.cache_creation_input_tokens, parsed.cache_read_input_tokens) == (0, 0), (
        "no cache_control sent: nothing cached"
    )


def test_openai_usage_has_the_sdk_shape(llm_server):
    client = openai.OpenAI(api_key="k", base_url=llm_server.base_url + "/v1", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-5.4-mini", messages=[{"role": "user", "content": CHUNK}]
    )
    usage = raw.http_response.json()["usage"]
    types = openai.types
    assert required_fields(types.CompletionUsage) <= usage.keys()
    assert usage.keys() <= types.CompletionUsage.model_fields.keys()
    details = types.completion_usage
    assert usage["prompt_tokens_details"].keys() <= details.PromptTokensDetails.model_fields.keys()
    assert (
        usage["completion_tokens_details"].keys()
        <= details.CompletionTokensDetails.model_fields.keys()
    )


def test_cache_control_writes_the_prompt_cache_once_then_reads_it(llm_server):
    provider = AnthropicProvider(
        api_key="k", model="claude-sonnet-5-5", base_url=llm_server.base_url, timeout=5.0,
        max_output_tokens=1024,
    )  # fmt: skip
    extraction_chain = ExtractionChain([provider])
    first = extraction_chain.extract_chunk("doc", "c1", CHUNK, "run").records[0]
    second = extraction_chain.extract_chunk("doc", "c2", CHUNK + " again", "run").records[0]
    request = llm_server.served[0].body
    assert request["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request["tools"][0]["cache_control"] == {"type": "ephemeral"}
    assert first.cache_write_tokens > 0 and first.cache_read_tokens == 0
    assert second.cache_write_tokens == 0 and second.cache_read_tokens == first.cache_write_tokens
    assert first.cost_usd > second.cost_usd, "a cache write costs more than a cache read"


@pytest.mark.parametrize("api", [ANTHROPIC, OPENAI])
def test_the_schema_is_sent_strict(llm_server, api):
    if api == ANTHROPIC:
        provider = AnthropicProvider(
            api_key="k", model="claude-sonnet-5-5", base_url=llm_server.base_url, timeout=5.0,
            max_output_tokens=1024,
        )  # fmt: skip
    else:
        provider = OpenAIProvider(
            api_key="k", model="gpt-5.4-mini", base_url=llm_server.base_url + "/v1",
            timeout=5.0, max_output_tokens=1024,
        )  # fmt: skip
    ExtractionChain([provider]).extract_chunk("doc", "c", CHUNK, "run")
    body = llm_server.served[0].body
    if api == ANTHROPIC:
        (tool,) = body["tools"]
        assert tool["strict"] is True
        assert body["tool_choice"] == {"type": "tool", "name": tool["name"]}
        schema = tool["input_schema"]
    else:
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["strict"] is True
        schema = body["response_format"]["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"]), "strict: every key required"
