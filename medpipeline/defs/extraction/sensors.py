import os

import dagster as dg

from medpipeline.defs.extraction.assets import CLINICAL_EXTRACTIONS
from medpipeline.defs.intake.sensors import DOCUMENT_JOB
from medpipeline.defs.resources import DocumentStoreResource, LLMResource
from medpipeline.extraction.batches import batches_for, collect, pending_batches

BATCH_ID_TAG = "medpipeline/batch_id"
AFTER_EXTRACTION = [dg.AssetKey(CLINICAL_EXTRACTIONS), dg.AssetKey("fhir_bundle")]
# Batches end within minutes to 24 h: polling every 5 minutes costs nothing and waits little.
BATCH_POLL_SECONDS_ENV = "MEDPIPELINE_BATCH_POLL_SECONDS"
BATCH_POLL_SECONDS = int(os.environ.get(BATCH_POLL_SECONDS_ENV, "300"))


@dg.sensor(
    job_name=DOCUMENT_JOB,
    minimum_interval_seconds=BATCH_POLL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Polls the provider batches that documents' chunks wait in (runs tagged "
    "medpipeline/llm_mode=batch). When one has ended, its answers go into the document's "
    "response cache and usage journal (batch rate) and the document's extraction and bundle "
    "are requested: served from the cache, live calls only for items that errored or expired. "
    f"Interval: {BATCH_POLL_SECONDS_ENV} seconds (default 300).",
)
def llm_batch_sensor(
    context: dg.SensorEvaluationContext,
    document_store: DocumentStoreResource,
    llm: LLMResource,
) -> dg.SensorResult:
    layout = document_store.layout
    run_requests = []
    for pending in pending_batches(layout):
        provider = llm.batch_provider(pending.provider)
        if provider is None:
            context.log.warning(
                f"batch {pending.batch_id} of document {pending.doc_id} waits for provider "
                f"{pending.provider}, which is not configured"
            )
            continue
        if not batches_for(provider).ended(pending.batch_id):
            continue
        records = collect(layout, pending, provider)
        failed = sum(1 for record in records if record.outcome == "error")
        context.log.info(
            f"collected batch {pending.batch_id} of document {pending.doc_id}: "
            f"{len(records) - failed} answered, {failed} to ask live"
        )
        run_requests.append(
            dg.RunRequest(
                run_key=pending.batch_id,
                partition_key=pending.doc_id,
                asset_selection=AFTER_EXTRACTION,
                tags={BATCH_ID_TAG: pending.batch_id, "medpipeline/trigger": "batch"},
            )
        )
    return dg.SensorResult(run_requests=run_requests)
