"""Proof that the warehouse adds up to the ledger snapshot its build read.

The build keeps, per ledger file, the totals of the rows it read (`source_files`: rows, cost,
rows filed under another document), computed with polars from the Parquet rows before any SQL.
The check compares llm_calls, every rollup and every document's costs with those totals. It
reads the warehouse only, never the ledger again: a document that finishes after the build
changes the ledger, not the snapshot, so it cannot make a correct build look wrong.
"""

import duckdb
from pydantic import BaseModel, Field

from medpipeline.storage import DataLayout

ROLLUPS_WITH_CALLS = (
    "document_costs",
    "patient_costs",
    "model_costs",
    "provider_costs",
    "daily_costs",
    "cost_metrics",
)


class Reconciliation(BaseModel):
    passed: bool
    ledger_files: int
    ledger_rows: int
    ledger_cost_usd: float
    warehouse_rows: int
    warehouse_cost_usd: float
    misfiled_rows: int = Field(description="Rows whose doc_id is not their file's document.")
    duplicate_call_ids: int
    mismatched_tables: list[str]
    mismatched_documents: int


def reconcile(layout: DataLayout, tolerance_usd: float = 1e-6) -> Reconciliation:
    """Row counts and cost of llm_calls, of each rollup and per document, against the snapshot."""
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as warehouse:
        files, ledger_rows, ledger_cost, misfiled = warehouse.execute(
            "SELECT count(*), coalesce(sum(rows), 0), coalesce(sum(cost_usd), 0), "
            "coalesce(sum(misfiled_rows), 0) FROM source_files WHERE source = 'ledger'"
        ).fetchone()
        rows, cost, distinct_ids = warehouse.execute(
            "SELECT count(*), coalesce(sum(cost_usd), 0), count(DISTINCT call_id) FROM llm_calls"
        ).fetchone()
        mismatched = []
        for table in ROLLUPS_WITH_CALLS:
            calls, table_cost = warehouse.execute(
                f"SELECT coalesce(sum(calls), 0), coalesce(sum(cost_usd), 0) FROM {table}"
            ).fetchone()
            if calls != ledger_rows or abs(table_cost - ledger_cost) > tolerance_usd:
                mismatched.append(table)
        mismatched_documents = warehouse.execute(
            "SELECT count(*) FROM (SELECT doc_id, rows, cost_usd FROM source_files "
            "WHERE source = 'ledger' AND rows > 0) f "
            "FULL JOIN document_costs d USING (doc_id) "
            "WHERE f.rows IS DISTINCT FROM d.calls OR abs(f.cost_usd - d.cost_usd) > ?",
            [tolerance_usd],
        ).fetchone()[0]
    duplicates = rows - distinct_ids
    return Reconciliation(
        passed=(
            rows == ledger_rows
            and abs(cost - ledger_cost) <= tolerance_usd
            and not misfiled
            and not duplicates
            and not mismatched
            and not mismatched_documents
        ),
        ledger_files=files,
        ledger_rows=ledger_rows,
        ledger_cost_usd=ledger_cost,
        warehouse_rows=rows,
        warehouse_cost_usd=cost,
        misfiled_rows=misfiled,
        duplicate_call_ids=duplicates,
        mismatched_tables=mismatched,
        mismatched_documents=mismatched_documents,
    )
