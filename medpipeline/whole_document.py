"""A document's whole domain pipeline in one call, with the offline provider, no Dagster and no
artifact files.

The assets run these steps one per asset and persist every artifact between them. This runs them
back to back in memory, for two users: `bench/bulk.py` times it as the bare-library baseline of
bulk ingestion, and the warm run launcher runs it once on sample text so every library cache
(medspaCy pipeline, vocabularies, ICD-10-CM index, FHIR schema) is built before a run forks.
"""

import hashlib
from datetime import UTC, datetime

from medpipeline.chunking import ChunkingConfig, chunk_document, join_pages
from medpipeline.documents import SourceDocument
from medpipeline.extraction.assertions import recheck_assertions
from medpipeline.extraction.clients import OfflineProvider
from medpipeline.extraction.grounding import merge_extractions
from medpipeline.extraction.prompts import PROMPT_VERSION, detect_document_type
from medpipeline.extraction.providers import ExtractionChain
from medpipeline.fhir.bundle import BuiltBundle, build_bundle
from medpipeline.fhir.validation import validate_bundle
from medpipeline.pdf import PageText
from medpipeline.review import DocumentReview, document_review

_IN_FLIGHT = 4


def offline_bundle(
    source: SourceDocument, pages: list[PageText], chunking: ChunkingConfig | None = None
) -> tuple[BuiltBundle, DocumentReview]:
    """The validated bundle and review queue of a document's pages (raises if invalid)."""
    text, offsets = join_pages(pages)
    chunks = chunk_document(source.doc_id, text, offsets, chunking or ChunkingConfig())
    results = ExtractionChain([OfflineProvider()]).extract_chunks(
        source.doc_id,
        [(chunk.chunk_id, chunk.text, chunk.context) for chunk in chunks],
        "in-memory",
        detect_document_type(text),
        _IN_FLIGHT,
    )
    merged = merge_extractions(
        source.doc_id,
        PROMPT_VERSION,
        offsets,
        (
            (chunk, result.report, result.extraction)
            for chunk, result in zip(chunks, results, strict=True)
        ),
    )
    extraction = recheck_assertions(merged, text)
    built = build_bundle(source, extraction, created_at=datetime.now(UTC))
    validate_bundle(built.bundle)
    return built, document_review(extraction, built, pages)


def warm_up() -> None:
    """Build every lazily built library cache by running the pipeline on the (fictional)
    sample discharge summary's text."""
    from medpipeline import samples

    pages = [
        PageText(page=number, text=text, method="text_layer", quality=1.0)
        for number, text in enumerate(samples.DISCHARGE_PAGES, start=1)
    ]
    digest = hashlib.sha256("\f".join(samples.DISCHARGE_PAGES).encode())
    source = SourceDocument(
        doc_id=digest.hexdigest()[:16],
        sha256=digest.hexdigest(),
        sha1=hashlib.sha1(digest.digest()).hexdigest(),
        size_bytes=0,
        pages=len(pages),
        stored_at=datetime.now(UTC),
    )
    offline_bundle(source, pages)
