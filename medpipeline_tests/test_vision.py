"""Vision for pages OCR cannot read (issue 13 point 6).

Contract: a page whose text stays unusable after OCR is rendered, size-limited, and sent — with
the extraction schema — to a vision-capable provider through the official SDK (OpenAI: an
`image_url` data URL; Anthropic: a base64 `image` block) as an image of that very page; its facts
reach the extraction and the FHIR bundle grounded to the page (no text offsets), each one a
`vision_extracted` review item; the call is in the ledger with the input tokens the API reported
(image included); a re-run is answered by the response cache. A negated finding read from an
image is not the patient's active finding. Offline, or with an OpenAI-compatible server the site
has not declared vision-capable, no image leaves and the page stays flagged as before.
"""

import base64
import io
import random
from pathlib import Path

import pypdfium2
import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageStat

from medpipeline.artifacts import load_extraction, load_text
from medpipeline.defs.resources import LLMResource
from medpipeline.extraction.vision import VisionConfig, render_pages
from medpipeline.ledger import read_ledger
from medpipeline.pdf import PdfLimits
from medpipeline.review import REVIEW_FILE, read_review
from medpipeline.storage import read_json
from medpipeline_tests.fake_llm_server import ANTHROPIC, OPENAI, Reply, image_tokens
from medpipeline_tests.helpers import materialize_document, node_metadata, store_copy

TYPED_PAGE = (
    "PROGRESS NOTE\n"
    "Assessment: essential hypertension, well controlled on the current therapy.\n"
    "Plan: continue the present medication and return to the clinic in three months."
)
VISION_FACTS = {
    "conditions": [
        {"text": "Type 2 diabetes mellitus", "quote": "DM2 poorly controlled"},
        {"text": "chest pain", "quote": "denies chest pain", "assertion": "present"},
    ],
    "medications": [
        {"text": "metformin", "quote": "metformin 500 mg bid", "dose_value": 500, "dose_unit": "mg"}
    ],
}


def scribbles() -> Image.Image:
    """A landscape page of red pen strokes: no OCR engine reads words in it."""
    image = Image.new("RGB", (1650, 1275), "white")
    draw = ImageDraw.Draw(image)
    rng = random.Random(13)
    for row in range(8):
        y = 150 + row * 130
        points = [(100 + step * 24, y + rng.randint(-30, 30)) for step in range(60)]
        draw.line(points, fill=(200, 20, 20), width=5)
    return image


def note_with_scribbled_page(folder: Path) -> Path:
    """Page 1: typed text (a text layer); page 2: an image-only landscape page of scribbles."""
    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 14, TYPED_PAGE)
    pdf.add_page(orientation="landscape")
    buffer = io.BytesIO()
    scribbles().save(buffer, format="PNG")
    pdf.image(buffer, x=0, y=0, w=pdf.w, h=pdf.h)
    path = folder / "scribbled_note.pdf"
    pdf.output(str(path))
    return path


def served_images(server, api: str):
    return [
        (served, image) for served in server.served if served.api == api for image in served.images
    ]


