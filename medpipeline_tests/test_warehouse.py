"""The ledger is rewritten per document (never double-counted); the DuckDB warehouse is rebuilt
into a new file and swapped in, its tables add up to the ledger, and analysts never block it."""

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from medpipeline.costs import TokenUsage, price_usd
from medpipeline.extraction.providers import UsageRecord
from medpipeline.storage import DataLayout
from medpipeline.warehouse import ROLLUPS, read_ledger, rebuild_warehouse, write_ledger

START = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def record(doc_id: str, index: int, provider: str, model: str, day: int = 0) -> UsageRecord:
    usage = TokenUsage(input_tokens=900 + index, output_tokens=150 + index, cache_read_tokens=index)
    started = START + timedelta(days=day, minutes=index)
    return UsageRecord(
        call_id=f"{doc_id}-{index}",
        doc_id=doc_id,
        chunk_id=f"{doc_id}-c{index:03d}",
        run_id="run-1",
        provider=provider,
        model=model,
        prompt_version="extract-v1",
        attempt=1,
        outcome="ok",
        error_class=None,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=0,
        cost_usd=price_usd(provider, model, usage, at=started),
        latency_ms=100.0 + index,
        request_id=f"req_{index}",
        started_at=started,
    )


def fill(layout: DataLayout) -> None:
    write_ledger(
        layout, "a" * 16, [record("a" * 16, i, "anthropic", "claude-sonnet-5-5") for i in range(3)]
    )
    write_ledger(
        layout, "b" * 16, [record("b" * 16, i, "openai", "gpt-5.4-mini", day=1) for i in range(2)]
    )
    write_ledger(layout, "c" * 16, [record("c" * 16, 0, "offline", "medspacy-rules-v1")])


def test_rewriting_a_documents_ledger_replaces_its_rows(layout):
    doc_id = "d" * 16
    write_ledger(
        layout, doc_id, [record(doc_id, i, "anthropic", "claude-sonnet-5-5") for i in range(4)]
    )
    write_ledger(
        layout, doc_id, [record(doc_id, i, "anthropic", "claude-sonnet-5-5") for i in range(2)]
    )
    assert read_ledger(layout).height == 2
    assert not list(layout.ledger.glob(".*")), "no temp files left behind"


def test_warehouse_tables_add_up_to_the_ledger(layout):
    fill(layout)
    counts = rebuild_warehouse(layout)
    ledger = read_ledger(layout)
    assert counts["llm_calls"] == ledger.height == 6
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        total_cost = analyst.execute("SELECT sum(cost_usd) FROM llm_calls").fetchone()[0]
        assert total_cost == pytest.approx(ledger["cost_usd"].sum())
        assert total_cost > 0
        for table in ROLLUPS:
            cost, tokens = analyst.execute(
                f"SELECT sum(cost_usd), sum(input_tokens) FROM {table}"
            ).fetchone()
            assert cost == pytest.approx(total_cost), table
            assert tokens == ledger["input_tokens"].sum(), table
        per_doc = dict(analyst.execute("SELECT doc_id, calls FROM document_costs").fetchall())
        assert per_doc == {"a" * 16: 3, "b" * 16: 2, "c" * 16: 1}
        offline_cost = analyst.execute(
            "SELECT cost_usd FROM model_costs WHERE provider = 'offline'"
        ).fetchone()[0]
        assert offline_cost == 0
        days = analyst.execute("SELECT count(DISTINCT day) FROM daily_costs").fetchone()[0]
        assert days == 2


def test_costs_are_genai_prices_figures(layout):
    one = record("e" * 16, 0, "anthropic", "claude-sonnet-5-5")
    # claude-sonnet-5-5: $2 / MTok input, $10 / MTok output (genai-prices)
    assert one.cost_usd == pytest.approx((900 * 2 + 150 * 10) / 1_000_000)


def test_an_analyst_holding_the_file_open_does_not_block_a_rebuild(layout):
    fill(layout)
    rebuild_warehouse(layout)
    analyst = duckdb.connect(str(layout.warehouse_db), read_only=True)
    try:
        before = analyst.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
        write_ledger(layout, "f" * 16, [record("f" * 16, 0, "anthropic", "claude-sonnet-5-5")])
        rebuild_warehouse(layout)
        assert analyst.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == before
    finally:
        analyst.close()
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as fresh:
        assert fresh.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == before + 1
    assert sorted(path.name for path in layout.warehouse.iterdir()) == ["medpipeline.duckdb"]


def test_empty_ledger_gives_empty_tables(layout):
    counts = rebuild_warehouse(layout)
    assert counts == {"llm_calls": 0, "document_costs": 0, "model_costs": 0, "daily_costs": 0}
