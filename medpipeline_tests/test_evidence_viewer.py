"""The evidence viewer in real headless Chromium (Debian's `chromium`, driven by Playwright):
every grounded fact of a document run through the real graph is one highlight whose text is exactly
the document text at its offsets; the text shown is the document's, page by page, with markup in it
shown as text; clicking a highlight shows the FHIR resource the fact became (the one whose evidence
extension points at the same span); facts left out of the bundle say why; the page loads nothing
from the network; the fhir_bundle metadata links to it without PHI. Crossing and page-spanning
spans (which cannot nest) are highlighted exactly too."""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medpipeline.chunking import join_pages
from medpipeline.documents import SourceDocument
from medpipeline.evidence import render_evidence
from medpipeline.extraction.schema import (
    ConditionFact,
    DocumentExtraction,
    Evidence,
    MedicationFact,
)
from medpipeline.fhir.bundle import DERIVATION_REFERENCE, build_bundle
from medpipeline.pdf import PageText
from medpipeline.review import document_review
from medpipeline.samples import render_text_pdf
from medpipeline_tests.helpers import materialize_document, store_copy

CHROMIUM = "/usr/bin/chromium"
FACT_LISTS = ("conditions", "medications", "allergies", "observations", "encounters", "procedures")
NOTE_PAGES = [
    "DISCHARGE SUMMARY\n"
    "PATIENT: Viewer Testcase   MRN: 7700-1234\n"
    "Admission date: 03/01/2024 Discharge date: 03/04/2024\n"
    "DISCHARGE DIAGNOSES:\n1. Hypertension\n2. Type 2 diabetes mellitus\n"
    "HISTORY OF PRESENT ILLNESS:\n"
    "The patient denies chest pain. Markup stays text: <b>bold</b> & 'quoted' <script>x</script>\n"
    "FAMILY HISTORY:\nMother had breast cancer.\n",
    "DISCHARGE MEDICATIONS:\n1. Lisinopril 10 mg PO daily\n2. Metformin 500 mg PO twice daily\n"
    "ALLERGIES:\nPenicillin (rash)\n",
]


@pytest.fixture
def browser():
    """Debian's Chromium through Playwright (no browser download); scripts/setup.sh installs it."""
    executable = shutil.which("chromium") or CHROMIUM
    if not Path(executable).exists():
        pytest.skip(
            "chromium is not installed and could not be (scripts/setup.sh installs it with "
            "apt-get when run as root): the evidence viewer needs a real browser"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


def open_viewer(browser, path: Path):
    """The page, and the list of every URL it requested."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(path.as_uri())
    return page, requested


def click_mark(page, fact_id: str) -> None:
    """A real mouse click in the middle of the highlight's first line box (a highlight that wraps
    has a bounding box wider than its text)."""
    box = page.eval_on_selector(
        f'mark[data-fact-id="{fact_id}"]',
        "e => { e.scrollIntoView({block: 'center'}); const r = e.getClientRects()[0];"
        " return [r.x + r.width / 2, r.y + r.height / 2]; }",
    )
    page.mouse.click(*box)


def marks_of(page) -> list[dict]:
    return page.eval_on_selector_all(
        "mark[data-fact-id]",
        "els => els.map(e => ({id: e.dataset.factId, offset: +e.dataset.offset, "
        "length: +e.dataset.length, text: e.textContent, assertion: e.dataset.assertion || null}))",
    )


def evidence_spans(bundle: dict) -> dict[tuple[int, int], list[tuple[str, str]]]:
    """(offset, length) -> [(resourceType, id)] from the resources' derivation-reference."""
    spans: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        for extension in resource.get("extension", []):
            if extension["url"] == DERIVATION_REFERENCE:
                parts = {p["url"]: p.get("valueInteger") for p in extension["extension"]}
                key = (parts["offset"], parts["length"])
                resource_id = entry["fullUrl"].removeprefix("urn:uuid:")
                spans.setdefault(key, []).append((resource["resourceType"], resource_id))
    return spans


