"""Every table of the analysts' warehouse: its SQL (the one definition of each rollup), its
comment and a comment for each column. `COMMENT ON` is generated from these at every build."""

from dataclasses import dataclass, field

from medpipeline.artifacts import STAGES

# Shared by every rollup over calls: the metrics analysts ask for, defined once.
CALL_METRICS_SQL = """
    count(*) AS calls,
    count(*) FILTER (WHERE outcome = 'error') AS failed_calls,
    count(*) FILTER (WHERE response_cache_hit) AS response_cache_hits,
    CAST(coalesce(sum(input_tokens), 0) AS BIGINT) AS input_tokens,
    CAST(coalesce(sum(output_tokens), 0) AS BIGINT) AS output_tokens,
    CAST(coalesce(sum(cache_read_tokens), 0) AS BIGINT) AS cache_read_tokens,
    CAST(coalesce(sum(cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens,
    CAST(coalesce(sum(prompt_tokens), 0) AS BIGINT) AS prompt_tokens,
    sum(input_cost_usd) AS input_cost_usd,
    sum(output_cost_usd) AS output_cost_usd,
    sum(cache_read_cost_usd) AS cache_read_cost_usd,
    sum(cache_write_cost_usd) AS cache_write_cost_usd,
    coalesce(sum(cost_usd), 0) AS cost_usd,
    count(*) FILTER (WHERE NOT price_known) AS unpriced_calls,
    CAST(coalesce(sum(input_tokens + output_tokens) FILTER (WHERE NOT price_known), 0)
        AS BIGINT) AS unpriced_tokens,
    avg(CASE WHEN outcome = 'error' THEN 1.0 ELSE 0.0 END) AS error_rate,
    count(*) FILTER (WHERE first_call_of_chunk AND chunk_fell_back)
        / nullif(count(*) FILTER (WHERE first_call_of_chunk), 0) AS fallback_rate,
    avg(CASE WHEN response_cache_hit THEN 1.0 ELSE 0.0 END) AS response_cache_hit_rate,
    sum(cache_read_tokens) / nullif(sum(prompt_tokens), 0) AS prompt_cache_hit_rate,
    (quantile_cont(latency_ms, [0.5, 0.95]) FILTER (WHERE NOT response_cache_hit))[1]
        AS p50_latency_ms,
    (quantile_cont(latency_ms, [0.5, 0.95]) FILTER (WHERE NOT response_cache_hit))[2]
        AS p95_latency_ms"""  # one aggregate: DuckDB computes identical aggregates once

CALL_METRICS = {
    "calls": "Provider attempts and response-cache hits (rows of llm_calls).",
    "failed_calls": "Calls with outcome 'error'.",
    "response_cache_hits": "Calls answered by the response cache (no provider request, no cost).",
    "input_tokens": "Sum of input_tokens as the APIs reported them (see llm_calls).",
    "output_tokens": "Sum of output tokens.",
    "cache_read_tokens": "Sum of prompt-cache read tokens.",
    "cache_write_tokens": "Sum of prompt-cache write tokens.",
    "prompt_tokens": "Sum of all prompt tokens, cached or not (normalised across providers).",
    "input_cost_usd": "USD for uncached input tokens.",
    "output_cost_usd": "USD for output tokens.",
    "cache_read_cost_usd": "USD for prompt-cache reads.",
    "cache_write_cost_usd": "USD for prompt-cache writes.",
    "cost_usd": "Total USD of the priced calls (genai-prices at each call's time; offline "
    "provider 0; OpenAI-compatible servers at the site's price, 0 by default).",
    "unpriced_calls": "Calls of a model genai-prices does not know: their cost is unknown and "
    "not in cost_usd.",
    "unpriced_tokens": "Input plus output tokens of the unpriced calls.",
    "error_rate": "failed_calls / calls.",
    "fallback_rate": "Share of chunk extractions (run, document, chunk) starting in this group "
    "that needed a provider other than the first one tried.",
    "response_cache_hit_rate": "response_cache_hits / calls.",
    "prompt_cache_hit_rate": "cache_read_tokens / prompt_tokens (token-weighted).",
    "p50_latency_ms": "Median latency of calls that reached a provider (cache hits excluded).",
    "p95_latency_ms": "95th percentile latency of calls that reached a provider.",
}


