"""The review queue of one document: what a human should look at, and why (data, not logs).

`documents/<doc_id>/review.json` holds a `DocumentReview`: one `ReviewItem` per fact (or failed
chunk) that needs a look, with a reason code, the fact's list and index in
`clinical_extractions.json` (`fact_path` is the JSON pointer to it) and the FHIR resource that
carries it, if any. Items hold codes and positions only, never document text, so the warehouse
can copy them into `review_items` and the evidence viewer can show the fact beside its flags.
"""

from collections import Counter
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

from medpipeline.extraction.assertions import disagrees
from medpipeline.extraction.grounding import FUZZY, PAGE
from medpipeline.extraction.schema import (
    AssertedFact,
    ChunkOutcome,
    DocumentExtraction,
    MedicationFact,
    iter_facts,
)
from medpipeline.fhir.bundle import (
    FLAG_CODE_DROPPED,
    FLAG_CONTRADICTION,
    FLAG_SYSTEM,
    FLAG_UNCERTAIN_ORDER,
    BuiltBundle,
)
from medpipeline.pdf import OCR_METHOD, PageText
from medpipeline.storage import read_json

REVIEW_FILE = "review.json"


class ReviewReason(StrEnum):
    UNGROUNDED = "ungrounded"  # the quote is not in the text
    ASSERTION_DISAGREEMENT = "assertion_disagreement"  # ConText and the LLM differ
    # the quote was found only approximately (fuzzy), or a drug's name only by its spelling
    LOW_CONFIDENCE = "low_confidence"
    CODE_DROPPED = "code_dropped"  # a proposed code or unit is not in its code system
    CONTRADICTION = "contradiction"  # mentions of one fact in the document disagree
    UNCERTAIN_ORDER = "uncertain_order"  # a hypothetical/uncertain prescription, kept as draft
    CHUNK_FAILED = "chunk_failed"  # no provider extracted this chunk: its facts are missing
    VISION_EXTRACTED = "vision_extracted"  # read from a page image OCR could not read
    OCR_TEXT = "ocr_text"  # read from a scanned page's OCR text: digits may be misread


_FLAG_REASONS = {
    FLAG_CODE_DROPPED: ReviewReason.CODE_DROPPED,
    FLAG_CONTRADICTION: ReviewReason.CONTRADICTION,
    FLAG_UNCERTAIN_ORDER: ReviewReason.UNCERTAIN_ORDER,
}


class ReviewItem(BaseModel):
    reason: ReviewReason
    fact_list: str | None = Field(
        default=None, description="conditions, medications, ..., patient; None for a chunk."
    )
    fact_index: int | None = Field(default=None, description="Index in that list.")
    set_aside: bool = Field(
        default=False,
        description="The fact is in the extraction's `ungrounded` lists, not the main ones.",
    )
    resource_type: str | None = Field(default=None, description="FHIR resource carrying it.")
    full_url: str | None = None
    chunk_id: str | None = None
    detail: str | None = Field(
        default=None,
        description="A code, never text: e.g. 'present->negated', 'fuzzy:91.2', 'page:2'.",
    )

    @property
    def fact_path(self) -> str | None:
        """JSON pointer to the fact in clinical_extractions.json."""
        if self.fact_list is None:
            return None
        prefix = "/ungrounded" if self.set_aside else ""
        index = "" if self.fact_index is None else f"/{self.fact_index}"
        return f"{prefix}/{self.fact_list}{index}"


class DocumentReview(BaseModel):
    doc_id: str
    items: list[ReviewItem] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Items per reason code (every reason listed, zero included)."""
        found = Counter(item.reason for item in self.items)
        return {reason.value: found[reason] for reason in ReviewReason}


def document_review(
    extraction: DocumentExtraction, built: BuiltBundle, pages: list[PageText]
) -> DocumentReview:
    """Every reason a human should look at this document, from the extraction, its bundle and
    its pages. A fact read from a scanned page's OCR text is checked against the page: OCR
    misreads digits and decimal points without a trace in the words ('12.5 mg' as '125mg',
    'Hgb 10.2' as '02'), so no rule can tell a dose or a value it changed."""
    ocr_confidence = {page.page: page.ocr_confidence for page in pages if page.method == OCR_METHOD}
    resources = {(m.fact_list, m.fact_index): m for m in built.mapped_facts}
    resource_of = {m.full_url: m for m in reversed(built.mapped_facts) if m.full_url}
    items = [
        ReviewItem(reason=ReviewReason.CHUNK_FAILED, chunk_id=report.chunk_id)
        for report in extraction.chunks
        if report.outcome == ChunkOutcome.FAILED
    ]
    for kind, index, _ in iter_facts(extraction.ungrounded):
        items.append(
            ReviewItem(
                reason=ReviewReason.UNGROUNDED, fact_list=kind, fact_index=index, set_aside=True
            )
        )
    for kind, index, fact in iter_facts(extraction):
        mapped = resources.get((kind, index))
        where = {
            "fact_list": kind,
            "fact_index": index,
            "resource_type": mapped.resource_type if mapped else None,
            "full_url": mapped.full_url if mapped else None,
            "chunk_id": fact.evidence.chunk_id if fact.evidence else None,
        }
        if fact.evidence is None:
            items.append(ReviewItem(reason=ReviewReason.UNGROUNDED, **where))
        elif fact.evidence.match == FUZZY:
            detail = f"fuzzy:{fact.evidence.score}"
            items.append(ReviewItem(reason=ReviewReason.LOW_CONFIDENCE, detail=detail, **where))
        elif fact.evidence.match == PAGE:
            detail = f"page:{fact.evidence.page}"
            items.append(ReviewItem(reason=ReviewReason.VISION_EXTRACTED, detail=detail, **where))
        if fact.evidence is not None and fact.evidence.match != PAGE:
            if fact.evidence.page in ocr_confidence:
                confidence = ocr_confidence[fact.evidence.page]
                detail = f"page:{fact.evidence.page}" + (
                    f",confidence:{confidence:.2f}" if confidence is not None else ""
                )
                items.append(ReviewItem(reason=ReviewReason.OCR_TEXT, detail=detail, **where))
        if isinstance(fact, MedicationFact) and fact.name_by_spelling:
            items.append(ReviewItem(reason=ReviewReason.LOW_CONFIDENCE, detail="spelling", **where))
        if isinstance(fact, AssertedFact) and disagrees(fact):
            said = fact.provider_assertion or fact.assertion
            detail = f"{said.value}->{fact.context_assertion.value}"
            items.append(
                ReviewItem(reason=ReviewReason.ASSERTION_DISAGREEMENT, detail=detail, **where)
            )
    for entry in built.bundle["entry"]:
        tags = entry["resource"].get("meta", {}).get("tag", [])
        mapped = resource_of.get(entry["fullUrl"])
        for tag in tags:
            reason = _FLAG_REASONS.get(tag["code"]) if tag.get("system") == FLAG_SYSTEM else None
            if reason is None:
                continue
            items.append(
                ReviewItem(
                    reason=reason,
                    fact_list=mapped.fact_list if mapped else None,
                    fact_index=mapped.fact_index if mapped else None,
                    resource_type=entry["resource"]["resourceType"],
                    full_url=entry["fullUrl"],
                )
            )
    return DocumentReview(doc_id=extraction.doc_id, items=items)


def read_review(path: Path) -> DocumentReview:
    return DocumentReview.model_validate(read_json(path))
