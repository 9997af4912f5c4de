"""Real documents through the real graph, then the analytics assets on a real instance: the
warehouse knows each document's pages, facts and FHIR resources, keys patients by a keyed hash
(never the MRN or name), reconciles with the ledger, checks budgets at the configured severity,
renders the HTML report and forecasts the inbox before any LLM call."""

import shutil

import dagster as dg
import duckdb
import polars as pl
import pytest
from genai_prices import Usage, calc_price

from medpipeline import samples
from medpipeline.analytics.documents import PATIENT_KEY_SECRET_ENV, UNKEYED, patient_key
from medpipeline.analytics.forecast import (
    Candidate,
    TokenModel,
    inbox_documents,
    price_document,
)
from medpipeline.analytics.prices import Processing, unit_prices
from medpipeline.chunking import ChunkingConfig
from medpipeline.defs.analytics.assets import cost_forecast, cost_report, warehouse_tables
from medpipeline.defs.resources import LLMResource
from medpipeline.pdf import PdfLimits
from medpipeline.storage import read_json
from medpipeline_tests.helpers import materialize_document, resources_for, store_copy

SECRET = "site-secret-for-tests-only"


@pytest.fixture
def documents(instance, layout, samples_dir):
    """One real document through the real graph (offline provider)."""
    doc_id = store_copy(layout, samples_dir / samples.DISCHARGE_FILE)
    assert materialize_document(instance, layout, doc_id).success
    return [doc_id]


def run_analytics(instance, layout, run_config=None):
    return dg.materialize(
        [warehouse_tables, cost_report],
        instance=instance,
        resources=resources_for(layout),
        run_config=run_config,
    )


def test_documents_patients_checks_and_report(instance, layout, documents, monkeypatch):
    monkeypatch.setenv(PATIENT_KEY_SECRET_ENV, SECRET)
    result = run_analytics(instance, layout)
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["reconciles_with_ledger"].passed
    assert checks["within_daily_budget"].passed  # the offline provider costs nothing

    extractions = [read_json(layout.artifact(d, "clinical_extractions")) for d in documents]
    bundles = [read_json(layout.artifact(d, "fhir_bundle")) for d in documents]
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        rows = analyst.execute(
            "SELECT doc_id, status, pages, fhir_resources, patient_key FROM documents "
            "ORDER BY doc_id"
        ).fetchall()
        patients = analyst.execute("SELECT patient_key, documents FROM patient_costs").fetchall()
    expected = sorted(
        (d, "bundled", read_json(layout.artifact(d, "raw_document"))["pages"], len(b["entry"]),
         patient_key(e, SECRET))
        for d, b, e in zip(documents, bundles, extractions, strict=True)
    )  # fmt: skip
    assert rows == expected
    assert all(key.startswith("pk_") for *_, key in rows)
    assert sum(n for _, n in patients) == len(documents)

    # the raw identifiers and names are nowhere outside the PHI stores
    identifiers = [
        value
        for e in extractions
        for value in [e["patient"].get("name"), *(i["value"] for i in e["patient"]["identifiers"])]
        if value
    ]
    assert identifiers, "the samples carry a patient name or MRN"
    report = layout.root / "reports" / "cost_report.html"
    outside = [layout.warehouse_db, report]
    for path in outside:
        content = path.read_bytes()
        for value in identifiers:
            assert value.encode() not in content, path.name
    html = report.read_text()
    assert "Daily spend by model" in html and "<svg" in html and "http" not in html.lower()
    report_meta = result.asset_materializations_for_node("cost_report")[0].metadata
    assert report_meta["report"].value == report.as_uri()


def test_without_a_secret_patients_are_unkeyed(instance, layout, documents, monkeypatch):
    monkeypatch.delenv(PATIENT_KEY_SECRET_ENV, raising=False)
    result = run_analytics(instance, layout)
    assert result.success
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        keys = analyst.execute("SELECT DISTINCT patient_key FROM documents").fetchall()
    assert keys == [(UNKEYED,)]
    documents_meta = next(
        m.metadata
        for m in result.asset_materializations_for_node("warehouse_tables")
        if m.asset_key == dg.AssetKey("documents")
    )
    assert "unkeyed" in documents_meta["patient_keys"].value


def test_a_priced_document_over_its_budget_fails_the_check_at_the_configured_severity(
    instance, layout, samples_dir, llm_server
):
    """Real LLM calls (the fake server through the OpenAI SDK) priced by genai-prices' own
    calc_price from the usage the server reported: a document budget of half that cost must be
    breached, a daily budget of twice that cost must hold."""
    llm = LLMResource(
        openai_api_key="test-key",
        openai_base_url=llm_server.base_url + "/v1",
        openai_provider="openai",  # the fake server stands in for OpenAI itself (priced)
    )
    doc_id = store_copy(layout, samples_dir / samples.DISCHARGE_FILE)
    assert materialize_document(instance, layout, doc_id, llm).success
    spent = sum(
        float(
            calc_price(
                Usage(
                    input_tokens=served.usage["input"],
                    output_tokens=served.usage["output"],
                    cache_read_tokens=served.usage["cache_read"],
                ),
                model_ref="gpt-5.4-mini",
                provider_id="openai",
            ).total_price
        )
        for served in llm_server.served
    )
    assert spent > 0
    config = {
        "document_budget_usd": spent / 2,
        "daily_budget_usd": spent * 2,
        "budget_severity": "ERROR",
    }
    result = run_analytics(instance, layout, {"ops": {"warehouse_tables": {"config": config}}})
    assert result.success  # a breach fails the check, not the run
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["within_document_budget"].passed
    assert checks["within_document_budget"].severity == dg.AssetCheckSeverity.ERROR
    assert checks["within_daily_budget"].passed
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        alerts = analyst.execute(
            "SELECT budget, scope, cost_usd, excess_usd FROM budget_alerts"
        ).fetchall()
    assert alerts == [
        ("document", doc_id, pytest.approx(spent), pytest.approx(spent / 2)),
    ]


