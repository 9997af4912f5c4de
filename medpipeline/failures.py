"""Failed documents, recorded so that nothing fails silently.

A record names the document (doc_id), the run, the failed step and a reason code — no PHI — and
lives at `failures/<doc_id>.<run_id>.json`, one per failed run. Records stay as history; the
warehouse's `failed_documents` shows the open ones: a document whose bundle was written after
the failure (a re-run or re-drop succeeded) has left it. An optional webhook receives the JSON.
"""

import json
import logging
import urllib.request
from datetime import UTC, datetime

from pydantic import BaseModel

from medpipeline.storage import FHIR_BUNDLE_ARTIFACT, DataLayout, read_json, write_json

logger = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 5


class FailedDocument(BaseModel):
    doc_id: str
    run_id: str
    step: str
    reason: str  # a reject reason code (encrypted, corrupt, …) or "error"
    failed_at: datetime


def failures_dir(layout: DataLayout):
    return layout.root / "failures"


def record_failure(layout: DataLayout, failure: FailedDocument) -> bool:
    """Write the run's record; False (and nothing written) if that run was recorded already."""
    path = failures_dir(layout) / f"{failure.doc_id}.{failure.run_id}.json"
    if path.exists():
        return False
    write_json(path, failure)
    return True


def read_failures(layout: DataLayout) -> list[FailedDocument]:
    """Every failure record (the history)."""
    folder = failures_dir(layout)
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [FailedDocument.model_validate(read_json(path)) for path in paths]


def open_failures(layout: DataLayout) -> list[FailedDocument]:
    """Failures not followed by a success: no bundle written since the failed run ended."""
    return [
        failure
        for failure in read_failures(layout)
        if not _bundle_written_after(layout, failure.doc_id, failure.failed_at)
    ]


def _bundle_written_after(layout: DataLayout, doc_id: str, moment: datetime) -> bool:
    bundle = layout.artifact(doc_id, FHIR_BUNDLE_ARTIFACT)
    try:
        written = datetime.fromtimestamp(bundle.stat().st_mtime, UTC)
    except FileNotFoundError:
        return False
    return written > moment


def notify_webhook(url: str, failure: FailedDocument) -> bool:
    """POST the record as JSON; a webhook that is down is logged (ids only), never fatal."""
    request = urllib.request.Request(
        url,
        data=json.dumps(failure.model_dump(mode="json")).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            return 200 <= response.status < 300
    except OSError as error:
        logger.warning(
            "failure webhook not reached for document %s: %s", failure.doc_id, type(error).__name__
        )
        return False