@dataclass(frozen=True)
class Table:
    name: str
    comment: str
    columns: dict[str, str]
    sql: str | None = None  # None: loaded by the build itself (see warehouse.py)
    metrics: bool = field(default=False)  # the shared call metrics are among the columns

    @property
    def all_columns(self) -> dict[str, str]:
        return {**self.columns, **(CALL_METRICS if self.metrics else {})}


LLM_CALLS = Table(
    "llm_calls",
    "One row per provider attempt (success or failure) or response-cache hit, from the "
    "per-document Parquet ledger (data/ledger/<doc_id>.parquet).",
    {
        "call_id": "Unique id of the attempt.",
        "doc_id": "Document id: first 16 hex characters of the PDF's sha256.",
        "run_id": "Dagster run that made the call.",
        "chunk_id": "Chunk of the document the call extracted (<doc_id>-c001...), or the page "
        "sent as an image because OCR could not read it (<doc_id>-p002 for page 2).",
        "provider": "anthropic, openai, openai_compatible (an OpenAI-compatible server set by "
        "base URL, or the name the site gave it) or offline.",
        "model": "Model name as the API reported it.",
        "prompt_version": "Version of the extraction prompt.",
        "document_type": "Detected document type the prompt was fitted to (null in old rows).",
        "attempt": "1-based attempt number of this provider for this chunk.",
        "outcome": "ok, error or cached.",
        "error_class": "rate_limit, transient, auth, bad_request, context_too_long, "
        "malformed or refusal; null when the call succeeded.",
        "response_cache_hit": "The response cache served the reply: no request, no cost.",
        "parse_strategy": "How the reply's JSON was recovered (null when not recorded).",
        "input_tokens": "Input tokens exactly as the API reported them (Anthropic: excluding "
        "cache reads/writes; OpenAI: including cached tokens).",
        "output_tokens": "Output tokens as reported.",
        "cache_read_tokens": "Prompt-cache read tokens as reported.",
        "cache_write_tokens": "Prompt-cache write (creation) tokens as reported.",
        "prompt_tokens": "All prompt tokens, cached or not, normalised across providers.",
        "uncached_input_tokens": "prompt_tokens minus cache reads and writes.",
        "input_cost_usd": "USD for uncached input tokens (cost_usd split by genai-prices unit "
        "prices; null if genai-prices does not know the model).",
        "output_cost_usd": "USD for output tokens (split as input_cost_usd).",
        "cache_read_cost_usd": "USD for prompt-cache reads (split as input_cost_usd).",
        "cache_write_cost_usd": "USD for prompt-cache writes (split as input_cost_usd).",
        "cost_usd": "Total USD of the call, from genai-prices at the call's time; 0 offline; "
        "the site's price (default 0) for an OpenAI-compatible server; null when genai-prices "
        "does not know the model.",
        "price_known": "False when genai-prices does not know the model (cost_usd is null).",
        "batch_id": "The provider's batch (Message Batches / Batch API) that answered the call, "
        "priced at the batch rate; null for a live call.",
        "is_fallback": "The call went to a provider other than the first one tried for this "
        "chunk in this run.",
        "first_call_of_chunk": "The first call of this chunk's extraction in this run.",
        "chunk_fell_back": "This chunk's extraction in this run needed more than one provider.",
        "latency_ms": "Wall time of the call in milliseconds.",
        "request_id": "Provider's request id (for support tickets); null offline.",
        "started_at": "When the call started (UTC).",
        "finished_at": "started_at + latency_ms.",
        "day": "UTC day of started_at.",
    },
)

