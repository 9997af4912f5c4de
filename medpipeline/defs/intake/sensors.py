"""The inbox sensor (intake, reconciliation, priority lanes) and the document failure sensor.

Nothing these sensors hand to Dagster names a file: the cursor holds keyed hashes, logs and tags
hold doc_ids, run keys and counts.
"""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.pools import ensure_pool_limits
from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.failures import FailedDocument, notify_webhook, record_failure
from medpipeline.intake import PendingDocument, pending_documents, take_stable_files

DOCUMENT_JOB = "document_pipeline"
PARTITION_TAG = "dagster/partition"
RUN_KEY_TAG = "dagster/run_key"
PRIORITY_TAG = "dagster/priority"
URGENT_PRIORITY = 10  # the queued run coordinator starts higher values first; bulk work is 0
_RUN_QUERY_BATCH = 500


@dg.sensor(
    job_name=DOCUMENT_JOB,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Takes stable PDFs from inbox/ and inbox/urgent/ into documents/ (duplicates, "
    "non-PDFs and unreadable files go to quarantine/ with a reason), then makes sure every "
    "stored document without a bundle has a partition and a run (run key = doc_id): new ones, "
    "any a crash left behind, and a retry run retries passed over. Urgent runs carry a higher "
    "dagster/priority. The cursor holds "
    "keyed hashes of the files seen once, no names.",
)
def inbox_sensor(
    context: dg.SensorEvaluationContext, document_store: DocumentStoreResource
) -> dg.SensorResult:
    layout = document_store.layout
    partitions = set(context.instance.get_dynamic_partitions(documents_partitions.name))
    result = take_stable_files(
        layout, _seen_files(context.cursor), partitions.__contains__, document_store.pdf_limits
    )
    for quarantined in result.quarantined:
        context.log.info(
            f"quarantined a file: {quarantined.reason.value}"
            + (f" (document {quarantined.doc_id})" if quarantined.doc_id else "")
        )
    pending = pending_documents(layout)
    runs = _RunsOfPending(context.instance, pending)
    to_run = [document for document in pending if not runs.has_run(document)]
    new = {document.doc_id for document in result.accepted}
    orphaned = [document.doc_id for document in to_run if document.doc_id not in new]
    if new:
        context.log.info(f"ingesting {len(new)} new document(s)")
    if orphaned:
        context.log.warning(
            f"requesting runs for {len(orphaned)} stored document(s) that had none "
            f"(interrupted tick): {', '.join(orphaned[:20])}"
        )
    missing_partitions = sorted({document.doc_id for document in to_run} - partitions)
    if to_run:
        ensure_pool_limits(context.instance)
    retried = missed_retries(context.instance, {document.doc_id for document in pending})
    if retried:
        context.log.warning(
            f"retrying {len(retried)} failed run(s) that run retries passed over: "
            + ", ".join(run.run_id for run in retried[:20])
        )
    return dg.SensorResult(
        run_requests=[document_run_request(document) for document in to_run]
        + [retry_run_request(run) for run in retried],
        dynamic_partitions_requests=(
            [documents_partitions.build_add_request(missing_partitions)]
            if missing_partitions
            else []
        ),
        cursor=json.dumps({"seen": result.waiting}),
    )


def document_run_request(document: PendingDocument) -> dg.RunRequest:
    """The one place a document's run is requested (batching would change only this)."""
    return dg.RunRequest(
        partition_key=document.doc_id,
        run_key=document.run_key or document.doc_id,
        tags={
            "medpipeline/trigger": "inbox",
            "medpipeline/lane": "urgent" if document.urgent else "bulk",
            PRIORITY_TAG: str(URGENT_PRIORITY if document.urgent else 0),
        },
    )


# Dagster's run retries: the tags it sets on a failed run and on the run that retries it.
WILL_RETRY_TAG = "dagster/will_retry"
AUTO_RETRY_RUN_ID_TAG = "dagster/auto_retry_run_id"
PARENT_RUN_ID_TAG = "dagster/parent_run_id"
ROOT_RUN_ID_TAG = "dagster/root_run_id"
# How long after a failure run retries have had to launch the retry before this sensor does.
MISSED_RETRY_GRACE = timedelta(seconds=60)
MISSED_RETRY_WINDOW = timedelta(days=1)


def missed_retries(
    instance: dg.DagsterInstance, pending: set[str], now: datetime | None = None
) -> list[dg.DagsterRun]:
    """Failed document runs that Dagster's run retries marked `will_retry` but never retried.

    Its retry daemon can read a run's failure event before the run's status says FAILURE; it then
    passes the run over for good (seen here when a killed run worker's run was never retried;
    dagster-io/dagster#33741 reports ~0.2% of retries missed). A run failed more than a minute
    ago (within a day), with no retry run, whose document has no bundle and no later run, is
    retried here once: its run key is the failed run's id."""
    now = now or datetime.now(UTC)
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=DOCUMENT_JOB,
            statuses=[dg.DagsterRunStatus.FAILURE],
            tags={WILL_RETRY_TAG: "true"},
            updated_before=now - MISSED_RETRY_GRACE,
            updated_after=now - MISSED_RETRY_WINDOW,
        ),
        limit=_RUN_QUERY_BATCH,
    )
    candidates = [
        record
        for record in records
        if record.dagster_run.tags.get(PARTITION_TAG) in pending
        and AUTO_RETRY_RUN_ID_TAG not in record.dagster_run.tags
    ]
    if not candidates:
        return []
    # a retry run, Dagster's or ours, or a run of a re-drop is a later run of the partition
    later_runs = instance.get_run_records(
        filters=dg.RunsFilter(
            tags={PARTITION_TAG: [record.dagster_run.tags[PARTITION_TAG] for record in candidates]}
        )
    )
    return [
        record.dagster_run
        for record in candidates
        if not any(
            later.dagster_run.tags.get(PARTITION_TAG) == record.dagster_run.tags[PARTITION_TAG]
            and later.create_timestamp > record.create_timestamp
            for later in later_runs
        )
    ]


