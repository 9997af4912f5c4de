"""The Dagster UI tells the truth: clinical_extractions' kinds name only the providers that can run
with the keys set (offline only: no Anthropic/OpenAI icons), the per-document metadata carries the
document type and page count (a partition list of hashes is navigable), and every per-document
asset's description says which of its artifacts hold PHI."""

import dagster as dg

from medpipeline import samples
from medpipeline.definitions import defs
from medpipeline_tests.helpers import materialize_document, store_copy

PER_DOCUMENT = ("raw_document", "document_text", "document_chunks", "clinical_extractions")


def kinds_of(asset: str) -> set[str]:
    return set(defs().resolve_asset_graph().get(dg.AssetKey(asset)).kinds)


def test_extraction_kinds_follow_the_configured_keys(monkeypatch):
    assert kinds_of("clinical_extractions") == {"python", "medspacy"}
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")
    assert kinds_of("clinical_extractions") == {"python", "medspacy", "anthropic"}
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    assert kinds_of("clinical_extractions") == {"python", "medspacy", "anthropic", "openai"}
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert kinds_of("clinical_extractions") == {"python", "medspacy", "openai"}


def test_descriptions_say_where_phi_is():
    graph = defs().resolve_asset_graph()
    for asset in (*PER_DOCUMENT, "fhir_bundle", "patient_records"):
        description = graph.get(dg.AssetKey(asset)).description or ""
        assert "PHI" in description, asset
    assert "evidence.html" in graph.get(dg.AssetKey("fhir_bundle")).description


def test_document_metadata_names_type_and_pages(instance, layout, samples_dir):
    doc_id = store_copy(layout, samples_dir / samples.LAB_FILE)
    result = materialize_document(instance, layout, doc_id)
    assert result.success
    for asset in ("clinical_extractions", "fhir_bundle"):
        (materialization,) = result.asset_materializations_for_node(asset)
        metadata = materialization.metadata
        assert metadata["document_type"].value == "lab_report", asset
        assert metadata["pages"].value == 1, asset