def test_an_unreadable_page_goes_to_openai_as_an_image_and_its_facts_are_page_grounded(
    instance, layout, tmp_path, llm_server
):
    doc_id = store_copy(layout, note_with_scribbled_page(tmp_path))
    llm_server.script(OPENAI, Reply(), Reply(content=VISION_FACTS))  # the text chunk, page 2
    llm = LLMResource(
        openai_api_key="test-key",
        openai_base_url=llm_server.base_url + "/v1",
        openai_provider="openai",  # the fake server stands in for OpenAI itself
        fallback_order=["openai", "offline"],
    )
    result = materialize_document(instance, layout, doc_id, llm)
    assert result.success
    pages = load_text(layout, doc_id).pages
    assert pages[1].error is not None, "page 2 is flagged unreadable after OCR"
    meta = node_metadata(result, "clinical_extractions")
    assert (meta["chunks"], meta["unreadable_pages"], meta["vision_pages"]) == (1, 1, 1)
    assert (meta["vision_facts"], meta["vision_pages_failed"]) == (3, 0)

    ((served, sent),) = served_images(llm_server, OPENAI)
    assert sent.media_type == "image/jpeg" and sent.image.format == "JPEG"
    assert max(sent.image.size) <= 1568 and len(sent.data) <= 1_000_000
    assert sent.image.width > sent.image.height, "the landscape page 2, not portrait page 1"
    red, green, _ = ImageStat.Stat(sent.image.convert("RGB")).mean
    assert red - green > 3, "the red scribbles are on the image"
    assert "page 2" in served.user_text
    assert served.body["response_format"]["type"] == "json_schema", "the same schema"

    extraction = load_extraction(layout, doc_id)
    vision_facts = [
        fact
        for fact in [*extraction.conditions, *extraction.medications]
        if fact.evidence and fact.evidence.chunk_id == f"{doc_id}-p002"
    ]
    assert sorted(fact.quote for fact in vision_facts) == sorted(
        fact["quote"] for kind in VISION_FACTS.values() for fact in kind
    )
    for fact in vision_facts:
        assert (fact.evidence.page, fact.evidence.match) == (2, "page")
        assert fact.evidence.offset is None and fact.evidence.length is None
    (chest_pain,) = [fact for fact in vision_facts if fact.quote == "denies chest pain"]
    assert (chest_pain.assertion, chest_pain.provider_assertion) == ("negated", "present")

    review = read_review(layout.document_dir(doc_id) / REVIEW_FILE)
    flagged = [item for item in review.items if item.reason == "vision_extracted"]
    assert len(flagged) == 3 and {item.detail for item in flagged} == {"page:2"}
    bundle = read_json(layout.artifact(doc_id, "fhir_bundle"))
    tagged = [
        entry["resource"]
        for entry in bundle["entry"]
        if {"system": "urn:medpipeline:flag", "code": "vision-extracted"}
        in entry["resource"].get("meta", {}).get("tag", [])
    ]
    assert {resource["resourceType"] for resource in tagged} >= {"Condition"}
    conditions = [
        entry["resource"]["code"]["text"].lower()
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Condition"
    ]
    assert "type 2 diabetes mellitus" in conditions and "chest pain" not in conditions
    assert node_metadata(result, "fhir_bundle")["skipped_negated"] == 1
    viewer = (layout.document_dir(doc_id) / "evidence.html").read_text()
    assert viewer.count("2 (page image)") == 3, "listed with their page, nothing to highlight"

    ledger = read_ledger(layout)
    (row,) = ledger.filter(ledger["chunk_id"] == f"{doc_id}-p002").to_dicts()
    assert (row["provider"], row["outcome"], row["request_id"]) == (
        "openai",
        "ok",
        served.request_id,
    )
    assert row["input_tokens"] == served.usage["input"]
    assert served.usage["input"] > image_tokens(OPENAI, sent.image) > 0
    assert row["cost_usd"] > 0

    requests_before = len(llm_server.served)
    again = materialize_document(instance, layout, doc_id, llm)
    assert again.success and len(llm_server.served) == requests_before, "served by the cache"


