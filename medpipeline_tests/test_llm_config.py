"""Models and pricing chosen by the site, end to end: the `llm` resource takes its models,
provider name, fallback order, site price and limits from the environment (as the definitions
load it); a model genai-prices does not know is recorded with cost NULL and `price_known = false`
in the ledger, the warehouse and the cost report (never a crash), with one warning per model and
run; an OpenAI-compatible server set by base URL is its own provider, priced at the site's price
(0 by default), never at OpenAI's."""

import logging

import dagster as dg
import duckdb
import pytest

from medpipeline import samples
from medpipeline.analytics.reconciliation import reconcile
from medpipeline.analytics.report import render_report
from medpipeline.analytics.warehouse import rebuild_warehouse
from medpipeline.definitions import build_resources
from medpipeline.defs.resources import LLMResource
from medpipeline.extraction.providers import ExtractionChain
from medpipeline.ledger import read_ledger
from medpipeline_tests.fake_llm_server import OPENAI
from medpipeline_tests.helpers import materialize_document, node_metadata, store_copy

UNKNOWN_MODEL = "site-llama-9b-instruct-q4"
CHUNK = "DISCHARGE DIAGNOSES:\nCommunity-acquired pneumonia.\nHypertension."


def site_llm() -> LLMResource:
    """The `llm` resource as the definitions build it, its environment variables resolved."""
    return build_resources()["llm"].process_config_and_initialize()


def site_env(monkeypatch, server, **settings: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url + "/v1")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


def test_models_fallback_order_and_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MEDPIPELINE_ANTHROPIC_MODEL", "claude-haiku-5-1")
    monkeypatch.setenv("MEDPIPELINE_OPENAI_MODEL", UNKNOWN_MODEL)
    monkeypatch.setenv("MEDPIPELINE_FALLBACK_ORDER", " openai , offline ")
    monkeypatch.setenv("MEDPIPELINE_MAX_RETRY_AFTER_SECONDS", "15")
    monkeypatch.setenv("MEDPIPELINE_MAX_OUTPUT_TOKENS", "2048")
    monkeypatch.setenv("MEDPIPELINE_ANTHROPIC_STRICT", "false")
    llm = build_resources()["llm"]
    assert llm.anthropic_strict is False
    assert (llm.anthropic_model, llm.openai_model) == ("claude-haiku-5-1", UNKNOWN_MODEL)
    assert llm.fallback_order == ["openai", "offline"]
    assert (llm.max_retry_after_seconds, llm.max_output_tokens) == (15.0, 2048)
    for name in (
        "MEDPIPELINE_ANTHROPIC_MODEL",
        "MEDPIPELINE_OPENAI_MODEL",
        "MEDPIPELINE_FALLBACK_ORDER",
        "MEDPIPELINE_MAX_RETRY_AFTER_SECONDS",
        "MEDPIPELINE_MAX_OUTPUT_TOKENS",
        "MEDPIPELINE_ANTHROPIC_STRICT",
    ):
        monkeypatch.delenv(name)
    defaults = build_resources()["llm"]
    assert defaults.fallback_order == ["anthropic", "openai", "offline"]
    assert defaults.openai_model == LLMResource().openai_model
    assert defaults.anthropic_strict is True


def test_an_unknown_fallback_order_entry_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MEDPIPELINE_FALLBACK_ORDER", "openai,ollama")
    with pytest.raises(dg.Failure, match="unknown provider 'ollama'"):
        build_resources()["llm"].providers()


