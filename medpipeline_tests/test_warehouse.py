"""The ledger is rewritten per document (never double-counted) and compacted into segments
without losing or doubling a row; the DuckDB warehouse is rebuilt into a new file and swapped in,
every table and column is documented, its tables add up to the ledger snapshot it read, a
rebuild patches the previous file into exactly what a full build gives, and analysts never block
it. Expected costs come
from frozen prices, never from the code under test."""

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from genai_prices import Usage, calc_price

from medpipeline import samples
from medpipeline.analytics.reconciliation import reconcile
from medpipeline.analytics.tables import ROLLUPS, TABLES
from medpipeline.analytics.warehouse import BUILD_LOCK, Budgets, rebuild_warehouse
from medpipeline.costs import TokenUsage, price_usd
from medpipeline.ledger import (
    LEDGER_SCHEMA,
    UsageRecord,
    commit_run,
    ledger_files,
    read_document_ledger,
    read_ledger,
    write_ledger,
)
from medpipeline.review import REVIEW_FILE, DocumentReview, ReviewItem
from medpipeline.storage import DataLayout, write_json
from medpipeline_tests.helpers import store_copy

START = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
# USD per million tokens (uncached input, output, cache read): genai-prices 0.2.3's figures for
# calls on 2026-11-02, frozen here so that expected costs never come from the code under test.
FROZEN_PRICES = {
    ("anthropic", "claude-sonnet-5-5"): (2.0, 10.0, 0.1),
    ("openai", "gpt-5.4-mini"): (0.75, 4.5, 0.075),
    ("offline", "medspacy-rules-v1"): (0.0, 0.0, 0.0),
}


def frozen_cost(provider: str, model: str, usage: TokenUsage) -> float:
    """Anthropic reports input without cache reads; OpenAI's input includes them."""
    per_input, per_output, per_read = FROZEN_PRICES[(provider, model)]
    uncached = usage.input_tokens - (0 if provider == "anthropic" else usage.cache_read_tokens)
    return (
        uncached * per_input + usage.output_tokens * per_output + usage.cache_read_tokens * per_read
    ) / 1e6


def record(
    doc_id: str,
    index: int,
    provider: str,
    model: str,
    day: int = 0,
    *,
    outcome: str = "ok",
    attempt: int = 1,
    chunk: int | None = None,
    cached: bool = False,
    latency_ms: float | None = None,
) -> UsageRecord:
    usage = (
        TokenUsage()
        if cached
        else TokenUsage(
            input_tokens=900 + index, output_tokens=150 + index, cache_read_tokens=index
        )
    )
    started = START + timedelta(days=day, minutes=index)
    fields = {
        "call_id": f"{doc_id}-{index}-{provider}-{attempt}",
        "doc_id": doc_id,
        "chunk_id": f"{doc_id}-c{(index if chunk is None else chunk):03d}",
        "run_id": "run-1",
        "provider": provider,
        "model": model,
        "prompt_version": "extract-v1",
        "attempt": attempt,
        "outcome": "cached" if cached else outcome,
        "error_class": "transient" if outcome == "error" else None,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": 0,
        "cost_usd": frozen_cost(provider, model, usage),
        "latency_ms": latency_ms if latency_ms is not None else 100.0 + index,
        "request_id": f"req_{index}",
        "started_at": started,
        # fields the usage record gained later (issue 3); older records lack them
        "document_type": "discharge_summary",
        "response_cache_hit": cached,
        "parse_strategy": None,
    }
    return UsageRecord(**{k: v for k, v in fields.items() if k in UsageRecord.model_fields})


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
    report = rebuild_warehouse(layout)
    ledger = read_ledger(layout)
    assert report.rows["llm_calls"] == ledger.height == 6
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        total_cost = analyst.execute("SELECT sum(cost_usd) FROM llm_calls").fetchone()[0]
        assert total_cost == pytest.approx(0.0099363 + 0.002704575)  # see the budget test
        for table in ROLLUPS:
            if table == "patient_costs":
                continue  # no per-kind metrics there; its cost is checked below
            cost, tokens = analyst.execute(
                f"SELECT sum(cost_usd), sum(input_tokens) FROM {table}"
            ).fetchone()
            assert cost == pytest.approx(total_cost), table
            assert tokens == ledger["input_tokens"].sum(), table
        patients = analyst.execute("SELECT sum(cost_usd) FROM patient_costs").fetchone()[0]
        assert patients == pytest.approx(total_cost)
        per_doc = dict(analyst.execute("SELECT doc_id, calls FROM document_costs").fetchall())
        assert per_doc == {"a" * 16: 3, "b" * 16: 2, "c" * 16: 1}
        offline_cost = analyst.execute(
            "SELECT cost_usd FROM model_costs WHERE provider = 'offline'"
        ).fetchone()[0]
        assert offline_cost == 0
        days = analyst.execute("SELECT count(DISTINCT day) FROM daily_costs").fetchone()[0]
        assert days == 2
        providers = analyst.execute("SELECT count(*) FROM provider_costs").fetchone()[0]
        assert providers == 3
    assert reconcile(layout).passed