@pytest.fixture
def processed_note(instance, layout, tmp_path):
    """The note run through every per-document asset (before the browser starts: Playwright's
    event loop and the run's must not share the thread's lifetime)."""
    pdf = render_text_pdf(tmp_path / "viewer note.pdf", NOTE_PAGES, title="Discharge summary")
    doc_id = store_copy(layout, pdf)
    result = materialize_document(instance, layout, doc_id)
    assert result.success
    return doc_id, result


def test_viewer_of_a_processed_document_in_chromium(layout, processed_note, browser):
    doc_id, result = processed_note
    folder = layout.document_dir(doc_id)
    text = json.loads((folder / "document_text.json").read_text())["text"]
    extraction = json.loads((folder / "clinical_extractions.json").read_text())
    bundle = json.loads((folder / "fhir_bundle.json").read_text())
    facts = [fact for kind in FACT_LISTS for fact in extraction[kind]]
    if extraction["patient"]:
        facts.append(extraction["patient"])
    grounded = sorted(
        (f["evidence"]["offset"], f["evidence"]["length"]) for f in facts if f["evidence"]
    )
    assert len(grounded) >= 6, "the note's findings were extracted (the test has facts to show)"

    (materialization,) = result.asset_materializations_for_node("fhir_bundle")
    metadata = materialization.metadata
    viewer = folder / "evidence.html"
    assert metadata["evidence_viewer"].value == str(viewer)
    assert metadata["pages"].value == 2
    assert metadata["document_type"].value == "discharge_summary"

    page, requested = open_viewer(browser, viewer)
    marks = marks_of(page)
    assert len(marks) == len(grounded) == extraction["grounded_facts"]
    assert sorted((m["offset"], m["length"]) for m in marks) == grounded
    for mark in marks:
        assert mark["text"] == text[mark["offset"] : mark["offset"] + mark["length"]], mark["id"]
    base_text = page.text_content('pre.layer[data-layer="0"]')
    assert base_text == text, "the text shown is the document text, nothing added or parsed"
    assert "<b>bold</b> & 'quoted' <script>x</script>" in base_text
    assert page.locator("#text b, #text script").count() == 0
    page_starts = page.eval_on_selector_all(
        'pre.layer[data-layer="0"] .page-start', "els => els.map(e => e.dataset.page)"
    )
    assert page_starts == ["1", "2"]

    # Clicking a highlight shows the resource whose evidence points at the same span.
    spans = evidence_spans(bundle)
    condition = next(
        m
        for m in marks
        if any(t == "Condition" for t, _ in spans.get((m["offset"], m["length"]), []))
    )
    click_mark(page, condition["id"])
    card = page.locator(f'#selected .card[data-card-for="{condition["id"]}"]')
    assert card.is_visible()
    shown = (
        card.locator(".resource-type").text_content(),
        card.locator(".resource-id").text_content(),
    )
    assert shown in spans[(condition["offset"], condition["length"])]
    assert shown[0] == "Condition"
    assert page.locator(f'mark.selected[data-fact-id="{condition["id"]}"]').count() == 1

    # A finding that is not the patient's is highlighted with its badge and listed as left out.
    not_patients = [m for m in marks if m["assertion"] in ("negated", "family")]
    assert not_patients, "the note's negated and family findings are grounded facts"
    left_out = not_patients[0]
    assert (left_out["offset"], left_out["length"]) not in spans or not any(
        t == "Condition" for t, _ in spans[(left_out["offset"], left_out["length"])]
    )
    click_mark(page, left_out["id"])
    card = page.locator(f'#selected .card[data-card-for="{left_out["id"]}"]')
    assert card.is_visible()
    assert "Not in the bundle" in card.text_content()
    left_out_rows = page.locator(f'#left-out tr[data-for="{left_out["id"]}"]')
    assert left_out_rows.count() == 1
    assert left_out["assertion"] in left_out_rows.text_content()

    assert requested and all(url.startswith("file://") for url in requested), requested
    page.close()