def test_an_unknown_model_is_recorded_unpriced_through_materialize(
    monkeypatch, instance, layout, samples_dir, llm_server
):
    site_env(
        monkeypatch,
        llm_server,
        MEDPIPELINE_OPENAI_MODEL=UNKNOWN_MODEL,
        MEDPIPELINE_OPENAI_PROVIDER="openai",  # e.g. an OpenAI model newer than genai-prices
        MEDPIPELINE_FALLBACK_ORDER="openai,offline",
    )
    doc_id = store_copy(layout, samples_dir / samples.PROGRESS_FILE)
    result = materialize_document(instance, layout, doc_id, build_resources()["llm"])
    assert result.success
    meta = node_metadata(result, "clinical_extractions")
    served = [s for s in llm_server.served if s.api == OPENAI]
    assert len(served) == meta["chunks"] >= 2
    assert {s.model for s in served} == {UNKNOWN_MODEL}, "the model set in the environment"
    assert (meta["providers"], meta["unpriced_calls"], meta["cost_usd"]) == (
        "openai",
        len(served),
        0.0,
    )

    ledger = read_ledger(layout)
    assert ledger.height == len(served)
    assert ledger["cost_usd"].null_count() == ledger.height
    assert ledger["price_known"].to_list() == [False] * ledger.height

    warnings = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.level == logging.WARNING and "no price" in entry.user_message
    ]
    assert len(warnings) == 1, "one warning per model and run, however many chunks"
    assert UNKNOWN_MODEL in warnings[0]

    rebuild_warehouse(layout)

    with duckdb.connect(str(layout.warehouse_db), read_only=True) as connection:
        calls = connection.execute(
            "SELECT count(*), count(cost_usd), count(*) FILTER (WHERE NOT price_known) "
            "FROM llm_calls"
        ).fetchone()
        model_row = connection.execute(
            "SELECT unpriced_calls, unpriced_tokens, cost_usd FROM model_costs WHERE model = ?",
            [UNKNOWN_MODEL],
        ).fetchone()
        headline = connection.execute(
            "SELECT unpriced_calls, unpriced_tokens FROM cost_metrics"
        ).fetchone()
    reported_tokens = sum(s.usage["input"] + s.usage["output"] for s in served)
    assert calls == (len(served), 0, len(served))
    assert model_row == (len(served), reported_tokens, 0.0)
    assert headline == (len(served), reported_tokens)
    assert reconcile(layout).passed
    report = render_report(layout.warehouse_db)
    assert "Unpriced calls" in report and UNKNOWN_MODEL in report


def test_an_openai_compatible_server_is_its_own_provider_priced_at_zero(monkeypatch, llm_server):
    # a local model named like an OpenAI model must not be billed at OpenAI's price
    site_env(monkeypatch, llm_server, MEDPIPELINE_OPENAI_MODEL="gpt-5.4-mini")
    (provider, _offline) = site_llm().providers()[-2:]
    assert provider.name == "openai_compatible"
    result = ExtractionChain([provider]).extract_chunk("doc", "c", CHUNK, "run")
    (record,) = result.records
    assert (record.provider, record.model, record.cost_usd, record.price_known) == (
        "openai_compatible",
        "gpt-5.4-mini",
        0.0,
        True,
    )
    assert record.input_tokens > 0


def test_a_site_named_compatible_provider_is_priced_at_the_site_price(monkeypatch, llm_server):
    site_env(
        monkeypatch,
        llm_server,
        MEDPIPELINE_OPENAI_MODEL=UNKNOWN_MODEL,
        MEDPIPELINE_OPENAI_PROVIDER="hospital_llm",
        MEDPIPELINE_FALLBACK_ORDER="hospital_llm,offline",
        MEDPIPELINE_SITE_INPUT_USD_PER_MTOK="2.0",
        MEDPIPELINE_SITE_OUTPUT_USD_PER_MTOK="6.0",
    )
    provider, _offline = site_llm().providers()
    result = ExtractionChain([provider]).extract_chunk("doc", "c", CHUNK, "run")
    (record,) = result.records
    (served,) = llm_server.served
    expected = (served.usage["input"] * 2.0 + served.usage["output"] * 6.0) / 1_000_000
    assert record.provider == "hospital_llm" and record.price_known
    assert record.cost_usd == pytest.approx(expected)
