"""Per-document facts for the `documents` table, derived from the per-document artifacts.

Only counts, statuses and a pseudonymous patient key leave `data/documents/`: never text, names,
identifiers or file names. The patient key is an HMAC-SHA256, with a site secret from the
environment, of the patient's primary identity key under the one identity rule of
`medpipeline.identity` (an identifier with the system of its issuer, the medical record number
first; else name + birth date); without the secret every document's key is `unkeyed`.
"""

import hashlib
import hmac
import os
from collections.abc import Callable
from datetime import UTC
from typing import Any, TypeVar

import polars as pl

from medpipeline.artifacts import (
    STAGES,
    load_bundle,
    load_chunks,
    load_extraction,
    load_source_document,
    load_text,
)
from medpipeline.extraction.schema import ChunkOutcome, DocumentExtraction
from medpipeline.identity import RULE_VERSION, extraction_identity
from medpipeline.storage import DataLayout

T = TypeVar("T")

PATIENT_KEY_SECRET_ENV = "MEDPIPELINE_PATIENT_KEY_SECRET"
UNKEYED = "unkeyed"  # no site secret configured: patients cannot be told apart
UNIDENTIFIED = "unidentified"  # no identifier, and no name + birth date, was extracted
_KEY_HEX_CHARS = 20

# A document's status is the last stage it reached.
STATUS_OF_STAGE = dict(
    zip(STAGES, ("stored", "text_extracted", "chunked", "extracted", "bundled"), strict=True)
)

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
    "near_duplicate_of": pl.String(),
    "ingested_at": pl.Datetime("us", "UTC"),
    "source_signature": pl.String(),
}


def secret_fingerprint(secret: str | None) -> str:
    """Identifies the secret in build records without revealing it (keys change with it)."""
    if not secret:
        return UNKEYED
    return hmac.new(secret.encode(), b"medpipeline-fingerprint", hashlib.sha256).hexdigest()[:12]


def patient_key(extraction: DocumentExtraction | dict[str, Any] | None, secret: str | None) -> str:
    """Pseudonymous key of a document's patient (its extraction, or `clinical_extractions.json`
    as read): `pk_` + 20 hex characters of HMAC-SHA256(secret, its primary identity key)."""
    if not extraction:
        return UNIDENTIFIED
    if isinstance(extraction, dict):
        extraction = DocumentExtraction.model_validate(extraction)
    identity = extraction_identity(extraction).primary
    if identity is None:
        return UNIDENTIFIED
    if not secret:
        return UNKEYED
    digest = hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()
    return f"pk_{digest[:_KEY_HEX_CHARS]}"


def _artifact(load: Callable[[DataLayout, str], T], layout: DataLayout, doc_id: str) -> T | None:
    """A stage's artifact, or None when the stage has not written it (or it cannot be read)."""
    try:
        return load(layout, doc_id)
    except (FileNotFoundError, ValueError):  # ValueError: invalid JSON or model
        return None


def document_row(
    layout: DataLayout, doc_id: str, secret: str | None, signature: str
) -> dict[str, Any]:
    """Counts of one document folder; None where the stage has not produced its artifact."""
    raw = _artifact(load_source_document, layout, doc_id)
    text = _artifact(load_text, layout, doc_id)
    chunks = _artifact(load_chunks, layout, doc_id)
    extraction = _artifact(load_extraction, layout, doc_id)
    bundle = _artifact(load_bundle, layout, doc_id)
    reached = [
        stage
        for stage, artifact in zip(STAGES, (raw, text, chunks, extraction, bundle), strict=True)
        if artifact is not None
    ]
    return {
        "doc_id": doc_id,
        "status": STATUS_OF_STAGE[reached[-1]] if reached else "received",
        "pages": raw.pages if raw else None,
        "size_bytes": raw.size_bytes if raw else None,
        "characters": len(text.text) if text else None,
        "chunks": len(chunks.chunks) if chunks else None,
        "chunk_tokens": sum(chunk.tokens for chunk in chunks.chunks) if chunks else None,
        "chunks_failed": (
            sum(1 for c in extraction.chunks if c.outcome == ChunkOutcome.FAILED)
            if extraction
            else None
        ),
        "facts": extraction.fact_count() if extraction else None,
        "fhir_resources": len(bundle.get("entry") or []) if bundle else None,
        "patient_key": patient_key(extraction, secret) if extraction else None,
        "near_duplicate_of": extraction.near_duplicate_of if extraction else None,
        "ingested_at": raw.stored_at.astimezone(UTC) if raw else None,
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
    rows = [document_row(layout, d, secret, signatures[d]) for d in sorted(doc_ids)]
    return pl.DataFrame(rows, schema=DOCUMENT_SCHEMA)
