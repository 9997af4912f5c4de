"""Rows of the `review_items` table, read from each document's `review.json` (no text: codes,
indices and ids only, so a team can work the review queue from DuckDB)."""

import polars as pl
from pydantic import ValidationError

from medpipeline.review import REVIEW_FILE, read_review
from medpipeline.storage import DataLayout

REVIEW_ITEM_SCHEMA: dict[str, pl.DataType] = {
    "doc_id": pl.String(),
    "item": pl.Int64(),
    "reason": pl.String(),
    "resource_type": pl.String(),
    "fact_list": pl.String(),
    "fact_index": pl.Int64(),
    "set_aside": pl.Boolean(),
    "chunk_id": pl.String(),
    "detail": pl.String(),
}


def review_item_rows(layout: DataLayout, doc_id: str) -> list[dict]:
    """The items of one document (none when it has no readable review file yet)."""
    try:
        review = read_review(layout.document_dir(doc_id) / REVIEW_FILE)
    except (FileNotFoundError, ValueError, ValidationError):
        return []
    return [
        {"doc_id": doc_id, "item": number, **item.model_dump(mode="json", exclude={"full_url"})}
        for number, item in enumerate(review.items)
    ]


def review_items_frame(layout: DataLayout, doc_ids: list[str]) -> pl.DataFrame:
    rows = [row for doc_id in sorted(doc_ids) for row in review_item_rows(layout, doc_id)]
    return pl.DataFrame(rows, schema=REVIEW_ITEM_SCHEMA)
