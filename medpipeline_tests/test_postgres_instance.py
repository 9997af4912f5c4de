"""The production instance config (dagster.yaml: PostgreSQL storage, queued runs, pools, run
monitoring) loads and materializes a document against a real PostgreSQL server."""

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import dagster as dg
import pytest

from medpipeline_tests.helpers import materialize_document, store_copy

REPO = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("MEDPIPELINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _server_accepts_connections() -> bool:
    import psycopg2

    try:
        psycopg2.connect(SERVER, connect_timeout=3).close()
        return True
    except psycopg2.OperationalError:
        return False


@pytest.fixture(scope="module")
def postgres_url() -> str:
    """A fresh database on the local server (started if it is down) for this test module."""
    import psycopg2

    if not _server_accepts_connections():
        if not shutil.which("pg_ctlcluster") or not Path("/etc/postgresql").is_dir():
            pytest.skip("no PostgreSQL server is installed on this machine")
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False
        )
        if not _server_accepts_connections():
            pytest.skip(f"PostgreSQL is installed but would not start ({version}/main)")
    name = f"medpipeline_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(SERVER)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    yield SERVER.rsplit("/", 1)[0] + f"/{name}"
    admin.cursor().execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


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
