"""Warehouse at scale: 1,000,000 realistic call rows of 50,000 documents in the usage ledger.

The ledger is generated as the warehouse writer leaves it at that scale: documents' files folded
into segments of 1,000 documents, written through `medpipeline.ledger` (not timed). Prints the
time of the cold build (every row read, as after `full_rebuild: true`), of the rebuild the
pipeline runs after 100 documents were re-materialized (each a new run committed through
`commit_run`: its own ledger file beside the segments; the rebuild patches a copy of the cold
build's file), of the reconciliation check, of each part of the builds (listing the ledger
included), and of an analyst's query on each rollup table.
Targets (issue 12 point 7), 2-core machine: cold build < 10 s, rebuild after 100 documents < 3 s.

    .venv/bin/python bench/analytics.py [--rows 1000000] [--documents 50000] [--changed 100]
"""

import argparse
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from medpipeline.analytics.prices import unit_prices
from medpipeline.analytics.reconciliation import reconcile
from medpipeline.analytics.tables import ROLLUP_TABLES
from medpipeline.analytics.warehouse import rebuild_warehouse
from medpipeline.ledger import LEDGER_SCHEMA, UsageRecord, commit_run, write_segment
from medpipeline.storage import DataLayout

MODELS = [  # provider, model, share of chunks that start there
    ("anthropic", "claude-sonnet-5-5", 0.6),
    ("anthropic", "claude-haiku-5-5", 0.15),
    ("openai", "gpt-5.4-mini", 0.25),
]
ERRORS = ["rate_limit", "transient", "malformed", "context_too_long", "auth"]
START = datetime(2026, 9, 1, tzinfo=UTC)


