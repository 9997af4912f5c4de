"""Two runs on different documents at once, in separate processes like Dagster's run launcher,
both succeed on the shared data folder, while the warehouse is rebuilt again and again: no DuckDB
lock error, no corrupted shared file."""

import subprocess
import sys

import duckdb

from medpipeline import samples
from medpipeline.analytics.warehouse import rebuild_warehouse
from medpipeline.fhir.validation import validate_bundle
from medpipeline.ledger import read_ledger
from medpipeline.storage import read_json
from medpipeline_tests.helpers import store_copy

RUN = """
import sys
import dagster as dg
from medpipeline.storage import DataLayout
from medpipeline_tests.helpers import materialize_document

data_dir, doc_id = sys.argv[1:3]
with dg.instance_for_test() as instance:
    sys.exit(0 if materialize_document(instance, DataLayout(data_dir), doc_id).success else 1)
"""


def test_two_document_runs_and_warehouse_rebuilds_at_once(layout, samples_dir):
    doc_ids = [
        store_copy(layout, samples_dir / name)
        for name in (samples.DISCHARGE_FILE, samples.LAB_FILE)
    ]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", RUN, str(layout.root), doc_id],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for doc_id in doc_ids
    ]
    rebuilds = 0
    while any(run.poll() is None for run in runs):
        rebuild_warehouse(layout)
        rebuilds += 1
    assert [run.returncode for run in runs] == [0, 0]
    assert rebuilds > 0
    for doc_id in doc_ids:
        assert validate_bundle(read_json(layout.artifact(doc_id, "fhir_bundle"))) == []
    rebuild_warehouse(layout)
    ledger = read_ledger(layout)
    assert set(ledger["doc_id"]) == set(doc_ids)
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        assert analyst.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == ledger.height
