"""Taking files from the inbox: stable-file detection, content addressing, duplicates, quarantine.

Plain Python called by the inbox sensor. A file is taken only when its size and mtime are the
same on two looks (a half-copied file is still growing). Taken files leave the inbox at once: a
PDF moves into the content-addressed store `documents/<doc_id>/source.pdf`, anything else into
quarantine with a reason. Only regular files directly in the inbox are considered; subfolders,
symlinks, hidden files and in-progress downloads are left alone.
"""

import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.events import IntakeOutcome, record_intake
from medpipeline.pdf import PdfLimits, PdfRejected, RejectReason, check_file_header
from medpipeline.storage import INTAKE_RECORD, DataLayout, quarantine_file, write_json

PDF_SUFFIX = ".pdf"
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".crdownload", ".tmp", ".download")

Observation = tuple[int, int]  # (size in bytes, mtime in ns)


class Quarantined(BaseModel):
    reason: RejectReason
    doc_id: str | None = None


class IntakeResult(BaseModel):
    accepted: list[str] = Field(default_factory=list, description="doc_ids of new documents.")
    quarantined: list[Quarantined] = Field(default_factory=list)
    waiting: dict[str, Observation] = Field(
        default_factory=dict, description="Files seen once or still changing: the next cursor."
    )


class IntakeRecord(BaseModel):
    """Kept beside the stored PDF (a PHI store): how the document arrived."""

    original_name: str
    received_at: datetime
    sha256: str


def observe_inbox(inbox: Path) -> dict[str, Observation]:
    """Size and mtime of every candidate file in the inbox (no reading, no hashing)."""
    seen: dict[str, Observation] = {}
    if not inbox.is_dir():
        return seen
    with os.scandir(inbox) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name.lower().endswith(IN_PROGRESS_SUFFIXES):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed between listing and stat
                continue
            seen[name] = (stat.st_size, stat.st_mtime_ns)
    return seen


def take_stable_files(
    layout: DataLayout,
    previous: dict[str, Observation],
    is_known: Callable[[str], bool],
    limits: PdfLimits,
    max_files: int = 200,
) -> IntakeResult:
    """Take up to `max_files` files unchanged since the previous look; see the module doc."""
    current = observe_inbox(layout.inbox)
    stable = sorted(name for name, seen in current.items() if previous.get(name) == seen)
    result = IntakeResult()
    taken: set[str] = set()
    for name in stable[:max_files]:
        try:
            outcome = _take_one(layout, layout.inbox / name, is_known, limits)
        except FileNotFoundError:  # removed by someone else since we looked
            taken.add(name)
            continue
        taken.add(name)
        size = current[name][0]
        if isinstance(outcome, Quarantined):
            result.quarantined.append(outcome)
            reason, doc_id = outcome.reason.value, outcome.doc_id
            record_intake(
                layout, IntakeOutcome.QUARANTINED, doc_id=doc_id, reason=reason, size_bytes=size
            )
        else:
            result.accepted.append(outcome)
            record_intake(layout, IntakeOutcome.ACCEPTED, doc_id=outcome, size_bytes=size)
    result.waiting = {name: seen for name, seen in current.items() if name not in taken}
    return result


def _take_one(
    layout: DataLayout, path: Path, is_known: Callable[[str], bool], limits: PdfLimits
) -> str | Quarantined:
    if path.suffix.lower() != PDF_SUFFIX:
        return _reject(layout, path, RejectReason.NOT_A_PDF, "only .pdf files are taken")
    try:
        check_file_header(path, limits)
    except PdfRejected as rejected:
        return _reject(layout, path, rejected.reason, rejected.detail)
    sha256, _ = file_digests(path)
    doc_id = doc_id_from_sha256(sha256)
    if is_known(doc_id) or layout.source_pdf(doc_id).exists():
        detail = f"same content as document {doc_id}; not processed again"
        return _reject(layout, path, RejectReason.DUPLICATE, detail, doc_id)
    store_source(layout, path, doc_id, sha256)
    return doc_id


def store_source(layout: DataLayout, path: Path, doc_id: str, sha256: str) -> None:
    """Move a file into the content-addressed store, with its intake record beside it."""
    record = IntakeRecord(original_name=path.name, received_at=datetime.now(UTC), sha256=sha256)
    folder = layout.document_dir(doc_id)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / INTAKE_RECORD, record)
    shutil.move(path, layout.source_pdf(doc_id))


def _reject(
    layout: DataLayout, path: Path, reason: RejectReason, detail: str, doc_id: str | None = None
) -> Quarantined:
    quarantine_file(layout, path, reason.value, detail)
    return Quarantined(reason=reason, doc_id=doc_id)
