"""The analysts' DuckDB warehouse, rebuilt by one writer into a new file swapped in atomically.

An analyst holding the old file open keeps a consistent snapshot and never blocks the pipeline.
Each build reads the Parquet ledger and the document folders; a document whose ledger file and
folder are unchanged since the previous build (same inode, mtime and size) is copied from the
previous file instead of re-read, so a rebuild after a few documents costs little at any scale.
The build also records each ledger file's totals as read, the snapshot `reconciliation` checks.
"""

import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl
from filelock import FileLock, Timeout
from pydantic import BaseModel, Field

from medpipeline.analytics.documents import (
    DOCUMENT_SCHEMA,
    document_signatures,
    documents_frame,
)
from medpipeline.analytics.prices import unit_prices
from medpipeline.analytics.review_items import REVIEW_ITEM_SCHEMA, review_items_frame
from medpipeline.analytics.tables import (
    BUDGET_ALERTS,
    DOCUMENT_RUNS,
    DOCUMENTS,
    INTAKE_EVENTS,
    LLM_CALLS,
    MODEL_PRICES,
    REVIEW_ITEMS,
    ROLLUP_TABLES,
    ROLLUPS,
    SOURCE_FILES,
    TABLES,
)
from medpipeline.costs import INPUT_EXCLUDES_CACHE
from medpipeline.events import read_intake_events, read_stage_events
from medpipeline.failures import open_failures
from medpipeline.ledger import (
    LEDGER_SCHEMA,
    OPTIONAL_DEFAULTS,
    compact_ledger,
    ledger_sources,
    read_ledger_snapshot,
)
from medpipeline.storage import DataLayout

BUILD_LOCK = ".build.lock"
COMPACT_MIN_FILES = 1000  # documents' own ledger files gathered before they are folded

_SQL_TYPES = {
    pl.String(): "VARCHAR",
    pl.Int32(): "INTEGER",
    pl.Int64(): "BIGINT",
    pl.Boolean(): "BOOLEAN",
    pl.Float64(): "DOUBLE",
    pl.Datetime("us", "UTC"): "TIMESTAMPTZ",
}


class Budgets(BaseModel):
    daily_budget_usd: float = Field(default=50.0, ge=0, description="All spend of one UTC day.")
    document_budget_usd: float = Field(default=1.0, ge=0, description="All spend of a document.")
    severity: Literal["WARN", "ERROR"] = Field(default="WARN", description="Of a breach.")


class BuildReport(BaseModel):
    rows: dict[str, int]
    seconds: float
    table_seconds: dict[str, float]
    ledger_files_read: int
    ledger_files_reused: int
    ledger_files_compacted: int = Field(default=0, description="Folded into a segment first.")
    documents_read: int
    documents_reused: int
    patient_keys: Literal["keyed", "unkeyed"]


def _sql_type(dtype: pl.DataType) -> str:
    return _SQL_TYPES[dtype]


def _stage(connection: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, folder: Path):
    """Polars frame -> DuckDB temp table, through Parquet (no pyarrow in this environment)."""
    path = folder / f"{name}.parquet"
    frame.write_parquet(path)
    connection.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM read_parquet(?)", [str(path)])
    path.unlink()


def _columns(connection: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    return [
        row[0]
        for row in connection.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND table_name = ? "
            "ORDER BY column_index",
            [database, table],
        ).fetchall()
    ]


def _attach_previous(connection: duckdb.DuckDBPyConnection, previous: Path) -> bool:
    """Attach the previous build read-only if its schema is this code's; else build from scratch."""
    if not previous.exists():
        return False
    try:
        connection.execute(f"ATTACH '{previous}' AS prev (READ_ONLY)")
    except duckdb.Error:
        return False
    for table in (LLM_CALLS, DOCUMENTS, REVIEW_ITEMS, SOURCE_FILES):
        if _columns(connection, "prev", table.name) != list(table.columns):
            connection.execute("DETACH prev")
            return False
    return True


_SOURCE_SCHEMA = {
    "source": pl.String(),
    "doc_id": pl.String(),
    "signature": pl.String(),
    "reused": pl.Boolean(),
    "rows": pl.Int64(),
    "cost_usd": pl.Float64(),
    "misfiled_rows": pl.Int64(),
}


