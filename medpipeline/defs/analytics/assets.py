"""Analytics wiring: the DuckDB warehouse (one writer, every table an asset), its reconciliation
and budget checks, the HTML cost report and the cost forecast. The logic is plain Python in
medpipeline.analytics."""

import os
from datetime import UTC, datetime

import dagster as dg
import duckdb
import polars as pl
from pydantic import Field

from medpipeline.analytics import tables
from medpipeline.analytics.documents import PATIENT_KEY_SECRET_ENV, UNKEYED
from medpipeline.analytics.forecast import (
    Candidate,
    calibrate,
    chunked_doc_ids,
    forecast,
    inbox_documents,
    partition_documents,
)
from medpipeline.analytics.reconciliation import reconcile
from medpipeline.analytics.report import forecast_path, markdown_table, write_report
from medpipeline.analytics.warehouse import Budgets, rebuild_warehouse
from medpipeline.defs.automation import EAGER_ALLOW_MISSING
from medpipeline.defs.resources import DocumentStoreResource

DAILY_BUDGET_ENV = "MEDPIPELINE_DAILY_BUDGET_USD"
DOCUMENT_BUDGET_ENV = "MEDPIPELINE_DOCUMENT_BUDGET_USD"
BUDGET_SEVERITY_ENV = "MEDPIPELINE_BUDGET_SEVERITY"


WAREHOUSE_TABLES = (
    tables.LLM_CALLS,
    tables.DOCUMENTS,
    *tables.ROLLUP_TABLES,
    tables.BUDGET_ALERTS,
    tables.FAILED_DOCUMENTS,
    tables.INTAKE_EVENTS,
    tables.DOCUMENT_RUNS,
)
_DEPS = {
    "failed_documents": ["raw_document"],
    "intake_events": ["raw_document"],
    "document_runs": ["fhir_bundle"],
    "llm_calls": ["clinical_extractions"],
    "documents": ["fhir_bundle"],
    "budget_alerts": ["daily_costs", "document_costs"],
    "patient_costs": ["document_costs", "documents"],
    "cost_metrics": ["llm_calls", "document_costs"],
}
PREVIEW_ORDER = {
    "budget_alerts": "excess_usd DESC",
    "failed_documents": "failed_at DESC",
    "intake_events": "occurred_at DESC",
    "document_runs": "started_at DESC",
}
RECONCILES = "reconciles_with_ledger"
DAILY_BUDGET = "within_daily_budget"
DOCUMENT_BUDGET = "within_document_budget"


