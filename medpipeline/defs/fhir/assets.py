"""FHIR stage wiring: the per-document bundle with its quality checks, and the patient records."""

from collections import Counter
from datetime import UTC, datetime

import dagster as dg

from medpipeline.artifacts import FHIR_BUNDLE, load_extraction, load_source_document, load_text
from medpipeline.defs.automation import EAGER_ALLOW_MISSING
from medpipeline.defs.errors import phi_safe_step
from medpipeline.defs.partitions import documents_partitions
from medpipeline.defs.resources import DocumentStoreResource
from medpipeline.evidence import EVIDENCE_FILE, render_evidence
from medpipeline.extraction.grounding import grounding_rate
from medpipeline.extraction.prompts import detect_document_type
from medpipeline.fhir.bundle import build_bundle
from medpipeline.fhir.records import update_records
from medpipeline.fhir.validation import validate_bundle
from medpipeline.review import REVIEW_FILE, document_review
from medpipeline.storage import read_json, write_atomic, write_json

PATIENT_RECORDS = "patient_records"
MIN_GROUNDING_RATE = 0.9


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
            "against HL7's R4 JSON Schema; references resolve inside the bundle; FHIR "
            "invariants (obs-6, obs-7, dom-2..5, txt-2, bdl-3) hold.",
        ),
        dg.AssetCheckSpec(
            "grounding_rate",
            asset=FHIR_BUNDLE,
            description=f"At least {MIN_GROUNDING_RATE:.0%} of the facts providers returned were "
            "found in the document text (ungrounded facts are left out of the bundle).",
        ),
        dg.AssetCheckSpec(
            "needs_no_review",
            asset=FHIR_BUNDLE,
            description="The document's review queue (documents/<doc_id>/review.json) is empty: "
            "no ungrounded fact, assertion disagreement, low-confidence grounding, fact read "
            "from a page image, dropped code, contradiction, uncertain order or failed chunk. "
            "Counts per reason in the metadata.",
        ),
        dg.AssetCheckSpec(
            "codes_known",
            asset=FHIR_BUNDLE,
            description="Every ICD-10-CM and LOINC code and UCUM unit a provider proposed is in "
            "its code system; unknown ones were dropped to text and flagged `code-dropped`.",
        ),
    ],
    description="Per document: a FHIR R4 transaction Bundle — Patient, DocumentReference for the "
    "PDF, Encounter, Condition / MedicationStatement / MedicationRequest / AllergyIntolerance / "
    "Observation / Procedure (a planned one: ServiceRequest) with evidence offsets (one resource "
    "per clinical fact), a "
    "DiagnosticReport grouping the labs, Device and Provenance. Negated, family-history and "
    "hypothetical findings never become the patient's active facts. Writes the document's review "
    "queue to documents/<doc_id>/review.json (reason codes and fact indices, counted here) and "
    "the evidence viewer documents/<doc_id>/evidence.html (the text with every fact highlighted "
    "beside the resource it became). PHI: the bundle and the viewer (names, identifiers, the "
    "document's text) stay in documents/; the metadata carries ids, codes and counts only.",
)
@phi_safe_step
def fhir_bundle(
    context: dg.AssetExecutionContext, document_store: DocumentStoreResource
) -> dg.MaterializeResult:
    layout, doc_id = document_store.layout, context.partition_key
    extraction = load_extraction(layout, doc_id)
    built = build_bundle(
        load_source_document(layout, doc_id), extraction, created_at=datetime.now(UTC)
    )
    rate = grounding_rate(extraction)
    dropped = sum(built.dropped_codes.values())
    issues = validate_bundle(built.bundle)
    text = load_text(layout, doc_id)
    review = document_review(extraction, built, text.pages)
    write_json(layout.document_dir(doc_id) / REVIEW_FILE, review)
    write_json(layout.artifact(doc_id, FHIR_BUNDLE), built.bundle)
    document_type = detect_document_type(text.text).value
    viewer = layout.document_dir(doc_id) / EVIDENCE_FILE
    page = render_evidence(
        doc_id=doc_id,
        text=text.text,
        page_offsets=text.page_offsets,
        extraction=extraction,
        bundle=built.bundle,
        mapped_facts=built.mapped_facts,
        review=review,
        document_type=document_type,
    )
    write_atomic(viewer, page.encode("utf-8"))
    issue_sources = Counter(issue.source for issue in issues)
    return dg.MaterializeResult(
        metadata={
            "document_type": document_type,
            "pages": len(text.pages),
            "evidence_viewer": dg.MetadataValue.path(str(viewer)),
            "resources": sum(built.resource_counts.values()),
            **{f"resources_{kind}": count for kind, count in sorted(built.resource_counts.items())},
            "skipped_negated": built.skipped_negated,
            "skipped_family": built.skipped_family,
            "skipped_hypothetical": built.skipped_hypothetical,
            "codes_dropped": dropped,
            "ungrounded_resources": built.ungrounded_resources,
            "merged_facts": built.merged_facts,
            "validation_issues": len(issues),
            "review_items": len(review.items),
            **{f"review_{reason}": n for reason, n in review.counts().items()},
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
            ),
            dg.AssetCheckResult(
                check_name="grounding_rate",
                passed=rate is None or rate >= MIN_GROUNDING_RATE,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    **({"grounding_rate": round(rate, 4)} if rate is not None else {}),
                    "grounded_facts": extraction.grounded_facts,
                    "ungrounded_facts": extraction.ungrounded_facts,
                    "ungrounded_kept": extraction.ungrounded_kept,
                },
            ),
            dg.AssetCheckResult(
                check_name="needs_no_review",
                passed=not review.items,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"review_items": len(review.items), **review.counts()},
            ),
            dg.AssetCheckResult(
                check_name="codes_known",
                passed=dropped == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "codes_dropped": dropped,
                    **{f"dropped_{kind}": n for kind, n in sorted(built.dropped_codes.items())},
                },
            ),
        ],
    )


@dg.asset(
    group_name="fhir",
    kinds={"fhir"},
    deps=[FHIR_BUNDLE],
    automation_condition=EAGER_ALLOW_MISSING,
    description="All documents: every document's current, valid fhir_bundle accumulated per "
    "patient (identifiers of the same issuer, else name + birth date); a re-extracted document's "
    "contribution is replaced, an invalid bundle never accumulated; the same fact from several "
    "documents is one resource with each document's Provenance; contradictions flagged. Writes "
    "data/fhir/patients/<id>.json and the Bulk Data export data/fhir/export/<ResourceType>.ndjson "
    "(one writer at a time: a file lock). PHI: everything under data/fhir/.",
)
def patient_records(document_store: DocumentStoreResource) -> dg.MaterializeResult:
    layout = document_store.layout
    bundle_paths = sorted(layout.documents.glob(f"*/{FHIR_BUNDLE}.json"))
    written = update_records(
        layout.fhir, ((path.parent.name, read_json(path)) for path in bundle_paths)
    )
    report = written.report
    return dg.MaterializeResult(
        metadata={
            "patients": written.patients,
            "documents": written.documents,
            "documents_added": report.added_documents,
            "documents_replaced": report.replaced_documents,
            "documents_unchanged": report.unchanged_documents,
            "documents_removed": report.removed_documents,
            "documents_invalid": report.invalid_documents,
            "resources": written.resources,
            "duplicates_merged": report.merged_duplicates,
            "contradictions": written.contradictions,
            **{f"ndjson_{kind}": n for kind, n in written.ndjson_files.items()},
        }
    )