def test_cost_by_kind_adds_up_and_follows_genai_prices(layout):
    fill(layout)
    rebuild_warehouse(layout)
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        rows = analyst.execute(
            "SELECT provider, prompt_tokens, input_tokens, cache_read_tokens, input_cost_usd, "
            "output_cost_usd, cache_read_cost_usd, cache_write_cost_usd, cost_usd, output_tokens "
            "FROM llm_calls WHERE doc_id = ? AND cache_read_tokens > 0",
            ["a" * 16],
        ).fetchall()
    assert rows
    for provider, prompt, input_, read, c_in, c_out, c_read, c_write, cost, output in rows:
        assert provider == "anthropic"
        assert prompt == input_ + read, "Anthropic input excludes cache tokens"
        assert c_in + c_out + c_read + c_write == pytest.approx(cost)
        # claude-sonnet-5-5 (genai-prices): $2 input, $10 output, $0.1 cache read per MTok
        assert c_in == pytest.approx(input_ * 2 / 1e6)
        assert c_out == pytest.approx(output * 10 / 1e6)
        assert c_read == pytest.approx(read * 0.1 / 1e6)


def test_costs_are_genai_prices_figures():
    """price_usd against genai-prices' own calc_price on the same call: Anthropic's input count
    excludes cache reads and writes, so genai-prices is given the total."""
    usage = TokenUsage(
        input_tokens=900, output_tokens=150, cache_read_tokens=400, cache_write_tokens=50
    )
    expected = calc_price(
        Usage(
            input_tokens=900 + 400 + 50,
            output_tokens=150,
            cache_read_tokens=400,
            cache_write_tokens=50,
        ),
        model_ref="claude-sonnet-5-5",
        provider_id="anthropic",
        genai_request_timestamp=START,
    ).total_price
    assert price_usd("anthropic", "claude-sonnet-5-5", usage, at=START) == pytest.approx(
        float(expected)
    )
    assert price_usd("offline", "medspacy-rules-v1", usage, at=START) == 0.0


def test_every_table_and_column_has_a_comment(layout):
    fill(layout)
    rebuild_warehouse(layout)
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        tables = dict(
            analyst.execute(
                "SELECT table_name, comment FROM duckdb_tables() WHERE NOT internal"
            ).fetchall()
        )
        assert set(tables) == {table.name for table in TABLES}
        assert all(comment for comment in tables.values()), tables
        undocumented = analyst.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE NOT internal AND (comment IS NULL OR comment = '')"
        ).fetchall()
        assert undocumented == []


def test_metrics_rates_and_latency_percentiles(layout):
    doc = "f" * 16
    calls = [
        # chunk 0: anthropic fails, falls back to openai
        record(doc, 0, "anthropic", "claude-sonnet-5-5", outcome="error", chunk=0, latency_ms=10),
        record(doc, 1, "openai", "gpt-5.4-mini", chunk=0, latency_ms=20),
        # chunks 1-3: anthropic first time; chunk 4 from the response cache
        *(
            record(doc, i, "anthropic", "claude-sonnet-5-5", chunk=i, latency_ms=30)
            for i in (2, 3, 4)
        ),
        record(doc, 5, "anthropic", "claude-sonnet-5-5", chunk=5, cached=True, latency_ms=0.1),
    ]
    write_ledger(layout, doc, calls)
    rebuild_warehouse(layout)
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        error_rate, fallback_rate, cache_rate, p50 = analyst.execute(
            "SELECT error_rate, fallback_rate, response_cache_hit_rate, p50_latency_ms "
            "FROM document_costs"
        ).fetchone()
        assert error_rate == pytest.approx(1 / 6)
        assert fallback_rate == pytest.approx(1 / 5)  # 5 chunks, one needed a fallback
        assert cache_rate == pytest.approx(1 / 6)
        assert p50 == pytest.approx(30.0), "the cache hit's latency is not a provider's"
        fallbacks = analyst.execute("SELECT provider FROM llm_calls WHERE is_fallback").fetchall()
        assert fallbacks == [("openai",)]


