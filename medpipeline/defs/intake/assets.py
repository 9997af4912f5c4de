import shutil
from datetime import UTC, datetime

import dagster as dg

from medpipeline.artifacts import RAW_DOCUMENT
from medpipeline.defs.errors import TRANSIENT_RETRY, phi_safe_step
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.documents import SourceDocument, doc_id_from_sha256, file_digests
from medpipeline.intake import IntakeRecord
from medpipeline.pdf import PdfRejected, inspect_pdf
from medpipeline.storage import INTAKE_RECORD, DataLayout, quarantine_file, read_json, write_json


@dg.asset(
    partitions_def=documents_partitions,
    group_name="intake",
    kinds={"pdf"},
    retry_policy=TRANSIENT_RETRY,
    description="Per document: the stored PDF, checked to be a readable PDF within limits "
    "(magic bytes, size, pages, encryption). Rejected files move to quarantine/ with a reason. "
    "PHI: documents/<doc_id>/source.pdf and intake.json (the original file name); the metadata "
    "carries ids, sizes and page counts only.",
)
@phi_safe_step
def raw_document(
    context: dg.AssetExecutionContext, document_store: DocumentStoreResource
) -> dg.MaterializeResult:
    layout, doc_id = document_store.layout, context.partition_key
    source = layout.source_pdf(doc_id)
    if not source.exists():
        raise dg.Failure(
            f"no stored source PDF for document {doc_id}: drop the file into the inbox",
            allow_retries=False,
        )
    sha256, sha1 = file_digests(source)
    if doc_id_from_sha256(sha256) != doc_id:
        raise dg.Failure(
            f"stored PDF of document {doc_id} does not match its content hash",
            allow_retries=False,
        )
    try:
        password = document_store.password_for(doc_id, sha256)
        properties = inspect_pdf(source, document_store.pdf_limits, password)
    except PdfRejected as rejected:
        _quarantine_document(layout, doc_id, rejected)
        raise dg.Failure(
            description=f"document {doc_id} rejected: {rejected.reason.value} ({rejected.detail})",
            metadata={"reason": rejected.reason.value, "doc_id": doc_id},
            allow_retries=False,
        ) from None
    document = SourceDocument(
        doc_id=doc_id,
        sha256=sha256,
        sha1=sha1,
        size_bytes=source.stat().st_size,
        pages=properties.pages,
        pdf_version=properties.pdf_version,
        producer=properties.producer,
        stored_at=datetime.now(UTC),
    )
    write_json(layout.artifact(doc_id, RAW_DOCUMENT), document)
    return dg.MaterializeResult(
        metadata={
            "doc_id": doc_id,
            "sha256": sha256,
            "pages": properties.pages,
            "bytes": dg.MetadataValue.int(document.size_bytes),
            "pdf_version": properties.pdf_version or "unknown",
        }
    )


def _quarantine_document(layout: DataLayout, doc_id: str, rejected: PdfRejected) -> None:
    """Move the stored PDF to quarantine under its original name and forget the document."""
    folder = layout.document_dir(doc_id)
    record_path = folder / INTAKE_RECORD
    original_name = (
        IntakeRecord.model_validate(read_json(record_path)).original_name
        if record_path.exists()
        else f"{doc_id}.pdf"
    )
    quarantine_file(
        layout, layout.source_pdf(doc_id), rejected.reason.value, rejected.detail, original_name
    )
    shutil.rmtree(folder, ignore_errors=True)
