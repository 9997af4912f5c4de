"""The analysts' DuckDB warehouse, rebuilt by one writer into a new file swapped in atomically.

An analyst holding the old file open keeps a consistent snapshot and never blocks the pipeline.
A build reads the Parquet ledger and the document folders. When the previous file was built by
the same code and prices, the new file starts as a copy of it: only the documents whose ledger
source or folder changed (signature: inode, mtime and size, or the segment holding them) are
read, their rows deleted and re-derived in the per-document tables, and the rollups computed
again, so a rebuild after a few documents costs little at any scale and equals a full build.
The build also records each ledger file's totals as read, the snapshot `reconciliation` checks.
"""

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl
from filelock import FileLock, Timeout
from pydantic import BaseModel, Field

from medpipeline import costs, ledger
from medpipeline.analytics import documents, prices, review_items, tables
from medpipeline.analytics.documents import (
    DOCUMENT_SCHEMA,
    document_signatures,
    documents_frame,
)
from medpipeline.analytics.prices import unit_prices
from medpipeline.analytics.review_items import REVIEW_ITEM_SCHEMA, review_items_frame
from medpipeline.analytics.tables import (
    BUDGET_ALERTS,
    DOCUMENT_COSTS,
    DOCUMENT_RUNS,
    DOCUMENTS,
    INTAKE_EVENTS,
    LLM_CALLS,
    MODEL_PRICES,
    REVIEW_ITEMS,
    ROLLUP_TABLES,
    ROLLUPS,
    TABLES,
    Table,
    document_costs_of,
)
from medpipeline.costs import INPUT_EXCLUDES_CACHE
from medpipeline.events import read_intake_events, read_stage_events
from medpipeline.failures import open_failures
from medpipeline.ledger import (
    LEDGER_SCHEMA,
    OPTIONAL_DEFAULTS,
    LedgerSource,
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
    incremental: bool = Field(description="The previous file was copied and patched.")
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


@dataclass(frozen=True)
class _Previous:
    """What the previous build read: ledger source and document folder signatures by doc_id."""

    ledger: dict[str, str]
    documents: dict[str, str]


def build_fingerprint() -> str:
    """Identifies the code and prices a build runs with. A file built under another fingerprint
    (or by older code, which wrote none) is never patched: the next build is a full one."""
    digest = hashlib.sha256()
    for module in (tables, documents, review_items, prices, costs, ledger):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(f"genai-prices {version('genai-prices')} duckdb {duckdb.__version__}".encode())
    return digest.hexdigest()[:16]


def _previous_build(connection: duckdb.DuckDBPyConnection, path: Path) -> _Previous | None:
    """The previous build's signatures when its file can be patched into this build: same
    fingerprint, and no row filed under another document's name (patching document by document
    is exact only when every row belongs to the document of the file it came from)."""
    if not path.exists():
        return None
    try:
        connection.execute(f"ATTACH '{path}' AS prev (READ_ONLY)")
    except duckdb.Error:
        return None
    try:
        rows = connection.execute(
            "SELECT source, doc_id, signature, misfiled_rows FROM prev.source_files"
        ).fetchall()
    except duckdb.Error:
        rows = []
    finally:
        connection.execute("DETACH prev")
    built_by = [signature for source, _, signature, _ in rows if source == "build"]
    if built_by != [build_fingerprint()] or any(misfiled for *_, misfiled in rows):
        return None
    return _Previous(
        ledger={doc_id: sig for source, doc_id, sig, _ in rows if source == "ledger"},
        documents={doc_id: sig for source, doc_id, sig, _ in rows if source == "documents"},
    )


_SOURCE_SCHEMA = {
    "source": pl.String(),
    "doc_id": pl.String(),
    "signature": pl.String(),
    "reused": pl.Boolean(),
    "rows": pl.Int64(),
    "cost_usd": pl.Float64(),
    "misfiled_rows": pl.Int64(),
}
_FRESH_SCHEMA = LEDGER_SCHEMA | {"file_doc_id": pl.String()}


def _columns_sql(schema: dict[str, pl.DataType]) -> str:
    return ", ".join(f"{column} {_sql_type(dtype)}" for column, dtype in schema.items())


def _read_ledger(connection, sources, doc_ids: list[str], folder: Path) -> int:
    """These documents' ledger rows into the temp table `fresh` (with `file_doc_id`), and each
    file's totals as read into `source_rows` (the snapshot `reconcile` checks against); returns
    how many files were read."""
    own, read_as = read_ledger_snapshot(sources, [d for d in doc_ids if not sources[d].segment])
    _stage(connection, "own_rows", own, folder)
    connection.execute(f"INSERT INTO fresh SELECT {', '.join(_FRESH_SCHEMA)} FROM own_rows")
    connection.execute("DROP TABLE own_rows")
    packed = [d for d in doc_ids if sources[d].segment]
    if packed:
        _insert_segment_rows(connection, sources, packed, folder)
        read_as |= {doc_id: sources[doc_id].signature for doc_id in packed}
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
    connection.execute("DROP TABLE read_as")
    return len(read_as)


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


def _doc_ids(connection, name: str, doc_ids: set[str]) -> None:
    connection.execute(
        f"CREATE TEMP TABLE {name} AS SELECT unnest(?::VARCHAR[]) AS doc_id", [sorted(doc_ids)]
    )


def _load_documents(
    connection, layout, secret, changed: list[str], signatures, patch: bool, folder: Path
) -> None:
    """Rows of the changed document folders and their review items; when patching, these
    replace the affected documents' rows (a ledger_only row is derived again later)."""
    if patch:
        for table in (DOCUMENTS.name, REVIEW_ITEMS.name):
            connection.execute(
                f"DELETE FROM {table} WHERE doc_id IN (SELECT doc_id FROM folders_affected)"
            )
        connection.execute(
            "DELETE FROM documents WHERE status = 'ledger_only' "
            "AND doc_id IN (SELECT doc_id FROM affected)"
        )
    else:
        connection.execute(f"CREATE TABLE documents ({_columns_sql(DOCUMENT_SCHEMA)})")
        connection.execute(f"CREATE TABLE review_items ({_columns_sql(REVIEW_ITEM_SCHEMA)})")
    _stage(
        connection, "fresh_documents", documents_frame(layout, changed, signatures, secret), folder
    )
    connection.execute("INSERT INTO documents SELECT * FROM fresh_documents")
    _stage(connection, "fresh_review_items", review_items_frame(layout, changed), folder)
    connection.execute("INSERT INTO review_items SELECT * FROM fresh_review_items")


# UTC day by integer arithmetic (a time-zone cast per row is much slower at a million rows)
_DAY = "(DATE '1970-01-01' + CAST(epoch_us(started_at) // 86400000000 AS INTEGER))"


def _load_prices(connection, patch: bool, folder: Path) -> None:
    """Unit prices of the fresh rows' (provider, model, day) into the temp table `prices`; when
    patching, the previous build's too (same fingerprint: the same genai-prices figures)."""
    keys = connection.execute(f"SELECT DISTINCT provider, model, {_DAY} FROM fresh").fetchall()
    rows = []
    for provider, model, day in keys:
        unit = unit_prices(provider, model, day)
        per_mtok = (
            {kind: value * 1_000_000 for kind, value in unit.model_dump().items()} if unit else {}
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
    if patch:
        connection.execute(
            "INSERT INTO prices SELECT * FROM model_prices "
            "ANTI JOIN prices USING (provider, model, day)"
        )
        connection.execute("DROP TABLE model_prices")


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
    connection.execute(
        "CREATE OR REPLACE TABLE failed_documents AS SELECT * FROM failures ORDER BY failed_at"
    )


def _calls_sql() -> str:
    """llm_calls' rows of the rows in `fresh`: every derived column depends only on the row, its
    prices, and the calls of its chunk's extraction in its run (within one document)."""
    excludes = ", ".join(f"'{p}'" for p in sorted(INPUT_EXCLUDES_CACHE))
    return f"""
        WITH calls AS (
            SELECT *, {_DAY} AS day,
                   CASE WHEN provider IN ({excludes})
                        THEN input_tokens + cache_read_tokens + cache_write_tokens
                        ELSE input_tokens END AS prompt_tokens
            FROM fresh
        ), split AS (
            SELECT c.*,
                   greatest(prompt_tokens - cache_read_tokens - cache_write_tokens, 0)
                       AS uncached_input_tokens,
                   greatest(prompt_tokens - cache_read_tokens - cache_write_tokens, 0)
                       * p.input_usd_per_mtok / 1e6 AS raw_input,
                   output_tokens * p.output_usd_per_mtok / 1e6 AS raw_output,
                   cache_read_tokens * p.cache_read_usd_per_mtok / 1e6 AS raw_read,
                   cache_write_tokens * p.cache_write_usd_per_mtok / 1e6 AS raw_write
            FROM calls c LEFT JOIN prices p USING (provider, model, day)
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
            FROM fresh GROUP BY ALL
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
        FROM scaled LEFT JOIN chunks k ON k.chunk_key = hash(run_id, doc_id, chunk_id)"""


def _build_llm_calls(connection, patch: bool) -> None:
    """llm_calls of the rows in `fresh` (replacing the affected documents' rows when patching),
    the prices of its days, and a ledger_only row for each document known only by its rows."""
    if patch:
        connection.execute(
            "DELETE FROM llm_calls WHERE doc_id IN (SELECT doc_id FROM ledger_affected)"
        )
        connection.execute(f"INSERT INTO llm_calls {_calls_sql()}")
    else:
        connection.execute(f"CREATE TABLE llm_calls AS {_calls_sql()}")
    connection.execute(
        "CREATE TABLE model_prices AS SELECT * FROM prices SEMI JOIN "
        "(SELECT DISTINCT provider, model, day FROM llm_calls) USING (provider, model, day)"
    )
    only_affected = "AND doc_id IN (SELECT doc_id FROM affected)" if patch else ""
    connection.execute(
        "INSERT INTO documents (doc_id, status) SELECT DISTINCT doc_id, 'ledger_only' "
        f"FROM llm_calls WHERE doc_id NOT IN (SELECT doc_id FROM documents) {only_affected}"
    )


def _build_rollup(connection, table: Table, patch: bool) -> None:
    """document_costs is per document: when patching, only the affected documents' rows are
    computed again. Every other rollup spans documents and is computed whole."""
    if patch and table is DOCUMENT_COSTS:
        connection.execute(
            "DELETE FROM document_costs WHERE doc_id IN (SELECT doc_id FROM affected)"
        )
        connection.execute(f"INSERT INTO document_costs {document_costs_of('affected')}")
    else:
        connection.execute(f"CREATE OR REPLACE TABLE {table.name} AS {ROLLUPS[table.name]}")


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
            clock = time.perf_counter()
            sources = ledger_sources(layout)
            compacted = compact_ledger(layout, compact_min_files, sources)
            if compacted:
                sources = ledger_sources(layout)
            listed = time.perf_counter() - clock
            report = _build(
                layout, sources, budgets or Budgets(), patient_key_secret, reuse_previous
            )
            return report.model_copy(
                update={
                    "ledger_files_compacted": compacted,
                    "seconds": listed + report.seconds,
                    "table_seconds": {"ledger listing": listed} | report.table_seconds,
                }
            )
    except Timeout:
        raise WarehouseBusy(f"warehouse build lock held > {lock_timeout_seconds} s") from None


def _build(
    layout: DataLayout,
    sources: dict[str, LedgerSource],
    budgets: Budgets,
    patient_key_secret: str | None,
    reuse_previous: bool,
) -> BuildReport:
    """A full build, or the previous file copied and patched: the rows of the documents whose
    ledger source or folder changed are deleted and re-derived in every per-document table
    (llm_calls, documents, review_items, document_costs, source_files), and every other table
    is computed again from those, as a full build computes it."""
    clock = time.perf_counter()
    handle, temp_name = tempfile.mkstemp(dir=layout.warehouse, prefix=".build-", suffix=".duckdb")
    os.close(handle)
    os.unlink(temp_name)  # DuckDB must create the file itself (or it is the previous one's copy)
    staging = Path(tempfile.mkdtemp(dir=layout.warehouse, prefix=".staging-"))
    timings: dict[str, float] = {}
    try:
        signatures = document_signatures(layout, patient_key_secret)
        with duckdb.connect() as connection:  # staging stays in memory, tables go to `build`
            connection.execute("SET TimeZone = 'UTC'")
            previous = _previous_build(connection, layout.warehouse_db) if reuse_previous else None
            timings["previous build"] = time.perf_counter() - clock
            started = time.perf_counter()
            connection.execute(f"CREATE TEMP TABLE fresh ({_columns_sql(_FRESH_SCHEMA)})")
            connection.execute(f"CREATE TEMP TABLE source_rows ({_columns_sql(_SOURCE_SCHEMA)})")
            before = previous.ledger if previous else {}
            ledger_changed = [d for d in sources if before.get(d) != sources[d].signature]
            read = _read_ledger(connection, sources, ledger_changed, staging)
            misfiled = connection.execute(
                "SELECT count(*) FROM fresh WHERE doc_id <> file_doc_id"
            ).fetchone()[0]
            if previous and misfiled:  # see _previous_build: this build is a full one
                unchanged = [d for d in sources if before.get(d) == sources[d].signature]
                read += _read_ledger(connection, sources, unchanged, staging)
                previous, before, ledger_changed = None, {}, list(sources)
            patch = previous is not None
            if patch:
                shutil.copyfile(layout.warehouse_db, temp_name)
            connection.execute(f"ATTACH '{temp_name}' AS build")
            connection.execute("USE build")
            ledger_affected = {*ledger_changed, *(set(before) - set(sources))}
            documents_before = previous.documents if previous else {}
            documents_changed = [d for d in signatures if documents_before.get(d) != signatures[d]]
            folders_affected = {*documents_changed, *(set(documents_before) - set(signatures))}
            _doc_ids(connection, "ledger_affected", ledger_affected)
            _doc_ids(connection, "folders_affected", folders_affected)
            _doc_ids(connection, "affected", ledger_affected | folders_affected)
            _load_documents(
                connection,
                layout,
                patient_key_secret,
                documents_changed,
                signatures,
                patch,
                staging,
            )
            timings["load"] = time.perf_counter() - started
            started = time.perf_counter()
            _load_prices(connection, patch, staging)
            timings[MODEL_PRICES.name] = time.perf_counter() - started
            started = time.perf_counter()
            _build_llm_calls(connection, patch)
            timings[LLM_CALLS.name] = time.perf_counter() - started
            for table in ROLLUP_TABLES:
                started = time.perf_counter()
                _build_rollup(connection, table, patch)
                timings[table.name] = time.perf_counter() - started
            connection.execute(
                f"CREATE OR REPLACE TABLE budget_alerts AS {BUDGET_ALERTS.sql}",
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
                connection.execute(f"CREATE OR REPLACE TABLE {table.name} AS {table.sql}")
            _record_sources(connection, signatures, documents_changed, patch, staging)
            started = time.perf_counter()
            rows = {}
            connection.execute("BEGIN")  # one commit for every comment
            for table in TABLES:
                _comment(connection, table)
                rows[table.name] = connection.execute(
                    f"SELECT count(*) FROM {table.name}"
                ).fetchone()[0]
            connection.execute("COMMIT")
            connection.execute("USE memory")
            connection.execute("DETACH build")
            timings["comments, commit"] = time.perf_counter() - started
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
        incremental=patch,
        ledger_files_read=read,
        ledger_files_reused=len(sources) - read,
        documents_read=len(documents_changed),
        documents_reused=len(signatures) - len(documents_changed),
        patient_keys="keyed" if patient_key_secret else "unkeyed",
    )


def _record_sources(connection, signatures, changed: list[str], patch: bool, folder) -> None:
    """source_files: the previous build's rows of unchanged ledger sources (reused), the rows
    of the sources read now, every document folder, and this build's fingerprint."""
    if patch:
        connection.execute(
            "DELETE FROM source_files WHERE source <> 'ledger' "
            "OR doc_id IN (SELECT doc_id FROM ledger_affected)"
        )
        connection.execute("UPDATE source_files SET reused = true")
    else:
        connection.execute(f"CREATE TABLE source_files ({_columns_sql(_SOURCE_SCHEMA)})")
    fresh = set(changed)
    _stage(
        connection,
        "document_sources",
        pl.DataFrame(
            {
                "source": ["documents"] * len(signatures),
                "doc_id": list(signatures),
                "signature": list(signatures.values()),
                "reused": [d not in fresh for d in signatures],
                **dict.fromkeys(("rows", "cost_usd", "misfiled_rows"), [None] * len(signatures)),
            },
            schema=_SOURCE_SCHEMA,
        ),
        folder,
    )
    connection.execute(
        "INSERT INTO source_files SELECT * FROM source_rows UNION ALL "
        "SELECT * FROM document_sources UNION ALL "
        "SELECT 'build', NULL, ?, ?, NULL, NULL, NULL",
        [build_fingerprint(), patch],
    )