DOCUMENTS = Table(
    "documents",
    "One row per document known to the pipeline: counts derived from its artifacts, never text. "
    "patient_key is pseudonymous.",
    {
        "doc_id": "Document id: first 16 hex characters of the PDF's sha256.",
        "status": "Last stage reached: received, stored, text_extracted, chunked, extracted, "
        "bundled; ledger_only when only usage remains.",
        "pages": "Pages of the PDF.",
        "size_bytes": "Size of the PDF in bytes.",
        "characters": "Characters of the extracted document text.",
        "chunks": "Chunks sent to extraction.",
        "chunk_tokens": "Sum of the chunks' tokens (o200k tokenizer).",
        "chunks_failed": "Chunks no provider could extract (need review).",
        "facts": "Facts extracted (patient and every fact list: conditions, medications, "
        "allergies, observations, encounters, procedures, immunizations).",
        "fhir_resources": "Entries of the document's FHIR bundle.",
        "patient_key": "Pseudonymous patient key: pk_ + HMAC-SHA256 of the patient identifier "
        "with the site secret; 'unkeyed' without a secret, 'unidentified' without an identifier.",
        "near_duplicate_of": "doc_id of the earlier document with the same text (re-scan, "
        "re-export) whose facts this one reuses at no LLM cost; null when extracted on its own.",
        "ingested_at": "When the PDF was stored (UTC).",
        "source_signature": "Signature of the document folder the row was derived from "
        "(lets the next build reuse the row when nothing changed).",
    },
)

DOCUMENT_COSTS = Table(
    "document_costs",
    "Cost, tokens and quality metrics per document, with cost per page and per FHIR resource.",
    {
        "doc_id": "Document id.",
        "pages": "Pages of the PDF (from documents).",
        "fhir_resources": "Entries of the FHIR bundle (from documents).",
        "cost_per_page": "cost_usd / pages.",
        "cost_per_fhir_resource": "cost_usd / fhir_resources.",
        "providers": "Providers called, comma-separated.",
        "first_call_at": "First call (UTC).",
        "last_call_at": "Last call (UTC).",
    },
    """
    WITH per_doc AS (
        SELECT doc_id, {metrics},
               array_to_string(list_sort(list_distinct(list(provider))), ',') AS providers,
               min(started_at) AS first_call_at, max(started_at) AS last_call_at
        FROM {calls} GROUP BY doc_id
    )
    SELECT doc_id, d.pages, d.fhir_resources,
           c.cost_usd / nullif(d.pages, 0) AS cost_per_page,
           c.cost_usd / nullif(d.fhir_resources, 0) AS cost_per_fhir_resource,
           c.* EXCLUDE (doc_id)
    FROM per_doc c LEFT JOIN documents d USING (doc_id)""",
    metrics=True,
)

PATIENT_COSTS = Table(
    "patient_costs",
    "Cost per pseudonymous patient key (never a name or MRN); 'unkeyed' groups every patient "
    "when no site secret is set, 'unidentified' the documents with no patient identifier.",
    {
        "patient_key": "Pseudonymous key (see documents.patient_key).",
        "documents": "Documents of this patient with usage.",
        "pages": "Sum of pages.",
        "calls": "Calls.",
        "failed_calls": "Calls with outcome 'error'.",
        "input_tokens": "Input tokens as reported.",
        "output_tokens": "Output tokens.",
        "cache_read_tokens": "Prompt-cache read tokens.",
        "cache_write_tokens": "Prompt-cache write tokens.",
        "cost_usd": "Total USD.",
        "cost_per_document": "cost_usd / documents.",
        "cost_per_page": "cost_usd / pages.",
    },
    """
    SELECT coalesce(d.patient_key, 'unidentified') AS patient_key,
           count(*) AS documents,
           CAST(sum(c.pages) AS BIGINT) AS pages,
           CAST(sum(c.calls) AS BIGINT) AS calls,
           CAST(sum(c.failed_calls) AS BIGINT) AS failed_calls,
           CAST(sum(c.input_tokens) AS BIGINT) AS input_tokens,
           CAST(sum(c.output_tokens) AS BIGINT) AS output_tokens,
           CAST(sum(c.cache_read_tokens) AS BIGINT) AS cache_read_tokens,
           CAST(sum(c.cache_write_tokens) AS BIGINT) AS cache_write_tokens,
           sum(c.cost_usd) AS cost_usd,
           sum(c.cost_usd) / count(*) AS cost_per_document,
           sum(c.cost_usd) / nullif(sum(c.pages), 0) AS cost_per_page
    FROM document_costs c LEFT JOIN documents d USING (doc_id)
    GROUP BY ALL""",
)