class WarehouseConfig(dg.Config):
    """Budgets (unset: from the environment, else the defaults) and rebuild mode."""

    daily_budget_usd: float | None = Field(
        default=None, description=f"USD per UTC day; unset: ${DAILY_BUDGET_ENV} or 50."
    )
    document_budget_usd: float | None = Field(
        default=None, description=f"USD per document; unset: ${DOCUMENT_BUDGET_ENV} or 1."
    )
    budget_severity: str | None = Field(
        default=None,
        description=f"WARN or ERROR for budget checks; unset: ${BUDGET_SEVERITY_ENV} or WARN.",
    )
    full_rebuild: bool = Field(
        default=False,
        description="Build from scratch: re-read every ledger file and folder (no reuse of "
        "the previous file).",
    )

    def budgets(self) -> Budgets:
        defaults = Budgets()
        env = os.environ
        return Budgets(
            daily_budget_usd=self.daily_budget_usd
            if self.daily_budget_usd is not None
            else float(env.get(DAILY_BUDGET_ENV, defaults.daily_budget_usd)),
            document_budget_usd=self.document_budget_usd
            if self.document_budget_usd is not None
            else float(env.get(DOCUMENT_BUDGET_ENV, defaults.document_budget_usd)),
            severity=(self.budget_severity or env.get(BUDGET_SEVERITY_ENV, "WARN")).upper(),
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            table.name,
            group_name="analytics",
            kinds={"duckdb", "polars"},
            description=f"{table.comment} Unpartitioned; in data/warehouse/medpipeline.duckdb.",
            deps=_DEPS.get(table.name, ["llm_calls", "documents"]),
            automation_condition=EAGER_ALLOW_MISSING,
        )
        for table in WAREHOUSE_TABLES
    ],
    check_specs=[
        dg.AssetCheckSpec(
            RECONCILES,
            asset="llm_calls",
            description="Rows and cost of llm_calls, of each rollup and of each document equal "
            "the totals of the Parquet ledger files as this build read them (no double counting "
            "after re-materializations or deleted documents; a document finishing after the "
            "build cannot fail it).",
        ),
        dg.AssetCheckSpec(
            DAILY_BUDGET, asset="daily_costs", description="No UTC day over the daily budget."
        ),
        dg.AssetCheckSpec(
            DOCUMENT_BUDGET,
            asset="document_costs",
            description="No document over the per-document budget.",
        ),
    ],
    can_subset=False,
)
def warehouse_tables(
    context: dg.AssetExecutionContext,
    config: WarehouseConfig,
    document_store: DocumentStoreResource,
):
    """One writer at a time (a file lock across processes) rebuilds every table from the Parquet
    ledger and the document folders into a new DuckDB file, then swaps it in atomically; analysts
    never block a run nor see half a rebuild."""
    layout = document_store.layout
    budgets = config.budgets()
    secret = os.environ.get(PATIENT_KEY_SECRET_ENV) or None
    if not secret:
        context.log.warning(
            f"{PATIENT_KEY_SECRET_ENV} is not set: every patient_key is '{UNKEYED}' and "
            "patient_costs has one row for all patients. Production must set it to the site's "
            "secret (scripts/dev.sh generates a development one in the instance folder)."
        )
    report = rebuild_warehouse(
        layout,
        budgets=budgets,
        patient_key_secret=secret,
        reuse_previous=not config.full_rebuild,
    )
    reconciliation = reconcile(layout)
    path = dg.MetadataValue.path(str(layout.warehouse_db))
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as connection:
        alerts = dict(
            connection.execute(
                "SELECT budget, count(*) FROM budget_alerts GROUP BY budget"
            ).fetchall()
        )
        for table in WAREHOUSE_TABLES:
            metadata = {
                "rows": report.rows[table.name],
                "path": path,
                "build_seconds": round(report.table_seconds.get(table.name, 0.0), 4),
            }
            if table.name == "llm_calls":
                metadata |= {
                    "ledger_files_read": report.ledger_files_read,
                    "ledger_files_reused": report.ledger_files_reused,
                    "ledger_files_compacted": report.ledger_files_compacted,
                    "rebuild_seconds": round(report.seconds, 3),
                    "patched_previous_build": report.incremental,
                    "cost_usd": round(reconciliation.warehouse_cost_usd, 6),
                }
            elif table.name == "documents":
                metadata |= {
                    "documents_read": report.documents_read,
                    "documents_reused": report.documents_reused,
                    "patient_keys": report.patient_keys
                    if secret
                    else f"unkeyed ({PATIENT_KEY_SECRET_ENV} not set)",
                }
            else:
                order = PREVIEW_ORDER.get(table.name, "cost_usd DESC")
                metadata["preview"] = dg.MetadataValue.md(
                    markdown_table(
                        connection, f"SELECT * FROM {table.name} ORDER BY {order}", limit=15
                    )
                )
            yield dg.MaterializeResult(asset_key=table.name, metadata=metadata)
    severity = dg.AssetCheckSeverity[budgets.severity]
    yield dg.AssetCheckResult(
        check_name=RECONCILES,
        asset_key="llm_calls",
        passed=reconciliation.passed,
        metadata=reconciliation.model_dump(mode="json")
        | {"mismatched_tables": ", ".join(reconciliation.mismatched_tables) or "none"},
    )
    yield dg.AssetCheckResult(
        check_name=DAILY_BUDGET,
        asset_key="daily_costs",
        passed=not alerts.get("daily"),
        severity=severity,
        metadata={
            "days_over_budget": alerts.get("daily", 0),
            "budget_usd": budgets.daily_budget_usd,
        },
    )
    yield dg.AssetCheckResult(
        check_name=DOCUMENT_BUDGET,
        asset_key="document_costs",
        passed=not alerts.get("document"),
        severity=severity,
        metadata={
            "documents_over_budget": alerts.get("document", 0),
            "budget_usd": budgets.document_budget_usd,
        },
    )


