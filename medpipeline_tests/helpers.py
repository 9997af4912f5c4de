"""Running documents through the real Dagster graph on a test instance."""

import shutil
from pathlib import Path

import dagster as dg
import pypdf

from medpipeline.definitions import document_assets
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import DocumentStoreResource, LLMResource
from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.intake import store_source
from medpipeline.samples import render_text_pdf
from medpipeline.storage import DataLayout


def resources_for(
    layout: DataLayout, llm: LLMResource | None = None, passwords: Path | None = None
) -> dict:
    return {
        "document_store": DocumentStoreResource(
            data_dir=str(layout.root), pdf_password_file=str(passwords) if passwords else None
        ),
        "llm": llm or LLMResource(),
    }


def encrypted_pdf(folder: Path, name: str, text: str, password: str) -> Path:
    """A generated PDF that opens only with its user password (AES-256)."""
    plain = render_text_pdf(folder / f"plain-{name}", [text])
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(plain))
    writer.encrypt(user_password=password, owner_password=f"owner-{password}", algorithm="AES-256")
    path = folder / name
    with path.open("wb") as handle:
        writer.write(handle)
    plain.unlink()
    return path


def store_copy(layout: DataLayout, pdf: Path) -> str:
    """Put a copy of `pdf` into the document store as intake would; returns its doc_id."""
    copy = layout.root / "incoming" / pdf.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pdf, copy)
    sha256, _ = file_digests(copy)
    doc_id = doc_id_from_sha256(sha256)
    store_source(layout, copy, doc_id, sha256)
    return doc_id


def materialize_document(
    instance: dg.DagsterInstance,
    layout: DataLayout,
    doc_id: str,
    llm: LLMResource | None = None,
    passwords: Path | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize every per-document asset of one partition; failures are returned, not raised."""
    instance.add_dynamic_partitions(documents_partitions.name, [doc_id])
    return dg.materialize(
        document_assets,
        partition_key=doc_id,
        instance=instance,
        resources=resources_for(layout, llm, passwords),
        raise_on_error=False,
    )
