"""Every hostile or broken file in the corpus ends in a readable result or a specific reject
reason — never a hang, a crash or a silent empty success — and the parser's limits hold."""

from pathlib import Path

import pytest

from medpipeline.pdf import (
    PDF_MAGIC,
    PdfLimits,
    PdfRejected,
    RejectReason,
    extract_pages,
    inspect_pdf,
    run_limited,
)

LIMITS = PdfLimits(timeout_seconds=60)
OPENS_WITHOUT_PASSWORD = ("empty-password", "owner-password", "unencrypted", "no_id", "no-key")


def expected_encrypted(path: Path) -> bool:
    name = path.name
    protected = any(word in name for word in ("password", "encrypted", "aes-", "rc4-"))
    return protected and not any(word in name for word in OPENS_WITHOUT_PASSWORD)


def outcome(path: Path) -> RejectReason | int:
    """The reject reason, or the number of pages read."""
    try:
        properties = inspect_pdf(path, LIMITS)
        pages = extract_pages(path, LIMITS, ocr=False)
    except PdfRejected as rejected:
        assert rejected.detail and path.name not in rejected.detail
        return rejected.reason
    assert len(pages) == properties.pages >= 1
    for page in pages:
        assert page.text.strip() or page.error, "an empty page is flagged, never silently empty"
    return properties.pages


def test_every_malformed_file_ends_in_a_result_or_a_specific_reason(corpus: Path):
    files = sorted(p for p in (corpus / "malformed").rglob("*") if p.suffix in (".pdf", ".zip"))
    assert len(files) > 50
    outcomes = {path: outcome(path) for path in files}
    for path, result in outcomes.items():
        content = path.read_bytes()
        has_magic = PDF_MAGIC in content[:1024]
        if path.stat().st_size == 0:
            assert result == RejectReason.EMPTY, path.name
        elif not has_magic:
            assert result == RejectReason.NOT_A_PDF, path.name
        elif expected_encrypted(path):
            assert result == RejectReason.ENCRYPTED, path.name
        else:
            allowed = {RejectReason.CORRUPT, RejectReason.NO_PAGES}
            if b"/Encrypt" in content:  # e.g. a damaged encryption dictionary
                allowed.add(RejectReason.ENCRYPTED)
            assert isinstance(result, int) or result in allowed, (path.name, result)
    reasons = {result for result in outcomes.values() if isinstance(result, RejectReason)}
    assert {RejectReason.CORRUPT, RejectReason.NO_PAGES, RejectReason.ENCRYPTED} <= reasons


def allocate_megabytes(megabytes: int) -> int:
    """Stands in for a decompression bomb: a parser that needs more and more memory."""
    return len(bytearray(megabytes * 1024 * 1024))


def test_a_parser_over_its_memory_limit_is_a_resource_limit():
    limits = PdfLimits(memory_mb=512)
    assert run_limited(allocate_megabytes, (64,), limits) == 64 * 1024 * 1024
    with pytest.raises(PdfRejected) as rejected:
        run_limited(allocate_megabytes, (2048,), limits)
    assert rejected.value.reason == RejectReason.RESOURCE_LIMIT
