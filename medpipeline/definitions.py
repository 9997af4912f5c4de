"""The one entry point: every asset, check, job, sensor and resource of MedPipeline."""

import os

import dagster as dg

from medpipeline.costs import OFFLINE_PROVIDER
from medpipeline.defs.analytics.assets import cost_forecast, cost_report, warehouse_tables
from medpipeline.defs.extraction.assets import clinical_extractions
from medpipeline.defs.extraction.sensors import llm_batch_sensor
from medpipeline.defs.fhir.assets import fhir_bundle, patient_records
from medpipeline.defs.intake.assets import raw_document
from medpipeline.defs.intake.sensors import DOCUMENT_JOB, document_failure_sensor, inbox_sensor
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import (
    ANTHROPIC,
    OPENAI,
    DocumentStoreResource,
    LLMResource,
    env_or_none,
)
from medpipeline.defs.text.assets import document_chunks, document_text
from medpipeline.storage import DATA_DIR_ENV

document_assets = [raw_document, document_text, document_chunks, clinical_extractions, fhir_bundle]

document_pipeline = dg.define_asset_job(
    DOCUMENT_JOB,
    selection=dg.AssetSelection.assets(*document_assets),
    partitions_def=documents_partitions,
    # One process per document run: the steps are sequential, and a process per step would pay
    # the import of spaCy and the PDF stack five times.
    executor_def=dg.in_process_executor,
    description="One document from stored PDF to validated FHIR bundle (and its usage ledger).",
)

warehouse_automation = dg.AutomationConditionSensorDefinition(
    "warehouse_automation",
    target=dg.AssetSelection.groups("analytics") | dg.AssetSelection.assets(patient_records),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Rebuilds the DuckDB cost tables and the per-patient FHIR records once "
    "documents' ledgers and bundles have changed.",
)


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "document_store": DocumentStoreResource(
            data_dir=os.environ.get(DATA_DIR_ENV, "data"),
            pdf_password_file=os.environ.get("MEDPIPELINE_PDF_PASSWORDS"),
            failure_webhook_url=os.environ.get("MEDPIPELINE_FAILURE_WEBHOOK"),
        ),
        "llm": LLMResource.from_env(
            anthropic_api_key=env_or_none("ANTHROPIC_API_KEY"),
            anthropic_base_url=env_or_none("ANTHROPIC_BASE_URL"),
            openai_api_key=env_or_none("OPENAI_API_KEY"),
            openai_base_url=env_or_none("OPENAI_BASE_URL"),
            rate_limit_redis_url=os.environ.get("MEDPIPELINE_RATE_LIMIT_REDIS_URL"),
        ),
    }


# Dagster kind of each provider (medspaCy is what the offline clinical-rules provider runs).
PROVIDER_KINDS = {ANTHROPIC: "anthropic", OPENAI: "openai", OFFLINE_PROVIDER: "medspacy"}


def extraction_kinds(llm: LLMResource) -> set[str]:
    """The kinds of clinical_extractions: the providers of the chain as configured (a key set, or
    the offline provider listed), so the UI never shows a vendor that cannot run."""
    usable = {ANTHROPIC: llm.anthropic_api_key, OPENAI: llm.openai_api_key, OFFLINE_PROVIDER: True}
    return {"python", *(PROVIDER_KINDS[name] for name in llm.fallback_order if usable.get(name))}


@dg.definitions
def defs() -> dg.Definitions:
    resources = build_resources()
    kinds = extraction_kinds(resources["llm"])
    extractions = clinical_extractions.map_asset_specs(
        lambda spec: spec.replace_attributes(kinds=kinds)
    )
    per_document = [extractions if a is clinical_extractions else a for a in document_assets]
    return dg.Definitions(
        assets=[*per_document, warehouse_tables, cost_report, cost_forecast, patient_records],
        jobs=[document_pipeline],
        sensors=[inbox_sensor, document_failure_sensor, llm_batch_sensor, warehouse_automation],
        resources=resources,
    )
