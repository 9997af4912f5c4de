"""Running documents through the real Dagster graph on a test instance, or a note of our own
through the domain pipeline alone."""

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pypdf
from fpdf import FPDF

from medpipeline.definitions import document_assets
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import DocumentStoreResource, LLMResource
from medpipeline.documents import SourceDocument, doc_id_from_sha256, file_digests
from medpipeline.extraction.schema import DocumentExtraction
from medpipeline.fhir.bundle import build_bundle
from medpipeline.intake import store_source
from medpipeline.pdf import PageText
from medpipeline.samples import render_text_pdf
from medpipeline.storage import DataLayout
from medpipeline.whole_document import offline_bundle


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


def llm_for(server) -> LLMResource:
    """Both SDKs pointed at the local fake LLM server (`fake_llm_server`)."""
    return LLMResource(
        anthropic_api_key="test-key",
        anthropic_base_url=server.base_url,
        openai_api_key="test-key",
        openai_base_url=server.base_url + "/v1",
        openai_provider="openai",  # the fake server stands in for OpenAI itself
        chunk_concurrency=3,
    )


def node_metadata(result: dg.ExecuteInProcessResult, node: str) -> dict:
    """The metadata values of the one materialization of `node` in the run."""
    (materialization,) = result.asset_materializations_for_node(node)
    return {key: value.value for key, value in materialization.metadata.items()}


def document_on_disk(
    folder: Path, pdf_bytes: bytes, pages: int, stored_at: datetime
) -> SourceDocument:
    """A SourceDocument whose digests come from a real file written into `folder`."""
    path = folder / "source.pdf"
    path.write_bytes(pdf_bytes)
    sha256, sha1 = file_digests(path)
    return SourceDocument(
        doc_id=doc_id_from_sha256(sha256),
        sha256=sha256,
        sha1=sha1,
        size_bytes=len(pdf_bytes),
        pages=pages,
        stored_at=stored_at,
    )


def resources_of(bundle: dict, resource_type: str) -> list[dict]:
    """The resources of one type in a Bundle, in entry order."""
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == resource_type
    ]


def bundle_of(extraction: DocumentExtraction, created_at: datetime) -> dict:
    """The Bundle of an extraction of a stand-in document (digests made up from its doc_id)."""
    document = SourceDocument(
        doc_id=extraction.doc_id,
        sha256=extraction.doc_id * 4,
        sha1="ab" * 20,
        size_bytes=10,
        pages=1,
        stored_at=created_at,
    )
    return build_bundle(document, extraction, created_at=created_at).bundle


def bundle_of_note(text: str) -> dict:
    """The offline provider's validated bundle of a one-page note (no Dagster)."""
    digest = hashlib.sha256(text.encode())
    source = SourceDocument(
        doc_id=digest.hexdigest()[:16],
        sha256=digest.hexdigest(),
        sha1=hashlib.sha1(digest.digest()).hexdigest(),
        size_bytes=len(text),
        pages=1,
        stored_at=datetime(2026, 12, 4, tzinfo=UTC),
    )
    page = PageText(page=1, text=text, method="text_layer", quality=1.0)
    built, _ = offline_bundle(source, [page])
    return built.bundle


RECONCILIATION = [  # fixed-width cells, as an EHR's print engine lays out a table without rules
    ("Medication", "Dose", "Route", "Frequency", "Action", "Comments"),
    ("Metformin", "500 mg", "PO", "BID", "Discontinue", "eGFR 38"),
    ("Spironolactone", "25 mg", "PO", "daily", "Hold", "K 5.3; recheck in 1 wk"),
    ("Ibuprofen", "400 mg", "PO", "PRN", "Discontinue", "NSAID with warfarin"),
]
RECONCILIATION_WIDTHS = (
    32,
    16,
    11,
    19,
    19.6,
    60,
)  # mm: 'Discontinue' fills its cell, 0.33 em apart


def render_cell_table(
    path: Path,
    rows: list[tuple[str, ...]],
    widths: tuple[float, ...],
    title: str = "MEDICATION RECONCILIATION",
) -> Path:
    pdf = FPDF(unit="mm", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.cell(text=title, new_x="LMARGIN", new_y="NEXT")
    for row in rows:
        for text, width in zip(row, widths, strict=True):
            pdf.cell(w=width, h=5, text=text)
        pdf.ln(5)
    pdf.output(str(path))
    return path


def render_two_columns(
    path: Path,
    header: list[str],
    columns: tuple[list[str], list[str]],
    footer: list[str],
    heading_margin: float = 2.0,
    column_offset: float = 2.5,
) -> Path:
    """A page as an after-visit summary prints one: header lines across the page, then two
    columns side by side, then footer lines across. A line starting '# ' is a bold heading."""
    pdf = FPDF(unit="mm", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)

    def write(lines: list[str], x: float, width: float) -> None:
        for index, line in enumerate(lines):
            heading = line.startswith("# ")
            if heading and index:
                pdf.ln(heading_margin)
            pdf.set_x(x)
            pdf.set_font("Helvetica", style="B" if heading else "", size=11 if heading else 10)
            pdf.multi_cell(w=width, h=5, text=line.removeprefix("# "), new_x="LMARGIN")

    write(header, 10, 190)
    top = pdf.get_y() + 3
    bottoms = []
    for lines, x, offset in zip(columns, (10, 110), (0, column_offset), strict=True):
        pdf.set_y(top + offset)
        write(lines, x, 88)
        bottoms.append(pdf.get_y())
    pdf.set_y(max(bottoms) + 3)
    write(footer, 10, 190)
    pdf.output(str(path))
    return path