def test_forecast_prices_the_inbox_before_any_call(instance, layout, samples_dir):
    shutil.copyfile(samples_dir / samples.DISCHARGE_FILE, layout.inbox / "waiting.pdf")
    result = dg.materialize([cost_forecast], instance=instance, resources=resources_for(layout))
    assert result.success
    frame = pl.read_parquet(layout.root / "reports" / "cost_forecast.parquet")
    assert set(frame["model"]) == {"claude-sonnet-5-5", "claude-haiku-5-5", "gpt-5.4-mini"}
    assert frame["source"].unique().to_list() == ["inbox"]
    assert (frame["batch_usd"] < frame["standard_usd"]).all()
    assert (frame["standard_usd"] > 0).all()
    assert not list(layout.ledger.glob("*.parquet")), "no LLM call was made"
    assert "waiting" not in frame.write_csv()


def test_forecast_arithmetic_follows_genai_prices():
    candidate = Candidate(provider="openai", model="gpt-5.4-mini")
    tokens = TokenModel(overhead_tokens=100, output_ratio=0.5, calibrated=False)
    from datetime import date

    day = date(2026, 11, 20)
    priced = price_document([1000, 400], candidate, tokens, day)
    prices = unit_prices("openai", "gpt-5.4-mini", day, Processing.STANDARD)
    # overhead below the cacheable minimum: everything is uncached input
    assert priced["prompt_tokens"] == 1600 and priced["output_tokens"] == 700
    assert priced["standard_usd"] == pytest.approx(1600 * prices.input + 700 * prices.output)
    assert priced["batch_usd"] == pytest.approx(priced["standard_usd"] / 2)


def _extraction(patient: dict, facility: str | None = None) -> dict:
    """A clinical_extractions.json as the pipeline writes it, with a patient and a facility."""
    organizations = [{"quote": facility, "name": facility}] if facility else []
    return {
        "doc_id": "d" * 16,
        "prompt_version": "v",
        "patient": {"quote": "x", **patient},
        "organizations": organizations,
    }


def test_patient_key_is_keyed_and_follows_the_identity_rule():
    patient = {
        "name": "Maria Testperson",
        "birth_date": "1950-01-02",
        "identifiers": [{"kind": "SSN", "value": "123-45-6789"}, {"kind": "MRN", "value": "A 77"}],
    }
    key = patient_key(_extraction(patient, "Get Well Clinic"), SECRET)
    assert key.startswith("pk_") and "77" not in key[3:7]
    same_mrn_same_facility = {"identifiers": [{"kind": "Medical Record Number", "value": "a77"}]}
    assert key == patient_key(_extraction(same_mrn_same_facility, "GET WELL CLINIC"), SECRET)
    same_mrn_elsewhere = {"identifiers": [{"kind": "MRN", "value": "A77"}]}
    assert key != patient_key(_extraction(same_mrn_elsewhere, "Community Hospital"), SECRET)
    assert key != patient_key(_extraction(patient, "Get Well Clinic"), SECRET + "x")
    assert patient_key(_extraction(patient, "Get Well Clinic"), None) == UNKEYED
    by_name = {"name": "Maria  Testperson", "birth_date": "1950-01-02"}
    by_name_reordered = {"name": "Testperson, maria", "birth_date": "1950-01-02"}
    assert patient_key(_extraction(by_name), SECRET) == patient_key(
        _extraction(by_name_reordered), SECRET
    )
    assert patient_key(_extraction({"name": "Maria Testperson"}), SECRET) == "unidentified"
    # an MRN no facility is named for identifies the patient inside its document only
    assert patient_key(_extraction(same_mrn_elsewhere), SECRET) == "unidentified"


def test_an_inbox_file_the_sensor_takes_meanwhile_is_skipped_not_an_error(tmp_path):
    """Regression: the forecast read the inbox while the sensor quarantined a file, and the
    FileNotFoundError, which names the file (a patient's name), reached Dagster's event log."""
    waiting = samples.render_text_pdf(tmp_path / "waiting.pdf", ["Assessment: hypertension."])
    not_a_pdf = tmp_path / "notes.txt"
    not_a_pdf.write_text("not a pdf")
    taken = tmp_path / "Taken Meanwhile.pdf"  # listed, then gone
    documents, unreadable = inbox_documents(
        [taken, waiting, not_a_pdf], PdfLimits(), ChunkingConfig()
    )
    assert [source for source, _ in documents.values()] == ["inbox"]
    assert unreadable == 1