def retry_run_request(failed: dg.DagsterRun) -> dg.RunRequest:
    """A run of the failed run's document, in its run group and lane."""
    return dg.RunRequest(
        partition_key=failed.tags[PARTITION_TAG],
        run_key=f"retry-of-{failed.run_id}",
        tags={
            "medpipeline/trigger": "missed-retry",
            **{
                tag: failed.tags[tag]
                for tag in ("medpipeline/lane", PRIORITY_TAG)
                if tag in failed.tags
            },
            PARENT_RUN_ID_TAG: failed.run_id,
            ROOT_RUN_ID_TAG: failed.root_run_id or failed.run_id,
        },
    )


def _seen_files(cursor: str | None) -> list[str]:
    """The keyed hashes of the previous look (a cursor of an older version: none)."""
    stored = json.loads(cursor) if cursor else {}
    seen = stored.get("seen") if isinstance(stored, dict) else None
    return seen if isinstance(seen, list) else []


class _RunsOfPending:
    """Which pending documents already have a run, found in a few batched queries: by run key,
    or (documents stored before run keys existed) by partition."""

    def __init__(self, instance: dg.DagsterInstance, pending: list[PendingDocument]) -> None:
        self.run_keys = _tag_values_with_runs(
            instance, RUN_KEY_TAG, [d.run_key for d in pending if d.run_key]
        )
        self.partitions = _tag_values_with_runs(
            instance, PARTITION_TAG, [d.doc_id for d in pending if not d.run_key]
        )

    def has_run(self, document: PendingDocument) -> bool:
        if document.run_key:
            return document.run_key in self.run_keys
        return document.doc_id in self.partitions


def _tag_values_with_runs(instance: dg.DagsterInstance, tag: str, values: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), _RUN_QUERY_BATCH):
        batch = values[start : start + _RUN_QUERY_BATCH]
        records = instance.get_run_records(filters=dg.RunsFilter(tags={tag: batch}))
        found |= {record.dagster_run.tags[tag] for record in records}
    return found


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records each failed run of a document partition once (doc_id, run, failed step, "
    "reason code) under failures/ for the warehouse's failed_documents table, and posts it to "
    "the failure webhook if set.",
)
def document_failure_sensor(
    context: dg.RunFailureSensorContext, document_store: DocumentStoreResource
) -> None:
    doc_id = context.dagster_run.tags.get(PARTITION_TAG)
    if not doc_id:
        return
    # in-process runs stop at the first failed step; its failure is the run's reason
    step_failures = context.get_step_failure_events()
    event = step_failures[0] if step_failures else None
    failure = FailedDocument(
        doc_id=doc_id,
        run_id=context.dagster_run.run_id,
        step=event.step_key if event else "run",
        reason=_reason(event),
        failed_at=_ended_at(context.instance, context.dagster_run.run_id),
    )
    if not record_failure(document_store.layout, failure):
        return  # recorded before (a re-evaluated tick): no second record, no second call
    context.log.info(f"document {doc_id} failed in {failure.step}: {failure.reason}")
    if document_store.failure_webhook_url:
        notify_webhook(document_store.failure_webhook_url, failure)


def _ended_at(instance: dg.DagsterInstance, run_id: str) -> datetime:
    record = instance.get_run_record_by_id(run_id)
    ended = record.end_time if record else None
    return datetime.fromtimestamp(ended, UTC) if ended else datetime.now(UTC)


def _reason(event: dg.DagsterEvent | None) -> str:
    """The reason code a `dg.Failure` of ours carries in its metadata, else "error"."""
    data = event.step_failure_data.user_failure_data if event else None
    reason = data.metadata.get("reason") if data else None
    return str(reason.value) if reason is not None else "error"
