"""The offline provider on documents of kinds the earlier sets had not (2026-12-06, twenty-fifth
session: a two-column after-visit summary, and a seventh blind set's tuning half). Each case is
short text or a page of our own in the layout those documents print; each failed on the code
before its rule unless it says it is a guard."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from medpipeline.documents import SourceDocument, doc_id_from_sha256, file_digests
from medpipeline.extraction.offline import OfflineExtractor
from medpipeline.extraction.schema import MedicationStatus
from medpipeline.pdf import PdfLimits, extract_pages
from medpipeline.whole_document import offline_bundle
from medpipeline_tests.helpers import render_two_columns, resources_of


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor()


def bundle_of_pdf(pdf: Path) -> dict:
    sha256, sha1 = file_digests(pdf)
    pages = extract_pages(pdf, PdfLimits(timeout_seconds=60), ocr=False)
    source = SourceDocument(
        doc_id=doc_id_from_sha256(sha256),
        sha256=sha256,
        sha1=sha1,
        size_bytes=pdf.stat().st_size,
        pages=len(pages),
        stored_at=datetime(2026, 12, 6, tzinfo=UTC),
    )
    built, _ = offline_bundle(source, pages)
    return built.bundle


def test_a_two_column_after_visit_summary_keeps_each_columns_lists(tmp_path: Path):
    """Read interleaved, 'Penicillin' was a MedicationStatement under 'Your Medication List' and
    hives and rash were the patient's conditions; read column by column, the allergies are
    allergies and the drugs started today are orders."""
    pdf = render_two_columns(
        tmp_path / "avs.pdf",
        ["# After Visit Summary", "Lakeside Family Medicine"],
        (
            ["# Allergies", "Penicillin - hives", "Sulfa drugs - rash", "# Today's Diagnoses",
             "Essential hypertension", "Acute maxillary sinusitis"],
            ["# Your Medication List", "Lisinopril 20 mg tablet, take 1 tablet daily",
             "Amoxicillin-clavulanate 875 mg - STOP taking this medicine",
             "# Started Today", "Doxycycline 100 mg capsule twice daily for 10 days"],
        ),
        [],
    )  # fmt: skip
    bundle = bundle_of_pdf(pdf)
    allergies = sorted(r["code"]["text"] for r in resources_of(bundle, "AllergyIntolerance"))
    assert allergies == ["Penicillin", "Sulfa drugs"]
    conditions = sorted(r["code"]["text"] for r in resources_of(bundle, "Condition"))
    assert conditions == ["Acute maxillary sinusitis", "Essential hypertension"]
    listed = {
        r["medicationCodeableConcept"]["text"]: r["status"]
        for r in resources_of(bundle, "MedicationStatement")
    }
    assert listed == {"Lisinopril": "active", "Amoxicillin-clavulanate": "stopped"}
    ordered = [
        r["medicationCodeableConcept"]["text"] for r in resources_of(bundle, "MedicationRequest")
    ]
    assert ordered == ["Doxycycline"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # an after-visit summary's instruction, wrapped after 'taking'
            "Your Medication List\nAmoxicillin 875 mg tablet - STOP taking\nthis medicine\n",
            MedicationStatus.STOPPED,
        ),
        (  # guard: a form's answer columns still read their ticks
            "Home medication   Dose   Continue   Stop   Hold\n"
            "Lisinopril 10 mg   10 mg daily   [ ]   [X]   [ ]\n",
            MedicationStatus.STOPPED,
        ),
    ],
)
def test_a_stop_instruction_after_the_drug(extractor, text, expected):
    (medication,) = extractor.extract(text).medications
    assert medication.status == expected
