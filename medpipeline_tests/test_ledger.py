"""The usage ledger under concurrency, with real processes: runs of one document committing at
the same time never lose each other's records (one row per call_id), also while the ledger is
being compacted into segments; a journal of a run that is still going is never deleted by another
run, and the paid calls of a run that was killed are folded into the ledger by the next commit."""

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from medpipeline.ledger import (
    UsageJournal,
    UsageRecord,
    commit_run,
    compact_ledger,
    journal_path,
    journals_of,
    read_document_ledger,
)

DOC_ID = "0123456789abcdef"


def paid_record(doc_id: str, run_id: str, index: int) -> UsageRecord:
    """A billable Anthropic call; `call_id` is predictable so tests can list what must survive."""
    return UsageRecord(
        call_id=f"{run_id}-call-{index}",
        doc_id=doc_id,
        chunk_id=f"{doc_id}-c{index:03d}",
        run_id=run_id,
        provider="anthropic",
        model="claude-sonnet-5-5",
        prompt_version="extract-v3",
        document_type="discharge_summary",
        attempt=1,
        outcome="ok",
        error_class=None,
        response_cache_hit=False,
        parse_strategy="tool",
        input_tokens=1000,
        output_tokens=100,
        cache_read_tokens=0,
        cache_write_tokens=0,
        cost_usd=0.003,
        latency_ms=5.0,
        request_id=f"req-{run_id}-{index}",
        started_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
    )


COMMITTER = """
import sys, time
from pathlib import Path
from medpipeline.ledger import UsageJournal, commit_run
from medpipeline.storage import DataLayout
from medpipeline_tests.test_ledger import paid_record

data_dir, doc_id, worker, runs, calls, go = sys.argv[1:7]
layout = DataLayout(Path(data_dir))
while not Path(go).exists():  # start together
    time.sleep(0.005)
for run in range(int(runs)):
    run_id = f"w{worker}-r{run}"
    with UsageJournal(layout, doc_id, run_id) as journal:
        records = [paid_record(doc_id, run_id, i) for i in range(int(calls))]
        for record in records:
            journal.append(record)
    commit_run(layout, doc_id, run_id, records)
"""

LIVE_RUN = """
import sys, time
from pathlib import Path
from medpipeline.ledger import UsageJournal
from medpipeline.storage import DataLayout
from medpipeline_tests.test_ledger import paid_record

data_dir, doc_id = sys.argv[1:3]
journal = UsageJournal(DataLayout(Path(data_dir)), doc_id, "live")
for index in range(2):
    journal.append(paid_record(doc_id, "live", index))
print("paid 2", flush=True)
sys.stdin.readline()
journal.append(paid_record(doc_id, "live", 2))
print("paid 3", flush=True)
time.sleep(600)  # killed by the test while "extracting"
"""


@pytest.mark.parametrize("compacting", [False, True])
def test_runs_of_one_document_committing_at_once_lose_no_record(layout, tmp_path, compacting):
    """With `compacting`, the ledger is folded into segments again and again meanwhile."""
    workers, runs, calls = 4, 25, 2
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", COMMITTER, str(layout.root), DOC_ID, str(worker), str(runs)]
            + [str(calls), str(go)]
        )
        for worker in range(workers)
    ]
    go.touch()
    compactions = 0
    while compacting and any(process.poll() is None for process in processes):
        compactions += compact_ledger(layout, min_files=1)
    assert [process.wait(timeout=300) for process in processes] == [0] * workers
    assert compactions > 0 or not compacting
    ledger = read_document_ledger(layout, DOC_ID)
    expected = {
        f"w{worker}-r{run}-call-{index}"
        for worker in range(workers)
        for run in range(runs)
        for index in range(calls)
    }
    assert sorted(record.call_id for record in ledger) == sorted(expected)
    assert journals_of(layout, DOC_ID) == []


def test_a_live_runs_journal_survives_another_commit_and_a_killed_runs_calls_are_kept(layout):
    with subprocess.Popen(
        [sys.executable, "-c", LIVE_RUN, str(layout.root), DOC_ID],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as live:
        try:
            assert live.stdout.readline().strip() == "paid 2"
            first = [paid_record(DOC_ID, "first", i) for i in range(3)]
            commit_run(layout, DOC_ID, "first", first)
            assert journal_path(layout, DOC_ID, "live").exists(), "a live run's journal is kept"
            after_first = {record.call_id for record in read_document_ledger(layout, DOC_ID)}
            assert after_first == {r.call_id for r in first} | {"live-call-0", "live-call-1"}

            live.stdin.write("go on\n")
            live.stdin.flush()
            assert live.stdout.readline().strip() == "paid 3"
        finally:
            live.kill()  # SIGKILL: the run dies with a paid call only its journal knows
    with UsageJournal(layout, DOC_ID, "next") as journal:
        rerun = [paid_record(DOC_ID, "next", 0)]
        journal.append(rerun[0])
    commit_run(layout, DOC_ID, "next", rerun)
    final = sorted(record.call_id for record in read_document_ledger(layout, DOC_ID))
    assert final == sorted(
        [*(r.call_id for r in first), "live-call-0", "live-call-1", "live-call-2", "next-call-0"]
    )
    assert journals_of(layout, DOC_ID) == [], "the dead run's journal was folded in, then removed"
