"""Warehouse at scale: 1,000,000 realistic call rows in per-document ledger files.

Prints the time of compacting the 50,000 documents' files into a segment, of the cold build (every
row read, as after `full_rebuild: true`), of the rebuild the pipeline runs (after 100 documents
were re-materialized: their new files are read, the unchanged documents' rows copied from the
previous file), of the reconciliation check (against the ledger snapshot the build read), of each
rollup's query inside the build, and of an analyst's query on each rollup table.
Targets on a 2-core machine: cold build < 10 s, rebuild < 3 s, each rollup < 0.5 s.

    .venv/bin/python bench/analytics.py [--rows 1000000] [--documents 50000]
"""

import argparse
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from medpipeline.analytics.prices import unit_prices
from medpipeline.analytics.reconciliation import reconcile
from medpipeline.analytics.tables import ROLLUP_TABLES
from medpipeline.analytics.warehouse import rebuild_warehouse
from medpipeline.ledger import LEDGER_SCHEMA, compact_ledger
from medpipeline.storage import DataLayout

MODELS = [  # provider, model, share of chunks that start there
    ("anthropic", "claude-sonnet-5-5", 0.6),
    ("anthropic", "claude-haiku-5-5", 0.15),
    ("openai", "gpt-5.4-mini", 0.25),
]
ERRORS = ["rate_limit", "transient", "malformed", "context_too_long", "auth"]
START = datetime(2026, 9, 1, tzinfo=UTC)


