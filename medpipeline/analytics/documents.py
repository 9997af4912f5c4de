"""Per-document facts for the `documents` table, derived from the per-document artifacts.

Only counts, statuses and a pseudonymous patient key leave `data/documents/`: never text, names,
identifiers or file names. The patient key is an HMAC-SHA256, with a site secret from the
environment, of the patient's primary identity key under the one identity rule of
`medpipeline.identity` (an identifier with the system of its issuer, the medical record number
first; else name + birth date); without the secret every document's key is `unkeyed`.
"""

import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from medpipeline.extraction.schema import DocumentExtraction
from medpipeline.identity import RULE_VERSION, extraction_identity
from medpipeline.storage import DataLayout

PATIENT_KEY_SECRET_ENV = "MEDPIPELINE_PATIENT_KEY_SECRET"
UNKEYED = "unkeyed"  # no site secret configured: patients cannot be told apart
UNIDENTIFIED = "unidentified"  # no identifier, and no name + birth date, was extracted
_KEY_HEX_CHARS = 20

# The stages of the per-document graph, in order; a document's status is the last one it reached.
STAGES = ("raw_document", "document_text", "document_chunks", "clinical_extractions", "fhir_bundle")
STATUS_OF_STAGE = {
    "raw_document": "stored",
    "document_text": "text_extracted",
    "document_chunks": "chunked",
    "clinical_extractions": "extracted",
    "fhir_bundle": "bundled",
}

DOCUMENT_SCHEMA: dict[str, pl.DataType] = {
    "doc_id": pl.String(),
    "status": pl.String(),
    "pages": pl.Int64(),
    "size_bytes": pl.Int64(),
    "characters": pl.Int64(),
    "chunks": pl.Int64(),
    "chunk_tokens": pl.Int64(),
    "chunks_failed": pl.Int64(),
    "facts": pl.Int64(),
    "fhir_resources": pl.Int64(),
    "patient_key": pl.String(),
    "ingested_at": pl.Datetime("us", "UTC"),
    "source_signature": pl.String(),
}


def secret_fingerprint(secret: str | None) -> str:
    """Identifies the secret in build records without revealing it (keys change with it)."""
    if not secret:
        return UNKEYED
    return hmac.new(secret.encode(), b"medpipeline-fingerprint", hashlib.sha256).hexdigest()[:12]


def patient_key(extraction: dict[str, Any] | None, secret: str | None) -> str:
    """Pseudonymous key of a document's patient (`clinical_extractions.json` as read):
    `pk_` + 20 hex characters of HMAC-SHA256(secret, its primary identity key)."""
    if not extraction:
        return UNIDENTIFIED
    identity = extraction_identity(DocumentExtraction.model_validate(extraction)).primary
    if identity is None:
        return UNIDENTIFIED
    if not secret:
        return UNKEYED
    digest = hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()
    return f"pk_{digest[:_KEY_HEX_CHARS]}"


def _load(folder: Path, stage: str) -> dict[str, Any] | None:
    path = folder / f"{stage}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _fact_count(extraction: dict[str, Any]) -> int:
    lists = ("conditions", "medications", "allergies", "observations")
    return (1 if extraction.get("patient") else 0) + sum(
        len(extraction.get(name) or []) for name in lists
    )


def document_row(folder: Path, secret: str | None, signature: str) -> dict[str, Any]:
    """Counts of one document folder; None where the stage has not produced its artifact."""
    artifacts = {stage: _load(folder, stage) for stage in STAGES}
    reached = [stage for stage in STAGES if artifacts[stage] is not None]
    raw, text, chunks = (artifacts[s] for s in ("raw_document", "document_text", "document_chunks"))
    extraction, bundle = artifacts["clinical_extractions"], artifacts["fhir_bundle"]
    ingested_at = None
    if raw and raw.get("stored_at"):
        ingested_at = datetime.fromisoformat(raw["stored_at"]).astimezone(UTC)
    chunk_list = (chunks or {}).get("chunks") or []
    return {
        "doc_id": folder.name,
        "status": STATUS_OF_STAGE[reached[-1]] if reached else "received",
        "pages": raw.get("pages") if raw else None,
        "size_bytes": raw.get("size_bytes") if raw else None,
        "characters": len(text.get("text") or "") if text else None,
        "chunks": len(chunk_list) if chunks else None,
        "chunk_tokens": sum(int(c.get("tokens") or 0) for c in chunk_list) if chunks else None,
        "chunks_failed": (
            sum(1 for c in extraction.get("chunks") or [] if c.get("outcome") == "failed")
            if extraction
            else None
        ),
        "facts": _fact_count(extraction) if extraction else None,
        "fhir_resources": len(bundle.get("entry") or []) if bundle else None,
        "patient_key": patient_key(extraction, secret) if extraction else None,
        "ingested_at": ingested_at,
        "source_signature": signature,
    }


def document_signatures(layout: DataLayout, secret: str | None) -> dict[str, str]:
    """doc_id -> signature of its folder. Artifacts are written by atomic rename into the folder,
    which changes the folder's mtime, so an unchanged signature means unchanged artifacts (and the
    same secret and identity rule: keys change with either)."""
    if not layout.documents.is_dir():
        return {}
    fingerprint = secret_fingerprint(secret)
    signatures = {}
    for entry in os.scandir(layout.documents):
        if entry.is_dir() and not entry.name.startswith("."):
            stat = entry.stat()
            signature = f"{stat.st_ino}:{stat.st_mtime_ns}:{fingerprint}:{RULE_VERSION}"
            signatures[entry.name] = signature
    return signatures


def documents_frame(
    layout: DataLayout, doc_ids: list[str], signatures: dict[str, str], secret: str | None
) -> pl.DataFrame:
    rows = [document_row(layout.document_dir(d), secret, signatures[d]) for d in sorted(doc_ids)]
    return pl.DataFrame(rows, schema=DOCUMENT_SCHEMA)
