"""Chunks are contiguous spans of the document text, within the token limit, overlapping, and
they know their pages; a chunk beginning inside a section carries the section's heading and next
line as context (outside its span)."""

import json
from pathlib import Path

import pytest

from medpipeline.artifacts import DocumentChunks
from medpipeline.chunking import (
    ChunkingConfig,
    chunk_document,
    count_tokens,
    is_title_case_heading,
    join_pages,
    page_at,
)
from medpipeline.pdf import PdfLimits, extract_pages


@pytest.fixture(scope="module")
def long_note(samples_dir: Path):
    pages = extract_pages(samples_dir / "progress_note_long.pdf", PdfLimits(), ocr=False)
    return join_pages(pages)


@pytest.mark.parametrize(("max_tokens", "overlap"), [(200, 0), (400, 40), (800, 80)])
def test_chunks_cover_the_text_within_limits(long_note, max_tokens: int, overlap: int):
    text, offsets = long_note
    chunks = chunk_document(
        "doc", text, offsets, ChunkingConfig(max_tokens=max_tokens, overlap_tokens=overlap)
    )
    assert len(chunks) >= 3
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for previous, chunk in zip(chunks, chunks[1:], strict=False):
        assert chunk.start <= previous.end, "no gap between chunks"
        if overlap:
            assert chunk.start < previous.end, "adjacent chunks overlap"
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.tokens == count_tokens(chunk.text) <= max_tokens
        assert chunk.pages == list(
            range(page_at(chunk.start, offsets), page_at(chunk.end - 1, offsets) + 1)
        )


def test_sections_start_chunks_when_the_chunk_is_half_full(long_note):
    text, offsets = long_note
    chunks = chunk_document("doc", text, offsets, ChunkingConfig(max_tokens=400, overlap_tokens=0))
    assert sum(chunk.starts_section for chunk in chunks) >= len(chunks) // 2


def test_a_line_longer_than_a_chunk_is_cut_at_whitespace():
    text = " ".join(f"word{n}" for n in range(2000))
    chunks = chunk_document("doc", text, [0], ChunkingConfig(max_tokens=100, overlap_tokens=0))
    assert "".join(chunk.text for chunk in chunks) == text
    assert all(chunk.tokens <= 100 for chunk in chunks)


def test_empty_text_gives_no_chunks():
    assert chunk_document("doc", "", [0], ChunkingConfig()) == []


PROCEDURES = [
    "Appendectomy",
    "Colonoscopy",
    "Laparoscopic cholecystectomy",
    "Total knee arthroplasty",
    "Cataract extraction",
    "Coronary angiography",
    "Upper endoscopy",
    "Tonsillectomy",
    "Carpal tunnel release",
    "Inguinal hernia repair",
    "Lumbar puncture",
    "Skin biopsy",
    "Cardiac catheterization",
    "Bronchoscopy",
]
PROCEDURES_HEADER = "| Date | Procedure | Status |"
LONG_PROCEDURES_TABLE = (
    "Discharge Summary\nPatient seen for follow up.\nProcedures\n"
    + PROCEDURES_HEADER
    + "\n"
    + "".join(
        f"| 0{n % 9 + 1}/1{n % 10}/2019 | {name} | Completed |\n"
        for n, name in enumerate(PROCEDURES)
    )
    + "Vital Signs\n| Date | Blood Pressure | Pulse |\n| 03/12/2020 | 128/82 mmHg | 72 bpm |\n"
)
SPLIT_TABLE = ChunkingConfig(max_tokens=200, overlap_tokens=20)


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("Procedures", True),
        ("Vital Signs", True),
        ("History of Present Illness", True),
        ("Allergies / Adverse Reactions", True),
        ("Results 2020", False),  # digits
        ("Dr. Smith", False),  # sentence punctuation
        ("The patient was seen today", False),  # words not capitalised
        ("Plan of", False),  # ends on a linking word
        ("No Instructions Recorded", False),  # a section's content: nothing recorded
        ("No Known Allergies", False),
        ("Blood Pressure Pulse Weight Height Temperature", False),  # six words
    ],
)
def test_title_case_heading_lines(line: str, heading: bool):
    assert is_title_case_heading(line) is heading