def _load_ledger(connection, sources, reuse: bool, folder: Path) -> tuple[int, int]:
    """Unchanged documents' rows come from the previous build; the others are read, and each
    file's totals as read are kept in `source_rows` (the snapshot `reconcile` checks against)."""
    columns = ", ".join(f"{c} {_sql_type(t)}" for c, t in LEDGER_SCHEMA.items())
    connection.execute(f"CREATE TEMP TABLE ledger ({columns})")
    _stage(
        connection,
        "ledger_sources",
        pl.DataFrame(
            {"doc_id": list(sources), "signature": [s.signature for s in sources.values()]},
            schema={"doc_id": pl.String(), "signature": pl.String()},
        ),
        folder,
    )
    source_columns = ", ".join(f"{c} {_sql_type(t)}" for c, t in _SOURCE_SCHEMA.items())
    connection.execute(f"CREATE TEMP TABLE source_rows ({source_columns})")
    reused: set[str] = set()
    if reuse:
        connection.execute(
            "INSERT INTO source_rows SELECT p.* REPLACE (true AS reused) FROM ledger_sources s "
            "JOIN prev.source_files p "
            "ON p.source = 'ledger' AND p.doc_id = s.doc_id AND p.signature = s.signature"
        )
        reused = {row[0] for row in connection.execute("SELECT doc_id FROM source_rows").fetchall()}
    changed = [d for d in sources if d not in reused]
    own, read_as = read_ledger_snapshot(sources, [d for d in changed if not sources[d].segment])
    _stage(connection, "fresh", own, folder)
    packed = [d for d in changed if sources[d].segment]
    if packed:
        _insert_segment_rows(connection, sources, packed, folder)
        read_as |= {doc_id: sources[doc_id].signature for doc_id in packed}
    connection.execute(f"INSERT INTO ledger SELECT {', '.join(LEDGER_SCHEMA)} FROM fresh")
    _stage(
        connection,
        "read_as",
        pl.DataFrame(
            {"doc_id": list(read_as), "signature": list(read_as.values())},
            schema={"doc_id": pl.String(), "signature": pl.String()},
        ),
        folder,
    )
    connection.execute(  # a file with no rows has rows 0 and cost 0
        "INSERT INTO source_rows SELECT 'ledger', r.doc_id, r.signature, false, count(f.doc_id), "
        "coalesce(sum(f.cost_usd), 0), count(*) FILTER (WHERE f.doc_id <> r.doc_id) "
        "FROM read_as r LEFT JOIN fresh f ON f.file_doc_id = r.doc_id GROUP BY ALL"
    )
    connection.execute("DROP TABLE fresh")
    connection.execute(
        "CREATE TEMP TABLE reused_docs AS SELECT unnest(?::VARCHAR[]) AS doc_id", [sorted(reused)]
    )
    return len(read_as), len(reused)


def _insert_segment_rows(connection, sources, doc_ids: list[str], folder: Path) -> None:
    """These documents' rows from the ledger segments into `fresh`, read by DuckDB's parallel
    read_parquet (segments are immutable: what is read is the version listed)."""
    _stage(
        connection,
        "wanted",
        pl.DataFrame({"filename": [str(sources[d].path) for d in doc_ids], "file_doc_id": doc_ids}),
        folder,
    )
    paths = sorted({str(sources[d].path) for d in doc_ids})
    scan = "read_parquet(?, filename = true, union_by_name = true)"
    described = connection.execute(f"DESCRIBE SELECT * FROM {scan}", [paths]).fetchall()
    present = {row[0] for row in described}
    columns = []
    for column, dtype in LEDGER_SCHEMA.items():  # segments of older code may lack a column
        default = OPTIONAL_DEFAULTS.get(column)
        value = column if column in present else "NULL"
        if default is not None:
            value = f"coalesce({value}, {str(default).lower()})"
        columns.append(f"CAST({value} AS {_sql_type(dtype)}) AS {column}")
    connection.execute(
        f"INSERT INTO fresh SELECT {', '.join(columns)}, file_doc_id FROM {scan} "
        "SEMI JOIN wanted USING (filename, file_doc_id)",
        [paths],
    )
    connection.execute("DROP TABLE wanted")


