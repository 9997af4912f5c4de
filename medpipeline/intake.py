"""Taking files from the inbox: stable-file detection, content addressing, duplicates, quarantine.

Plain Python called by the inbox sensor. A file is taken only when its size and mtime are the
same on two looks (a half-copied file is still growing). What the sensor remembers between looks
is a keyed hash of (name, size, mtime) per waiting file, never a name: Dagster stores sensor
cursors in its database, and file names carry PHI. Taken files leave the inbox at once: a PDF
moves into the content-addressed store `documents/<doc_id>/source.pdf`, anything else into
quarantine with a reason. Regular files directly in `inbox/` (the bulk lane) and in
`inbox/urgent/` (the urgent lane) are considered; other subfolders, symlinks, hidden files and
in-progress downloads are left alone.

A stored document is pending until it has a bundle. Each pending document carries the run key
of its intake (`doc_id`; `doc_id:<intake time>` for a re-drop of a document that was rejected
before and is no longer stored), so the sensor can tell a document whose run was requested from
one a crash left without a run, and request the missing run.
"""

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.events import IntakeOutcome, record_intake
from medpipeline.pdf import PdfLimits, PdfRejected, RejectReason, check_file_header
from medpipeline.storage import (
    FHIR_BUNDLE_ARTIFACT,
    INTAKE_RECORD,
    LLM_BATCHES_FOLDER,
    PRIVATE_FILE_MODE,
    DataLayout,
    move_private,
    quarantine_file,
    read_json,
    write_json,
)

PDF_SUFFIX = ".pdf"
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".crdownload", ".tmp", ".download")
URGENT_LANE = "urgent"  # inbox/urgent/: documents whose runs pass queued bulk work
INTAKE_KEY_FILE = "intake.key"  # per-install key of the cursor's hashes (not PHI)
SEEN_DIGEST_HEX = 16

Observation = tuple[int, int]  # (size in bytes, mtime in ns)


class Quarantined(BaseModel):
    reason: RejectReason
    doc_id: str | None = None


class PendingDocument(BaseModel):
    """A stored document that has no bundle yet, and the run that must exist for it."""

    doc_id: str
    run_key: str | None = Field(
        description="None: stored by a version before run keys; any run of its partition counts."
    )
    urgent: bool = False


class IntakeResult(BaseModel):
    accepted: list[PendingDocument] = Field(
        default_factory=list, description="Documents stored by this look."
    )
    quarantined: list[Quarantined] = Field(default_factory=list)
    waiting: list[str] = Field(
        default_factory=list,
        description="Keyed hashes of the files seen but not taken (the next cursor); no names.",
    )


class IntakeRecord(BaseModel):
    """Kept beside the stored PDF (a PHI store): how the document arrived."""

    original_name: str
    received_at: datetime
    sha256: str
    run_key: str | None = Field(default=None, description="None: written before run keys.")
    urgent: bool = False


def observe_inbox(inbox: Path) -> dict[str, Observation]:
    """Size and mtime of every candidate file in both lanes, keyed by its path under the inbox
    (`name` or `urgent/name`); no reading, no hashing."""
    seen: dict[str, Observation] = {}
    for lane, folder in ((None, inbox), (URGENT_LANE, inbox / URGENT_LANE)):
        if not folder.is_dir():
            continue
        with os.scandir(folder) as entries:
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
                seen[f"{lane}/{name}" if lane else name] = (stat.st_size, stat.st_mtime_ns)
    return seen


def intake_key(layout: DataLayout) -> bytes:
    """The install's key for the cursor's hashes, created once (race-free) in the data folder.

    Without a key, a name's hash could be confirmed by hashing a guessed name."""
    path = layout.root / INTAKE_KEY_FILE
    if not path.exists():
        draft = path.with_name(f".{INTAKE_KEY_FILE}.{secrets.token_hex(8)}.tmp")
        draft.write_text(secrets.token_hex(32))
        draft.chmod(PRIVATE_FILE_MODE)
        try:
            os.link(draft, path)  # fails if another process created it first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return bytes.fromhex(path.read_text().strip())


def seen_digest(key: bytes, name: str, observation: Observation) -> str:
    """What the cursor keeps of one look at one file: equal only for the same name, size and
    mtime, and reveals none of them."""
    message = f"{name}\0{observation[0]}\0{observation[1]}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:SEEN_DIGEST_HEX]


