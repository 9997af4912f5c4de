import dagster as dg

from medpipeline.artifacts import (
    DOCUMENT_CHUNKS,
    DOCUMENT_TEXT,
    DocumentChunks,
    DocumentText,
    load_source_document,
    load_text,
)
from medpipeline.chunking import chunk_document, join_pages
from medpipeline.defs.errors import TRANSIENT_RETRY, phi_safe_step
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.pdf import PdfRejected, extract_pages
from medpipeline.storage import write_json


@dg.asset(
    partitions_def=documents_partitions,
    retry_policy=TRANSIENT_RETRY,
    group_name="text",
    kinds={"pdf", "python"},
    deps=["raw_document"],
    description="Per document: page-by-page text (pdfplumber, tables included); pages without a "
    "usable text layer are OCR'd with Tesseract. Each page has a quality score and method. "
    "PHI: documents/<doc_id>/document_text.json holds the document's text.",
)
@phi_safe_step
def document_text(
    context: dg.AssetExecutionContext, document_store: DocumentStoreResource
) -> dg.MaterializeResult:
    layout, doc_id = document_store.layout, context.partition_key
    try:
        source = load_source_document(layout, doc_id)
        pages = extract_pages(
            layout.source_pdf(doc_id),
            document_store.pdf_limits,
            password=document_store.password_for(doc_id, source.sha256),
            pages=source.pages,
        )
    except PdfRejected as rejected:
        raise dg.Failure(
            description=f"text of document {doc_id} unreadable: {rejected.reason.value}",
            metadata={"reason": rejected.reason.value},
            allow_retries=False,
        ) from None
    text, offsets = join_pages(pages)
    write_json(
        layout.artifact(doc_id, DOCUMENT_TEXT),
        DocumentText(doc_id=doc_id, pages=pages, page_offsets=offsets, text=text),
    )
    ocr_pages = [page for page in pages if page.method == "ocr"]
    return dg.MaterializeResult(
        metadata={
            "pages": len(pages),
            "characters": len(text),
            "tables": sum(len(page.tables) for page in pages),
            "ocr_pages": len(ocr_pages),
            "unreadable_pages": sum(1 for page in pages if page.error),
            "mean_quality": round(sum(p.quality for p in pages) / max(len(pages), 1), 3),
            "mean_ocr_confidence": (
                round(sum(p.ocr_confidence or 0 for p in ocr_pages) / len(ocr_pages), 3)
                if ocr_pages
                else None
            ),
        }
    )


@dg.asset(
    partitions_def=documents_partitions,
    retry_policy=TRANSIENT_RETRY,
    group_name="text",
    kinds={"python"},
    deps=[document_text],
    description="Per document: section-aware chunks sized in tokens (o200k) with overlap; each "
    "chunk records its pages and character offsets in the document text. PHI: "
    "documents/<doc_id>/document_chunks.json holds the chunks' text.",
)
@phi_safe_step
def document_chunks(
    context: dg.AssetExecutionContext, document_store: DocumentStoreResource
) -> dg.MaterializeResult:
    layout, doc_id = document_store.layout, context.partition_key
    document = load_text(layout, doc_id)
    config = document_store.chunking
    chunks = chunk_document(doc_id, document.text, document.page_offsets, config)
    write_json(
        layout.artifact(doc_id, DOCUMENT_CHUNKS),
        DocumentChunks(
            doc_id=doc_id,
            max_tokens=config.max_tokens,
            overlap_tokens=config.overlap_tokens,
            chunks=chunks,
        ),
    )
    return dg.MaterializeResult(
        metadata={
            "chunks": len(chunks),
            "tokens": sum(chunk.tokens for chunk in chunks),
            "max_chunk_tokens": max((chunk.tokens for chunk in chunks), default=0),
            "max_tokens_setting": config.max_tokens,
        }
    )
