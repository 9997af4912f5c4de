"""Errors that leave a per-document step carry no PHI; every step leaves a stage event.

An unexpected exception's message can quote document text (a pydantic error shows the input
value, a parser echoes a line). Dagster stores step errors in the event log and shows them in the
UI, so the step raises a `dg.Failure` naming only the exception type; the full traceback goes to
`documents/<doc_id>/errors/` (a PHI store) for the engineer who debugs it.

Retries: a rejected input (`dg.Failure(allow_retries=False)`) fails at once. An unexpected error
is retried by `TRANSIENT_RETRY` only when it can pass by itself (an OS or I/O error: a full disk,
a file server hiccup); any other exception is a bug or a bad artifact that a retry would only
repeat. Instance-level run retries never re-run a failed step (`retry_on_asset_or_op_failure:
false` in the instance configs): they are for runs whose process died.
"""

import functools
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from medpipeline.events import StageEvent, StageOutcome, record_stage
from medpipeline.storage import DataLayout, write_atomic

TRANSIENT_ERRORS = (OSError,)
# 3 more attempts after 10 s, 20 s, 40 s (each ±50%): about a minute for a passing problem.
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


@contextmanager
def phi_safe_errors(layout: DataLayout, doc_id: str, step: str) -> Iterator[None]:
    try:
        yield
    except dg.Failure:
        raise  # ours: reason codes, ids and counts only
    except Exception as error:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        report = layout.document_dir(doc_id) / "errors" / f"{step}-{stamp}.txt"
        write_atomic(report, traceback.format_exc().encode())
        raise dg.Failure(
            description=f"{step} failed for document {doc_id} with {type(error).__name__} "
            f"(message withheld, it may hold PHI; traceback in documents/{doc_id}/errors/)",
            metadata={"doc_id": doc_id, "error_type": type(error).__name__, "reason": "error"},
            allow_retries=isinstance(error, TRANSIENT_ERRORS),
        ) from None


def _reason(failure: dg.Failure) -> str:
    reason = (failure.metadata or {}).get("reason")
    return str(reason.value) if isinstance(reason, dg.MetadataValue) else "error"


def phi_safe_step(function: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for per-document asset functions (which take `document_store`): PHI-safe
    errors, and a stage event (outcome, reason code, duration) for `document_runs`."""

    @functools.wraps(function)
    def step(context: dg.AssetExecutionContext, **resources: Any) -> Any:
        layout, doc_id = resources["document_store"].layout, context.partition_key
        started, clock = datetime.now(UTC), time.perf_counter()
        outcome, reason = StageOutcome.FAILED, "error"
        try:
            with phi_safe_errors(layout, doc_id, function.__name__):
                result = function(context, **resources)
            outcome, reason = StageOutcome.SUCCEEDED, None
            return result
        except dg.Failure as failure:
            reason = _reason(failure)
            raise
        finally:
            record_stage(
                layout,
                StageEvent(
                    doc_id=doc_id,
                    run_id=context.run.run_id,
                    stage=function.__name__,
                    outcome=outcome,
                    reason=reason,
                    started_at=started,
                    seconds=time.perf_counter() - clock,
                ),
            )

    return step