def test_ledger_files_without_newer_columns_still_load(layout):
    """A ledger written before the usage record had response_cache_hit/document_type."""
    old_columns = [
        c
        for c in LEDGER_SCHEMA
        if c not in ("response_cache_hit", "document_type", "parse_strategy")
    ]
    frame = (
        pl.DataFrame([record("1" * 16, 0, "anthropic", "claude-sonnet-5-5").model_dump()])
        .select(old_columns)
        .cast({c: LEDGER_SCHEMA[c] for c in old_columns})
    )
    layout.ledger.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(layout.ledger_file("1" * 16))
    write_ledger(layout, "2" * 16, [record("2" * 16, 0, "openai", "gpt-5.4-mini")])
    assert read_ledger(layout)["response_cache_hit"].to_list() == [False, False]
    rebuild_warehouse(layout)
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        hits = analyst.execute(
            "SELECT count(*) FILTER (WHERE NOT response_cache_hit) FROM llm_calls"
        ).fetchone()[0]
    assert hits == 2
    assert reconcile(layout).passed


def test_unchanged_documents_are_reused_and_changed_ones_reread(layout):
    fill(layout)
    first = rebuild_warehouse(layout)
    assert (first.ledger_files_read, first.ledger_files_reused) == (3, 0)
    write_ledger(
        layout, "a" * 16, [record("a" * 16, i, "anthropic", "claude-sonnet-5-5") for i in range(5)]
    )
    layout.ledger_file("c" * 16).unlink()  # a deleted document
    second = rebuild_warehouse(layout)
    assert (second.ledger_files_read, second.ledger_files_reused) == (1, 1)
    assert second.rows["llm_calls"] == 5 + 2
    assert reconcile(layout).passed
    full = rebuild_warehouse(layout, reuse_previous=False)
    assert full.ledger_files_reused == 0 and full.rows == second.rows


def test_reconciliation_catches_a_warehouse_that_double_counts(layout):
    fill(layout)
    rebuild_warehouse(layout)
    # a stale copy of a document's rows under another file: counted twice in the warehouse
    write_ledger(
        layout, "9" * 16, [record("a" * 16, i, "anthropic", "claude-sonnet-5-5") for i in range(3)]
    )
    rebuild_warehouse(layout)
    result = reconcile(layout)
    assert not result.passed
    assert result.misfiled_rows == 3


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
    leftovers = sorted(path.name for path in layout.warehouse.iterdir())
    assert leftovers == [BUILD_LOCK, "medpipeline.duckdb"], "no temp files, only the build lock"


def test_budget_breaches_are_listed(layout):
    """Hand-computed from the frozen prices: document a = calls 0-2 of claude-sonnet-5-5, each
    (900+i)*2 + (150+i)*10 + i*0.1 USD per million tokens = 0.0099363 on 2026-11-02; document b =
    calls 0-1 of gpt-5.4-mini, 900*0.75 + (150+i)*4.5 + i*0.075 = 0.002704575 on 2026-11-03."""
    fill(layout)
    report = rebuild_warehouse(
        layout, budgets=Budgets(daily_budget_usd=0.005, document_budget_usd=0.003, severity="ERROR")
    )
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        alerts = analyst.execute(
            "SELECT budget, scope, severity, cost_usd, excess_usd FROM budget_alerts "
            "ORDER BY budget, scope"
        ).fetchall()
    assert alerts == [
        ("daily", "2026-11-02", "ERROR", pytest.approx(0.0099363), pytest.approx(0.0049363)),
        ("document", "a" * 16, "ERROR", pytest.approx(0.0099363), pytest.approx(0.0069363)),
    ]
    assert report.rows["budget_alerts"] == 2