MODEL_COSTS = Table(
    "model_costs",
    "Cost, tokens, cache hit rates, latency percentiles, error and fallback rates per provider "
    "and model.",
    {
        "provider": "Provider.",
        "model": "Model.",
        "documents": "Documents with calls to this model.",
        "mean_latency_ms": "Mean latency of calls that reached the provider.",
    },
    """
    SELECT provider, model, count(DISTINCT doc_id) AS documents, {metrics},
           avg(latency_ms) FILTER (WHERE NOT response_cache_hit) AS mean_latency_ms
    FROM llm_calls GROUP BY provider, model""",
    metrics=True,
)

PROVIDER_COSTS = Table(
    "provider_costs",
    "Cost, tokens, cache hit rates, latency percentiles, error and fallback rates per provider.",
    {
        "provider": "Provider.",
        "models": "Models used, comma-separated.",
        "documents": "Documents with calls to this provider.",
    },
    """
    SELECT provider, string_agg(DISTINCT model, ',' ORDER BY model) AS models,
           count(DISTINCT doc_id) AS documents, {metrics}
    FROM llm_calls GROUP BY provider""",
    metrics=True,
)

DAILY_COSTS = Table(
    "daily_costs",
    "Cost, tokens and metrics per UTC day, provider and model.",
    {
        "day": "UTC day.",
        "provider": "Provider.",
        "model": "Model.",
        "documents": "Documents with calls that day.",
    },
    """
    SELECT day, provider, model, count(DISTINCT doc_id) AS documents, {metrics}
    FROM llm_calls GROUP BY day, provider, model""",
    metrics=True,
)

COST_METRICS = Table(
    "cost_metrics",
    "One row: the headline figures over all calls and documents.",
    {
        "documents": "Documents with usage.",
        "pages": "Pages of those documents.",
        "fhir_resources": "FHIR resources of those documents.",
        "cost_per_document": "cost_usd / documents.",
        "cost_per_page": "cost_usd / pages.",
        "cost_per_fhir_resource": "cost_usd / fhir_resources.",
    },
    """
    WITH calls AS (SELECT {metrics} FROM llm_calls),
         docs AS (
            SELECT count(*) AS documents, CAST(sum(pages) AS BIGINT) AS pages,
                   CAST(sum(fhir_resources) AS BIGINT) AS fhir_resources
            FROM document_costs)
    SELECT docs.*, calls.cost_usd / nullif(docs.documents, 0) AS cost_per_document,
           calls.cost_usd / nullif(docs.pages, 0) AS cost_per_page,
           calls.cost_usd / nullif(docs.fhir_resources, 0) AS cost_per_fhir_resource,
           calls.*
    FROM calls, docs""",
    metrics=True,
)

BUDGET_ALERTS = Table(
    "budget_alerts",
    "Every budget breach at build time: a UTC day over the daily budget, a document over the "
    "per-document budget.",
    {
        "budget": "daily or document.",
        "scope": "The day (YYYY-MM-DD) or the doc_id that exceeded its budget.",
        "cost_usd": "What it cost.",
        "budget_usd": "The budget in force at build time.",
        "excess_usd": "cost_usd - budget_usd.",
        "severity": "WARN or ERROR (from the budget configuration).",
        "detected_at": "Build time (UTC).",
    },
    """
    SELECT 'daily' AS budget, CAST(day AS VARCHAR) AS scope, sum(cost_usd) AS cost_usd,
           $daily_budget_usd AS budget_usd, sum(cost_usd) - $daily_budget_usd AS excess_usd,
           $severity AS severity, $detected_at AS detected_at
    FROM daily_costs GROUP BY day HAVING sum(cost_usd) > $daily_budget_usd
    UNION ALL
    SELECT 'document', doc_id, cost_usd, $document_budget_usd,
           cost_usd - $document_budget_usd, $severity, $detected_at
    FROM document_costs WHERE cost_usd > $document_budget_usd
    ORDER BY budget, excess_usd DESC""",
)

