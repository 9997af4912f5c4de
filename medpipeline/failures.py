"""Failed documents, recorded so that nothing fails silently.

A record names the document (doc_id), the run, the failed step and a reason code — no PHI — and
lives at `failures/<doc_id>.<run_id>.json`; the warehouse turns them into `failed_documents`.
An optional webhook receives the same JSON.
"""

import json
import logging
import urllib.request
from datetime import datetime

from pydantic import BaseModel

from medpipeline.storage import DataLayout, read_json, write_json

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


def record_failure(layout: DataLayout, failure: FailedDocument) -> None:
    write_json(failures_dir(layout) / f"{failure.doc_id}.{failure.run_id}.json", failure)


def read_failures(layout: DataLayout) -> list[FailedDocument]:
    folder = failures_dir(layout)
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [FailedDocument.model_validate(read_json(path)) for path in paths]


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
