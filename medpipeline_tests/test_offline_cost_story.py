"""With only the offline provider, the cost report says the spend is $0 by design and shows what the
processed documents would have cost on each candidate model, per document and in total, live and
batch — the cost_forecast rows (chunk tokens of the stored chunks, genai-prices), not a second
pricing path; and cost_forecast is requested by the warehouse automation once documents change, so
its Parquet file exists on a fresh start."""

import html
import re

import dagster as dg
import duckdb
import polars as pl

from medpipeline import samples
from medpipeline.definitions import defs
from medpipeline.defs.analytics.assets import cost_forecast, cost_report, warehouse_tables
from medpipeline.storage import read_json
from medpipeline_tests.helpers import materialize_document, resources_for, store_copy

CANDIDATES = {"anthropic/claude-sonnet-5-5", "anthropic/claude-haiku-5-5", "openai/gpt-5.4-mini"}


def test_offline_report_shows_what_each_model_would_have_cost(instance, layout, samples_dir):
    doc_ids = [
        store_copy(layout, samples_dir / name)
        for name in (samples.DISCHARGE_FILE, samples.REFERRAL_FILE)
    ]
    for doc_id in doc_ids:
        assert materialize_document(instance, layout, doc_id).success
    result = dg.materialize(
        [warehouse_tables, cost_forecast, cost_report],
        instance=instance,
        resources=resources_for(layout),
    )
    assert result.success
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        spend, providers = analyst.execute(
            "SELECT sum(cost_usd), list(DISTINCT provider) FROM llm_calls"
        ).fetchone()
    assert spend == 0 and providers == ["offline"]

    frame = pl.read_parquet(layout.root / "reports" / "cost_forecast.parquet")
    assert set(frame["doc_id"]) == set(doc_ids)
    assert set(frame["source"]) == {"partition"}
    assert {f"{p}/{m}" for p, m in frame.select("provider", "model").iter_rows()} == CANDIDATES
    for doc_id in doc_ids:
        chunks = read_json(layout.artifact(doc_id, "document_chunks"))["chunks"]
        rows = frame.filter(pl.col("doc_id") == doc_id)
        assert rows["chunks"].to_list() == [len(chunks)] * 3
        assert rows["chunk_tokens"].to_list() == [sum(c["tokens"] for c in chunks)] * 3
    assert (frame["standard_usd"] > 0).all() and (frame["batch_usd"] < frame["standard_usd"]).all()

    report = (layout.root / "reports" / "cost_report.html").read_text()
    assert "Spend is $0 by design" in report
    text = html.unescape(re.sub(r"<[^>]+>", " ", report))
    for row in frame.iter_rows(named=True):  # per document: live / batch for each model
        assert f"{row['standard_usd']:.4f} / {row['batch_usd']:.4f}" in text, row
    totals = frame.group_by("provider", "model").agg(
        pl.col("standard_usd").sum(), pl.col("batch_usd").sum()
    )
    for row in totals.iter_rows(named=True):  # in total, per model (rounded to 4 places)
        model = f"{row['provider']}/{row['model']}"
        live, batch = (f"{round(row[k], 4):.6g}" for k in ("standard_usd", "batch_usd"))
        assert re.search(rf"{re.escape(model)}\s+2\s+\d+\s+\d+\s+\d+\s+{live}\s+{batch}\s", text), (
            model
        )
    assert not any(name in report for name in ("Testperson", "Maria")), "no PHI in the report"


def test_forecast_is_rebuilt_with_the_warehouse(instance, layout, samples_dir, monkeypatch):
    monkeypatch.setenv("MEDPIPELINE_DATA_DIR", str(layout.root))
    definitions = defs()
    before = dg.evaluate_automation_conditions(defs=definitions, instance=instance)
    doc_id = store_copy(layout, samples_dir / samples.REFERRAL_FILE)
    assert materialize_document(instance, layout, doc_id).success
    evaluation = dg.evaluate_automation_conditions(
        defs=definitions, instance=instance, cursor=before.cursor
    )
    requested = {
        key.to_user_string()
        for key in (dg.AssetKey(name) for name in ("cost_forecast", "llm_calls", "documents"))
        if evaluation.get_num_requested(key)
    }
    assert {"cost_forecast", "llm_calls", "documents"} <= requested, requested
