"""Contract: every kept fact points at the words it came from — found exactly, after whitespace and
case normalisation, or fuzzily above the threshold — and a fact whose quote is not in the text is
counted and, unless configured otherwise, left out."""

import pytest

from medpipeline.chunking import Chunk
from medpipeline.extraction.grounding import (
    GroundingConfig,
    grounding_rate,
    locate_quote,
    merge_extractions,
)
from medpipeline.extraction.schema import (
    AllergyFact,
    ChunkExtraction,
    ChunkOutcome,
    ChunkReport,
    ConditionFact,
    MedicationFact,
)

TEXT = (
    "HPI: 64 year old man with hypertension.\n"
    "Medications:\n  Lisinopril   10 mg daily\n"
    "Plan: started on metformin 500 mg twice daily. Denies chest pain."
)


@pytest.mark.parametrize(
    ("quote", "kind"),
    [
        ("with hypertension", "exact"),
        ("lisinopril 10 mg daily", "normalized"),
        ("started on metformin 500mg twice daily", "fuzzy"),
        ("started on metfromin 500 mg twice daily", "fuzzy"),
    ],
)
def test_quote_is_located_by_the_strictest_method_that_finds_it(quote: str, kind: str) -> None:
    offset, length, found = locate_quote(quote, TEXT)
    assert found == kind
    span = TEXT[offset : offset + length].lower()
    assert span.split()[0] == quote.lower().split()[0]
    assert not span[0].isspace() and not span[-1].isspace()


@pytest.mark.parametrize("quote", ["warfarin 5 mg nightly for atrial fibrillation", "", "xyz"])
def test_quote_absent_from_the_text_is_not_located(quote: str) -> None:
    assert locate_quote(quote, TEXT) is None


def test_threshold_decides_fuzzy_matches() -> None:
    quote = "started on metfromin 500 mg twice daily"
    assert locate_quote(quote, TEXT, fuzzy_threshold=90) is not None
    assert locate_quote(quote, TEXT, fuzzy_threshold=99.5) is None


def _merge(config: GroundingConfig | None = None):
    chunk = Chunk(
        chunk_id="c0",
        index=0,
        text=TEXT,
        start=100,
        end=100 + len(TEXT),
        pages=[1],
        tokens=40,
        starts_section=True,
    )
    extraction = ChunkExtraction(
        conditions=[
            ConditionFact(quote="hypertension", text="hypertension"),
            ConditionFact(quote="type 2 diabetes mellitus poorly controlled", text="diabetes"),
        ],
        medications=[MedicationFact(quote="lisinopril 10 mg daily", text="lisinopril")],
    )
    report = ChunkReport(chunk_id="c0", outcome=ChunkOutcome.OK, provider="p", model="m")
    args = ("doc", "v1", [0, 100_000], [(chunk, report, extraction)])
    return merge_extractions(*args, config=config) if config else merge_extractions(*args)


def test_ungrounded_fact_is_counted_and_left_out_by_default() -> None:
    merged = _merge()
    assert [c.text for c in merged.conditions] == ["hypertension"]
    assert (merged.grounded_facts, merged.ungrounded_facts) == (2, 1)
    assert grounding_rate(merged) == pytest.approx(2 / 3)
    evidence = merged.medications[0].evidence
    assert evidence is not None and evidence.match == "normalized"
    assert TEXT[evidence.offset - 100 :].lower().startswith("lisinopril")


def test_ungrounded_fact_can_be_kept_without_evidence() -> None:
    merged = _merge(GroundingConfig(keep_ungrounded=True))
    assert [c.text for c in merged.conditions] == ["hypertension", "diabetes"]
    assert merged.conditions[1].evidence is None
    assert merged.ungrounded_kept and merged.ungrounded_facts == 1


def test_a_fact_of_overlapping_chunks_is_one_mention_and_the_same_words_elsewhere_another() -> None:
    """Two chunks overlap on the list; the later note that denies the allergy is another mention,
    kept for the mapping to read (it refutes the listed allergy)."""
    text = "Allergies: codeine (nausea)\nHPI: stable.\nNo allergy to codeine."
    first_end = text.index("HPI") + 4
    chunks = [
        Chunk(chunk_id=f"c{i}", index=i, text=text[start:end], start=start, end=end, pages=[1],
              tokens=10, starts_section=i == 0)
        for i, (start, end) in enumerate([(0, first_end), (0, len(text))])
    ]  # fmt: skip
    listed = AllergyFact(quote="Allergies: codeine (nausea)", substance="codeine")
    denied = AllergyFact(quote="No allergy to codeine.", substance="codeine")
    results = [
        (chunks[0], ChunkExtraction(allergies=[listed])),
        (chunks[1], ChunkExtraction(allergies=[listed.model_copy(), denied])),
    ]
    merged = merge_extractions(
        "doc",
        "v1",
        [0],
        [
            (chunk, ChunkReport(chunk_id=chunk.chunk_id, outcome=ChunkOutcome.OK, provider="p"), x)
            for chunk, x in results
        ],
    )
    assert [a.evidence.offset for a in merged.allergies if a.evidence] == [0, text.index("No")]
    assert merged.grounded_facts == 2