NARRATIVE = "".join(
    f"Patient walked {n} laps in the hallway without chest pain today.\n" for n in range(12)
)


@pytest.mark.parametrize("heading", ["Vital Signs", "Procedures", "History of Present Illness"])
def test_a_title_case_heading_starts_a_chunk(heading: str):
    text = f"Assessment\n{NARRATIVE}{heading}\n{NARRATIVE}"
    chunks = chunk_document("doc", text, [0], ChunkingConfig(max_tokens=300, overlap_tokens=0))
    assert [chunk.start for chunk in chunks] == [0, text.index(f"\n{heading}\n") + 1]
    assert chunks[1].starts_section and chunks[1].context == ""


def test_a_list_of_names_one_a_line_is_not_a_run_of_headings():
    names = "John Smith\nMary Jones\nPeter Brown\nAnna White\n"
    text = f"Assessment\n{NARRATIVE}Care Team\n{names * 3}{NARRATIVE}"
    chunks = chunk_document("doc", text, [0], ChunkingConfig(max_tokens=300, overlap_tokens=0))
    assert [chunk.text.split("\n")[0] for chunk in chunks[1:]] == ["Care Team"]


def test_a_chunk_beginning_inside_a_table_carries_its_heading_and_header_row():
    chunks = chunk_document("doc", LONG_PROCEDURES_TABLE, [0], SPLIT_TABLE)
    assert len(chunks) == 2
    assert chunks[0].context == ""
    assert not chunks[1].starts_section
    assert chunks[1].context == f"Procedures\n{PROCEDURES_HEADER}"
    assert PROCEDURES_HEADER not in chunks[1].text


def test_chunks_written_before_the_context_field_still_load():
    chunk = chunk_document("doc", LONG_PROCEDURES_TABLE, [0], SPLIT_TABLE)[1]
    written = chunk.model_dump(mode="json", exclude={"context"})
    artifact = {"doc_id": "doc", "max_tokens": 200, "overlap_tokens": 20, "chunks": [written]}
    loaded = DocumentChunks.model_validate_json(json.dumps(artifact))
    assert loaded.chunks[0].context == ""
    assert loaded.chunks[0].text == chunk.text


@pytest.mark.parametrize(
    ("before", "after", "carried"),
    [
        ("| Completed |", "| Completed |", True),
        ("| Completed |", "| Completed |  |", True),  # empty edge cells: the reader cuts them
        ("| 0", "|  | 0", True),
        ("| Completed |", "| Completed | Dr. Lee |", False),  # a filled cell: another layout
        ("| Completed |", "|", False),  # fewer cells than the header
    ],
    ids=["as-wide", "empty-trailing", "empty-leading", "filled-extra-cell", "narrower"],
)
def test_a_header_row_is_carried_only_to_rows_it_fits(before: str, after: str, carried: bool):
    """A table's later pages may come out with empty edge columns: the header still fits them;
    it does not fit rows with more filled cells or fewer cells, which get the heading alone
    (their section is still known)."""
    rows = LONG_PROCEDURES_TABLE.split(PROCEDURES_HEADER + "\n")[1].split("Vital Signs")[0]
    text = LONG_PROCEDURES_TABLE.replace(rows, rows.replace(before, after))
    inside = [
        chunk
        for chunk in chunk_document("doc", text, [0], SPLIT_TABLE)
        if not chunk.starts_section and chunk.text.lstrip("\n").startswith("|")
    ]
    assert inside
    expected = f"Procedures\n{PROCEDURES_HEADER}" if carried else "Procedures"
    assert all(chunk.context == expected for chunk in inside)


def test_a_section_going_on_after_nothing_recorded_above_it_is_still_a_heading():
    """'Medications' below 'No Instructions Recorded' is a heading (not the second line of a run
    of names), so a chunk beginning inside its table knows it is in the medications."""
    rows = "".join(f"| Drug {n} 10 MG TABS | 01/0{n % 9 + 1}/2008 | Active |\n" for n in range(40))
    text = f"Instructions\nNo Instructions Recorded\nMedications\n{rows}"
    chunks = chunk_document("doc", text, [0], SPLIT_TABLE)
    assert len(chunks) > 1
    assert all(chunk.context.split("\n")[0] == "Medications" for chunk in chunks[1:])


