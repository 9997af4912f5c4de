import json

import dagster as dg

from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.intake import take_stable_files

DOCUMENT_JOB = "document_pipeline"


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
