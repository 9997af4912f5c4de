"""The usage ledger (a Parquet file per document) and the analysts' DuckDB warehouse built from it.

The ledger file of a document is rewritten whole on every materialization, so re-running a document
replaces its rows instead of adding to them. The warehouse is rebuilt by one writer into a new file
that is renamed over the old one: an analyst holding the old file open keeps reading a consistent
snapshot and never blocks the pipeline.
"""

import os
import tempfile
from pathlib import Path

import duckdb
import polars as pl

from medpipeline.extraction.providers import UsageRecord
from medpipeline.storage import DataLayout

LEDGER_SCHEMA: dict[str, pl.DataType] = {
    "call_id": pl.String(),
    "doc_id": pl.String(),
    "chunk_id": pl.String(),
    "run_id": pl.String(),
    "provider": pl.String(),
    "model": pl.String(),
    "prompt_version": pl.String(),
    "attempt": pl.Int32(),
    "outcome": pl.String(),
    "error_class": pl.String(),
    "input_tokens": pl.Int64(),
    "output_tokens": pl.Int64(),
    "cache_read_tokens": pl.Int64(),
    "cache_write_tokens": pl.Int64(),
    "cost_usd": pl.Float64(),
    "latency_ms": pl.Float64(),
    "request_id": pl.String(),
    "started_at": pl.Datetime("us", "UTC"),
}

# One definition per table. Each rollup reads `llm_calls`; comments document the grain.
ROLLUPS: dict[str, str] = {
    "document_costs": """
        SELECT doc_id,
               count(*) AS calls,
               count(*) FILTER (WHERE outcome = 'error') AS failed_calls,
               sum(input_tokens) AS input_tokens,
               sum(output_tokens) AS output_tokens,
               sum(cache_read_tokens) AS cache_read_tokens,
               sum(cache_write_tokens) AS cache_write_tokens,
               sum(cost_usd) AS cost_usd,
               string_agg(DISTINCT provider, ',' ORDER BY provider) AS providers,
               min(started_at) AS first_call_at,
               max(started_at) AS last_call_at
        FROM llm_calls GROUP BY doc_id""",
    "model_costs": """
        SELECT provider, model,
               count(*) AS calls,
               count(DISTINCT doc_id) AS documents,
               sum(input_tokens) AS input_tokens,
               sum(output_tokens) AS output_tokens,
               sum(cost_usd) AS cost_usd,
               avg(latency_ms) AS mean_latency_ms
        FROM llm_calls GROUP BY provider, model""",
    "daily_costs": """
        SELECT CAST(started_at AS DATE) AS day, provider, model,
               count(*) AS calls,
               count(DISTINCT doc_id) AS documents,
               sum(input_tokens) AS input_tokens,
               sum(output_tokens) AS output_tokens,
               sum(cost_usd) AS cost_usd
        FROM llm_calls GROUP BY day, provider, model""",
}

TABLE_COMMENTS = {
    "llm_calls": "One row per provider attempt (success or failure), from the Parquet ledger.",
    "document_costs": "Calls, tokens and USD cost per document (doc_id = sha256 prefix).",
    "model_costs": "Calls, tokens, cost and mean latency per provider and model.",
    "daily_costs": "Calls, tokens and cost per UTC day, provider and model.",
}


def records_frame(records: list[UsageRecord]) -> pl.DataFrame:
    rows = [record.model_dump() for record in records]
    return pl.DataFrame(rows, schema=LEDGER_SCHEMA)


def write_ledger(layout: DataLayout, doc_id: str, records: list[UsageRecord]) -> Path:
    """Replace the document's ledger file with exactly these records (atomic rename)."""
    target = layout.ledger_file(doc_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    records_frame(records).write_parquet(temp)
    os.replace(temp, target)
    return target


def read_ledger(layout: DataLayout) -> pl.DataFrame:
    files = sorted(layout.ledger.glob("*.parquet"))
    if not files:
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    return pl.concat([pl.read_parquet(file) for file in files], how="vertical")


def rebuild_warehouse(layout: DataLayout) -> dict[str, int]:
    """Rebuild every table into a fresh DuckDB file and swap it in; returns row counts."""
    calls = read_ledger(layout)
    layout.warehouse.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=layout.warehouse, prefix=".build-", suffix=".duckdb")
    os.close(handle)
    os.unlink(temp_name)  # DuckDB must create the file itself
    staged_ledger = Path(temp_name).with_suffix(".parquet")
    counts: dict[str, int] = {}
    try:
        calls.write_parquet(staged_ledger)  # one file, schema kept even with no rows
        with duckdb.connect(temp_name) as connection:
            connection.execute(
                "CREATE TABLE llm_calls AS SELECT * FROM read_parquet(?)", [str(staged_ledger)]
            )
            for table, query in ROLLUPS.items():
                connection.execute(f"CREATE TABLE {table} AS {query}")
            for table, comment in TABLE_COMMENTS.items():
                connection.execute(f"COMMENT ON TABLE {table} IS '{comment}'")
                counts[table] = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            connection.execute("CHECKPOINT")
        os.replace(temp_name, layout.warehouse_db)
    finally:
        Path(temp_name).unlink(missing_ok=True)
        Path(temp_name + ".wal").unlink(missing_ok=True)
        staged_ledger.unlink(missing_ok=True)
    return counts
