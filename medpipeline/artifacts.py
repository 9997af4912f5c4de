"""The per-document artifacts the assets exchange, each defined once.

Every per-document asset writes one JSON artifact, `documents/<doc_id>/<asset>.json` (a PHI store).
A stage, the analytics or a bench that needs another stage's artifact reads it through the model
and loader here, never by parsing the JSON with rules of its own.
"""

from typing import Any

from pydantic import BaseModel

from medpipeline.chunking import Chunk
from medpipeline.documents import SourceDocument
from medpipeline.extraction.schema import DocumentExtraction
from medpipeline.pdf import PageText
from medpipeline.storage import DataLayout, read_json

RAW_DOCUMENT = "raw_document"
DOCUMENT_TEXT = "document_text"
DOCUMENT_CHUNKS = "document_chunks"
CLINICAL_EXTRACTIONS = "clinical_extractions"
FHIR_BUNDLE = "fhir_bundle"
# The stages of the per-document graph, in order.
STAGES = (RAW_DOCUMENT, DOCUMENT_TEXT, DOCUMENT_CHUNKS, CLINICAL_EXTRACTIONS, FHIR_BUNDLE)


class DocumentText(BaseModel):
    doc_id: str
    pages: list[PageText]
    page_offsets: list[int]
    text: str


class DocumentChunks(BaseModel):
    doc_id: str
    max_tokens: int
    overlap_tokens: int
    chunks: list[Chunk]


def load_source_document(layout: DataLayout, doc_id: str) -> SourceDocument:
    return SourceDocument.model_validate_json(layout.artifact(doc_id, RAW_DOCUMENT).read_bytes())


def load_text(layout: DataLayout, doc_id: str) -> DocumentText:
    return DocumentText.model_validate_json(layout.artifact(doc_id, DOCUMENT_TEXT).read_bytes())


def load_chunks(layout: DataLayout, doc_id: str) -> DocumentChunks:
    return DocumentChunks.model_validate_json(layout.artifact(doc_id, DOCUMENT_CHUNKS).read_bytes())


def load_extraction(layout: DataLayout, doc_id: str) -> DocumentExtraction:
    return DocumentExtraction.model_validate_json(
        layout.artifact(doc_id, CLINICAL_EXTRACTIONS).read_bytes()
    )


def load_bundle(layout: DataLayout, doc_id: str) -> dict[str, Any]:
    """The FHIR R4 Bundle as JSON (FHIR's own models validate it; see `fhir.validation`)."""
    return read_json(layout.artifact(doc_id, FHIR_BUNDLE))
