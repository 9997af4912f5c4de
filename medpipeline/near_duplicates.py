"""Near-duplicates: the same document with different bytes (re-scanned, re-faxed, re-exported),
recognised by its text and linked to the earlier document so that it costs no second LLM spend.

Two documents are near-duplicates when the Jaccard similarity of their sets of word 3-shingles
(lower-cased words, three at a time), estimated by a 128-permutation MinHash (datasketch), is at
least `THRESHOLD` = 0.9. A re-export or re-render of the same text scores 1.0; an OCR'd re-scan
with about 3 % of words misread still scores about 0.9 (each misread word breaks three shingles);
two different patients' notes from one template score far lower, because names, dates, values and
findings differ. Texts with fewer than `MIN_SHINGLES` shingles are never matched (two nearly empty
scans would look alike).

Signatures of documents extracted on their own live in `documents/.near_duplicates.bin` (inside
the PHI store: they are hashes of the text), one fixed-size record per document, appended under a
lock and compared with all at once (numpy), so a lookup stays cheap at tens of thousands of
documents. A near-duplicate's extraction is the earlier document's facts grounded again in its own
text, so evidence offsets point into this document.
"""

import os
import re
from pathlib import Path

import numpy as np
from datasketch import MinHash
from filelock import FileLock
from pydantic import BaseModel, Field

from medpipeline.artifacts import DocumentText
from medpipeline.chunking import Chunk
from medpipeline.extraction.grounding import merge_extractions
from medpipeline.extraction.schema import (
    FACT_LISTS,
    ChunkExtraction,
    ChunkOutcome,
    ChunkReport,
    DocumentExtraction,
)
from medpipeline.storage import PRIVATE_FILE_MODE, DataLayout

THRESHOLD = 0.9
NUM_PERM = 128
SHINGLE_WORDS = 3
MIN_SHINGLES = 20
SEED = 1  # fixed: signatures written by earlier runs must stay comparable
_WORD = re.compile(r"\w+")
_RECORD = np.dtype([("doc_id", "S16"), ("hashes", "<u4", (NUM_PERM,))])


class NearDuplicate(BaseModel):
    doc_id: str = Field(description="The earlier document this one repeats.")
    similarity: float = Field(description="Estimated Jaccard similarity of the word shingles.")


def text_signature(text: str) -> np.ndarray | None:
    """MinHash of the text's word shingles; None when the text is too short to compare."""
    words = [word.lower() for word in _WORD.findall(text)]
    shingles = {
        " ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)
    }
    if len(shingles) < MIN_SHINGLES:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch(shingle.encode() for shingle in shingles)
    return minhash.hashvalues.astype(np.uint32)


def _index(layout: DataLayout) -> Path:
    return layout.documents / ".near_duplicates.bin"


def _lock(layout: DataLayout) -> FileLock:
    layout.documents.mkdir(parents=True, exist_ok=True)
    return FileLock(layout.documents / ".near_duplicates.lock", mode=PRIVATE_FILE_MODE)


def remember(layout: DataLayout, doc_id: str, signature: np.ndarray) -> None:
    """Add a document extracted on its own to the index (a later record replaces an earlier)."""
    record = np.zeros(1, dtype=_RECORD)
    record["doc_id"], record["hashes"] = doc_id.encode(), signature
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT  # owner-only, like every file in documents/
    with _lock(layout):
        with os.fdopen(os.open(_index(layout), flags, PRIVATE_FILE_MODE), "ab") as handle:
            handle.write(record.tobytes())


def find_near_duplicate(
    layout: DataLayout, doc_id: str, signature: np.ndarray, is_available
) -> NearDuplicate | None:
    """The most similar other indexed document at or above THRESHOLD that `is_available`
    (its extraction can be reused); the earliest indexed one on a tie."""
    path = _index(layout)
    if not path.exists():
        return None
    with _lock(layout):
        data = path.read_bytes()
    records = np.frombuffer(data[: len(data) - len(data) % _RECORD.itemsize], dtype=_RECORD)
    latest: dict[str, int] = {}
    for position, key in enumerate(records["doc_id"]):
        latest[key.decode()] = position  # the last signature of a document counts
    latest.pop(doc_id, None)
    if not latest:
        return None
    positions = np.fromiter(sorted(latest.values()), dtype=np.int64)
    similarity = (records["hashes"][positions] == signature).mean(axis=1)
    for index in np.argsort(-similarity, kind="stable"):
        if similarity[index] < THRESHOLD:
            break
        candidate = records["doc_id"][positions[index]].decode()
        if is_available(candidate):
            return NearDuplicate(doc_id=candidate, similarity=round(float(similarity[index]), 4))
    return None


def reuse_extraction(
    earlier: DocumentExtraction, doc_id: str, text: DocumentText, link: NearDuplicate
) -> DocumentExtraction:
    """The earlier document's facts, grounded again in this document's text (one span: the
    whole text), linked to the earlier document. No provider is called."""
    facts = ChunkExtraction(
        patient=earlier.patient.model_copy(update={"evidence": None}) if earlier.patient else None,
        **{
            kind: [fact.model_copy(update={"evidence": None}) for fact in getattr(earlier, kind)]
            for kind in FACT_LISTS
        },
    )
    whole = Chunk(
        chunk_id=f"{doc_id}-near-duplicate",
        index=0,
        start=0,
        end=len(text.text),
        pages=list(range(1, len(text.page_offsets) + 1)),
        tokens=0,
        starts_section=True,
        text=text.text,
    )
    report = ChunkReport(
        chunk_id=whole.chunk_id,
        outcome=ChunkOutcome.OK,
        provider=next(iter(earlier.providers), None),
        model=next(iter(earlier.models), None),
        facts=facts.fact_count(),
        cached=True,
    )
    extraction = merge_extractions(
        doc_id, earlier.prompt_version, text.page_offsets, [(whole, report, facts)]
    )
    extraction.near_duplicate_of = link.doc_id
    extraction.near_duplicate_similarity = link.similarity
    return extraction
