"""The production instance config (dagster.yaml: PostgreSQL storage, queued runs, pools, run
monitoring) loads and materializes a document against a real PostgreSQL server."""

import shutil
from pathlib import Path

import dagster as dg

from medpipeline_tests.helpers import materialize_document, store_copy

REPO = Path(__file__).resolve().parents[1]


def test_production_config_materializes_a_document_on_postgres(
    postgres_url, tmp_path, layout, samples_dir, monkeypatch
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_monitoring_enabled
        doc_id = store_copy(layout, samples_dir / "discharge_summary.pdf")
        result = materialize_document(instance, layout, doc_id)
        assert result.success
        assert instance.get_dynamic_partitions("documents") == [doc_id]
        materialization = instance.get_latest_materialization_event(
            dg.AssetKey("fhir_bundle")
        ).asset_materialization
        assert materialization.partition == doc_id
        assert materialization.metadata["validation_issues"].value == 0
