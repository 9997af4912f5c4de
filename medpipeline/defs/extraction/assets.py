from typing import Any

import dagster as dg
from pydantic import Field

from medpipeline.artifacts import (
    CLINICAL_EXTRACTIONS,
    DocumentText,
    load_chunks,
    load_extraction,
    load_source_document,
    load_text,
)
from medpipeline.chunking import Chunk
from medpipeline.costs import OFFLINE_PROVIDER
from medpipeline.defs.errors import TRANSIENT_RETRY, phi_safe_step
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.pools import LLM_POOL
from medpipeline.defs.resources import DocumentStoreResource, LLMResource
from medpipeline.extraction.assertions import recheck_assertions
from medpipeline.extraction.batches import pending_for, submit_document
from medpipeline.extraction.grounding import add_page_extractions, merge_extractions
from medpipeline.extraction.prompts import PROMPT_VERSION, DocumentType, detect_document_type
from medpipeline.extraction.providers import ChunkResult, ResponseCache
from medpipeline.extraction.schema import ChunkOutcome
from medpipeline.extraction.vision import pages_to_read, read_pages, render_pages
from medpipeline.ledger import UsageJournal, commit_run
from medpipeline.near_duplicates import (
    NearDuplicate,
    find_near_duplicate,
    remember,
    reuse_extraction,
    text_signature,
)
from medpipeline.pdf import PdfRejected
from medpipeline.storage import DataLayout, remove_temp_files, write_json

# A run (or backfill) tagged `medpipeline/llm_mode=batch` submits its chunks to a batch API
# instead of calling live; `llm_batch_sensor` collects the answers and requests the rest.
LLM_MODE_TAG = "medpipeline/llm_mode"
BATCH_MODE = "batch"
ALL_CHUNKS_EXTRACTED = "all_chunks_extracted"


class ExtractionConfig(dg.Config):
    extract_near_duplicates: bool = Field(
        default=False,
        description="Call the providers even when the document's text repeats an earlier "
        "document's (near-duplicates otherwise reuse its facts at no LLM cost).",
    )


