"""Concurrency on the shared data folder, with real processes as Dagster's run launcher uses:
two document runs at once both succeed while the warehouse is rebuilt again and again, and every
one of those builds reconciles with the ledger snapshot it read (a document finishing meanwhile
cannot fail it); one writer at a time builds the warehouse, across processes."""

import subprocess
import sys

import duckdb

from medpipeline import samples
from medpipeline.analytics.reconciliation import reconcile
from medpipeline.analytics.warehouse import build_lock, rebuild_warehouse
from medpipeline.fhir.validation import validate_bundle
from medpipeline.ledger import read_ledger
from medpipeline.storage import read_json
from medpipeline_tests.helpers import store_copy
from medpipeline_tests.test_warehouse import fill

RUN = """
import sys
import dagster as dg
from medpipeline.storage import DataLayout
from medpipeline_tests.helpers import materialize_document

data_dir, doc_id = sys.argv[1:3]
with dg.instance_for_test() as instance:
    sys.exit(0 if materialize_document(instance, DataLayout(data_dir), doc_id).success else 1)
"""

REBUILD = """
import sys
from pathlib import Path
from medpipeline.analytics.warehouse import WarehouseBusy, rebuild_warehouse
from medpipeline.storage import DataLayout

data_dir, timeout = sys.argv[1], float(sys.argv[2])
try:
    rebuild_warehouse(DataLayout(Path(data_dir)), lock_timeout_seconds=timeout)
except WarehouseBusy:
    sys.exit(3)
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
    reconciliations = []
    while any(run.poll() is None for run in runs):
        rebuild_warehouse(layout)
        reconciliations.append(reconcile(layout))
    assert [run.returncode for run in runs] == [0, 0]
    assert reconciliations, "the warehouse was rebuilt while the runs were going"
    failed = [r for r in reconciliations if not r.passed]
    assert failed == [], "a build that ran alongside document runs did not add up"
    for doc_id in doc_ids:
        assert validate_bundle(read_json(layout.artifact(doc_id, "fhir_bundle"))) == []
    rebuild_warehouse(layout)
    ledger = read_ledger(layout)
    assert set(ledger["doc_id"]) == set(doc_ids)
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        assert analyst.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == ledger.height


def test_one_writer_at_a_time_builds_the_warehouse(layout):
    fill(layout)
    with build_lock(layout):  # a build in progress elsewhere
        busy = subprocess.run([sys.executable, "-c", REBUILD, str(layout.root), "0.5"], timeout=120)
        assert busy.returncode == 3, "a second writer does not build while the first holds it"
        assert not layout.warehouse_db.exists()
    builders = [
        subprocess.Popen([sys.executable, "-c", REBUILD, str(layout.root), "-1"]) for _ in range(3)
    ]
    assert [builder.wait(timeout=300) for builder in builders] == [0, 0, 0]
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        calls = analyst.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
    assert calls == read_ledger(layout).height
    assert reconcile(layout).passed