def generate(rows: int, documents: int, seed: int = 7) -> pl.DataFrame:
    """Ledger rows in LEDGER_SCHEMA, costed with genai-prices as the pipeline costs each call."""
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
    providers = np.where(fallback, "offline", np.array([m[0] for m in MODELS])[model_index])
    models = np.where(fallback, "medspacy-rules-v1", np.array([m[1] for m in MODELS])[model_index])
    prompt = np.where(cached, 0, chunk_tokens + prompt_overhead)
    input_tokens = np.where(providers == "anthropic", prompt - cache_read, prompt)  # as reported
    day_offset = (doc_index * 60) // documents  # documents arrive over 60 days
    started_s = day_offset * 86_400 + rng.integers(0, 86_400, rows)
    hex_ids = pl.Series([f"{n:016x}" for n in range(documents)])
    frame = pl.DataFrame(
        {
            "row": np.arange(rows),
            "doc_id": hex_ids.gather(doc_index),
            "provider": providers,
            "model": models,
            "document_type": rng.choice(["discharge_summary", "lab_report", "referral"], rows),
            "attempt": np.where(error, 1, rng.choice([1, 1, 1, 2], rows)).astype(np.int32),
            "outcome": np.where(cached, "cached", np.where(error, "error", "ok")),
            "error": error,
            "error_choice": rng.choice(ERRORS, rows),
            "response_cache_hit": cached,
            "input_tokens": input_tokens.astype(np.int64),
            "output_tokens": output.astype(np.int64),
            "cache_read_tokens": cache_read.astype(np.int64),
            "cache_write_tokens": np.zeros(rows, dtype=np.int64),
            "latency_ms": np.where(cached, 0.3, rng.lognormal(7.5, 0.5, rows)),
            "started_at": pl.Series(started_s * 1_000_000).cast(pl.Datetime("us", "UTC"))
            + (START - datetime(1970, 1, 1, tzinfo=UTC)),
        }
    ).with_columns(
        call_id=pl.format("c{}", pl.col("row").cast(pl.String).str.zfill(8)),
        chunk_id=pl.format("{}-c{}", "doc_id", (pl.col("row") % 40).cast(pl.String).str.zfill(3)),
        run_id=pl.format("run-{}", (pl.col("row") // 20 % 997).cast(pl.String)),
        prompt_version=pl.lit("extract-v3"),
        error_class=pl.when("error").then("error_choice"),
        parse_strategy=pl.when(pl.col("outcome") == "ok").then(pl.lit("direct")),
        price_known=pl.lit(True),
        batch_id=pl.lit(None, pl.String),
        request_id=pl.format("req_{}", pl.col("row").cast(pl.String)),
        day=pl.col("started_at").dt.date(),
    )
    keys = frame.select("provider", "model", "day").unique()
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
        frame.join(price_frame, on=["provider", "model", "day"], how="left")
        .with_columns(
            cost_usd=uncached * pl.col("p_in")
            + pl.col("output_tokens") * pl.col("p_out")
            + pl.col("cache_read_tokens") * pl.col("p_read")
        )
        .select(pl.col(column).cast(dtype) for column, dtype in LEDGER_SCHEMA.items())
        .sort("doc_id", "call_id")
    )


def write_segments(layout: DataLayout, frame: pl.DataFrame, per_segment: int) -> int:
    """The ledger as the warehouse writer leaves it: documents' files folded into segments of
    `per_segment` documents, written by the ledger module as `compact_ledger` writes them."""
    doc_ids = frame["doc_id"].unique().sort()
    rows = frame.with_columns(pl.col("doc_id").alias("file_doc_id"))
    for start in range(0, len(doc_ids), per_segment):
        batch = doc_ids[start : start + per_segment]
        write_segment(
            layout,
            rows.filter(pl.col("doc_id").is_between(pl.lit(batch[0]), pl.lit(batch[-1]))),
            dict.fromkeys(batch, ""),
        )
    return len(doc_ids)


def rematerialize(layout: DataLayout, frame: pl.DataFrame, doc_ids: list[str]) -> int:
    """A new run of each document: its calls (new ids, one more token each) committed as a run
    commits them; the ledger keeps the earlier runs' billable calls. Returns the rows written."""
    rows = 0
    for doc_id in doc_ids:
        run_id = f"rerun-{doc_id}"
        records = [
            UsageRecord.model_validate(
                row
                | {
                    "call_id": f"{row['call_id']}-r",
                    "run_id": run_id,
                    "output_tokens": row["output_tokens"] + 1,
                }
            )
            for row in frame.filter(pl.col("doc_id") == doc_id).iter_rows(named=True)
        ]
        rows += len(commit_run(layout, doc_id, run_id, records))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        layout = DataLayout(Path(folder) / "data").ensure()
        clock = time.perf_counter()
        frame = generate(args.rows, args.documents)
        documents = write_segments(layout, frame, per_segment=1000)
        print(
            f"generated {frame.height:,} call rows of {documents:,} documents in ledger segments "
            f"({time.perf_counter() - clock:.1f} s, not part of the builds)"
        )

        cold = rebuild_warehouse(layout, reuse_previous=False)
        print(f"cold build (every row read):          {cold.seconds:6.2f} s   target < 10 s")
        for part, seconds in cold.table_seconds.items():
            print(f"  {part:<18} {seconds:6.3f} s")

        changed = frame["doc_id"].unique().sort().sample(args.changed, seed=11).to_list()
        rows = rematerialize(layout, frame, changed)
        warm = rebuild_warehouse(layout)
        print(
            f"rebuild after {args.changed} documents changed: {warm.seconds:6.2f} s   target < 3 s"
            f" ({warm.ledger_files_read} ledger files read, {rows:,} rows in them; "
            f"{warm.ledger_files_reused:,} documents reused; previous file patched: "
            f"{warm.incremental})"
        )
        for part, seconds in warm.table_seconds.items():
            print(f"  {part:<18} {seconds:6.3f} s")

        clock = time.perf_counter()
        result = reconcile(layout)
        print(
            f"reconciliation check (build snapshot): {time.perf_counter() - clock:6.2f} s "
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