@dg.asset(
    group_name="analytics",
    kinds={"duckdb", "html"},
    deps=[*(table.name for table in WAREHOUSE_TABLES), "cost_forecast"],
    automation_condition=EAGER_ALLOW_MISSING,
    description="All documents: a self-contained HTML cost report (daily spend by model, "
    "cost-per-document distribution, cache hit rates, most expensive documents by doc_id, "
    "failures by error class, budget alerts, and what the documents would cost on each "
    "candidate model from cost_forecast) at data/reports/cost_report.html. No PHI.",
)
def cost_report(document_store: DocumentStoreResource) -> dg.MaterializeResult:
    layout = document_store.layout
    target = write_report(layout)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.url(target.as_uri()),
            "path": dg.MetadataValue.path(str(target)),
            "bytes": target.stat().st_size,
        }
    )


class ForecastConfig(dg.Config):
    doc_ids: list[str] = Field(
        default_factory=list,
        description="Chunked documents (partition keys) to price besides the ones below.",
    )
    processed_documents: bool = Field(
        default=True,
        description="Price every document already chunked: what it would cost on each "
        "candidate (with the offline provider, what the free run would have cost).",
    )
    include_inbox: bool = Field(default=True, description="Price the PDFs waiting in inbox/.")
    candidates: list[str] = Field(
        default=[
            "anthropic/claude-sonnet-5-5",
            "anthropic/claude-haiku-5-5",
            "openai/gpt-5.4-mini",
        ],
        description="provider/model pairs to price, each at standard and batch rates.",
    )


@dg.asset(
    group_name="analytics",
    kinds={"polars", "python"},
    deps=["document_chunks", "clinical_extractions"],  # chunk tokens; the ledger calibrates
    automation_condition=EAGER_ALLOW_MISSING,
    description="All documents: the LLM cost of extracting the chunked documents and the PDFs "
    "waiting in the inbox with each candidate model, standard and batch, from their chunks' token "
    "counts (calibrated from the ledger when the model has history). Rebuilt with the warehouse; "
    "writes data/reports/cost_forecast.parquet (doc_ids and figures, no PHI).",
)
def cost_forecast(
    config: ForecastConfig, document_store: DocumentStoreResource
) -> dg.MaterializeResult:
    layout = document_store.layout
    doc_ids = [*config.doc_ids, *(chunked_doc_ids(layout) if config.processed_documents else [])]
    documents = partition_documents(layout, list(dict.fromkeys(doc_ids)))
    unreadable = 0
    if config.include_inbox and layout.inbox.is_dir():
        waiting, unreadable = inbox_documents(
            sorted(p for p in layout.inbox.iterdir() if p.is_file()),
            document_store.pdf_limits,
            document_store.chunking,
        )
        for doc_id, found in waiting.items():
            documents.setdefault(doc_id, found)
    candidates = [Candidate.parse(text) for text in config.candidates]
    models = {candidate: calibrate(layout, candidate) for candidate in candidates}
    frame = forecast(documents, candidates, models, day=datetime.now(UTC).date())
    target = forecast_path(layout)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.tmp")
    frame.write_parquet(temp)
    os.replace(temp, target)
    summary = (
        frame.group_by("provider", "model")
        .agg(
            pl.len().alias("documents"),
            pl.col("chunks").sum(),
            pl.col("prompt_tokens").sum(),
            pl.col("output_tokens").sum(),
            pl.col("standard_usd").sum().round(6),
            pl.col("batch_usd").sum().round(6),
            pl.col("calibrated").all(),
        )
        .sort("standard_usd")
    )
    lines = ["| " + " | ".join(summary.columns) + " |", "|" + "---|" * len(summary.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in summary.iter_rows()]
    cheapest = summary.row(0, named=True) if summary.height else None
    return dg.MaterializeResult(
        metadata={
            "documents": len(documents),
            "inbox_documents": sum(1 for source, _ in documents.values() if source == "inbox"),
            "unreadable_inbox_files": unreadable,
            "chunks": sum(len(tokens) for _, tokens in documents.values()),
            "forecast": dg.MetadataValue.md(
                "\n".join(lines) if summary.height else "_nothing to price_"
            ),
            "cheapest": f"{cheapest['provider']}/{cheapest['model']}" if cheapest else "none",
            "path": dg.MetadataValue.path(str(target)),
        }
    )
