from collections import Counter
from datetime import UTC, datetime

import dagster as dg

from medpipeline.defs.extraction.assets import load_extraction
from medpipeline.defs.intake.assets import load_source_document
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.fhir.bundle import build_bundle
from medpipeline.fhir.validation import validate_bundle
from medpipeline.storage import write_json

FHIR_BUNDLE = "fhir_bundle"


@dg.asset(
    partitions_def=documents_partitions,
    group_name="fhir",
    kinds={"fhir"},
    deps=["clinical_extractions"],
    check_specs=[
        dg.AssetCheckSpec(
            "bundle_valid",
            asset=FHIR_BUNDLE,
            blocking=True,
            description="The Bundle validates with fhir.resources (R4B) and every resource "
            "against HL7's R4 JSON Schema; references resolve inside the bundle.",
        )
    ],
    description="Per document: a FHIR R4 transaction Bundle — Patient, DocumentReference for the "
    "PDF, Condition / MedicationStatement / AllergyIntolerance / Observation with evidence "
    "offsets, Provenance. Negated and family-history findings never become Conditions.",
)
def fhir_bundle(
    context: dg.AssetExecutionContext, document_store: DocumentStoreResource
) -> dg.MaterializeResult:
    layout, doc_id = document_store.layout, context.partition_key
    built = build_bundle(
        load_source_document(layout, doc_id),
        load_extraction(layout, doc_id),
        created_at=datetime.now(UTC),
    )
    issues = validate_bundle(built.bundle)
    write_json(layout.artifact(doc_id, FHIR_BUNDLE), built.bundle)
    issue_sources = Counter(issue.source for issue in issues)
    return dg.MaterializeResult(
        metadata={
            "resources": sum(built.resource_counts.values()),
            **{f"resources_{kind}": count for kind, count in sorted(built.resource_counts.items())},
            "skipped_negated": built.skipped_negated,
            "skipped_family": built.skipped_family,
            "validation_issues": len(issues),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="bundle_valid",
                passed=not issues,
                metadata={
                    "issues": len(issues),
                    **{f"issues_{source}": n for source, n in issue_sources.items()},
                    # paths and rule names only: validation messages carry no values
                    "first_issues": dg.MetadataValue.md(
                        "\n".join(f"- `{i.path}`: {i.message}" for i in issues[:10]) or "none"
                    ),
                },
            )
        ],
    )
