"""LLM extraction through the real Dagster graph: the fallback chain end to end, the ledger's
tokens equal to what the API reported, genai-prices costs, and a re-run served by the response
cache with zero LLM calls."""

import dagster as dg
import pytest
from genai_prices import Usage, calc_price

from medpipeline import samples
from medpipeline.defs.resources import LLMResource
from medpipeline.warehouse import read_ledger
from medpipeline_tests.fake_llm_server import ANTHROPIC, OPENAI, Reply
from medpipeline_tests.helpers import materialize_document, store_copy


def llm_for(server) -> LLMResource:
    return LLMResource(
        anthropic_api_key="test-key",
        anthropic_base_url=server.base_url,
        openai_api_key="test-key",
        openai_base_url=server.base_url + "/v1",
        chunk_concurrency=3,
    )


def metadata(result: dg.ExecuteInProcessResult) -> dict:
    (materialization,) = result.asset_materializations_for_node("clinical_extractions")
    return {key: value.value for key, value in materialization.metadata.items()}


def test_fallback_chain_ledger_and_response_cache_through_materialize(
    instance, layout, samples_dir, llm_server
):
    llm_server.script(ANTHROPIC, *[Reply(status=401)] * 3)  # a revoked key: breaker opens
    doc_id = store_copy(layout, samples_dir / samples.PROGRESS_FILE)
    first = materialize_document(instance, layout, doc_id, llm_for(llm_server))
    assert first.success
    meta = metadata(first)
    chunks = meta["chunks"]
    assert chunks >= 3
    assert (meta["providers"], meta["chunks_fallback"], meta["offline_only"]) == (
        "openai",
        chunks,
        False,
    )
    assert meta["skipped_providers"] == "anthropic"
    assert meta["document_type"] == "progress_note"

    ledger = read_ledger(layout)
    openai_rows = ledger.filter(ledger["provider"] == OPENAI)
    served = [s for s in llm_server.served if s.api == OPENAI]
    assert sorted(openai_rows["request_id"]) == sorted(s.request_id for s in served)
    assert openai_rows["input_tokens"].sum() == sum(s.usage["input"] for s in served)
    assert openai_rows["cache_read_tokens"].sum() == sum(s.usage["cache_read"] for s in served)
    expected_cost = sum(
        float(
            calc_price(
                Usage(
                    input_tokens=s.usage["input"],
                    output_tokens=s.usage["output"],
                    cache_read_tokens=s.usage["cache_read"],
                ),
                model_ref="gpt-5.4-mini",
                provider_id="openai",
            ).total_price
        )
        for s in served
    )
    assert openai_rows["cost_usd"].sum() == pytest.approx(expected_cost)
    assert ledger.filter(ledger["provider"] == ANTHROPIC)["error_class"].to_list() == ["auth"] * 3

    requests_before = len(llm_server.served)
    second = materialize_document(instance, layout, doc_id, llm_for(llm_server))
    assert second.success
    again = metadata(second)
    assert len(llm_server.served) == requests_before, "no LLM call on an unchanged document"
    assert (again["llm_calls"], again["response_cache_hits"]) == (0, chunks)
    assert again["facts"] == meta["facts"]
