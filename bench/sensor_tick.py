"""How long does an inbox sensor tick take with N files waiting? Prints seconds per tick.

    .venv/bin/python bench/sensor_tick.py --files 10000

Each file is a distinct small PDF (a sample with a unique trailer comment). The first tick only
observes (stat, no reads); later ticks take up to 200 stable files each (hash, move) and check
every stored document without a bundle for its run, as on a site with a backlog. Each requested
run is recorded in the instance (not executed), as the daemon would.
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun, make_new_run_id

from medpipeline.defs.intake.sensors import inbox_sensor
from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.storage import DataLayout

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "referral_letter.pdf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=3)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="medpipeline-bench-"))
    try:
        layout = DataLayout(root / "data").ensure()
        content = SAMPLE.read_bytes()
        for index in range(args.files):
            (layout.inbox / f"scan-{index:06d}.pdf").write_bytes(content + f"\n%{index}\n".encode())
        resources = {"document_store": DocumentStoreResource(data_dir=str(layout.root))}
        with dg.instance_for_test() as instance:
            cursor = None
            for number in range(1, args.ticks + 1):
                context = dg.build_sensor_context(
                    instance=instance, cursor=cursor, resources=resources
                )
                started = time.perf_counter()
                result = inbox_sensor(context)
                elapsed = time.perf_counter() - started
                for request in result.dynamic_partitions_requests:
                    instance.add_dynamic_partitions(
                        request.partitions_def_name, list(request.partition_keys)
                    )
                for request in result.run_requests:
                    tags = {**request.tags, "dagster/run_key": request.run_key}
                    instance.add_run(DagsterRun("document_pipeline", make_new_run_id(), tags=tags))
                cursor = result.cursor
                print(
                    f"tick {number}: {elapsed:.3f} s, runs requested {len(result.run_requests)}, "
                    f"inbox left {sum(1 for _ in layout.inbox.iterdir())}, "
                    f"cursor {len(cursor) / 1024:.0f} KiB"
                )
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
