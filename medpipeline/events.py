"""Intake and processing as data: the platform's own append-only record of what happened.

- `events/intake/<YYYY-MM-DD>.jsonl`: one line per file taken from the inbox (time, doc_id when
  known, outcome, reason code, bytes), written by intake.
- `events/stages/<YYYY-MM-DD>.jsonl`: one line per per-document step (doc_id, run id, stage,
  outcome, reason code, start, duration), written by each step as it ends.

Never a file name, never text: ids, codes, sizes and times only, so the folder is not a PHI store.
Each line is appended with one `write` under an exclusive flock, so steps of concurrent runs in
other processes never interleave. The warehouse turns the lines into `intake_events` and
`document_runs`; nobody reads Dagster's run storage by hand for the audit history.
"""

import fcntl
import os
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import polars as pl
from pydantic import BaseModel

from medpipeline.storage import DataLayout

INTAKE = "intake"
STAGES = "stages"


class IntakeOutcome(StrEnum):
    ACCEPTED = "accepted"  # stored as a new document
    QUARANTINED = "quarantined"  # the reason code says why (duplicate, not_a_pdf, encrypted, …)


class StageOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class IntakeEvent(BaseModel):
    occurred_at: datetime
    doc_id: str | None = None
    outcome: IntakeOutcome
    reason: str | None = None
    size_bytes: int | None = None


class StageEvent(BaseModel):
    doc_id: str
    run_id: str
    stage: str
    outcome: StageOutcome
    reason: str | None = None  # a reject reason code, or "error"
    started_at: datetime
    seconds: float


INTAKE_SCHEMA: dict[str, pl.DataType] = {
    "occurred_at": pl.Datetime("us", "UTC"),
    "doc_id": pl.String(),
    "outcome": pl.String(),
    "reason": pl.String(),
    "size_bytes": pl.Int64(),
}
STAGE_SCHEMA: dict[str, pl.DataType] = {
    "doc_id": pl.String(),
    "run_id": pl.String(),
    "stage": pl.String(),
    "outcome": pl.String(),
    "reason": pl.String(),
    "started_at": pl.Datetime("us", "UTC"),
    "seconds": pl.Float64(),
}


def events_dir(layout: DataLayout) -> Path:
    return layout.root / "events"


def _append(folder: Path, day: datetime, event: BaseModel) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    line = (event.model_dump_json() + "\n").encode()
    path = folder / f"{day.astimezone(UTC):%Y-%m-%d}.jsonl"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, line)
    finally:
        os.close(descriptor)  # releases the flock


def record_intake(
    layout: DataLayout,
    outcome: IntakeOutcome,
    *,
    doc_id: str | None = None,
    reason: str | None = None,
    size_bytes: int | None = None,
) -> None:
    """One file taken from the inbox: call it where intake decides a file's fate."""
    event = IntakeEvent(
        occurred_at=datetime.now(UTC),
        doc_id=doc_id,
        outcome=outcome,
        reason=reason,
        size_bytes=size_bytes,
    )
    _append(events_dir(layout) / INTAKE, event.occurred_at, event)


def record_stage(layout: DataLayout, event: StageEvent) -> None:
    _append(events_dir(layout) / STAGES, event.started_at, event)


def _read(folder: Path, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    files = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    frames = [
        pl.read_ndjson(path, schema=schema, ignore_errors=True)
        for path in files
        if path.stat().st_size
    ]
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=schema)


def read_intake_events(layout: DataLayout) -> pl.DataFrame:
    return _read(events_dir(layout) / INTAKE, INTAKE_SCHEMA)


def read_stage_events(layout: DataLayout) -> pl.DataFrame:
    return _read(events_dir(layout) / STAGES, STAGE_SCHEMA)
