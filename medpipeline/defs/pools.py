"""The concurrency pools of document runs, and their limits made to exist before any run."""

import dagster as dg

LLM_POOL = "llm"  # every LLM-calling step: caps provider calls across all runs and workers


def ensure_pool_limits(instance: dg.DagsterInstance) -> None:
    """Create each pool's limit row (the instance's default limit) if it does not exist yet.

    Dagster creates it at a step's first claim, and on PostgreSQL two runs claiming a new pool at
    once crash: the loser's INSERT fails and its UPDATE runs in the aborted transaction (dagster
    issue #33552, open in 1.13). Seen with two Celery workers on a fresh database. The inbox
    sensor calls this before it requests runs, from the one daemon, so no two runs race to it.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    if LLM_POOL not in storage.get_concurrency_keys():
        storage.initialize_concurrency_limit_to_default(LLM_POOL)