def test_crossing_and_page_spanning_highlights_are_exact(browser, tmp_path):
    pages = [
        PageText(
            page=1,
            text="Assessment: severe heart failure with reduced ejection",
            method="text_layer",
            quality=1.0,
        ),
        PageText(
            page=2,
            text="fraction and chronic kidney disease stage 3a.",
            method="text_layer",
            quality=1.0,
        ),
    ]
    text, page_offsets = join_pages(pages)

    def evidence(quote: str) -> Evidence:
        offset = text.index(quote)
        return Evidence(offset=offset, length=len(quote), page=1, chunk_id="c0", match="exact")

    crossing_a = "severe heart failure with"
    crossing_b = "failure with reduced ejection\n\nfraction and chronic"  # crosses a and the page
    extraction = DocumentExtraction(
        doc_id="0123456789abcdef",
        prompt_version="test",
        conditions=[
            ConditionFact(quote=crossing_a, text="heart failure", evidence=evidence(crossing_a)),
            ConditionFact(quote=crossing_b, text="HFrEF", evidence=evidence(crossing_b)),
            ConditionFact(
                quote="chronic kidney disease stage 3a",
                text="CKD 3a",
                icd10_code="N18.31",
                evidence=evidence("chronic kidney disease stage 3a"),
            ),
        ],
        medications=[MedicationFact(quote="aspirin 81 mg", text="aspirin")],  # ungrounded
        grounded_facts=3,
    )
    document = SourceDocument(
        doc_id="0123456789abcdef",
        sha256="0123456789abcdef" * 4,
        sha1="0" * 40,
        size_bytes=1000,
        pages=2,
        stored_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    built = build_bundle(document, extraction, created_at=datetime(2026, 1, 2, tzinfo=UTC))
    viewer = tmp_path / "evidence.html"
    viewer.write_text(
        render_evidence(
            doc_id=document.doc_id,
            text=text,
            page_offsets=page_offsets,
            extraction=extraction,
            bundle=built.bundle,
            mapped_facts=built.mapped_facts,
            review=document_review(extraction, built, []),
        ),
        encoding="utf-8",
    )
    page, requested = open_viewer(browser, viewer)
    marks = marks_of(page)
    assert sorted(m["text"] for m in marks) == sorted(
        [crossing_a, crossing_b, "chronic kidney disease stage 3a"]
    )
    for mark in marks:
        assert mark["text"] == text[mark["offset"] : mark["offset"] + mark["length"]]
    assert page.locator("pre.layer").count() == 2, "the crossing span is drawn on a second layer"
    # The overlay's characters sit exactly on the first layer's: the same page starts, same places.
    starts = page.eval_on_selector_all(
        ".page-start",
        "els => els.map(e => [e.closest('pre').dataset.layer, e.dataset.page,"
        " e.getBoundingClientRect().x, e.getBoundingClientRect().y])",
    )
    by_layer = {layer: [s[1:] for s in starts if s[0] == layer] for layer in ("0", "1")}
    assert len(by_layer["0"]) == 2 and by_layer["0"] == by_layer["1"]
    click_mark(page, "conditions-1")
    card = page.locator('#selected .card[data-card-for="conditions-1"]')
    assert card.is_visible()
    (mapped,) = [m for m in built.mapped_facts if (m.fact_list, m.fact_index) == ("conditions", 1)]
    expected_id = mapped.full_url.removeprefix("urn:uuid:")
    assert card.locator(".resource-id").text_content() == expected_id
    # The medication's quote is not in the text (kept ungrounded): no highlight, a review flag.
    assert page.locator('mark[data-fact-id="medications-0"]').count() == 0
    row = page.locator('#facts tr[data-for="medications-0"]').text_content()
    assert "aspirin" in row and "ungrounded" in row
    assert all(url.startswith("file://") for url in requested)
    page.close()
