"""Contract: the warehouse tables and patient records follow every document. A document that
finishes in the same evaluation window as a warehouse rebuild is one `eager()` counts as handled
by that rebuild (dagster-io/dagster#24650); the next minute's tick rebuilds for it, and the
catch-up does not repeat itself once nothing new has come. Evaluated in process with Dagster's
own automation evaluator on a real instance; the documents go through the real graph."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from medpipeline import samples
from medpipeline.definitions import defs
from medpipeline_tests.helpers import materialize_document, store_copy

WAREHOUSE_TABLE = dg.AssetKey("documents")


def test_a_document_finished_beside_a_rebuild_reaches_the_warehouse_at_the_next_tick(
    instance, layout, samples_dir, monkeypatch
):
    monkeypatch.setenv("MEDPIPELINE_DATA_DIR", str(layout.root))
    definitions = defs()
    now = datetime.now(UTC)
    tick = now.replace(second=0, microsecond=0) + timedelta(minutes=2)

    def evaluate(at: datetime, cursor=None):
        return dg.evaluate_automation_conditions(
            defs=definitions, instance=instance, evaluation_time=at, cursor=cursor
        )

    first = evaluate(tick + timedelta(seconds=10))
    assert materialize_document(
        instance, layout, store_copy(layout, samples_dir / samples.REFERRAL_FILE)
    ).success
    requested = evaluate(tick + timedelta(seconds=20), first.cursor)
    rebuilt = [
        key for key in definitions.resolve_all_asset_keys() if requested.get_num_requested(key)
    ]
    assert WAREHOUSE_TABLE in rebuilt

    running = evaluate(tick + timedelta(seconds=30), requested.cursor)  # the rebuild runs
    # the rebuild finishes, and a second document finishes in the same window
    for key in rebuilt:
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    assert materialize_document(
        instance, layout, store_copy(layout, samples_dir / samples.LAB_FILE)
    ).success
    same_window = evaluate(tick + timedelta(seconds=40), running.cursor)
    assert not same_window.get_num_requested(WAREHOUSE_TABLE), "eager() alone misses it"

    caught_up = evaluate(tick + timedelta(minutes=1, seconds=10), same_window.cursor)
    assert caught_up.get_num_requested(WAREHOUSE_TABLE)

    for key in rebuilt:
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    quiet = evaluate(tick + timedelta(minutes=2, seconds=10), caught_up.cursor)
    later = evaluate(tick + timedelta(minutes=3, seconds=10), quiet.cursor)
    assert not quiet.get_num_requested(WAREHOUSE_TABLE)
    assert not later.get_num_requested(WAREHOUSE_TABLE), "no rebuild without a new document"