def test_empty_ledger_gives_empty_tables(layout):
    report = rebuild_warehouse(layout)
    assert report.rows["llm_calls"] == 0
    assert all(report.rows[table] == 0 for table in ROLLUPS if table != "cost_metrics")
    assert reconcile(layout).passed


def test_a_document_finishing_after_the_build_does_not_fail_its_reconciliation(layout):
    fill(layout)
    rebuild_warehouse(layout)
    # a run commits after the build read the ledger: the build's snapshot still adds up
    write_ledger(layout, "f" * 16, [record("f" * 16, 0, "anthropic", "claude-sonnet-5-5")])
    write_ledger(layout, "a" * 16, [record("a" * 16, 7, "anthropic", "claude-sonnet-5-5")])
    result = reconcile(layout)
    assert result.passed
    assert (result.ledger_files, result.ledger_rows) == (3, 6)


def test_compacted_ledger_keeps_every_row_and_a_later_run_of_a_document_wins(layout):
    fill(layout)
    backup = layout.root / "b-before-compaction.parquet"
    os.link(layout.ledger_file("b" * 16), backup)  # the same inode, to play a killed compactor
    first = rebuild_warehouse(layout, compact_min_files=1)
    assert first.ledger_files_compacted == 3
    assert ledger_files(layout) == [], "documents' own files were folded into a segment"
    assert first.rows["llm_calls"] == 6 and reconcile(layout).passed
    assert [r.call_id for r in read_document_ledger(layout, "a" * 16)] == [
        record("a" * 16, i, "anthropic", "claude-sonnet-5-5").call_id for i in range(3)
    ]

    # a compactor killed after writing its segment, before deleting the file it folded
    os.link(backup, layout.ledger_file("b" * 16))
    # a document re-materialized after compaction: its new file replaces its segment rows
    write_ledger(
        layout, "a" * 16, [record("a" * 16, i, "anthropic", "claude-sonnet-5-5") for i in range(5)]
    )
    assert read_ledger(layout).height == 5 + 2 + 1
    second = rebuild_warehouse(layout)
    assert second.ledger_files_compacted == 0 and second.rows["llm_calls"] == 8
    assert reconcile(layout).passed
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        calls = dict(analyst.execute("SELECT doc_id, calls FROM document_costs").fetchall())
    assert calls == {"a" * 16: 5, "b" * 16: 2, "c" * 16: 1}

    # rows filed under another document's name stay visible after compaction
    write_ledger(
        layout, "9" * 16, [record("a" * 16, i, "openai", "gpt-5.4-mini") for i in range(2)]
    )
    third = rebuild_warehouse(layout, compact_min_files=1)
    assert third.ledger_files_compacted == 2  # a's new file and 9's
    assert ledger_files(layout) == [], "b's leftover copy was removed, not folded again"
    assert reconcile(layout).misfiled_rows == 2
    full = rebuild_warehouse(layout, reuse_previous=False)
    assert full.rows["llm_calls"] == 10 and full.ledger_files_reused == 0


# Columns that differ between two builds of the same data by design: when each build ran, and
# whether a row was kept from the previous file.
BUILD_DEPENDENT = {"budget_alerts": {"detected_at"}, "source_files": {"reused"}}


def warehouse_rows(layout: DataLayout) -> dict[str, list[tuple]]:
    """Every table's rows (order-independent), floats to 12 significant digits: a sum's last
    bits depend on the order DuckDB's threads add the rows up, in any two builds."""

    def comparable(value):
        return float(f"{value:.12g}") if isinstance(value, float) else value

    tables = {}
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        for table in TABLES:
            columns = [
                column
                for (column,) in analyst.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                    "ORDER BY column_index",
                    [table.name],
                ).fetchall()
                if column not in BUILD_DEPENDENT.get(table.name, set())
            ]
            rows = analyst.execute(f"SELECT {', '.join(columns)} FROM {table.name}").fetchall()
            tables[table.name] = sorted(
                (tuple(comparable(value) for value in row) for row in rows), key=repr
            )
    return tables


def assert_a_full_build_gives(layout: DataLayout, rows: dict[str, list[tuple]]) -> None:
    full = rebuild_warehouse(layout, reuse_previous=False)
    assert not full.incremental
    assert warehouse_rows(layout) == rows


