"""Sample PDFs: five fictional documents, text layers round-trip, a real lab table, one image-only
scan, a long multi-page note, byte-identical regeneration, and committed copies that match."""

import re
from pathlib import Path

import pdfplumber
import pytest

from medpipeline import samples

COMMITTED_DIR = Path(__file__).parents[1] / "data" / "samples"

TEXT_DOCUMENTS = {
    samples.DISCHARGE_FILE: ("DISCHARGE SUMMARY", samples.DISCHARGE_PAGES),
    samples.REFERRAL_FILE: ("REFERRAL LETTER", samples.REFERRAL_PAGES),
    samples.PROGRESS_FILE: ("PROGRESS NOTES", samples.PROGRESS_PAGES),
}
PATIENTS = {
    samples.DISCHARGE_FILE: samples.DISCHARGE_PATIENT,
    samples.LAB_FILE: samples.LAB_PATIENT,
    samples.REFERRAL_FILE: samples.REFERRAL_PATIENT,
    samples.PROGRESS_FILE: samples.PROGRESS_PATIENT,
}


def _norm(text: str) -> str:
    return " ".join(text.split())


def _pdf_text(path: Path) -> str:
    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    samples.generate_samples(out)
    return out


def test_generates_the_five_files_in_order(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "out"
    paths = samples.generate_samples(out)
    assert [p.name for p in paths] == list(samples.SAMPLE_FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(samples.SAMPLE_FILES)
    for path in paths:
        assert path.read_bytes().startswith(b"%PDF-")
        with pdfplumber.open(path) as pdf:
            assert len(pdf.pages) >= 1


@pytest.mark.parametrize("name", sorted(TEXT_DOCUMENTS))
def test_text_layer_round_trips_the_source_text(sample_dir: Path, name: str) -> None:
    title, pages = TEXT_DOCUMENTS[name]
    assert _norm(_pdf_text(sample_dir / name)) == _norm(" ".join([title, *pages]))


@pytest.mark.parametrize("name", sorted(PATIENTS))
def test_patient_identifiers_are_in_the_text(sample_dir: Path, name: str) -> None:
    patient = PATIENTS[name]
    text = _norm(_pdf_text(sample_dir / name))
    assert f"PATIENT: {patient.name}" in text
    assert f"DOB: {patient.dob}" in text
    assert f"MRN: {patient.mrn}" in text


def test_patients_are_distinct() -> None:
    everyone = [*PATIENTS.values(), samples.SCANNED_PATIENT]
    assert len({p.name for p in everyone}) == len(everyone)
    assert len({p.mrn for p in everyone}) == len(everyone)


def test_discharge_summary_clinical_content(sample_dir: Path) -> None:
    text = _norm(_pdf_text(sample_dir / samples.DISCHARGE_FILE))
    for term in (*samples.DISCHARGE_MEDICATIONS, *samples.DISCHARGE_DIAGNOSES):
        assert term in text
    for term in (
        "Penicillin (rash)",
        "Father had coronary artery disease",
        "Denies chest pain.",
        "No shortness of breath.",
        "BP 138/84 mmHg",
        "SpO2 95%",
    ):
        assert term in text
    for heading in (
        "ADMISSION DIAGNOSIS:",
        "HOSPITAL COURSE:",
        "DISCHARGE DIAGNOSES:",
        "PAST MEDICAL HISTORY:",
        "FAMILY HISTORY:",
        "ALLERGIES:",
        "DISCHARGE MEDICATIONS:",
        "REVIEW OF SYSTEMS:",
        "VITAL SIGNS:",
    ):
        assert heading in text


def test_headings_are_bold(sample_dir: Path) -> None:
    with pdfplumber.open(sample_dir / samples.DISCHARGE_FILE) as pdf:
        words = pdf.pages[0].extract_words(extra_attrs=["fontname"])
    fonts = {w["text"]: w["fontname"] for w in words}
    assert "Bold" in fonts["HISTORY:"]
    assert "Bold" not in fonts["Testperson"]


def test_referral_letter_content(sample_dir: Path) -> None:
    text = _norm(_pdf_text(sample_dir / samples.REFERRAL_FILE))
    for term in samples.REFERRAL_MEDICATIONS:
        assert term in text
    assert "No known drug allergies." in text
    assert "atrial fibrillation" in text.lower()
    assert "palpitations" in text


def test_lab_report_has_a_results_table(sample_dir: Path) -> None:
    with pdfplumber.open(sample_dir / samples.LAB_FILE) as pdf:
        tables = pdf.pages[0].extract_tables()
        text = pdf.pages[0].extract_text()
    assert len(tables) == 1
    header, *rows = [[cell or "" for cell in row] for row in tables[0]]
    assert tuple(header) == samples.LAB_COLUMNS
    assert [tuple(row) for row in rows] == [r.row() for r in samples.LAB_RESULTS]
    assert {"H", "L", ""} <= {row[4] for row in rows}
    assert f"Collected: {samples.LAB_COLLECTION_DATE}" in text


def test_lab_flags_follow_the_reference_range() -> None:
    for result in samples.LAB_RESULTS:
        low, high = (float(x) for x in result.reference_range.split("-"))
        value = float(result.result)
        expected = "H" if value > high else "L" if value < low else ""
        assert result.flag == expected, result.test


def test_scanned_note_is_image_only(sample_dir: Path) -> None:
    with pdfplumber.open(sample_dir / samples.SCANNED_FILE) as pdf:
        assert len(pdf.pages) == 1
        page = pdf.pages[0]
        assert not (page.extract_text() or "").strip()
        assert page.chars == []
        assert len(page.images) == 1
        width_px, _ = page.images[0]["srcsize"]
        dpi = width_px / (float(page.width) / 72)
    assert 150 <= dpi <= 300
    assert (sample_dir / samples.SCANNED_FILE).stat().st_size < 400_000


def test_scanned_note_source_text_has_the_clinical_facts() -> None:
    text = samples.SCANNED_NOTE_TEXT
    patient = samples.SCANNED_PATIENT
    for term in (
        patient.name,
        patient.dob,
        patient.mrn,
        samples.SCANNED_ASSESSMENT,
        samples.SCANNED_MEDICATION,
        samples.SCANNED_ALLERGIES,
    ):
        assert term in text


def test_progress_note_is_long_and_structured(sample_dir: Path) -> None:
    with pdfplumber.open(sample_dir / samples.PROGRESS_FILE) as pdf:
        assert len(pdf.pages) >= 4
    text = _pdf_text(sample_dir / samples.PROGRESS_FILE)
    assert len(text.split()) >= 3500
    days = re.findall(r"HOSPITAL DAY (\d+)", text)
    assert days == [str(n) for n in range(1, len(samples.PROGRESS_PAGES) + 1)]
    assert len(days) >= 4
    for page in samples.PROGRESS_PAGES:
        for heading in ("SUBJECTIVE:", "OBJECTIVE:", "ASSESSMENT AND PLAN:"):
            assert heading in page
        assert re.search(r"Review of systems: (Denies|No) ", page)


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = samples.generate_samples(tmp_path / "a")
    second = samples.generate_samples(tmp_path / "b")
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes(), one.name


def test_committed_samples_match_the_generator(sample_dir: Path) -> None:
    for name in samples.SAMPLE_FILES:
        committed = COMMITTED_DIR / name
        assert committed.is_file(), f"{committed} missing: run python -m medpipeline.samples"
        assert committed.read_bytes() == (sample_dir / name).read_bytes(), (
            f"{name} differs from the generator: run python -m medpipeline.samples"
        )


def test_cli_writes_to_the_given_folder(tmp_path: Path) -> None:
    samples.main([str(tmp_path / "cli")])
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == sorted(samples.SAMPLE_FILES)
