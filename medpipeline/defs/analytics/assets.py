import dagster as dg

from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.warehouse import TABLE_COMMENTS, rebuild_warehouse

# Rebuild after any document's usage changed; missing upstream partitions (a quarantined
# document never gets extractions) must not block the warehouse forever.
REBUILD_WHEN_USAGE_CHANGES = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("eager_allow_missing")
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            table,
            group_name="analytics",
            kinds={"duckdb", "polars"},
            description=f"{comment} Unpartitioned; in data/warehouse/medpipeline.duckdb.",
            deps=["clinical_extractions"] if table == "llm_calls" else ["llm_calls"],
            automation_condition=REBUILD_WHEN_USAGE_CHANGES,
        )
        for table, comment in TABLE_COMMENTS.items()
    ],
    can_subset=False,
)
def warehouse_tables(document_store: DocumentStoreResource):
    """One writer rebuilds every table from the Parquet ledger into a new DuckDB file, then
    swaps it in atomically, so analysts never block a run nor see half a rebuild."""
    layout = document_store.layout
    counts = rebuild_warehouse(layout)
    for table in TABLE_COMMENTS:
        yield dg.MaterializeResult(
            asset_key=table,
            metadata={
                "rows": counts[table],
                "path": dg.MetadataValue.path(str(layout.warehouse_db)),
            },
        )
