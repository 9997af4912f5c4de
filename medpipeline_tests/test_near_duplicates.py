"""Near-duplicates: a document whose bytes differ but whose text is the same (re-rendered,
re-exported) is recognised by MinHash similarity of its text, linked to the earlier document in
the metadata and the warehouse (`documents.near_duplicate_of`), and costs no second LLM call
unless the run asks for one; different documents are never linked."""

import dagster as dg
import duckdb
import pytest
from fpdf import FPDF

from medpipeline import samples
from medpipeline.artifacts import load_extraction, load_text
from medpipeline.definitions import document_assets
from medpipeline.defs.analytics.assets import warehouse_tables
from medpipeline.ledger import read_document_ledger
from medpipeline.near_duplicates import THRESHOLD, text_signature
from medpipeline_tests.helpers import (
    llm_for,
    materialize_document,
    node_metadata,
    resources_for,
    store_copy,
)

PAGES = samples.REFERRAL_PAGES


def _re_render(path, pages: list[str]) -> None:
    """The same words laid out by another program: A4, other margins, font and line breaks."""
    pdf = FPDF(format="A4")
    pdf.set_margins(left=32, top=25, right=32)
    pdf.set_creator("another exporter")
    for page in pages:
        pdf.add_page()
        pdf.set_font("Times", size=12)
        for line in page.splitlines():
            pdf.multi_cell(w=0, h=6, text=line or " ", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def _similarity(a: str, b: str) -> float:
    return float((text_signature(a) == text_signature(b)).mean())


@pytest.mark.parametrize(
    ("other", "linked"),
    [
        (" ".join(samples.REFERRAL_PAGES), True),  # same words, other whitespace
        ("\n".join(samples.DISCHARGE_PAGES), False),  # another patient's document
        ("\n".join(samples.PROGRESS_PAGES), False),
    ],
)
def test_similarity_links_the_same_text_only(other, linked):
    assert (_similarity("\n\n".join(samples.REFERRAL_PAGES), other) >= THRESHOLD) is linked


def test_too_short_a_text_is_never_compared():
    assert text_signature("Page 1 of 1") is None


def test_a_re_rendered_copy_reuses_the_facts_without_a_second_llm_spend(
    instance, layout, samples_dir, llm_server, tmp_path
):
    original_pdf = samples.render_text_pdf(tmp_path / "original.pdf", PAGES, title="Referral")
    copy_pdf = tmp_path / "copy.pdf"
    _re_render(copy_pdf, ["Referral\n" + PAGES[0], *PAGES[1:]])
    assert original_pdf.read_bytes() != copy_pdf.read_bytes()
    original = store_copy(layout, original_pdf)
    copy = store_copy(layout, copy_pdf)
    assert original != copy

    llm = llm_for(llm_server)
    assert materialize_document(instance, layout, original, llm).success
    paid = len(llm_server.served)
    assert paid > 0

    result = materialize_document(instance, layout, copy, llm)
    assert result.success
    assert len(llm_server.served) == paid, "no LLM call for the near-duplicate"
    meta = node_metadata(result, "clinical_extractions")
    assert meta["near_duplicate_of"] == original
    assert meta["near_duplicate_similarity"] >= THRESHOLD
    assert meta["llm_calls"] == 0
    assert read_document_ledger(layout, copy) == []

    first, second = load_extraction(layout, original), load_extraction(layout, copy)
    assert second.near_duplicate_of == original and first.near_duplicate_of is None
    assert second.fact_count() == first.fact_count() > 0
    assert second.ungrounded_facts == 0
    copy_text = load_text(layout, copy).text
    for fact in second.conditions:
        quoted = copy_text[fact.evidence.offset : fact.evidence.offset + fact.evidence.length]
        assert quoted.split() == fact.quote.split(), "evidence points into the copy's own text"

    warehouse = dg.materialize(
        [warehouse_tables], instance=instance, resources=resources_for(layout)
    )
    assert warehouse.success
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as analyst:
        links = dict(analyst.execute("SELECT doc_id, near_duplicate_of FROM documents").fetchall())
    assert links == {original: None, copy: original}

    forced = dg.materialize(
        document_assets,
        partition_key=copy,
        instance=instance,
        resources=resources_for(layout, llm),
        run_config={"ops": {"clinical_extractions": {"config": {"extract_near_duplicates": True}}}},
    )
    assert forced.success
    assert len(llm_server.served) > paid, "asked for: the copy is extracted on its own"
    assert load_extraction(layout, copy).near_duplicate_of is None
