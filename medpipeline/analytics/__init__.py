"""Cost analytics: the Parquet usage ledger, the analysts' DuckDB warehouse built from it, budgets,
forecasts and the HTML cost report. Plain Python (polars, DuckDB, genai-prices), no Dagster."""
