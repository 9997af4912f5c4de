"""Which usage records a document's ledger file holds after a materialization.

Re-running a document must never count a call twice, and must never forget money that was spent:
- the current run's records are written as they happen to a per-run journal (JSON lines), so a run
  killed mid-extraction still leaves a trace of the API calls it paid for;
- the new ledger file = billable API attempts of earlier runs (from the old file and from journals
  of runs that died) + every record of this run. Offline-provider rows and cache hits of earlier
  runs are replaced: they cost nothing and the new run re-did them. Records are unique by call_id.
"""

import threading
from pathlib import Path

from medpipeline.analytics.ledger import read_ledger_files
from medpipeline.costs import OFFLINE_PROVIDER
from medpipeline.extraction.providers import UsageRecord
from medpipeline.storage import DataLayout

JOURNAL_SUFFIX = ".journal.jsonl"
BILLABLE_OUTCOMES = {"ok", "error"}


class UsageJournal:
    """Append-only record log of one run of one document; thread-safe, flushed per record."""

    def __init__(self, layout: DataLayout, doc_id: str, run_id: str):
        layout.ledger.mkdir(parents=True, exist_ok=True)
        self.path = layout.ledger / f".{doc_id}.{run_id}{JOURNAL_SUFFIX}"
        self._lock = threading.Lock()

    def append(self, record: UsageRecord) -> None:
        line = record.model_dump_json() + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()


def journals_of(layout: DataLayout, doc_id: str) -> list[Path]:
    return sorted(layout.ledger.glob(f".{doc_id}.*{JOURNAL_SUFFIX}"))


def read_journal(path: Path) -> list[UsageRecord]:
    """Records of a journal; a last line cut by a kill is ignored."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(UsageRecord.model_validate_json(line))
        except ValueError:
            continue
    return records


def read_ledger_file(path: Path) -> list[UsageRecord]:
    if not path.exists():
        return []
    return [UsageRecord.model_validate(row) for row in read_ledger_files([path]).to_dicts()]


def is_billable(record: UsageRecord) -> bool:
    return record.provider != OFFLINE_PROVIDER and record.outcome in BILLABLE_OUTCOMES


def compose_ledger(earlier: list[UsageRecord], current: list[UsageRecord]) -> list[UsageRecord]:
    """Billable records of earlier runs, then this run's; one row per call_id."""
    current_ids = {record.call_id for record in current}
    kept: dict[str, UsageRecord] = {}
    for record in earlier:
        if is_billable(record) and record.call_id not in current_ids:
            kept.setdefault(record.call_id, record)
    return [*kept.values(), *current]


def earlier_records(layout: DataLayout, doc_id: str, current_run_id: str) -> list[UsageRecord]:
    """The old ledger file's records and those of journals left by runs that died."""
    records = read_ledger_file(layout.ledger_file(doc_id))
    for journal in journals_of(layout, doc_id):
        records += [r for r in read_journal(journal) if r.run_id != current_run_id]
    return records


def clear_journals(layout: DataLayout, doc_id: str) -> None:
    for journal in journals_of(layout, doc_id):
        journal.unlink(missing_ok=True)
