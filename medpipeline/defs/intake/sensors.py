import json
from datetime import UTC, datetime

import dagster as dg

from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.failures import FailedDocument, notify_webhook, record_failure
from medpipeline.intake import take_stable_files

DOCUMENT_JOB = "document_pipeline"
PARTITION_TAG = "dagster/partition"


@dg.sensor(
    job_name=DOCUMENT_JOB,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Takes stable PDFs from the inbox folder: registers one `documents` partition "
    "per new document and requests its run in the same tick; duplicates, non-PDFs and "
    "unreadable files go to quarantine/ with a reason. The cursor holds files seen once.",
)
def inbox_sensor(
    context: dg.SensorEvaluationContext, document_store: DocumentStoreResource
) -> dg.SensorResult:
    previous = {name: tuple(seen) for name, seen in json.loads(context.cursor or "{}").items()}
    known = set(context.instance.get_dynamic_partitions(documents_partitions.name))
    result = take_stable_files(
        document_store.layout, previous, known.__contains__, document_store.pdf_limits
    )
    for quarantined in result.quarantined:
        context.log.info(
            f"quarantined a file: {quarantined.reason.value}"
            + (f" (document {quarantined.doc_id})" if quarantined.doc_id else "")
        )
    if result.accepted:
        context.log.info(f"ingesting {len(result.accepted)} new document(s)")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(partition_key=doc_id, tags={"medpipeline/trigger": "inbox"})
            for doc_id in result.accepted
        ],
        dynamic_partitions_requests=(
            [documents_partitions.build_add_request(result.accepted)] if result.accepted else []
        ),
        cursor=json.dumps(result.waiting, sort_keys=True),
    )


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run of a document partition (doc_id, step, reason code) "
    "under failures/ "
    "for the warehouse's failed_documents table, and posts it to the failure webhook if set.",
)
def document_failure_sensor(
    context: dg.RunFailureSensorContext, document_store: DocumentStoreResource
) -> None:
    doc_id = context.dagster_run.tags.get(PARTITION_TAG)
    if not doc_id:
        return
    for event in context.get_step_failure_events() or [None]:
        failure = FailedDocument(
            doc_id=doc_id,
            run_id=context.dagster_run.run_id,
            step=event.step_key if event else "run",
            reason=_reason(event),
            failed_at=datetime.now(UTC),
        )
        record_failure(document_store.layout, failure)
        context.log.info(f"document {doc_id} failed in {failure.step}: {failure.reason}")
        if document_store.failure_webhook_url:
            notify_webhook(document_store.failure_webhook_url, failure)


def _reason(event: dg.DagsterEvent | None) -> str:
    """The reason code a `dg.Failure` of ours carries in its metadata, else "error"."""
    data = event.step_failure_data.user_failure_data if event else None
    reason = data.metadata.get("reason") if data else None
    return str(reason.value) if reason is not None else "error"
