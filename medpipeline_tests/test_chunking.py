"""Chunks are contiguous spans of the document text, within the token limit, overlapping, and
they know their pages."""

from pathlib import Path

import pytest

from medpipeline.chunking import ChunkingConfig, chunk_document, count_tokens, join_pages, page_at
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