def test_anthropic_gets_a_base64_image_block_of_the_handwritten_page(
    instance, layout, corpus, llm_server
):
    doc_id = store_copy(layout, corpus / "medical" / "handwritten_note_bad_ocr_layer.pdf")
    llm_server.script(
        ANTHROPIC, Reply(), Reply(content={"conditions": VISION_FACTS["conditions"][:1]})
    )
    llm = LLMResource(
        anthropic_api_key="test-key",
        anthropic_base_url=llm_server.base_url,
        fallback_order=["anthropic", "offline"],
        vision_image_format="png",
        vision_max_side_px=900,
    )
    result = materialize_document(instance, layout, doc_id, llm)
    assert result.success
    ((served, sent),) = served_images(llm_server, ANTHROPIC)
    blocks = served.body["messages"][0]["content"]
    assert [block["type"] for block in blocks] == ["image", "text"]
    assert sent.media_type == "image/png" and sent.image.format == "PNG"
    assert max(sent.image.size) == 900
    with pypdfium2.PdfDocument(str(layout.source_pdf(doc_id))) as document:
        width, height = document[0].get_size()
    assert sent.image.width / sent.image.height == pytest.approx(width / height, rel=0.01)
    assert served.body["tools"][0]["name"] == "record_clinical_facts"

    (fact,) = [c for c in load_extraction(layout, doc_id).conditions if c.evidence.match == "page"]
    assert fact.evidence.page == 1
    ledger = read_ledger(layout)
    (row,) = ledger.filter(ledger["chunk_id"] == f"{doc_id}-p001").to_dicts()
    usage = served.usage  # Anthropic's input_tokens exclude the prompt cache's reads and writes
    assert row["input_tokens"] == usage["input"] - usage["cache_read"] - usage["cache_write"]
    assert row["cache_read_tokens"] == usage["cache_read"]
    assert served.usage["input"] > image_tokens(ANTHROPIC, sent.image)


def test_offline_no_image_leaves_and_the_page_stays_flagged(instance, layout, tmp_path, llm_server):
    doc_id = store_copy(layout, note_with_scribbled_page(tmp_path))
    result = materialize_document(instance, layout, doc_id, LLMResource())
    assert result.success
    meta = node_metadata(result, "clinical_extractions")
    assert (meta["unreadable_pages"], meta["vision_pages"], meta["offline_only"]) == (1, 0, True)
    assert load_text(layout, doc_id).pages[1].error is not None
    extraction = load_extraction(layout, doc_id)
    assert all(
        fact.evidence is None or fact.evidence.match != "page"
        for kind in ("conditions", "medications")
        for fact in getattr(extraction, kind)
    )
    review = read_review(layout.document_dir(doc_id) / REVIEW_FILE)
    assert "vision_extracted" not in {item.reason for item in review.items}
    assert llm_server.served == []


def test_a_compatible_server_gets_images_only_when_the_site_says_it_reads_them(
    instance, layout, tmp_path, llm_server
):
    doc_id = store_copy(layout, note_with_scribbled_page(tmp_path))
    site = {"openai_api_key": "k", "openai_base_url": llm_server.base_url + "/v1"}
    result = materialize_document(instance, layout, doc_id, LLMResource(**site))
    assert result.success
    assert node_metadata(result, "clinical_extractions")["vision_pages"] == 0
    assert llm_server.served and served_images(llm_server, OPENAI) == []

    llm_server.reset()
    vision_site = LLMResource(**site, openai_compatible_vision=True, vision=True)
    assert materialize_document(instance, layout, doc_id, vision_site).success
    assert len(served_images(llm_server, OPENAI)) == 1
    ledger = read_ledger(layout)
    (row,) = ledger.filter(ledger["chunk_id"] == f"{doc_id}-p002").to_dicts()
    assert (row["provider"], row["cost_usd"]) == ("openai_compatible", 0.0)


@pytest.mark.parametrize("image_format", ["jpeg", "png"])
def test_page_images_stay_under_the_byte_cap_and_blank_pages_are_not_sent(tmp_path, image_format):
    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()  # blank
    pdf.add_page()
    buffer = io.BytesIO()
    noisy = Image.effect_noise((1275, 1650), 90).convert("RGB")  # incompressible
    noisy.save(buffer, format="PNG")
    pdf.image(buffer, x=0, y=0, w=pdf.w, h=pdf.h)
    path = tmp_path / "noise.pdf"
    pdf.output(str(path))
    config = VisionConfig(max_image_bytes=60_000, max_side_px=1200, image_format=image_format)
    (image,) = render_pages(path, [1, 2], config, PdfLimits())
    data = base64.b64decode(image.data_base64)
    assert image.page == 2 and len(data) <= 60_000
    decoded = Image.open(io.BytesIO(data))
    assert decoded.format == image_format.upper() and max(decoded.size) <= 1200
    assert image.media_type == f"image/{image_format}"
    assert decoded.size == (image.width, image.height)