def test_a_patched_build_equals_a_full_build_table_for_table(layout, samples_dir):
    """Documents re-run, added, deleted, compacted into a segment, and document folders added,
    changed and deleted between builds: the patched file equals a full build of the same data."""
    fill(layout)
    first_pdf, second_pdf, third_pdf = (
        store_copy(layout, samples_dir / name)
        for name in (samples.DISCHARGE_FILE, samples.LAB_FILE, samples.REFERRAL_FILE)
    )
    for index, doc_id in enumerate((first_pdf, second_pdf)):
        commit_run(
            layout,
            doc_id,
            "run-1",
            [record(doc_id, i, "anthropic", "claude-sonnet-5-5", day=index) for i in range(4)],
        )
    write_json(
        layout.document_dir(first_pdf) / REVIEW_FILE,
        DocumentReview(doc_id=first_pdf, items=[ReviewItem(reason="chunk_failed", chunk_id="c1")]),
    )
    first = rebuild_warehouse(layout, compact_min_files=5)  # every file into a segment
    assert not first.incremental and first.ledger_files_compacted == 5
    write_ledger(layout, "f" * 16, [record("f" * 16, 0, "anthropic", "claude-sonnet-5-5")])
    assert rebuild_warehouse(layout).incremental

    # a new run of a compacted document (a fallback to OpenAI this time): billable calls kept
    rerun = [
        record(first_pdf, 9, "anthropic", "claude-sonnet-5-5", outcome="error", chunk=9),
        record(first_pdf, 10, "openai", "gpt-5.4-mini", chunk=9, day=2),
    ]
    commit_run(
        layout, first_pdf, "run-2", [r.model_copy(update={"run_id": "run-2"}) for r in rerun]
    )
    write_ledger(layout, "e" * 16, [record("e" * 16, 0, "openai", "gpt-5.4-mini", day=3)])
    layout.ledger_file("f" * 16).unlink()  # a deleted document's ledger
    write_ledger(  # a document re-run with fewer calls
        layout, "a" * 16, [record("a" * 16, i, "anthropic", "claude-sonnet-5-5") for i in range(2)]
    )
    write_json(  # a folder changed: its review now has two items
        layout.document_dir(first_pdf) / REVIEW_FILE,
        DocumentReview(
            doc_id=first_pdf,
            items=[
                ReviewItem(reason="chunk_failed", chunk_id="c1"),
                ReviewItem(reason="ungrounded", fact_list="conditions", fact_index=0),
            ],
        ),
    )
    shutil.rmtree(layout.document_dir(second_pdf))  # its ledger stays: a ledger_only document
    # a new folder without calls yet
    assert store_copy(layout, samples_dir / samples.PROGRESS_FILE) not in (third_pdf,)

    patched = rebuild_warehouse(layout)
    assert patched.incremental
    assert (patched.ledger_files_read, patched.documents_read) == (3, 2)  # first_pdf, e, a
    assert reconcile(layout).passed
    patched_rows = warehouse_rows(layout)
    assert_a_full_build_gives(layout, patched_rows)
    assert patched_rows["review_items"][-1][2] == "ungrounded"
    assert ("ledger_only",) in {row[1:2] for row in patched_rows["documents"]}

    # the next build compacts the new files into a segment: only those documents are re-read
    compacted = rebuild_warehouse(layout, compact_min_files=2)
    assert compacted.incremental and compacted.ledger_files_compacted == 3
    assert compacted.ledger_files_read == 3
    compacted_rows = warehouse_rows(layout)
    assert {k: v for k, v in compacted_rows.items() if k != "source_files"} == {
        k: v for k, v in patched_rows.items() if k != "source_files"
    }, "the same rows, now read from a segment"
    assert_a_full_build_gives(layout, compacted_rows)