def _load_documents(connection, layout, secret, reuse: bool, folder: Path) -> tuple[int, int]:
    signatures = document_signatures(layout, secret)
    columns = ", ".join(f"{c} {_sql_type(t)}" for c, t in DOCUMENT_SCHEMA.items())
    connection.execute(f"CREATE TABLE documents ({columns})")
    reused: set[str] = set()
    if reuse and signatures:
        previous = dict(
            connection.execute(
                "SELECT doc_id, signature FROM prev.source_files WHERE source = 'documents'"
            ).fetchall()
        )
        reused = {d for d, s in signatures.items() if previous.get(d) == s}
        connection.execute(
            "INSERT INTO documents SELECT * FROM prev.documents "
            "WHERE doc_id IN (SELECT unnest(?::VARCHAR[]))",
            [sorted(reused)],
        )
    changed = [d for d in signatures if d not in reused]
    if changed:
        _stage(
            connection,
            "fresh_documents",
            documents_frame(layout, changed, signatures, secret),
            folder,
        )
        connection.execute("INSERT INTO documents SELECT * FROM fresh_documents")
    _stage(
        connection,
        "document_sources",
        pl.DataFrame(
            {
                "source": ["documents"] * len(signatures),
                "doc_id": list(signatures),
                "signature": list(signatures.values()),
                "reused": [d in reused for d in signatures],
                "rows": [None] * len(signatures),
                "cost_usd": [None] * len(signatures),
                "misfiled_rows": [None] * len(signatures),
            },
            schema=_SOURCE_SCHEMA,
        ),
        folder,
    )
    return len(changed), len(reused)


def _load_review_items(connection, layout: DataLayout, reuse: bool, folder: Path) -> None:
    """Review items of the documents `_load_documents` re-read; reused documents' are copied."""
    columns = ", ".join(f"{c} {_sql_type(t)}" for c, t in REVIEW_ITEM_SCHEMA.items())
    connection.execute(f"CREATE TABLE review_items ({columns})")
    if reuse:
        connection.execute(
            "INSERT INTO review_items SELECT * FROM prev.review_items "
            "WHERE doc_id IN (SELECT doc_id FROM document_sources WHERE reused)"
        )
    changed = [
        row[0]
        for row in connection.execute(
            "SELECT doc_id FROM document_sources WHERE NOT reused"
        ).fetchall()
    ]
    if changed:
        _stage(connection, "fresh_review_items", review_items_frame(layout, changed), folder)
        connection.execute("INSERT INTO review_items SELECT * FROM fresh_review_items")


# UTC day by integer arithmetic (a time-zone cast per row is much slower at a million rows)
_DAY = "(DATE '1970-01-01' + CAST(epoch_us(started_at) // 86400000000 AS INTEGER))"


def _load_prices(connection, reuse: bool, folder: Path) -> None:
    """Unit prices of the fresh rows' (provider, model, day); reused rows keep the previous."""
    keys = connection.execute(f"SELECT DISTINCT provider, model, {_DAY} FROM ledger").fetchall()
    rows = []
    for provider, model, day in keys:
        prices = unit_prices(provider, model, day)
        per_mtok = (
            {kind: value * 1_000_000 for kind, value in prices.model_dump().items()}
            if prices
            else {}
        )
        rows.append(
            {
                "provider": provider,
                "model": model,
                "day": day,
                **{
                    f"{kind}_usd_per_mtok": per_mtok.get(kind)
                    for kind in ("input", "output", "cache_read", "cache_write")
                },
            }
        )
    schema = {"provider": pl.String(), "model": pl.String(), "day": pl.Date()} | {
        column: pl.Float64() for column in list(MODEL_PRICES.columns)[3:]
    }
    _stage(connection, "prices", pl.DataFrame(rows, schema=schema), folder)
    connection.execute("CREATE TABLE model_prices AS SELECT * FROM prices")
    if reuse:
        connection.execute(
            "INSERT INTO model_prices SELECT * FROM prev.model_prices "
            "ANTI JOIN prices USING (provider, model, day)"
        )


def _load_failures(connection, layout: DataLayout, folder: Path) -> None:
    schema = {
        "doc_id": pl.String(),
        "run_id": pl.String(),
        "step": pl.String(),
        "reason": pl.String(),
        "failed_at": pl.Datetime("us", "UTC"),
    }
    rows = [failure.model_dump() for failure in open_failures(layout)]
    _stage(connection, "failures", pl.DataFrame(rows, schema=schema), folder)
    connection.execute("CREATE TABLE failed_documents AS SELECT * FROM failures ORDER BY failed_at")


