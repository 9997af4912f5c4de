"""Contract: the offline provider reads a chunk after its context (the heading and header row of
the section it begins inside), so the rows of a table continued from the previous chunk are read as
what they are; a fact read from the context alone is never a fact of the chunk, and every fact's
evidence, after grounding, points at its own row in the document text."""

import pytest

from medpipeline.chunking import chunk_document
from medpipeline.extraction.clients import OfflineProvider
from medpipeline.extraction.grounding import merge_extractions
from medpipeline.extraction.prompts import PROMPT_VERSION, DocumentType
from medpipeline.extraction.providers import ExtractionChain, ExtractionRequest
from medpipeline.extraction.schema import iter_facts
from medpipeline_tests.test_chunking import (
    LONG_PROCEDURES_TABLE,
    PROCEDURES,
    PROCEDURES_HEADER,
    SPLIT_TABLE,
)


@pytest.fixture(scope="module")
def provider() -> OfflineProvider:
    return OfflineProvider()


def test_a_table_split_across_chunks_gives_every_row_once_at_its_offset(provider):
    text = LONG_PROCEDURES_TABLE
    chunks = chunk_document("doc", text, [0], SPLIT_TABLE)
    assert len(chunks) == 2 and chunks[1].context
    results = ExtractionChain([provider]).extract_chunks(
        "doc", [(c.chunk_id, c.text, c.context) for c in chunks], "run", DocumentType.OTHER, 1
    )
    merged = merge_extractions(
        "doc",
        PROMPT_VERSION,
        [0],
        (
            (chunk, result.report, result.extraction)
            for chunk, result in zip(chunks, results, strict=True)
        ),
    )
    assert sorted(fact.text for fact in merged.procedures) == sorted(PROCEDURES)
    for fact in merged.procedures:
        row_start = text.index(f"| {fact.text} |")
        row = text[text.rindex("\n", 0, row_start) + 1 : text.index("\n", row_start)]
        evidence = fact.evidence
        assert evidence is not None
        assert text.index(row) <= evidence.offset < text.index(row) + len(row)
        assert fact.text in text[evidence.offset : evidence.offset + evidence.length]


ROWS = "| 02/10/2019 | Lumbar puncture | Completed |\n| 03/11/2019 | Skin biopsy | Completed |\n"


@pytest.mark.parametrize(
    ("context", "chunk", "expected"),
    [
        (f"Procedures\n{PROCEDURES_HEADER}", ROWS, ["Lumbar puncture", "Skin biopsy"]),
        ("", ROWS, []),  # without the header row the rows are not known as procedures
    ],
)
def test_the_context_tells_what_rows_are(provider, context: str, chunk: str, expected: list[str]):
    reply = provider.extract(ExtractionRequest(text=chunk, context=context))
    assert [fact.text for fact in reply.extraction.procedures] == expected


def test_a_context_line_is_never_a_fact(provider):
    context, chunk = (
        "Medications\nAspirin 81 mg tablet daily",
        "Metoprolol 25 mg tablet twice daily\n",
    )
    whole = provider.extract(ExtractionRequest(text=f"{context}\n{chunk}")).extraction
    assert [fact.text for fact in whole.medications] == ["Aspirin", "Metoprolol"]
    reply = provider.extract(ExtractionRequest(text=chunk, context=context))
    assert [fact.text for fact in reply.extraction.medications] == ["Metoprolol"]
    assert all(fact.quote in chunk for _, _, fact in iter_facts(reply.extraction))
