"""The usage ledger: one Parquet file per document, `ledger/<doc_id>.parquet`.

A document's file is rewritten whole on every materialization, so re-running a document replaces
its rows instead of adding to them. Columns added to the usage record later (e.g.
`response_cache_hit`) may be missing from older files: readers fill them with their default.
"""

import os
from pathlib import Path

import polars as pl
from pydantic import BaseModel

from medpipeline.storage import DataLayout

LEDGER_SCHEMA: dict[str, pl.DataType] = {
    "call_id": pl.String(),
    "doc_id": pl.String(),
    "chunk_id": pl.String(),
    "run_id": pl.String(),
    "provider": pl.String(),
    "model": pl.String(),
    "prompt_version": pl.String(),
    "document_type": pl.String(),
    "attempt": pl.Int32(),
    "outcome": pl.String(),
    "error_class": pl.String(),
    "response_cache_hit": pl.Boolean(),
    "parse_strategy": pl.String(),
    "input_tokens": pl.Int64(),
    "output_tokens": pl.Int64(),
    "cache_read_tokens": pl.Int64(),
    "cache_write_tokens": pl.Int64(),
    "cost_usd": pl.Float64(),  # null: genai-prices does not know the model
    "price_known": pl.Boolean(),
    "batch_id": pl.String(),
    "latency_ms": pl.Float64(),
    "request_id": pl.String(),
    "started_at": pl.Datetime("us", "UTC"),
}

# Columns that older ledger files (or older usage records) may lack, and what they mean then.
OPTIONAL_DEFAULTS: dict[str, object] = {
    "document_type": None,
    "response_cache_hit": False,
    "parse_strategy": None,
    "price_known": True,  # rows written before unknown models could be recorded were all priced
    "batch_id": None,
}


def records_frame(records: list[BaseModel]) -> pl.DataFrame:
    """Usage records as a ledger frame; fields the record type does not have take their default."""
    rows = []
    for record in records:
        row = record.model_dump()
        rows.append(
            {column: row.get(column, OPTIONAL_DEFAULTS.get(column)) for column in LEDGER_SCHEMA}
        )
    return pl.DataFrame(rows, schema=LEDGER_SCHEMA)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """A ledger file's frame in LEDGER_SCHEMA: missing optional columns filled, order fixed."""
    missing = [
        pl.lit(OPTIONAL_DEFAULTS.get(column), dtype=dtype).alias(column)
        for column, dtype in LEDGER_SCHEMA.items()
        if column not in frame.columns
    ]
    if missing:
        frame = frame.with_columns(missing)
    return frame.select(
        pl.col(column).cast(dtype) for column, dtype in LEDGER_SCHEMA.items()
    ).with_columns(
        pl.col("response_cache_hit").fill_null(False), pl.col("price_known").fill_null(True)
    )


def write_ledger(layout: DataLayout, doc_id: str, records: list[BaseModel]) -> Path:
    """Replace the document's ledger file with exactly these records (atomic rename)."""
    target = layout.ledger_file(doc_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    records_frame(records).write_parquet(temp)
    os.replace(temp, target)
    return target


def ledger_files(layout: DataLayout) -> list[Path]:
    """Every document's ledger file (temp files of a write in progress start with a dot)."""
    if not layout.ledger.is_dir():
        return []
    return sorted(
        Path(entry.path)
        for entry in os.scandir(layout.ledger)
        if entry.name.endswith(".parquet") and not entry.name.startswith(".")
    )


def read_ledger_files(files: list[Path]) -> pl.DataFrame:
    if not files:
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    return pl.concat([conform(pl.read_parquet(file)) for file in files], how="vertical")


def read_ledger(layout: DataLayout) -> pl.DataFrame:
    """All ledger rows of all documents, in LEDGER_SCHEMA."""
    return read_ledger_files(ledger_files(layout))