def _build_llm_calls(connection, reuse: bool) -> None:
    """Derive the fresh ledger rows' columns; unchanged documents' rows are copied as they were."""
    excludes = ", ".join(f"'{p}'" for p in sorted(INPUT_EXCLUDES_CACHE))
    connection.execute(f"""
        CREATE TABLE llm_calls AS
        WITH calls AS (
            SELECT *, {_DAY} AS day,
                   CASE WHEN provider IN ({excludes})
                        THEN input_tokens + cache_read_tokens + cache_write_tokens
                        ELSE input_tokens END AS prompt_tokens
            FROM ledger
        ), split AS (
            SELECT c.*,
                   greatest(prompt_tokens - cache_read_tokens - cache_write_tokens, 0)
                       AS uncached_input_tokens,
                   greatest(prompt_tokens - cache_read_tokens - cache_write_tokens, 0)
                       * p.input_usd_per_mtok / 1e6 AS raw_input,
                   output_tokens * p.output_usd_per_mtok / 1e6 AS raw_output,
                   cache_read_tokens * p.cache_read_usd_per_mtok / 1e6 AS raw_read,
                   cache_write_tokens * p.cache_write_usd_per_mtok / 1e6 AS raw_write
            FROM calls c LEFT JOIN model_prices p USING (provider, model, day)
        ), scaled AS (
            -- unit prices split the recorded cost; scaled so the kinds add up to cost_usd
            SELECT *, CASE WHEN cost_usd = 0 THEN 0.0
                           WHEN raw_input + raw_output + raw_read + raw_write > 0
                           THEN cost_usd / (raw_input + raw_output + raw_read + raw_write)
                      END AS factor
            FROM split
        ), chunks AS (
            SELECT hash(run_id, doc_id, chunk_id) AS chunk_key,
                   arg_min(provider, started_at) AS first_provider,
                   arg_min(call_id, started_at) AS first_call_id,
                   min(provider) <> max(provider) AS fell_back
            FROM ledger GROUP BY ALL
        )
        SELECT call_id, doc_id, run_id, chunk_id, provider, model, prompt_version, document_type,
               attempt, outcome, error_class, response_cache_hit, parse_strategy,
               input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
               prompt_tokens, uncached_input_tokens,
               raw_input * factor AS input_cost_usd, raw_output * factor AS output_cost_usd,
               raw_read * factor AS cache_read_cost_usd, raw_write * factor AS cache_write_cost_usd,
               cost_usd, price_known, batch_id,
               provider <> k.first_provider AS is_fallback,
               call_id = k.first_call_id AS first_call_of_chunk,
               k.fell_back AS chunk_fell_back,
               latency_ms, request_id, started_at,
               started_at + to_microseconds(CAST(latency_ms * 1000 AS BIGINT)) AS finished_at,
               day
        FROM scaled LEFT JOIN chunks k ON k.chunk_key = hash(run_id, doc_id, chunk_id)""")
    if reuse:
        connection.execute(
            "INSERT INTO llm_calls SELECT * FROM prev.llm_calls "
            "WHERE doc_id IN (SELECT doc_id FROM reused_docs)"
        )
        connection.execute(  # prices of days whose documents were deleted
            "DELETE FROM model_prices p WHERE NOT EXISTS (SELECT 1 FROM llm_calls c "
            "WHERE c.provider = p.provider AND c.model = p.model AND c.day = p.day)"
        )


def _comment(connection, table) -> None:
    connection.execute(f"COMMENT ON TABLE {table.name} IS {_quote(table.comment)}")
    documented = table.all_columns
    for column in _columns(connection, "build", table.name):
        if column not in documented:
            raise ValueError(f"column {table.name}.{column} has no comment")
        connection.execute(
            f"COMMENT ON COLUMN {table.name}.{column} IS {_quote(documented[column])}"
        )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class WarehouseBusy(Exception):
    """Another process held the warehouse's build lock for longer than the caller would wait."""


def build_lock(layout: DataLayout) -> FileLock:
    layout.warehouse.mkdir(parents=True, exist_ok=True)
    return FileLock(layout.warehouse / BUILD_LOCK)