MODEL_PRICES = Table(
    "model_prices",
    "genai-prices unit prices (standard tier) per provider, model and UTC day with calls; used "
    "to split each call's cost by token kind.",
    {
        "provider": "Provider.",
        "model": "Model.",
        "day": "UTC day.",
        "input_usd_per_mtok": "USD per million uncached input tokens (null: unknown model).",
        "output_usd_per_mtok": "USD per million output tokens.",
        "cache_read_usd_per_mtok": "USD per million prompt-cache read tokens.",
        "cache_write_usd_per_mtok": "USD per million prompt-cache write tokens.",
    },
)

FAILED_DOCUMENTS = Table(
    "failed_documents",
    "One row per failed run of a document that has not succeeded since (from failures/, "
    "written by document_failure_sensor; a later bundle closes them). "
    "No PHI: ids, step and reason code only.",
    {
        "doc_id": "Document id.",
        "run_id": "The failed Dagster run; re-execute it from the UI to retry.",
        "step": "The step (asset) that failed.",
        "reason": "Reject reason code (encrypted, corrupt, no_pages, ...) or error.",
        "failed_at": "When the failed run ended (UTC).",
    },
)

INTAKE_EVENTS = Table(
    "intake_events",
    "One row per file taken from the inbox (from events/intake/, written by intake): what became "
    "of it. No file names.",
    {
        "occurred_at": "When intake decided (UTC).",
        "day": "UTC day of occurred_at.",
        "doc_id": "Document id when known (a stored document, or the one a duplicate repeats).",
        "outcome": "accepted (stored as a new document) or quarantined.",
        "reason": "Reason code of a quarantined file (duplicate, not_a_pdf, empty, ...).",
        "size_bytes": "Size of the file in bytes.",
    },
    """
    SELECT occurred_at, CAST(occurred_at AS DATE) AS day, doc_id, outcome, reason, size_bytes
    FROM intake_rows ORDER BY occurred_at""",
)

DOCUMENT_RUNS = Table(
    "document_runs",
    "One row per run of a document's steps (from events/stages/, written by each step as it "
    "ends): outcome and the duration of each stage. The last attempt of a retried step counts.",
    {
        "doc_id": "Document id.",
        "run_id": "Dagster run id.",
        "outcome": "failed when a step's last attempt failed, else succeeded.",
        "failed_stage": "The first stage whose last attempt failed.",
        "reason": "Its reason code (encrypted, corrupt, ..., or error).",
        "started_at": "When the run's first step started (UTC).",
        "finished_at": "When its last step ended (UTC).",
        "day": "UTC day of started_at.",
        "seconds": "Sum of the steps' durations.",
        **{f"{stage}_seconds": f"Duration of {stage} (null: not run)." for stage in STAGES},
    },
    f"""
    WITH last AS (
        SELECT * FROM stage_events
        QUALIFY row_number() OVER (PARTITION BY doc_id, run_id, stage ORDER BY started_at DESC) = 1
    )
    SELECT doc_id, run_id,
           CASE WHEN bool_or(outcome = 'failed') THEN 'failed' ELSE 'succeeded' END AS outcome,
           arg_min(stage, started_at) FILTER (WHERE outcome = 'failed') AS failed_stage,
           arg_min(reason, started_at) FILTER (WHERE outcome = 'failed') AS reason,
           min(started_at) AS started_at,
           max(started_at + to_microseconds(CAST(seconds * 1e6 AS BIGINT))) AS finished_at,
           CAST(min(started_at) AS DATE) AS day,
           sum(seconds) AS seconds,
           {", ".join(f"max(seconds) FILTER (WHERE stage = '{s}') AS {s}_seconds" for s in STAGES)}
    FROM last GROUP BY doc_id, run_id ORDER BY started_at""",
)

