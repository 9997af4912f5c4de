"""Identity of a stored source document: what `raw_document` records about the PDF (no PHI)."""

import hashlib
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

DOC_ID_LENGTH = 16
_READ_BLOCK = 1 << 20


class SourceDocument(BaseModel):
    doc_id: str = Field(description="First 16 hex characters of the PDF's sha256.")
    sha256: str
    sha1: str = Field(description="FHIR Attachment.hash wants SHA-1.")
    size_bytes: int
    pages: int
    pdf_version: str | None = None
    producer: str | None = Field(default=None, description="Software that wrote the PDF.")
    stored_at: datetime


def file_digests(path: Path) -> tuple[str, str]:
    """sha256 and sha1 of a file, read in blocks (PDFs can be large)."""
    sha256, sha1 = hashlib.sha256(), hashlib.sha1()
    with path.open("rb") as handle:
        while block := handle.read(_READ_BLOCK):
            sha256.update(block)
            sha1.update(block)
    return sha256.hexdigest(), sha1.hexdigest()


def doc_id_from_sha256(sha256: str) -> str:
    return sha256[:DOC_ID_LENGTH]