@dg.asset(
    partitions_def=documents_partitions,
    retry_policy=TRANSIENT_RETRY,
    group_name="extraction",
    kinds={"python"},  # plus the configured providers' kinds (definitions.extraction_kinds)
    deps=["document_chunks"],
    pool=LLM_POOL,
    output_required=False,  # not materialized while its chunks wait in a batch
    check_specs=[
        dg.AssetCheckSpec(
            ALL_CHUNKS_EXTRACTED,
            asset=CLINICAL_EXTRACTIONS,
            description="Every chunk was extracted by some provider (failed chunks need review).",
        )
    ],
    description="Per document: one provider call per chunk through the fallback chain "
    "(Anthropic, OpenAI, offline clinical rules), facts grounded to their quote in the text and "
    "merged across chunks. A page OCR could not read goes as an image to a vision-capable "
    "provider (its facts grounded to the page and flagged for review). Writes every call's usage "
    "to ledger/<doc_id>.parquet (no PHI: ids, tokens, costs). In a run tagged "
    f"{LLM_MODE_TAG}={BATCH_MODE}, the chunks go to the first provider's batch API (half price) "
    "and the asset materializes when llm_batch_sensor has collected the answers. A document "
    "whose text repeats an earlier one (MinHash, Jaccard >= 0.9) reuses its facts at no LLM "
    "cost, linked by near_duplicate_of. PHI: "
    "documents/<doc_id>/clinical_extractions.json (facts with their quotes) and response_cache/ "
    "(the providers' replies).",
)
@phi_safe_step
def clinical_extractions(
    context: dg.AssetExecutionContext,
    config: ExtractionConfig,
    document_store: DocumentStoreResource,
    llm: LLMResource,
):  # a MaterializeResult, or only the check result while chunks wait in a batch
    layout, doc_id = document_store.layout, context.partition_key
    chunks = load_chunks(layout, doc_id).chunks
    text = load_text(layout, doc_id)
    run_id = context.run.run_id
    signature = text_signature(text.text)
    if signature is not None and not config.extract_near_duplicates:
        link = find_near_duplicate(
            layout, doc_id, signature, lambda d: layout.artifact(d, CLINICAL_EXTRACTIONS).exists()
        )
        if link is not None:
            return _near_duplicate(layout, doc_id, run_id, text, link)
    document_type = detect_document_type(text.text)
    if context.run.tags.get(LLM_MODE_TAG) == BATCH_MODE:
        waiting = _submit_batch(context, layout, llm, chunks, document_type)
        if waiting is not None:
            return waiting
    remove_temp_files(layout.document_dir(doc_id))  # left by a run that was killed
    journal = UsageJournal(layout, doc_id, run_id)
    chain_settings = {
        "cache": ResponseCache.of_document(layout, doc_id),
        "on_record": journal.append,
        "on_unpriced": lambda provider, model: context.log.warning(
            f"genai-prices has no price for {provider} model {model}: its calls are recorded "
            "with cost NULL (price_known = false)"
        ),
    }
    chain = llm.chain(**chain_settings)
    results = chain.extract_chunks(
        doc_id,
        [(chunk.chunk_id, chunk.text, chunk.context) for chunk in chunks],
        run_id,
        document_type,
        llm.chunk_concurrency,
    )
    merged = merge_extractions(
        doc_id,
        PROMPT_VERSION,
        text.page_offsets,
        (
            (chunk, result.report, result.extraction)
            for chunk, result in zip(chunks, results, strict=True)
        ),
    )
    unreadable = pages_to_read(text.pages, llm.vision_config)
    page_results = _read_by_vision(
        context.log, document_store, llm, doc_id, unreadable, run_id, document_type, chain_settings
    )
    merged = add_page_extractions(
        merged, ((page, result.report, result.extraction) for page, result in page_results)
    )
    extraction = recheck_assertions(merged, text.text)
    records = [
        record
        for result in [*results, *(result for _, result in page_results)]
        for record in result.records
    ]
    journal.close()  # the run is no longer extracting: its records go into the ledger file
    write_json(layout.artifact(doc_id, CLINICAL_EXTRACTIONS), extraction)
    commit_run(layout, doc_id, run_id, records)
    if signature is not None:
        remember(layout, doc_id, signature)

    outcomes = {outcome.value: 0 for outcome in ChunkOutcome}
    for result in results:
        outcomes[result.report.outcome.value] += 1
    providers = extraction.providers
    offline_only = providers == [OFFLINE_PROVIDER]
    return dg.MaterializeResult(
        metadata={
            "chunks": len(chunks),
            "chunks_ok": outcomes["ok"],
            "chunks_fallback": outcomes["fallback"],
            "chunks_failed": outcomes["failed"],
            "facts": extraction.fact_count(),
            "conditions": len(extraction.conditions),
            "medications": len(extraction.medications),
            "allergies": len(extraction.allergies),
            "observations": len(extraction.observations),
            "ungrounded_facts": extraction.ungrounded_facts,
            "assertions_rechecked": extraction.assertions_rechecked,
            "assertions_changed": extraction.assertions_changed,
            "providers": ", ".join(providers) or "none",
            "models": ", ".join(extraction.models) or "none",
            "offline_only": offline_only,
            "provider_note": (
                "offline clinical-rules provider only (no LLM API key set)"
                if offline_only
                else "LLM providers used"
            ),
            "prompt_version": PROMPT_VERSION,
            "document_type": document_type.value,
            "near_duplicate_of": "none",
            "pages": len(text.pages),
            "llm_calls": sum(1 for record in records if not record.response_cache_hit),
            "response_cache_hits": sum(1 for record in records if record.response_cache_hit),
            "failed_calls": sum(1 for record in records if record.outcome == "error"),
            "skipped_providers": ", ".join(chain.skipped_providers()) or "none",
            "dropped_reply_items": sum(result.report.dropped_items for result in results),
            "truncated_replies": sum(1 for result in results if result.report.truncated),
            "unreadable_pages": len(unreadable),
            "vision_pages": len(page_results),
            "vision_pages_failed": sum(
                1 for _, result in page_results if result.report.outcome == ChunkOutcome.FAILED
            ),
            "vision_facts": sum(result.report.facts for _, result in page_results),
            "input_tokens": sum(record.input_tokens for record in records),
            "output_tokens": sum(record.output_tokens for record in records),
            "cost_usd": round(sum(record.cost_usd or 0.0 for record in records), 6),
            "unpriced_calls": sum(1 for record in records if not record.price_known),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=ALL_CHUNKS_EXTRACTED,
                passed=outcomes["failed"] == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"failed_chunks": outcomes["failed"]},
            )
        ],
    )