def rebuild_warehouse(
    layout: DataLayout,
    *,
    budgets: Budgets | None = None,
    patient_key_secret: str | None = None,
    reuse_previous: bool = True,
    lock_timeout_seconds: float = -1,
    compact_min_files: int = COMPACT_MIN_FILES,
) -> BuildReport:
    """Build every table into a fresh DuckDB file and swap it in; returns counts and timings.

    One writer at a time, across processes (a file lock; -1 waits as long as it takes): two
    builds at once could swap in an older snapshot after a newer one. The writer first folds
    documents' own ledger files into a segment once `compact_min_files` of them have gathered
    (see `medpipeline.ledger`), so no build ever opens tens of thousands of small files."""
    try:
        with build_lock(layout).acquire(timeout=lock_timeout_seconds):
            compacted = compact_ledger(layout, compact_min_files)
            report = _build(layout, budgets or Budgets(), patient_key_secret, reuse_previous)
            return report.model_copy(update={"ledger_files_compacted": compacted})
    except Timeout:
        raise WarehouseBusy(f"warehouse build lock held > {lock_timeout_seconds} s") from None


def _build(
    layout: DataLayout, budgets: Budgets, patient_key_secret: str | None, reuse_previous: bool
) -> BuildReport:
    clock = time.perf_counter()
    handle, temp_name = tempfile.mkstemp(dir=layout.warehouse, prefix=".build-", suffix=".duckdb")
    os.close(handle)
    os.unlink(temp_name)  # DuckDB must create the file itself
    staging = Path(tempfile.mkdtemp(dir=layout.warehouse, prefix=".staging-"))
    timings: dict[str, float] = {}
    try:
        sources = ledger_sources(layout)
        with duckdb.connect() as connection:  # staging stays in memory, tables go to `build`
            connection.execute("SET TimeZone = 'UTC'")
            connection.execute(f"ATTACH '{temp_name}' AS build")
            connection.execute("USE build")
            reuse = reuse_previous and _attach_previous(connection, layout.warehouse_db)
            started = time.perf_counter()
            read, reused = _load_ledger(connection, sources, reuse, staging)
            docs_read, docs_reused = _load_documents(
                connection, layout, patient_key_secret, reuse, staging
            )
            _load_review_items(connection, layout, reuse, staging)
            timings["load"] = time.perf_counter() - started
            started = time.perf_counter()
            _load_prices(connection, reuse, staging)
            _build_llm_calls(connection, reuse)
            connection.execute(
                "INSERT INTO documents (doc_id, status) SELECT DISTINCT doc_id, 'ledger_only' "
                "FROM llm_calls WHERE doc_id NOT IN (SELECT doc_id FROM documents)"
            )
            timings[LLM_CALLS.name] = time.perf_counter() - started
            for table in ROLLUP_TABLES:
                started = time.perf_counter()
                connection.execute(f"CREATE TABLE {table.name} AS {ROLLUPS[table.name]}")
                timings[table.name] = time.perf_counter() - started
            connection.execute(
                f"CREATE TABLE budget_alerts AS {BUDGET_ALERTS.sql}",
                {
                    "daily_budget_usd": budgets.daily_budget_usd,
                    "document_budget_usd": budgets.document_budget_usd,
                    "severity": budgets.severity,
                    "detected_at": datetime.now(UTC),
                },
            )
            _load_failures(connection, layout, staging)
            _stage(connection, "intake_rows", read_intake_events(layout), staging)
            _stage(connection, "stage_events", read_stage_events(layout), staging)
            for table in (INTAKE_EVENTS, DOCUMENT_RUNS):
                connection.execute(f"CREATE TABLE {table.name} AS {table.sql}")
            connection.execute(
                "CREATE TABLE source_files AS SELECT * FROM source_rows "
                "UNION ALL SELECT * FROM document_sources"
            )
            if reuse:
                connection.execute("DETACH prev")
            rows = {}
            for table in TABLES:
                _comment(connection, table)
                rows[table.name] = connection.execute(
                    f"SELECT count(*) FROM {table.name}"
                ).fetchone()[0]
            connection.execute("USE memory")
            connection.execute("DETACH build")
        os.replace(temp_name, layout.warehouse_db)
    finally:
        Path(temp_name).unlink(missing_ok=True)
        Path(temp_name + ".wal").unlink(missing_ok=True)
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()
    return BuildReport(
        rows=rows,
        seconds=time.perf_counter() - clock,
        table_seconds=timings,
        ledger_files_read=read,
        ledger_files_reused=reused,
        documents_read=docs_read,
        documents_reused=docs_reused,
        patient_keys="keyed" if patient_key_secret else "unkeyed",
    )
