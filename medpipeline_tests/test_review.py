"""Contract: each document's review queue is data. `review.json` lists every fact (or failed
chunk) a human should look at with a reason code, the fact's list and index and the resource
carrying it; the `fhir_bundle` metadata counts them (no text); the warehouse table
`review_items` holds them (doc_id, resource type, reason, fact index — no text) and survives an
incremental rebuild. Through the real graph, an LLM fact whose grounded span the text negates,
gives to a relative or makes hypothetical is not asserted active and is queued for review."""

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from medpipeline.analytics.warehouse import rebuild_warehouse
from medpipeline.documents import SourceDocument
from medpipeline.extraction.schema import (
    Assertion,
    ChunkExtraction,
    ChunkOutcome,
    ChunkReport,
    ConditionFact,
    DocumentExtraction,
    Evidence,
    MedicationFact,
)
from medpipeline.fhir.bundle import build_bundle
from medpipeline.pdf import PageText, PdfLimits, extract_pages, ocr_available
from medpipeline.review import REVIEW_FILE, DocumentReview, ReviewReason, document_review
from medpipeline.samples import SCANNED_FILE, render_text_pdf
from medpipeline.whole_document import offline_bundle
from medpipeline_tests.fake_llm_server import ANTHROPIC, Reply
from medpipeline_tests.helpers import (
    llm_for,
    materialize_document,
    node_metadata,
    resources_of,
    store_copy,
)

NOTE_LINES = [
    "CLINIC NOTE",
    "Chief complaint: cough for five days.",
    "He denies chest pain.",
    "Allergies: Mother is allergic to latex.",
    "Plan: If pain persists, take ibuprofen 400 mg.",
    "Start azithromycin 250 mg daily.",
    "She declined the flu shot. Tdap given today.",
]
LLM_REPLY = {
    "conditions": [
        {"text": "chest pain", "quote": "He denies chest pain.", "assertion": "present"},
        {"text": "cough", "quote": "cough for five days", "assertion": "present"},
        {"text": "gout", "quote": "history of gout", "assertion": "present"},  # not in the text
    ],
    "allergies": [{"substance": "latex", "quote": "Mother is allergic to latex."}],
    "medications": [
        {
            "text": "ibuprofen",
            "quote": "If pain persists, take ibuprofen 400 mg.",
            "prescribed": True,
            "dose_value": 400,
            "dose_unit": "mg",
        },
        {"text": "azithromycin", "quote": "Start azithromycin 250 mg daily.", "prescribed": True},
    ],
    "immunizations": [
        {"text": "flu shot", "quote": "She declined the flu shot.", "assertion": "present"},
        {"text": "Tdap", "cvx_code": "115", "quote": "Tdap given today.", "assertion": "present"},
    ],
}


def _items(review: DocumentReview) -> set[tuple]:
    return {
        (item.reason, item.fact_list, item.fact_index, item.set_aside, item.resource_type)
        for item in review.items
    }