def _read_by_vision(
    log: dg.DagsterLogManager,
    document_store: DocumentStoreResource,
    llm: LLMResource,
    doc_id: str,
    pages: list[int],
    run_id: str,
    document_type: DocumentType,
    chain_settings: dict[str, Any],
) -> list[tuple[int, ChunkResult]]:
    """The unreadable pages rendered (blank ones left out) and read by the chain of
    vision-capable providers; none when no such provider is configured (offline: the pages
    stay flagged in document_text)."""
    chain = llm.vision_chain(**chain_settings) if pages else None
    if chain is None:
        return []
    layout = document_store.layout
    password = document_store.password_for(doc_id, load_source_document(layout, doc_id).sha256)
    try:
        images = render_pages(
            layout.source_pdf(doc_id), pages, llm.vision_config, document_store.pdf_limits, password
        )
    except PdfRejected as rejected:  # the pages stay flagged in document_text
        log.warning(f"page images of document {doc_id} not rendered: {rejected.reason.value}")
        return []
    return read_pages(chain, doc_id, images, run_id, document_type)


def _submit_batch(
    context: dg.AssetExecutionContext,
    layout: DataLayout,
    llm: LLMResource,
    chunks: list[Chunk],
    document_type: DocumentType,
) -> dg.AssetCheckResult | None:
    """Send the chunks the response cache cannot answer to the batch API; the check result to
    return while they wait, or None to extract live (no batch provider, nothing to ask)."""
    doc_id = context.partition_key
    pending = pending_for(layout, doc_id)
    if pending is None:
        provider = llm.batch_provider()
        if provider is None:
            context.log.info("no provider with a batch API is configured: extracting live")
            return None
        pending = submit_document(
            layout,
            doc_id,
            context.run.run_id,
            [(chunk.chunk_id, chunk.text) for chunk in chunks],
            document_type,
            provider,
        )
        if pending is None:
            return None
    return dg.AssetCheckResult(
        check_name=ALL_CHUNKS_EXTRACTED,
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description="chunks wait in a provider batch; llm_batch_sensor collects them",
        metadata={
            "batch_id": pending.batch_id,
            "batch_provider": pending.provider,
            "batch_chunks": len(pending.items),
            "failed_chunks": 0,
        },
    )


def _near_duplicate(
    layout: DataLayout, doc_id: str, run_id: str, text: DocumentText, link: NearDuplicate
) -> dg.MaterializeResult:
    """The earlier document's facts, grounded in this text; no provider call, no spend."""
    reused = reuse_extraction(load_extraction(layout, link.doc_id), doc_id, text, link)
    extraction = recheck_assertions(reused, text.text)
    write_json(layout.artifact(doc_id, CLINICAL_EXTRACTIONS), extraction)
    commit_run(layout, doc_id, run_id, [])  # keeps calls earlier runs of it paid for
    return dg.MaterializeResult(
        metadata={
            "near_duplicate_of": link.doc_id,
            "near_duplicate_similarity": link.similarity,
            "facts": extraction.fact_count(),
            "ungrounded_facts": extraction.ungrounded_facts,
            "providers": "none (near-duplicate)",
            "llm_calls": 0,
            "cost_usd": 0.0,
            "prompt_version": extraction.prompt_version,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=ALL_CHUNKS_EXTRACTED,
                passed=True,
                metadata={"failed_chunks": 0, "near_duplicate_of": link.doc_id},
            )
        ],
    )