def test_rows_filed_under_another_document_make_the_next_build_a_full_one(layout):
    """Patching document by document needs each row in its own document's file."""
    fill(layout)
    rebuild_warehouse(layout)
    write_ledger(layout, "9" * 16, [record("7" * 16, 5, "openai", "gpt-5.4-mini")])
    misfiled = rebuild_warehouse(layout)
    assert not misfiled.incremental and misfiled.ledger_files_read == 4
    assert reconcile(layout).misfiled_rows == 1
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        statuses = dict(analyst.execute("SELECT doc_id, status FROM documents").fetchall())
    assert statuses["7" * 16] == "ledger_only", "a document known only by its rows"
    assert not rebuild_warehouse(layout).incremental, "the previous file holds a misfiled row"
    layout.ledger_file("9" * 16).unlink()
    assert not rebuild_warehouse(layout).incremental
    assert rebuild_warehouse(layout).incremental


def test_a_patched_build_rolls_up_as_computed_by_hand(layout):
    """From the frozen prices (USD per million tokens): a call i of claude-sonnet-5-5 costs
    (900+i)*2 + (150+i)*10 + i*0.1, so calls 0, 1 and 5 cost 3300, 3312.1 and 3360.5; document b's
    two gpt-5.4-mini calls 2704.575 (see test_budget_breaches_are_listed). Latencies 100+i ms."""
    fill(layout)
    rebuild_warehouse(layout)
    write_ledger(  # a re-run with calls 0 and 1 only, and a new document d on day 1
        layout, "a" * 16, [record("a" * 16, i, "anthropic", "claude-sonnet-5-5") for i in range(2)]
    )
    write_ledger(layout, "d" * 16, [record("d" * 16, 5, "anthropic", "claude-sonnet-5-5", day=1)])
    assert rebuild_warehouse(layout).incremental
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        models = analyst.execute(
            "SELECT model, documents, calls, input_tokens, cache_read_tokens, cost_usd, "
            "p50_latency_ms, p95_latency_ms FROM model_costs ORDER BY model"
        ).fetchall()
        days = analyst.execute(
            "SELECT CAST(day AS VARCHAR), model, documents, calls, cost_usd FROM daily_costs "
            "ORDER BY day, model"
        ).fetchall()
        headline = analyst.execute("SELECT documents, calls, cost_usd FROM cost_metrics").fetchone()
    assert models == [
        # latencies 100, 101, 105: p95 = 101 + 0.9 * (105 - 101) (linear interpolation)
        (
            "claude-sonnet-5-5",
            2,
            3,
            900 + 901 + 905,
            0 + 1 + 5,
            pytest.approx(0.0099726),
            101.0,
            pytest.approx(104.6),
        ),
        (
            "gpt-5.4-mini",
            1,
            2,
            900 + 901,
            0 + 1,
            pytest.approx(0.002704575),
            pytest.approx(100.5),
            pytest.approx(100.95),
        ),
        ("medspacy-rules-v1", 1, 1, 900, 0, 0.0, 100.0, 100.0),
    ]
    assert days == [
        ("2026-11-02", "claude-sonnet-5-5", 1, 2, pytest.approx(0.0066121)),
        ("2026-11-02", "medspacy-rules-v1", 1, 1, 0.0),
        ("2026-11-03", "claude-sonnet-5-5", 1, 1, pytest.approx(0.0033605)),
        ("2026-11-03", "gpt-5.4-mini", 1, 2, pytest.approx(0.002704575)),
    ]
    assert headline == (4, 6, pytest.approx(0.0099726 + 0.002704575))


def readme_queries() -> list[str]:
    """The SQL block of the README's section for analysts."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Analysts: the DuckDB warehouse", 1)[1]
    block = section.split("```sql", 1)[1].split("```", 1)[0]
    statements = [
        " ".join(line for line in part.splitlines() if not line.lstrip().startswith("--"))
        for part in block.split(";")
    ]
    return [statement.strip() for statement in statements if statement.strip()]


def test_the_readme_queries_run_on_a_patched_warehouse_with_its_comments(layout):
    fill(layout)
    rebuild_warehouse(layout)
    write_ledger(layout, "d" * 16, [record("d" * 16, 5, "anthropic", "claude-sonnet-5-5")])
    assert rebuild_warehouse(layout).incremental
    queries = readme_queries()
    assert len(queries) == 8
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        results = [analyst.execute(query).fetchall() for query in queries]
        undocumented = analyst.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE NOT internal AND (comment IS NULL OR comment = '')"
        ).fetchall()
    assert len(results[1]) == 4, "the ten most expensive documents: a, b, c and d"
    assert undocumented == [], "a patched file keeps every comment"