def generate(rows: int, documents: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    doc_index = np.sort(rng.integers(0, documents, rows))
    model_index = rng.choice(len(MODELS), rows, p=[m[2] for m in MODELS])
    fallback = rng.random(rows) < 0.03  # some calls go to the offline fallback
    cached = rng.random(rows) < 0.12  # response-cache hits
    error = ~cached & (rng.random(rows) < 0.04)
    chunk_tokens = rng.integers(150, 800, rows)
    prompt_overhead = 1400
    cache_read = np.where(cached, 0, np.where(rng.random(rows) < 0.8, prompt_overhead, 0))
    output = np.where(cached, 0, (chunk_tokens * rng.uniform(0.2, 0.5, rows)).astype(np.int64))
    providers = np.array([m[0] for m in MODELS], dtype=object)[model_index]
    models = np.array([m[1] for m in MODELS], dtype=object)[model_index]
    providers = np.where(fallback, "offline", providers)
    models = np.where(fallback, "medspacy-rules-v1", models)
    prompt = np.where(cached, 0, chunk_tokens + prompt_overhead)
    anthropic = providers == "anthropic"
    input_tokens = np.where(anthropic, prompt - cache_read, prompt)  # as each API reports
    day_offset = (doc_index * 60) // documents  # documents arrive over 60 days
    seconds = rng.integers(0, 86_400, rows)
    started = [
        START + timedelta(days=int(d), seconds=int(s))
        for d, s in zip(day_offset, seconds, strict=True)
    ]
    frame = pl.DataFrame(
        {
            "call_id": [f"c{i:08d}" for i in range(rows)],
            "doc_id": [f"{d:016x}" for d in doc_index],
            "chunk_id": [f"{d:016x}-c{i % 40:03d}" for i, d in enumerate(doc_index)],
            "run_id": [f"run-{d % 997}" for d in doc_index],
            "provider": providers.tolist(),
            "model": models.tolist(),
            "prompt_version": "extract-v3",
            "document_type": rng.choice(["discharge_summary", "lab_report", "referral"], rows),
            "attempt": np.where(error, 1, rng.choice([1, 1, 1, 2], rows)).astype(np.int32),
            "outcome": np.where(cached, "cached", np.where(error, "error", "ok")),
            "error_class": np.where(error, rng.choice(ERRORS, rows), None).tolist(),
            "response_cache_hit": cached,
            "parse_strategy": np.where(cached | error, None, "direct").tolist(),
            "input_tokens": input_tokens.astype(np.int64),
            "output_tokens": output.astype(np.int64),
            "cache_read_tokens": cache_read.astype(np.int64),
            "cache_write_tokens": np.zeros(rows, dtype=np.int64),
            "cost_usd": np.zeros(rows),
            "latency_ms": np.where(cached, 0.3, rng.lognormal(7.5, 0.5, rows)),
            "request_id": [f"req_{i}" for i in range(rows)],
            "started_at": started,
        }
    ).cast(LEDGER_SCHEMA)
    # genai-prices unit prices per provider, model and day (as the pipeline prices each call)
    keys = frame.select("provider", "model", pl.col("started_at").dt.date().alias("day")).unique()
    prices = []
    for provider, model, day in keys.iter_rows():
        unit = unit_prices(provider, model, day)
        prices.append((provider, model, day, unit.input, unit.output, unit.cache_read))
    price_frame = pl.DataFrame(
        prices, schema=["provider", "model", "day", "p_in", "p_out", "p_read"], orient="row"
    )
    uncached = pl.col("input_tokens") - pl.when(pl.col("provider") == "anthropic").then(
        0
    ).otherwise(pl.col("cache_read_tokens"))
    return (
        frame.with_columns(pl.col("started_at").dt.date().alias("day"))
        .join(price_frame, on=["provider", "model", "day"], how="left")
        .with_columns(
            cost_usd=uncached * pl.col("p_in")
            + pl.col("output_tokens") * pl.col("p_out")
            + pl.col("cache_read_tokens") * pl.col("p_read")
        )
        .select(list(LEDGER_SCHEMA))
    )


def write_files(layout: DataLayout, frame: pl.DataFrame) -> int:
    layout.ledger.mkdir(parents=True, exist_ok=True)
    parts = frame.partition_by("doc_id", as_dict=True)
    for (doc_id,), part in parts.items():
        part.write_parquet(layout.ledger_file(doc_id))
    return len(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--documents", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        layout = DataLayout(Path(folder) / "data").ensure()
        clock = time.perf_counter()
        frame = generate(args.rows, args.documents)
        files = write_files(layout, frame)
        print(
            f"generated {frame.height:,} call rows in {files:,} ledger files "
            f"({time.perf_counter() - clock:.1f} s, not part of the rebuild)"
        )

        clock = time.perf_counter()
        compacted = compact_ledger(layout, min_files=1)
        print(
            f"compacting {compacted:,} files into a segment: {time.perf_counter() - clock:6.2f} s "
            "(the warehouse writer does it as files gather, every 1,000 by default)"
        )
        cold = rebuild_warehouse(layout, reuse_previous=False)
        print(f"cold build (every row read):              {cold.seconds:6.2f} s")
        for table, seconds in cold.table_seconds.items():
            print(f"  {table:<16} {seconds:6.3f} s")

        # 100 documents re-materialized: their files are rewritten
        for doc_id in frame["doc_id"].unique().sort()[:100]:
            rows = frame.filter(pl.col("doc_id") == doc_id)
            rows.write_parquet(layout.ledger_file(doc_id))
        warm = rebuild_warehouse(layout)
        print(
            f"rebuild after 100 documents changed:       {warm.seconds:6.2f} s "
            f"({warm.ledger_files_read} files read, {warm.ledger_files_reused:,} reused)"
        )
        for table, seconds in warm.table_seconds.items():
            print(f"  {table:<16} {seconds:6.3f} s")

        clock = time.perf_counter()
        result = reconcile(layout)
        print(
            f"reconciliation check (build snapshot):     {time.perf_counter() - clock:6.2f} s "
            f"passed={result.passed}"
        )

        with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
            print("analyst queries on the rollup tables:")
            for table in ROLLUP_TABLES:
                clock = time.perf_counter()
                analyst.execute(
                    f"SELECT * FROM {table.name} ORDER BY cost_usd DESC LIMIT 20"
                ).fetchall()
                print(f"  {table.name:<16} {time.perf_counter() - clock:6.3f} s")
            total = analyst.execute("SELECT sum(cost_usd), count(*) FROM llm_calls").fetchone()
            print(f"warehouse: {total[1]:,} calls, ${total[0]:,.2f}; {date.today()}")


if __name__ == "__main__":
    main()