# What the cost report shows of intake and processing (and what analysts can copy).
PROCESSING_QUERIES: dict[str, str] = {
    "Intake by outcome": "SELECT outcome, coalesce(reason, '') AS reason, count(*) AS files, "
    "sum(size_bytes) AS bytes FROM intake_events GROUP BY ALL ORDER BY files DESC",
    "Document runs per day (success rate)": "SELECT day, count(*) AS runs, "
    "count(*) FILTER (WHERE outcome = 'succeeded') AS succeeded, "
    "round(count(*) FILTER (WHERE outcome = 'succeeded') / count(*), 4) AS success_rate "
    "FROM document_runs GROUP BY day ORDER BY day DESC LIMIT 60",
    "Stage durations (seconds)": "SELECT stage, count(*) AS steps, "
    "round(quantile_cont(seconds, 0.5), 3) AS p50_seconds, "
    "round(quantile_cont(seconds, 0.95), 3) AS p95_seconds, round(max(seconds), 3) AS max_seconds "
    "FROM (UNPIVOT document_runs ON "
    + ", ".join(f"{stage}_seconds AS '{stage}'" for stage in STAGES)
    + " INTO NAME stage VALUE seconds) GROUP BY stage ORDER BY p95_seconds DESC",
}

REVIEW_ITEMS = Table(
    "review_items",
    "The review queue: one row per item of a document's review.json (what a human should look "
    "at, and why). Codes and indices only, never text; open the document's "
    "clinical_extractions.json at fact_list/fact_index to see the fact.",
    {
        "doc_id": "Document id.",
        "item": "Position of the item in the document's review.json.",
        "reason": "ungrounded, assertion_disagreement, low_confidence, code_dropped, "
        "contradiction, uncertain_order or chunk_failed.",
        "resource_type": "FHIR resource type carrying the fact (null: not in the bundle).",
        "fact_list": "conditions, medications, allergies, observations, encounters, "
        "procedures, immunizations or patient (null for a failed chunk).",
        "fact_index": "Index of the fact in that list of clinical_extractions.json.",
        "set_aside": "The fact is in the extraction's `ungrounded` lists (its quote was not "
        "found), not in the main ones.",
        "chunk_id": "Chunk the fact came from, or the chunk that failed.",
        "detail": "A code, never text: 'present->negated' (the LLM's assertion and ConText's), "
        "'fuzzy:91.2' (grounding score).",
    },
)

SOURCE_FILES = Table(
    "source_files",
    "What this build read: one row per ledger file and per document folder, with the signature "
    "that lets the next build reuse unchanged documents instead of re-reading them, and the "
    "ledger file's totals as read (the snapshot the reconciliation check compares with); one "
    "row for the build itself.",
    {
        "source": "ledger, documents, or build: one row whose signature identifies the code and "
        "prices that built the file (the next build patches this file only under the same).",
        "doc_id": "Document id (of a ledger file: the document the file is named after).",
        "signature": "inode, modification time (ns) and size (ledger) or secret fingerprint.",
        "reused": "The rows came from the previous build (the file was unchanged).",
        "rows": "Rows the ledger file held when read (null for document folders).",
        "cost_usd": "Sum of cost_usd of those rows (null for document folders).",
        "misfiled_rows": "Rows whose doc_id is not the file's document (null for folders).",
    },
)

# Build order: each rollup reads only tables built before it.
ROLLUP_TABLES = (
    DOCUMENT_COSTS,
    PATIENT_COSTS,
    MODEL_COSTS,
    PROVIDER_COSTS,
    DAILY_COSTS,
    COST_METRICS,
)
TABLES = (
    LLM_CALLS,
    DOCUMENTS,
    *ROLLUP_TABLES,
    BUDGET_ALERTS,
    FAILED_DOCUMENTS,
    REVIEW_ITEMS,
    INTAKE_EVENTS,
    DOCUMENT_RUNS,
    MODEL_PRICES,
    SOURCE_FILES,
)
ROLLUPS: dict[str, str] = {
    table.name: table.sql.format(metrics=CALL_METRICS_SQL, calls="llm_calls")
    for table in ROLLUP_TABLES
}


def document_costs_of(doc_ids_table: str) -> str:
    """document_costs' rows of the documents listed in a table (one column, doc_id)."""
    calls = f"(SELECT * FROM llm_calls WHERE doc_id IN (SELECT doc_id FROM {doc_ids_table}))"
    return DOCUMENT_COSTS.sql.format(metrics=CALL_METRICS_SQL, calls=calls)
