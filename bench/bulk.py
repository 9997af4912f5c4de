"""Bulk ingestion as a user runs it, against the bare domain pipeline on the same documents.

    .venv/bin/python bench/bulk.py --documents 20

1. Generates N distinct clinical PDFs (discharge summaries, referral letters, progress notes, each
   with its own document number) in this process.
2. Bare: runs the project's domain functions on them in this one process (inspect, text, chunks,
   offline extraction, ConText re-check, FHIR bundle, validation, review queue), no Dagster and
   no artifact files.
3. Pipeline: starts `dagster dev` on the local configuration (deploy/local/dagster.yaml, SQLite,
   daemon and inbox sensor) in a fresh DAGSTER_HOME and data folder, drops every PDF into the
   inbox at once and waits until every document has its bundle and its run has finished.
   With `--celery-workers K`: `dagster-daemon` on deploy/celery/dagster.yaml (PostgreSQL, runs
   as Celery tasks) and K warm `dagster-celery` workers instead.

Prints documents/min, runs created, peak memory of the `dagster dev` process tree (sampled every
0.5 s), per-document overhead, and as its last line `bare_s=<x> pipeline_s=<y> ratio=<y/x>`.
No API key is used: extraction is the offline provider.
"""

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

import psutil

# Only light imports at the top: the PDF parser's child processes import this module again.

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def make_pdfs(count: int, folder: Path) -> list[Path]:
    """`count` distinct PDFs (each has its own document number, so its own doc_id)."""
    from medpipeline import samples

    templates = [
        ("DISCHARGE SUMMARY", samples.DISCHARGE_PAGES),
        ("REFERRAL LETTER", samples.REFERRAL_PAGES),
        ("PROGRESS NOTES", samples.PROGRESS_PAGES),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    pdfs = []
    for index in range(count):
        title, pages = templates[index % len(templates)]
        numbered = [f"Document number: BULK-{index:06d}\n{pages[0]}", *pages[1:]]
        pdfs.append(samples.render_text_pdf(folder / f"bulk-{index:06d}.pdf", numbered, title))
    return pdfs


def run_bare(pdfs: list[Path]) -> float:
    """Seconds to take every PDF through the domain functions in this process."""
    from medpipeline.documents import SourceDocument, doc_id_from_sha256, file_digests
    from medpipeline.pdf import PdfLimits, extract_pages, inspect_pdf
    from medpipeline.whole_document import offline_bundle

    limits = PdfLimits()
    started = time.perf_counter()
    for pdf in pdfs:
        sha256, sha1 = file_digests(pdf)
        properties = inspect_pdf(pdf, limits)
        pages = extract_pages(pdf, limits, pages=properties.pages)
        source = SourceDocument(
            doc_id=doc_id_from_sha256(sha256),
            sha256=sha256,
            sha1=sha1,
            size_bytes=pdf.stat().st_size,
            pages=properties.pages,
            stored_at=datetime.now(UTC),
        )
        offline_bundle(source, pages)
    return time.perf_counter() - started


def _process_kind(process: psutil.Process) -> str:
    """Which part of the instance a process is, from its command line."""
    command = " ".join(process.cmdline())
    for marker, kind in (
        ("forkserver", "document runs (warm forks)"),
        ("dagster-daemon", "daemon (sensors, queue, automation)"),
        ("daemon run", "daemon (sensors, queue, automation)"),
        ("dagster-webserver", "webserver"),
        ("api grpc", "code server"),
        ("celery", "Celery workers"),
    ):
        if marker in command:
            return kind
    return "other (dagster dev, PDF parsers, runs' children)"


class TreeMonitor:
    """Peak resident memory of some processes and all their descendants, and the CPU seconds each
    kind of process used, sampled every 0.5 s in a thread (a process living under 0.5 s is
    missed, so the CPU figures are a floor)."""

    def __init__(self, pids: list[int]):
        self.roots = [psutil.Process(pid) for pid in pids]
        self.peak_bytes = 0
        self._cpu: dict[tuple[int, float], tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "TreeMonitor":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def cpu_seconds_by_kind(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for kind, seconds in self._cpu.values():
            totals[kind] = totals.get(kind, 0.0) + seconds
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            total = 0
            for root in self.roots:
                try:
                    tree = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                for process in tree:
                    try:
                        total += process.memory_info().rss
                        times = process.cpu_times()
                        key = (process.pid, process.create_time())
                        kind = self._cpu[key][0] if key in self._cpu else _process_kind(process)
                        self._cpu[key] = (kind, times.user + times.system)
                    except psutil.NoSuchProcess:
                        continue
            self.peak_bytes = max(self.peak_bytes, total)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _local_instance(home: Path, env: dict[str, str]) -> list[list[str]]:
    """`dagster dev` on deploy/local/dagster.yaml (SQLite, a warm-forked process per run)."""
    shutil.copyfile(REPO / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
    port = str(_free_port())
    return [[str(BIN / "dagster"), "dev", "-w", str(REPO / "workspace.yaml"), "-p", port]]


def _celery_instance(
    home: Path, env: dict[str, str], workers: int, database: str
) -> list[list[str]]:
    """The daemon and `workers` Celery workers on deploy/celery/dagster.yaml, over the local
    PostgreSQL (a fresh database), RabbitMQ and Redis, on a queue of this bench's own."""
    from medpipeline_tests.processes import (
        DAEMON_COMMAND,
        celery_worker_command,
        write_celery_instance,
    )

    queue = f"medpipeline-bulk-{home.parent.name[-8:]}"
    write_celery_instance(home, queue, max_concurrent_runs=workers)
    env.update(
        DAGSTER_PG_URL=database,
        DAGSTER_CELERY_BROKER_URL=env.get(
            "DAGSTER_CELERY_BROKER_URL", "pyamqp://guest:guest@127.0.0.1:5672//"
        ),
        DAGSTER_CELERY_BACKEND_URL=env.get(
            "DAGSTER_CELERY_BACKEND_URL", "redis://127.0.0.1:6379/0"
        ),
        PATH=f"{BIN}{os.pathsep}{env['PATH']}",
    )
    return [DAEMON_COMMAND] + [
        celery_worker_command(queue, f"bulk{index}") for index in range(workers)
    ]


def run_pipeline(
    pdfs: list[Path],
    single: Path,
    work: Path,
    timeout: float,
    workers: int,
    database: str | None,
) -> dict:
    """Drop the PDFs into the inbox of a running instance and wait for every bundle; then drop
    `single` alone into the now idle instance and time it to its bundle."""
    import dagster as dg

    from medpipeline_tests.processes import start_logged, stop_session

    home, data = work / "dagster_home", work / "data"
    home.mkdir()
    (data / "inbox").mkdir(parents=True)
    env = {**os.environ, "DAGSTER_HOME": str(home), "MEDPIPELINE_DATA_DIR": str(data)}
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        env.pop(key, None)
    commands = (
        _celery_instance(home, env, workers, database) if workers else _local_instance(home, env)
    )
    os.environ.update({key: env[key] for key in ("DAGSTER_PG_URL",) if key in env})
    with dg.DagsterInstance.from_config(str(home)):  # its storage, before processes race to it
        pass
    processes = [
        start_logged(command, env, work / f"process{index}.log")
        for index, command in enumerate(commands)
    ]
    try:
        with (
            TreeMonitor([process.pid for process in processes]) as monitor,
            dg.DagsterInstance.from_config(str(home)) as instance,
        ):
            time.sleep(20)  # daemon, code server and workers start; the sensor is RUNNING
            elapsed, runs = _drop_and_wait(instance, pdfs, data, timeout)
            failed = sum(1 for run in runs if run.status != dg.DagsterRunStatus.SUCCESS)
            records = [instance.get_run_record_by_id(run.run_id) for run in runs]
            run_seconds = [
                r.end_time - r.start_time for r in records if r.start_time and r.end_time
            ]
            single_s, _ = _drop_and_wait(instance, [single], data, timeout)
        return {
            "seconds": elapsed,
            "runs": len(runs),
            "failed_runs": failed,
            "median_run_seconds": statistics.median(run_seconds) if run_seconds else float("nan"),
            "peak_bytes": monitor.peak_bytes,
            "cpu_seconds": monitor.cpu_seconds_by_kind(),
            "single_seconds": single_s,
        }
    finally:
        for process in processes:
            stop_session(process, timeout=60)


def _drop_and_wait(instance, pdfs: list[Path], data: Path, timeout: float) -> tuple[float, list]:
    """Seconds from dropping `pdfs` into the inbox until each has its bundle and every document
    run has finished, and those runs."""
    import dagster as dg

    from medpipeline.documents import doc_id_from_sha256, file_digests

    doc_ids = {doc_id_from_sha256(file_digests(pdf)[0]) for pdf in pdfs}
    started = time.perf_counter()
    for pdf in pdfs:
        shutil.copyfile(pdf, data / "inbox" / pdf.name)
    waiting = set(doc_ids)
    while True:
        # bundles first (a file check each); the runs only once every bundle is there, since
        # listing a thousand runs twice a second would load the machine being measured
        waiting = {d for d in waiting if not (data / "documents" / d / "fhir_bundle.json").exists()}
        if not waiting:
            runs = [
                run
                for run in instance.get_runs(filters=dg.RunsFilter(job_name="document_pipeline"))
                if run.tags.get("dagster/partition") in doc_ids
            ]
            if runs and all(run.is_finished for run in runs):
                return time.perf_counter() - started, runs
        if time.perf_counter() - started > timeout:
            done = len(doc_ids) - len(waiting)
            raise TimeoutError(f"{done} of {len(doc_ids)} bundles after {timeout:g} s")
        time.sleep(0.5)


@contextmanager
def fresh_database(server: str):
    """A new database on the PostgreSQL server at `server`, dropped afterwards."""
    import psycopg2

    name = f"medpipeline_bulk_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(server)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.cursor().execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for bundles")
    parser.add_argument(
        "--celery-workers",
        type=int,
        default=0,
        help="run on deploy/celery/dagster.yaml with this many warm Celery workers instead of "
        "`dagster dev` (needs the local PostgreSQL, RabbitMQ and Redis)",
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the work folder (PDFs, DAGSTER_HOME, data folder, process logs) to inspect",
    )
    args = parser.parse_args()

    work_folder = (
        nullcontext(tempfile.mkdtemp(prefix="medpipeline-bulk-"))
        if args.keep
        else tempfile.TemporaryDirectory(prefix="medpipeline-bulk-", ignore_cleanup_errors=True)
    )
    with work_folder as folder:
        if args.keep:
            print(f"work folder (kept): {folder}")
        work = Path(folder)
        started = time.perf_counter()
        *pdfs, single = make_pdfs(args.documents + 1, work / "pdfs")
        print(f"generated {len(pdfs)} distinct PDFs in {time.perf_counter() - started:.1f} s")
        bare_s = run_bare(pdfs)
        print(
            f"bare domain pipeline, one process: {bare_s:.1f} s "
            f"({bare_s / len(pdfs):.2f} s/document)"
        )
        if args.celery_workers:
            with fresh_database(args.postgres) as database:
                result = run_pipeline(
                    pdfs, single, work, args.timeout, args.celery_workers, database
                )
        else:
            result = run_pipeline(pdfs, single, work, args.timeout, 0, None)
    pipeline_s = result["seconds"]
    how = f"{args.celery_workers} Celery workers" if args.celery_workers else "dagster dev"
    print(
        f"pipeline ({how}, inbox sensor): {pipeline_s:.1f} s, "
        f"{len(pdfs) / pipeline_s * 60:.1f} documents/min"
    )
    print(f"runs created: {result['runs']} ({result['failed_runs']} not successful)")
    print(f"median document run, start to end: {result['median_run_seconds']:.2f} s")
    print(f"peak memory of the process tree ({how}): {result['peak_bytes'] / 2**20:.0f} MiB")
    for kind, seconds in result["cpu_seconds"].items():
        print(f"  CPU, {kind}: {seconds:.0f} s")
    single_s = result["single_seconds"]
    print(f"one more document dropped alone afterwards: {single_s:.1f} s to its bundle")
    print(f"per-document overhead: {(pipeline_s - bare_s) / len(pdfs):.2f} s")
    print(f"bare_s={bare_s:.1f} pipeline_s={pipeline_s:.1f} ratio={pipeline_s / bare_s:.2f}")


if __name__ == "__main__":
    main()
