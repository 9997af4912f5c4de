"""Batch submission (issue 13 point 5, first part) through the official SDKs against the fake
server's Anthropic Message Batches and OpenAI Batch/Files wire formats: chunks go out as one
batch, the batch is polled without waiting, and each item's answer comes back through the same
reply parsing as a live call with the tokens the API reported; errored and expired items come
back as errors (for a live call), and batch calls are priced at genai-prices' batch rate. A
collected batch fills the response cache and the usage journal, so the document's next run
(materialize) makes live calls only for the failed items and its ledger carries the batch rows.
Through Dagster: a run tagged for batch submits and ends without waiting (extraction and bundle
not materialized), `llm_batch_sensor` polls, collects and requests the rest, which completes."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl
import pytest
from genai_prices import Usage, calc_price

from medpipeline import samples
from medpipeline.artifacts import load_chunks, load_text
from medpipeline.costs import TokenUsage, price_usd
from medpipeline.definitions import document_assets
from medpipeline.defs.extraction.assets import BATCH_MODE, LLM_MODE_TAG
from medpipeline.defs.extraction.sensors import llm_batch_sensor
from medpipeline.defs.intake.assets import raw_document
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import LLMResource
from medpipeline.defs.text.assets import document_chunks, document_text
from medpipeline.extraction.batches import (
    BatchItem,
    batches_for,
    collect,
    pending_batches,
    submit_document,
)
from medpipeline.extraction.clients import AnthropicProvider, OpenAIProvider
from medpipeline.extraction.prompts import detect_document_type
from medpipeline.extraction.providers import ExtractionRequest
from medpipeline.ledger import read_ledger
from medpipeline_tests.fake_llm_server import ANTHROPIC, OPENAI, Reply
from medpipeline_tests.helpers import materialize_document, node_metadata, resources_for, store_copy

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


def test_a_collected_batch_serves_the_next_run_and_its_failed_items_go_live(
    instance, layout, samples_dir, llm_server
):
    doc_id = store_copy(layout, samples_dir / samples.PROGRESS_FILE)
    instance.add_dynamic_partitions(documents_partitions.name, [doc_id])
    text_assets = [raw_document, document_text, document_chunks]
    dg.materialize(
        text_assets, partition_key=doc_id, instance=instance, resources=resources_for(layout)
    )
    chunks = load_chunks(layout, doc_id).chunks
    assert len(chunks) >= 3
    document_type = detect_document_type(load_text(layout, doc_id).text)
    llm = LLMResource(
        anthropic_api_key="k", anthropic_base_url=llm_server.base_url, fallback_order=["anthropic"]
    )
    (provider,) = llm.providers()

    llm_server.script(ANTHROPIC, Reply(status=500))  # the batch's first item errors
    llm_server.batches.expired_custom_ids.add(chunks[1].chunk_id)  # the second expires
    pending = submit_document(
        layout,
        doc_id,
        "backfill-run",
        [(c.chunk_id, c.text) for c in chunks],
        document_type,
        provider,
    )
    assert [p.batch_id for p in pending_batches(layout)] == [pending.batch_id]
    batches = batches_for(provider)
    polls = [batches.ended(pending.batch_id) for _ in range(2)]
    assert polls == [False, True], "in progress at the first poll, ended at the second"
    records = collect(layout, pending, provider)
    assert pending_batches(layout) == []
    assert [r.outcome for r in records] == ["error", "error"] + ["ok"] * (len(chunks) - 2)
    batch_served = list(llm_server.served)

    result = materialize_document(instance, layout, doc_id, llm)
    assert result.success
    live = llm_server.served[len(batch_served) :]
    assert sorted(s.user_text for s in live) == sorted([chunks[0].text, chunks[1].text]), (
        "only the errored and the expired item are asked live"
    )
    meta = node_metadata(result, "clinical_extractions")
    assert (meta["llm_calls"], meta["response_cache_hits"]) == (2, len(chunks) - 2)
    assert meta["chunks_failed"] == 0

    ledger = read_ledger(layout)
    batch_rows = ledger.filter(pl.col("batch_id") == pending.batch_id)
    assert batch_rows.height == len(chunks)
    answered = [s for s in batch_served if s.status == 200]
    expected = sum(
        float(
            calc_price(
                Usage(
                    input_tokens=s.usage["input"],
                    output_tokens=s.usage["output"],
                    cache_read_tokens=s.usage["cache_read"] or None,
                    cache_write_tokens=s.usage["cache_write"] or None,
                ),
                model_ref="claude-sonnet-5-5",
                provider_id="anthropic",
                genai_request_timestamp=pending.submitted_at,
                price_context={"processing": "batch"},
            ).total_price
        )
        for s in answered
    )
    assert batch_rows["cost_usd"].sum() == pytest.approx(expected)
    assert sorted(batch_rows["output_tokens"]) == sorted(
        [0, 0] + [s.usage["output"] for s in answered]
    )
    live_rows = ledger.filter(pl.col("batch_id").is_null() & (pl.col("outcome") == "ok"))
    assert live_rows.height == 2


def test_a_batch_tagged_run_ends_at_once_and_the_sensor_completes_the_document(
    instance, layout, samples_dir, llm_server
):
    doc_id = store_copy(layout, samples_dir / samples.PROGRESS_FILE)
    instance.add_dynamic_partitions(documents_partitions.name, [doc_id])
    llm = LLMResource(
        anthropic_api_key="k",
        anthropic_base_url=llm_server.base_url,
        fallback_order=["anthropic", "offline"],
    )
    resources = resources_for(layout, llm)
    llm_server.script(ANTHROPIC, Reply(status=500))  # the batch's first item errors

    submitted = dg.materialize(
        document_assets,
        partition_key=doc_id,
        instance=instance,
        resources=resources,
        tags={LLM_MODE_TAG: BATCH_MODE},
    )
    assert submitted.success
    assert submitted.asset_materializations_for_node("clinical_extractions") == []
    assert submitted.asset_materializations_for_node("fhir_bundle") == []
    (check,) = submitted.get_asset_check_evaluations()
    chunks = load_chunks(layout, doc_id).chunks
    assert check.metadata["batch_chunks"].value == len(chunks)
    batch_id = check.metadata["batch_id"].value
    assert len(llm_server.served) == len(chunks), "only the batch's items, no live call"

    waiting = llm_batch_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert waiting.run_requests == [], "the batch is still in progress"
    ended = llm_batch_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    (request,) = ended.run_requests
    assert (request.partition_key, request.run_key) == (doc_id, batch_id)

    completed = dg.materialize(
        document_assets,
        selection=request.asset_selection,
        partition_key=doc_id,
        instance=instance,
        resources=resources,
        tags=request.tags,
    )
    assert completed.success
    assert completed.asset_materializations_for_node("fhir_bundle")
    live = llm_server.served[len(chunks) :]
    assert [s.user_text for s in live] == [chunks[0].text], "the errored item, live"
    ledger = read_ledger(layout)
    assert ledger.filter(pl.col("batch_id") == batch_id).height == len(chunks)
    again = llm_batch_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert again.run_requests == [], "collected once"