def test_document_review_lists_each_reason_with_its_fact(tmp_path: Path) -> None:
    # the text: "Asthma. Denies fever. Metformin 500 mg. If wheezing, albuterol."
    evidence = [
        Evidence(offset=0, length=6, page=1, chunk_id="c0", match="exact"),
        Evidence(offset=8, length=12, page=1, chunk_id="c0", match="fuzzy", score=91.5),
        Evidence(offset=22, length=16, page=1, chunk_id="c0", match="exact"),
        Evidence(offset=40, length=24, page=1, chunk_id="c0", match="exact"),
        Evidence(offset=66, length=8, page=2, chunk_id="c0", match="exact"),
    ]
    extraction = DocumentExtraction(
        doc_id="0123456789abcdef",
        prompt_version="t",
        chunks=[
            ChunkReport(chunk_id="c0", outcome=ChunkOutcome.OK, provider="anthropic"),
            ChunkReport(chunk_id="c1", outcome=ChunkOutcome.FAILED),
        ],
        conditions=[
            ConditionFact(
                quote="Asthma", text="Asthma", icd10_code="J99.999", evidence=evidence[0]
            ),
            ConditionFact(
                quote="Denies fever",
                text="fever",
                assertion=Assertion.NEGATED,
                provider_assertion=Assertion.PRESENT,
                context_assertion=Assertion.NEGATED,
                evidence=evidence[1],
            ),
        ],
        medications=[
            MedicationFact(quote="Metformin 500 mg", text="metformin", evidence=evidence[2]),
            MedicationFact(
                quote="If wheezing, albuterol",
                text="albuterol",
                prescribed=True,
                assertion=Assertion.HYPOTHETICAL,
                evidence=evidence[3],
            ),
            MedicationFact(quote="Lasix 40", text="furosemide", evidence=evidence[4]),
        ],
        ungrounded=ChunkExtraction(conditions=[ConditionFact(quote="gout", text="gout")]),
    )
    document = SourceDocument(
        doc_id="0123456789abcdef",
        sha256="0" * 64,
        sha1="0" * 40,
        size_bytes=1,
        pages=1,
        stored_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    built = build_bundle(document, extraction, created_at=datetime(2025, 1, 2, tzinfo=UTC))
    pages = [
        PageText(page=1, text="", method="text_layer", quality=1.0),
        PageText(page=2, text="", method="ocr", quality=0.9, ocr_confidence=0.874),
    ]
    review = document_review(extraction, built, pages)
    assert _items(review) == {
        (ReviewReason.CHUNK_FAILED, None, None, False, None),
        (ReviewReason.UNGROUNDED, "conditions", 0, True, None),
        (ReviewReason.CODE_DROPPED, "conditions", 0, False, "Condition"),
        (ReviewReason.LOW_CONFIDENCE, "conditions", 1, False, None),
        (ReviewReason.ASSERTION_DISAGREEMENT, "conditions", 1, False, None),
        (ReviewReason.UNCERTAIN_ORDER, "medications", 1, False, "MedicationRequest"),
        (ReviewReason.OCR_TEXT, "medications", 2, False, "MedicationStatement"),
    }
    by_reason = {item.reason: item for item in review.items}
    assert by_reason[ReviewReason.OCR_TEXT].detail == "page:2,confidence:0.87"
    assert by_reason[ReviewReason.ASSERTION_DISAGREEMENT].detail == "present->negated"
    assert by_reason[ReviewReason.UNGROUNDED].fact_path == "/ungrounded/conditions/0"
    assert by_reason[ReviewReason.CHUNK_FAILED].chunk_id == "c1"
    assert review.counts()["assertion_disagreement"] == 1


def test_llm_facts_the_text_does_not_assert_are_queued_through_the_graph(
    instance, layout, llm_server, tmp_path
) -> None:
    pdf = render_text_pdf(tmp_path / "note.pdf", ["\n".join(NOTE_LINES)])
    doc_id = store_copy(layout, pdf)
    llm_server.script(ANTHROPIC, Reply(content=LLM_REPLY))
    result = materialize_document(instance, layout, doc_id, llm_for(llm_server))
    assert result.success
    assert len(llm_server.served) == 1, "one chunk, one call"

    folder = layout.document_dir(doc_id)
    extraction = json.loads((folder / "clinical_extractions.json").read_text())
    chest_pain, cough = extraction["conditions"]
    assert (chest_pain["assertion"], chest_pain["provider_assertion"]) == ("negated", "present")
    assert (cough["assertion"], cough["provider_assertion"]) == ("present", None)
    assert extraction["allergies"][0]["assertion"] == "family"
    assert extraction["medications"][0]["assertion"] == "hypothetical"
    assert extraction["ungrounded"]["conditions"][0]["text"] == "gout"

    bundle = json.loads((folder / "fhir_bundle.json").read_text())
    assert [c["code"]["text"] for c in resources_of(bundle, "Condition")] == ["cough"]
    assert resources_of(bundle, "AllergyIntolerance") == [], "the mother's allergy"
    orders = {
        r["medicationCodeableConcept"]["text"]: (r["status"], r["intent"])
        for r in resources_of(bundle, "MedicationRequest")
    }
    assert orders == {"ibuprofen": ("draft", "proposal"), "azithromycin": ("active", "order")}
    immunizations = {
        r["vaccineCode"]["text"]: (r["status"], r["vaccineCode"]["coding"][0]["code"])
        for r in resources_of(bundle, "Immunization")
    }
    assert immunizations == {"flu shot": ("not-done", "88"), "Tdap": ("completed", "115")}

    review_text = (folder / REVIEW_FILE).read_text()
    for word in ("chest", "latex", "ibuprofen", "gout", "cough", "flu"):
        assert word not in review_text.lower(), "review.json holds codes and positions, no text"
    review = DocumentReview.model_validate_json(review_text)
    assert _items(review) == {
        (ReviewReason.ASSERTION_DISAGREEMENT, "conditions", 0, False, None),
        (ReviewReason.ASSERTION_DISAGREEMENT, "allergies", 0, False, None),
        (ReviewReason.ASSERTION_DISAGREEMENT, "medications", 0, False, "MedicationRequest"),
        (ReviewReason.UNCERTAIN_ORDER, "medications", 0, False, "MedicationRequest"),
        (ReviewReason.UNGROUNDED, "conditions", 0, True, None),
        (ReviewReason.ASSERTION_DISAGREEMENT, "immunizations", 0, False, "Immunization"),
    }
    metadata = node_metadata(result, "fhir_bundle")
    assert metadata["review_items"] == 6
    assert metadata["review_assertion_disagreement"] == 4
    assert metadata["review_uncertain_order"] == 1
    assert metadata["review_ungrounded"] == 1
    for value in metadata.values():
        assert "chest" not in str(value).lower() and "latex" not in str(value).lower()
    [needs_review] = [
        check for check in result.get_asset_check_evaluations()
        if check.check_name == "needs_no_review"
    ]  # fmt: skip
    assert not needs_review.passed

    rebuild_warehouse(layout)
    query = (
        "SELECT doc_id, resource_type, reason, fact_list, fact_index FROM review_items "
        "ORDER BY reason, fact_list"
    )
    expected = [
        (doc_id, None, "assertion_disagreement", "allergies", 0),
        (doc_id, None, "assertion_disagreement", "conditions", 0),
        (doc_id, "Immunization", "assertion_disagreement", "immunizations", 0),
        (doc_id, "MedicationRequest", "assertion_disagreement", "medications", 0),
        (doc_id, "MedicationRequest", "uncertain_order", "medications", 0),
        (doc_id, None, "ungrounded", "conditions", 0),
    ]
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as connection:
        assert connection.execute(query).fetchall() == expected
        text_columns = connection.execute("SELECT detail, chunk_id FROM review_items").fetchall()
    assert all("chest" not in str(row).lower() for row in text_columns)

    again = rebuild_warehouse(layout)  # the document is unchanged: its rows are copied
    assert again.documents_reused == 1
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as connection:
        assert connection.execute(query).fetchall() == expected


@pytest.mark.skipif(not ocr_available(), reason="tesseract-ocr is not installed")
def one_page_source(pdf: Path) -> SourceDocument:
    data = pdf.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    return SourceDocument(
        doc_id=sha256[:16],
        sha256=sha256,
        sha1=hashlib.sha1(data).hexdigest(),
        size_bytes=len(data),
        pages=1,
        stored_at=datetime(2026, 12, 5, tzinfo=UTC),
    )


def test_every_fact_read_from_a_scanned_page_is_queued_for_a_look(samples_dir: Path) -> None:
    pages = extract_pages(samples_dir / SCANNED_FILE, PdfLimits(), pages=1)
    assert [page.method for page in pages] == ["ocr"]
    built, review = offline_bundle(one_page_source(samples_dir / SCANNED_FILE), pages)
    facts = [m for m in built.mapped_facts if m.fact_list != "patient"]
    assert facts, "the scanned note's facts are read"
    flagged = {
        (item.fact_list, item.fact_index)
        for item in review.items
        if item.reason == ReviewReason.OCR_TEXT and item.detail.startswith("page:1,confidence:")
    }
    assert {(m.fact_list, m.fact_index) for m in facts} <= flagged


def test_a_drug_known_only_by_a_near_spelling_is_queued_for_a_look(tmp_path: Path) -> None:
    pdf = render_text_pdf(
        tmp_path / "misspelt.pdf",
        [
            "Medication list\n"
            "1. gliburide - 2.5mg by mouth once daily\n"
            "2. miodarone - 200mg by mouth two times daily\n"
            "3. Lisinopril 10 mg by mouth daily\n"
        ],
    )
    built, review = offline_bundle(one_page_source(pdf), extract_pages(pdf, PdfLimits()))
    statements = {
        entry["fullUrl"]: entry["resource"]
        for entry in built.bundle["entry"]
        if entry["resource"]["resourceType"] == "MedicationStatement"
    }
    spelled = {
        (statements[item.full_url]["medicationCodeableConcept"]["text"], item.detail)
        for item in review.items
        if item.reason == ReviewReason.LOW_CONFIDENCE
    }
    assert spelled == {("gliburide", "spelling"), ("miodarone", "spelling")}
    generics = {
        concept["text"]: [coding.get("display") for coding in concept.get("coding", [])]
        for concept in (resource["medicationCodeableConcept"] for resource in statements.values())
    }
    assert generics["gliburide"] == ["glyburide"]
    assert generics["miodarone"] == ["amiodarone"]
    assert "Lisinopril" in generics
