"""Accuracy of the cost forecast against the ledger on the same documents.

The sample documents are chunked, forecast (before any LLM call), then extracted through the
real graph with Anthropic and OpenAI served by the local fake wire server (tests' fake: it
reports deterministic usage derived from the request, not a real tokenizer), and the forecast
is compared with what the ledger recorded. Printed: per document and in total, the forecast and
actual USD and the error, with the uncalibrated token model and with one calibrated from the
other documents' ledger (leave-one-out).

    .venv/bin/python bench/cost_forecast.py
"""

import shutil
import tempfile
from pathlib import Path

import dagster as dg
import polars as pl

from medpipeline import samples
from medpipeline.analytics.forecast import Candidate, calibrate, forecast, partition_documents
from medpipeline.analytics.ledger import read_ledger
from medpipeline.defs.extraction.assets import clinical_extractions
from medpipeline.defs.intake.assets import raw_document
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import LLMResource
from medpipeline.defs.text.assets import document_chunks, document_text
from medpipeline.storage import DataLayout
from medpipeline_tests.fake_llm_server import FakeLLMServer
from medpipeline_tests.helpers import resources_for, store_copy

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
CANDIDATES = {
    "anthropic": Candidate(provider="anthropic", model="claude-sonnet-5-5"),
    "openai": Candidate(provider="openai", model="gpt-5.4-mini"),
}


def materialize(instance, layout, assets, doc_id, llm):
    result = dg.materialize(
        assets, partition_key=doc_id, instance=instance, resources=resources_for(layout, llm)
    )
    assert result.success


def run(provider: str, server: FakeLLMServer) -> None:
    candidate = CANDIDATES[provider]
    llm = LLMResource(
        fallback_order=[provider],
        anthropic_api_key="bench",
        anthropic_base_url=server.base_url,
        openai_api_key="bench",
        openai_base_url=f"{server.base_url}/v1",
        openai_provider="openai",  # the fake server stands in for OpenAI itself
        anthropic_model=CANDIDATES["anthropic"].model,
        openai_model=CANDIDATES["openai"].model,
    )
    with tempfile.TemporaryDirectory() as folder, dg.instance_for_test() as instance:
        layout = DataLayout(Path(folder) / "data").ensure()
        doc_ids = []
        for name in samples.SAMPLE_FILES:
            doc_id = store_copy(layout, SAMPLES / name)
            instance.add_dynamic_partitions(documents_partitions.name, [doc_id])
            try:
                materialize(
                    instance, layout, [raw_document, document_text, document_chunks], doc_id, llm
                )
            except AssertionError:
                continue
            doc_ids.append(doc_id)
        documents = partition_documents(layout, doc_ids)
        before = forecast(documents, [candidate])  # before any LLM call
        for doc_id in doc_ids:
            materialize(instance, layout, [clinical_extractions], doc_id, llm)
        actual = read_ledger(layout).group_by("doc_id").agg(pl.col("cost_usd").sum())
        calibrated_rows = []
        for doc_id in doc_ids:  # leave-one-out: calibrate on the other documents' ledger
            held_out = layout.ledger_file(doc_id)
            shutil.move(held_out, held_out.with_suffix(".held"))
            model = calibrate(layout, candidate)
            shutil.move(held_out.with_suffix(".held"), held_out)
            calibrated_rows.append(
                forecast({doc_id: documents[doc_id]}, [candidate], {candidate: model})
            )
        calibrated = pl.concat(calibrated_rows)
    table = (
        before.select("doc_id", "chunks", forecast_usd="standard_usd")
        .join(calibrated.select("doc_id", calibrated_usd="standard_usd"), on="doc_id")
        .join(actual.rename({"cost_usd": "actual_usd"}), on="doc_id")
        .with_columns(
            error_pct=(pl.col("forecast_usd") / pl.col("actual_usd") - 1) * 100,
            calibrated_error_pct=(pl.col("calibrated_usd") / pl.col("actual_usd") - 1) * 100,
        )
    )
    print(f"\n{candidate.provider}/{candidate.model} (standard prices)")
    with pl.Config(tbl_rows=20, float_precision=6, tbl_width_chars=120):
        print(table)
    plain, tuned, real = table.select(
        pl.col("forecast_usd", "calibrated_usd", "actual_usd").sum()
    ).row(0)
    mean_plain = table["error_pct"].abs().mean()
    mean_tuned = table["calibrated_error_pct"].abs().mean()
    print(
        f"total: forecast ${plain:.6f} ({(plain / real - 1) * 100:+.1f}%), "
        f"calibrated ${tuned:.6f} ({(tuned / real - 1) * 100:+.1f}%), actual ${real:.6f}; "
        f"mean |error| per document {mean_plain:.1f}% uncalibrated, {mean_tuned:.1f}% calibrated"
    )


def main() -> None:
    server = FakeLLMServer().start()
    try:
        for provider in CANDIDATES:
            server.reset()
            run(provider, server)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