VITALS_THEN_LABS = (
    "Reason for visit: falls and lightheadedness on standing.\n"
    "| Position | BP (mmHg) | HR (bpm) | Symptoms |\n"
    "| Supine | 142/78 | 68 | none |\n"
    "| Standing | 112/64 | 76 | lightheaded |\n"
    "Weight 58.2 kg. Laboratory drawn 03/10/2025\n"
    "| Test | Result | Units | Reference |\n"
    + "".join(f"| Analyte {n} | {n}.{n} | mmol/L | 1.0-9.0 |\n" for n in range(40))
)


def test_a_chunk_inside_the_second_table_of_a_section_carries_that_tables_header():
    """Regression: a chunk beginning inside a lab table carried the header of the vital-signs
    table above it in the same section, and its values were read as blood pressures."""
    chunks = chunk_document("doc", VITALS_THEN_LABS, [0], SPLIT_TABLE)
    assert len(chunks) > 1
    for chunk in chunks[1:]:
        assert chunk.context.split("\n")[1] == "| Test | Result | Units | Reference |"


def test_a_chunk_inside_a_lab_flowsheet_below_a_row_of_vital_signs_carries_its_dates_row():
    """Regression: the rows of a lab flowsheet printed right below a vital-signs row, in the same
    ruled block, carried the vital signs' header and a potassium became a respiratory rate; the
    flowsheet's dates row is the header of the rows below it."""
    dates_row = "| LAB | 06/05 (POD 2) | 06/04 (POD 1) | PRE-OP 05/24 |"
    text = (
        "Discharge Vital Signs / Labs\n| BP | HR | Temp | RR |\n| 118/68 | 82 | 37.2 C | 16 |\n"
        + dates_row + "\n"
        + "".join(f"| Analyte {n} (mmol/L) | {n}.1 | {n}.2 | {n}.3 |\n" for n in range(40))
    )  # fmt: skip
    chunks = chunk_document("doc", text, [0], SPLIT_TABLE)
    assert len(chunks) > 1
    assert all(chunk.context.split("\n")[1] == dates_row for chunk in chunks[1:])


def test_a_table_going_on_after_a_page_break_carries_the_sections_first_header():
    """Rows right above a chunk that hold figures are the table's rows after a page break, not
    its header: the section's first table row is."""
    rows = [f"| 0{n % 9 + 1}/1{n % 10}/2019 | Procedure {n} | Completed |\n" for n in range(30)]
    text = (
        "Procedures\n" + PROCEDURES_HEADER + "\n" + "".join(rows[:10])
        + "Page 2 of 3\n" + "".join(rows[10:])
    )  # fmt: skip
    chunks = chunk_document("doc", text, [0], SPLIT_TABLE)
    assert len(chunks) > 1
    assert all(chunk.context == f"Procedures\n{PROCEDURES_HEADER}" for chunk in chunks[1:])


def test_lines_between_a_heading_and_its_header_row_are_not_the_header():
    text = LONG_PROCEDURES_TABLE.replace(
        "Procedures\n", "Procedures\nreviewed with the patient at this visit\n"
    )
    chunks = chunk_document("doc", text, [0], SPLIT_TABLE)
    assert chunks[1].context == f"Procedures\n{PROCEDURES_HEADER}"


def test_a_caption_row_is_the_heading_of_the_rows_below_it():
    """'| HOME MEDICATIONS / STATUS AT TRANSFER |  |' below an allergy list: a chunk beginning in
    its rows carries it, not 'ALLERGIES' (before: the offline provider read the home
    medications, in a chunk of their own, as allergies)."""
    rows = "".join(f"| drug{n} 5 mg PO daily | HELD - hypotension |\n" for n in range(40))
    text = f"ALLERGIES\nCODEINE (vomiting)\n| HOME MEDICATIONS / STATUS AT TRANSFER |  |\n{rows}"
    chunks = chunk_document("doc", text, [0], SPLIT_TABLE)
    assert len(chunks) > 1
    assert all(
        chunk.context.split("\n")[0] == "| HOME MEDICATIONS / STATUS AT TRANSFER |  |"
        for chunk in chunks[1:]
    )