def take_stable_files(
    layout: DataLayout,
    previously_seen: Iterable[str],
    has_partition: Callable[[str], bool],
    limits: PdfLimits,
    max_files: int = 200,
) -> IntakeResult:
    """Take up to `max_files` files unchanged since the previous look, urgent lane first.

    `previously_seen` is the previous result's `waiting`; `has_partition(doc_id)` tells a re-drop
    (the document was processed before and is no longer stored) from a first intake."""
    key = intake_key(layout)
    previous = set(previously_seen)
    observed = observe_inbox(layout.inbox)
    current = {name: seen_digest(key, name, seen) for name, seen in observed.items()}
    stable = sorted(
        (name for name, digest in current.items() if digest in previous),
        key=lambda name: (not name.startswith(f"{URGENT_LANE}/"), name),
    )
    result = IntakeResult()
    taken: set[str] = set()
    for name in stable[:max_files]:
        taken.add(name)
        try:
            outcome = _take_one(layout, layout.inbox / name, has_partition, limits)
        except FileNotFoundError:  # removed by someone else since we looked
            continue
        size = observed[name][0]
        if isinstance(outcome, Quarantined):
            result.quarantined.append(outcome)
            reason, doc_id = outcome.reason.value, outcome.doc_id
            record_intake(
                layout, IntakeOutcome.QUARANTINED, doc_id=doc_id, reason=reason, size_bytes=size
            )
        else:
            result.accepted.append(outcome)
            record_intake(layout, IntakeOutcome.ACCEPTED, doc_id=outcome.doc_id, size_bytes=size)
    result.waiting = sorted(digest for name, digest in current.items() if name not in taken)
    return result


def _take_one(
    layout: DataLayout, path: Path, has_partition: Callable[[str], bool], limits: PdfLimits
) -> PendingDocument | Quarantined:
    if path.suffix.lower() != PDF_SUFFIX:
        return _reject(layout, path, RejectReason.NOT_A_PDF, "only .pdf files are taken")
    try:
        check_file_header(path, limits)
    except PdfRejected as rejected:
        return _reject(layout, path, rejected.reason, rejected.detail)
    sha256, _ = file_digests(path)
    doc_id = doc_id_from_sha256(sha256)
    if layout.source_pdf(doc_id).exists():
        detail = f"same content as document {doc_id}; not processed again"
        return _reject(layout, path, RejectReason.DUPLICATE, detail, doc_id)
    received_at = datetime.now(UTC)
    # a re-drop (processed before, no longer stored: rejected, then fixed) gets its own run key
    run_key = f"{doc_id}:{received_at:%Y%m%dT%H%M%S%f}" if has_partition(doc_id) else doc_id
    urgent = path.parent == layout.inbox / URGENT_LANE
    store_source(layout, path, doc_id, sha256, run_key=run_key, urgent=urgent, at=received_at)
    return PendingDocument(doc_id=doc_id, run_key=run_key, urgent=urgent)


def store_source(
    layout: DataLayout,
    path: Path,
    doc_id: str,
    sha256: str,
    run_key: str | None = None,
    urgent: bool = False,
    at: datetime | None = None,
) -> None:
    """Move a file into the content-addressed store, with its intake record beside it."""
    record = IntakeRecord(
        original_name=path.name,
        received_at=at or datetime.now(UTC),
        sha256=sha256,
        run_key=run_key or doc_id,
        urgent=urgent,
    )
    write_json(layout.document_dir(doc_id) / INTAKE_RECORD, record)
    move_private(path, layout.source_pdf(doc_id))


def pending_documents(layout: DataLayout) -> list[PendingDocument]:
    """Stored documents without a bundle (queued, running, failed after intake, or orphaned),
    except those waiting for an LLM batch (the batch sensor requests their run)."""
    pending = []
    if not layout.documents.is_dir():
        return pending
    with os.scandir(layout.documents) as entries:
        for entry in entries:
            doc_id = entry.name
            if not layout.source_pdf(doc_id).exists():
                continue
            if layout.artifact(doc_id, FHIR_BUNDLE_ARTIFACT).exists():
                continue
            if any((layout.document_dir(doc_id) / LLM_BATCHES_FOLDER).glob("*.json")):
                continue  # waiting for its batch: the batch sensor completes it
            record_path = layout.document_dir(doc_id) / INTAKE_RECORD
            record = (
                IntakeRecord.model_validate(read_json(record_path))
                if record_path.exists()
                else None
            )
            pending.append(
                PendingDocument(
                    doc_id=doc_id,
                    run_key=record.run_key if record else None,
                    urgent=record.urgent if record else False,
                )
            )
    return sorted(pending, key=lambda document: (not document.urgent, document.doc_id))


def _reject(
    layout: DataLayout, path: Path, reason: RejectReason, detail: str, doc_id: str | None = None
) -> Quarantined:
    quarantine_file(layout, path, reason.value, detail)
    return Quarantined(reason=reason, doc_id=doc_id)
