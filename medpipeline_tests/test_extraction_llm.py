"""LLM extraction through the real Dagster graph: the fallback chain end to end, the ledger's
tokens equal to what the API reported, genai-prices costs, and a re-run served by the response
cache with zero LLM calls."""

import json
import signal
import subprocess
import sys
import time

import pytest
from genai_prices import Usage, calc_price

from medpipeline import samples
from medpipeline.ledger import journals_of, read_journal, read_ledger
from medpipeline_tests.fake_llm_server import ANTHROPIC, OPENAI, Reply
from medpipeline_tests.helpers import (
    llm_for,
    materialize_document,
    node_metadata,
    store_copy,
)


def test_fallback_chain_ledger_and_response_cache_through_materialize(
    instance, layout, samples_dir, llm_server
):
    # A revoked key answers every request with 401. Chunks are in flight together, so the
    # breaker opens after its threshold of failures plus at most one more per other chunk in flight.
    llm_server.script(ANTHROPIC, *[Reply(status=401)] * 50)
    doc_id = store_copy(layout, samples_dir / samples.PROGRESS_FILE)
    llm = llm_for(llm_server)
    first = materialize_document(instance, layout, doc_id, llm)
    assert first.success
    meta = node_metadata(first, "clinical_extractions")
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
    refused = ledger.filter(ledger["provider"] == ANTHROPIC)["error_class"].to_list()
    assert set(refused) == {"auth"}
    assert llm.breaker_threshold <= len(refused) < llm.breaker_threshold + llm.chunk_concurrency

    requests_before = len(llm_server.served)
    second = materialize_document(instance, layout, doc_id, llm_for(llm_server))
    assert second.success
    again = node_metadata(second, "clinical_extractions")
    assert len(llm_server.served) == requests_before, "no LLM call on an unchanged document"
    assert (again["llm_calls"], again["response_cache_hits"]) == (0, chunks)
    assert again["facts"] == meta["facts"]
    rerun_ledger = read_ledger(layout)
    assert rerun_ledger["cost_usd"].sum() == pytest.approx(ledger["cost_usd"].sum())
    assert rerun_ledger["input_tokens"].sum() == ledger["input_tokens"].sum()
    assert rerun_ledger["response_cache_hit"].sum() == chunks


KILLED_RUN = """
import sys

import dagster as dg
from medpipeline.defs.resources import LLMResource
from medpipeline.storage import DataLayout
from medpipeline_tests.helpers import materialize_document

data_dir, doc_id, base_url = sys.argv[1:4]
llm = LLMResource(anthropic_api_key="k", anthropic_base_url=base_url, chunk_concurrency=1)
with dg.instance_for_test() as instance:
    materialize_document(instance, DataLayout(data_dir), doc_id, llm)
"""


def test_a_run_killed_mid_extraction_leaves_no_half_artifact_and_the_rerun_counts_right(
    instance, layout, samples_dir, llm_server
):
    doc_id = store_copy(layout, samples_dir / samples.PROGRESS_FILE)
    llm_server.latency = 1.0
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(layout.root), doc_id, llm_server.base_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(
            read_journal(path) for path in journals_of(layout, doc_id)
        ):  # the journal exists from the run's start; wait for its first paid call
            assert child.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        llm_server.latency = 0.0
        if child.poll() is None:
            child.kill()
    assert not layout.artifact(doc_id, "clinical_extractions").exists()
    assert not layout.ledger_file(doc_id).exists()
    for path in layout.document_dir(doc_id).rglob("*.json"):
        json.loads(path.read_text())  # whatever was renamed into place is whole
    (journal,) = journals_of(layout, doc_id)
    paid_before_kill = read_journal(journal)
    assert paid_before_kill and all(r.outcome == "ok" for r in paid_before_kill)

    rerun = materialize_document(instance, layout, doc_id, llm_for(llm_server))
    assert rerun.success
    assert journals_of(layout, doc_id) == []
    assert list(layout.document_dir(doc_id).rglob("*.tmp")) == [], "killed writers' temp files"
    ledger = read_ledger(layout)
    assert ledger["call_id"].n_unique() == ledger.height, "no call counted twice"
    assert set(r.call_id for r in paid_before_kill) <= set(ledger["call_id"])
    served_ok = {s.request_id for s in llm_server.served if s.status == 200}
    assert set(ledger["request_id"].drop_nulls()) <= served_ok
    assert (
        ledger.height
        == len(paid_before_kill) + node_metadata(rerun, "clinical_extractions")["chunks"]
    )
