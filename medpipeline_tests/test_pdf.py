"""PDF checks end in a readable result or a specific reason code; page text and OCR are per page."""

import json
from pathlib import Path

import pytest
from fpdf import FPDF

from medpipeline.documents import file_digests
from medpipeline.pdf import (
    PasswordMap,
    PdfLimits,
    PdfRejected,
    RejectReason,
    extract_pages,
    inspect_pdf,
    ocr_available,
    text_quality,
)
from medpipeline.samples import LAB_RESULTS, render_lab_report_pdf, render_text_pdf
from medpipeline_tests.helpers import (
    RECONCILIATION,
    RECONCILIATION_WIDTHS,
    render_cell_table,
    render_two_columns,
)

LIMITS = PdfLimits(timeout_seconds=60)


@pytest.mark.parametrize(
    ("relative_path", "reason"),
    [
        ("malformed/pdfplumber/empty.pdf", RejectReason.EMPTY),
        ("malformed/pdfplumber/issue-948.zip", RejectReason.NOT_A_PDF),
        ("malformed/pdfplumber/issue-297-example.pdf", RejectReason.NO_PAGES),
        ("malformed/pdfplumber/password-example.pdf", RejectReason.ENCRYPTED),
        ("malformed/pypdf/r6-user-password.pdf", RejectReason.ENCRYPTED),
        ("malformed/pypdf/crazyones-encrypted-256.pdf", RejectReason.ENCRYPTED),
        ("malformed/pdfminer/aes-256-r6.pdf", RejectReason.ENCRYPTED),
    ],
)
def test_rejected_files_get_their_specific_reason(
    corpus: Path, relative_path: str, reason: RejectReason
):
    with pytest.raises(PdfRejected) as rejected:
        inspect_pdf(corpus / relative_path, LIMITS)
    assert rejected.value.reason == reason


@pytest.mark.parametrize(
    "relative_path", ["malformed/pypdf/r6-empty-password.pdf", "malformed/pypdf/unencrypted.pdf"]
)
def test_pdf_with_empty_user_password_opens(corpus: Path, relative_path: str):
    properties = inspect_pdf(corpus / relative_path, LIMITS)
    assert properties.pages == 1
    assert "pdfencryptiontest" in extract_pages(corpus / relative_path, LIMITS)[0].text.replace(
        " ", ""
    )


def test_every_medical_corpus_pdf_opens_with_its_pages(corpus: Path):
    for pdf in sorted((corpus / "medical").glob("*.pdf")):
        properties = inspect_pdf(pdf, LIMITS)
        assert properties.pages >= 1, pdf.name


def test_size_and_page_limits_are_enforced(tmp_path: Path):
    pdf = render_text_pdf(tmp_path / "three.pdf", ["one", "two", "three"])
    with pytest.raises(PdfRejected) as by_pages:
        inspect_pdf(pdf, PdfLimits(max_pages=2))
    assert by_pages.value.reason == RejectReason.TOO_LARGE
    with pytest.raises(PdfRejected) as by_bytes:
        inspect_pdf(pdf, PdfLimits(max_bytes=100))
    assert by_bytes.value.reason == RejectReason.TOO_LARGE


def test_parse_timeout_kills_the_parser(corpus: Path):
    with pytest.raises(PdfRejected) as rejected:
        extract_pages(
            corpus / "medical" / "health_plan_benefits.pdf", PdfLimits(timeout_seconds=0.01)
        )
    assert rejected.value.reason == RejectReason.TIMEOUT


def test_text_layer_pages_are_read_page_by_page(tmp_path: Path):
    pdf = render_text_pdf(tmp_path / "two.pdf", ["Alpha page about asthma.", "Beta page on gout."])
    pages = extract_pages(pdf, LIMITS, ocr=False)
    assert [page.page for page in pages] == [1, 2]
    assert "asthma" in pages[0].text and "gout" in pages[1].text
    assert all(page.method == "text_layer" for page in pages)


STATUS_TABLE = (
    "Medication        Dose            Status\n"
    "Lisinopril        10 mg daily     D/C\n"
    "Amlodipine        5 mg daily      on hold\n"
)
JUSTIFIED_PROSE = (  # long enough for fpdf to wrap and justify its first line
    "The patient was seen for follow-up of hypertension and type 2 diabetes; she reports good "
    "adherence to her regimen, no dizziness, no chest pain and no hypoglycemia at home since the "
    "last visit, and walks thirty minutes on most days."
)


def test_words_printed_a_column_apart_keep_a_tab_and_prose_keeps_its_spaces(tmp_path: Path):
    pdf = render_text_pdf(tmp_path / "columns.pdf", [STATUS_TABLE + "\n" + JUSTIFIED_PROSE])
    text = extract_pages(pdf, LIMITS, ocr=False)[0].text
    lines = text.splitlines()
    assert lines[:3] == [
        "Medication\tDose\tStatus",
        "Lisinopril\t10 mg daily\tD/C",
        "Amlodipine\t5 mg daily\ton hold",
    ]
    prose = " ".join(lines[3:])
    assert "\t" not in prose and "hypertension and type 2 diabetes" in prose


def test_a_word_starting_under_a_heading_label_starts_that_column(tmp_path: Path):
    """'Discontinue' fills its cell, so the comment after it is one space's width away; it
    starts where the heading's 'Comments' starts, so it is a cell of its own."""
    pdf = render_cell_table(tmp_path / "table.pdf", RECONCILIATION, RECONCILIATION_WIDTHS)
    lines = extract_pages(pdf, LIMITS, ocr=False)[0].text.splitlines()
    assert lines[1:] == ["\t".join(row) for row in RECONCILIATION]


def test_a_block_printed_apart_starts_after_a_blank_line_and_a_paragraph_has_none(
    tmp_path: Path,
):
    """pdfplumber writes no blank lines; the rules end a list or a table at one."""
    pdf = render_text_pdf(
        tmp_path / "blocks.pdf", ["ALLERGIES\nPenicillin - hives\n\n" + JUSTIFIED_PROSE]
    )
    blocks = extract_pages(pdf, LIMITS, ocr=False)[0].text.split("\n\n")
    assert blocks[0] == "ALLERGIES\nPenicillin - hives"
    assert len(blocks) == 2 and blocks[1].count("\n") == 2  # three lines, wrapped


@pytest.mark.parametrize("title", ["ALLERGIES", "Denies:", "Assessment & Plan"])
def test_a_headings_margin_is_no_blank_line(tmp_path: Path, title: str):
    """What a title or a label heads follows it on the next line, as the rules read it."""
    body = "Chest pain on exertion since May.\n\nMore text."
    pdf = render_text_pdf(tmp_path / "heading.pdf", [f"{title}\n\n{body}"])
    assert extract_pages(pdf, LIMITS, ocr=False)[0].text == f"{title}\n{body}"


AFTER_VISIT_HEADER = ["# After Visit Summary", "Visit 11/02/2026, Lakeside Family Medicine"]
AFTER_VISIT_COLUMNS = (
    [
        "# Allergies",
        "Penicillin - hives",
        "Sulfa drugs - rash",
        "# Today's Diagnoses",
        "Type 2 diabetes mellitus without complications",
        "Essential hypertension",
    ],
    [
        "# Your Medication List",
        "Metformin 1000 mg tablet, take 1 tablet by mouth twice daily with meals",
        "Lisinopril 20 mg tablet, take 1 tablet daily",
        "# Started Today",
        "Doxycycline 100 mg capsule twice daily for 10 days",
    ],
)


def test_a_page_printed_in_two_columns_is_read_one_column_then_the_other(tmp_path: Path):
    """pdfplumber writes a line across the page, so the columns came interleaved line by line
    ('Penicillin - hives<tab>Metformin 1000 mg ...' under 'Allergies<tab>Your Medication
    List'), and the left column's titles governed the right column's drugs."""
    pdf = render_two_columns(
        tmp_path / "avs.pdf", AFTER_VISIT_HEADER, AFTER_VISIT_COLUMNS, ["# Follow-up", "3 months"]
    )
    blocks = extract_pages(pdf, LIMITS, ocr=False)[0].text.split("\n\n")
    assert blocks[0] == "After Visit Summary\nVisit 11/02/2026, Lakeside Family Medicine"
    assert blocks[1] == "\n".join(line.removeprefix("# ") for line in AFTER_VISIT_COLUMNS[0])
    right = blocks[-1].replace("\n", " ")
    assert right.startswith("Your Medication List Metformin 1000 mg tablet")
    assert right.endswith("Started Today Doxycycline 100 mg capsule twice daily for 10 days")
    # the footer, below the shorter column, is read as that column's end: its heading is its own
    assert blocks[2] == "Follow-up\n3 months"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (  # a label column: its labels head the values beside them
            ["# Allergies:", "# Medications:", "", "# Problems:"],
            ["Penicillin - hives", "Metformin 1000 mg tablet, take 1 tablet", "twice daily",
             "Essential hypertension"],
        ),
        (  # a table printed without rules: its heading row spans both columns
            ["# Medication", "Metformin 1000 mg tablet", "Lisinopril 20 mg tablet",
             "Atorvastatin 40 mg tablet"],
            ["# Instructions", "Take 1 tablet by mouth twice daily", "Take 1 tablet daily",
             "Take 1 tablet at bedtime"],
        ),
    ],
)  # fmt: skip
def test_a_label_column_or_a_table_without_rules_is_read_row_by_row(
    tmp_path: Path, left: list[str], right: list[str]
):
    pdf = render_two_columns(
        tmp_path / "rows.pdf",
        AFTER_VISIT_HEADER,
        (left, right),
        [],
        heading_margin=0,
        column_offset=0,
    )
    lines = extract_pages(pdf, LIMITS, ocr=False)[0].text.splitlines()
    rows = [
        "\t".join(cell.removeprefix("# ") for cell in row if cell)
        for row in zip(left, right, strict=True)
    ]
    assert [line for line in lines if line][2:] == rows


def test_image_only_page_without_ocr_is_flagged_not_silently_empty(samples_dir: Path):
    pages = extract_pages(samples_dir / "scanned_clinic_note.pdf", LIMITS, ocr=False)
    assert pages[0].method == "text_layer" and pages[0].text == ""
    assert "OCR is not available" in pages[0].error


@pytest.mark.skipif(not ocr_available(), reason="tesseract-ocr is not installed")
def test_image_only_pages_are_ocrd(corpus: Path, samples_dir: Path):
    sample = extract_pages(samples_dir / "scanned_clinic_note.pdf", LIMITS)[0]
    assert sample.method == "ocr" and sample.ocr_confidence > 0.5
    assert "asthma" in sample.text.lower()
    scanned = extract_pages(corpus / "medical" / "discharge_summary_scanned.pdf", LIMITS)[0]
    assert scanned.method == "ocr"
    assert "discharge" in scanned.text.lower()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Patient denies chest pain and fever.", 1.0),
        # a bad OCR layer of the same kind of sentence: word-shaped, 1 dictionary word ("on") in 9
        ("Tlie pahent clenies cliest paiu aud fcvcr on adrnission", round(1 / 9, 3)),
        # letters run together by a broken text layer: of 6 words only "as" is English
        ("PatientSelnDet,h as adhuittd wlth cbest paiu", round(1 / 6, 3)),
        ("|| ;; 1. 2 // -- ..", 0.0),  # no words at all
        ("", 0.0),
    ],
)
def test_text_quality_is_the_share_of_dictionary_words(text, expected):
    assert text_quality(text) == expected


def test_a_site_supplied_password_opens_an_encrypted_pdf(corpus: Path, tmp_path: Path):
    encrypted = corpus / "malformed" / "pypdf" / "r6-user-password.pdf"
    sha256, _ = file_digests(encrypted)
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({sha256: "asdfzxcv"}))
    password = PasswordMap.from_file(str(passwords)).password_for(sha256[:16], sha256)
    assert inspect_pdf(encrypted, LIMITS, password).pages == 1
    text = extract_pages(encrypted, LIMITS, password=password)[0].text
    assert "pdfencryptiontest" in text.replace(" ", "")
    with pytest.raises(PdfRejected) as wrong:
        inspect_pdf(encrypted, LIMITS, "not-the-password")
    assert wrong.value.reason == RejectReason.ENCRYPTED
    assert "not-the-password" not in wrong.value.detail


@pytest.mark.skipif(not ocr_available(), reason="tesseract-ocr is not installed")
def test_a_garbage_text_layer_is_replaced_by_ocr_and_flagged_for_review(corpus: Path):
    (page,) = extract_pages(corpus / "medical" / "handwritten_note_bad_ocr_layer.pdf", LIMITS)
    assert page.method == "ocr"
    assert page.error and "review" in page.error  # Tesseract does not read handwriting well
    (fax,) = extract_pages(corpus / "medical" / "doctor_note_fax_1bit.pdf", LIMITS)
    assert fax.method == "ocr" and fax.error is None
    assert fax.quality > 0.8 and "patient" in fax.text.lower()


@pytest.mark.skipif(not ocr_available(), reason="tesseract-ocr is not installed")
def test_a_scanned_ruled_table_is_read_row_by_row(tmp_path: Path):
    """Tesseract reads a ruled table cell by cell, column after column; with the ruling whitened
    each row of the scanned lab report is one line: the test, its result, its unit."""
    import pypdfium2

    printed = render_lab_report_pdf(tmp_path / "lab.pdf")
    document = pypdfium2.PdfDocument(str(printed))
    image = document[0].render(scale=200 / 72, grayscale=True).to_pil()
    document.close()
    scanned = tmp_path / "scanned_lab.pdf"
    image.save(scanned, "PDF", resolution=200)
    (page,) = extract_pages(scanned, LIMITS, pages=1)
    assert page.method == "ocr"
    lines = page.text.splitlines()
    for result in LAB_RESULTS:
        printed_value = f"{result.value:.{result.decimals}f}"
        assert any(result.test in line and printed_value in line for line in lines), result.test


def render_list_beside_a_table(path: Path) -> Path:
    """A page laid out in two columns: headed lists on the left, their headings on a shaded band
    level with the ruled table's rows on the right (as a browser prints a layout table)."""
    pdf = FPDF(unit="mm", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.set_fill_color(221, 230, 240)
    top, height, widths = 30, 6, (45, 30, 25)
    table = [("Current Medications",), ("Medication", "Sig", "Status"),
             ("Warfarin 5 mg tablet", "see dosing plan", "Active"),
             ("Metoprolol succinate 50 mg", "1 tab daily", "Active"),
             ("Atorvastatin 40 mg", "1 tab at bedtime", "Active"),
             ("Aspirin 81 mg", "1 tab daily", "Discontinued")]  # fmt: skip
    for index, row in enumerate(table):
        pdf.set_xy(100, top + height * index)
        for text, width in zip(row, widths if len(row) > 1 else (sum(widths),), strict=True):
            pdf.cell(w=width, h=height, text=text, border=1)
    for index, line in enumerate(LISTS_BESIDE):
        pdf.set_xy(10, top + height * index)
        pdf.cell(w=90, h=height, text=line.removeprefix("# "), fill=line.startswith("# "))
    pdf.output(str(path))
    return path


LISTS_BESIDE = ["# Problem List", "Persistent atrial fibrillation", "Essential hypertension",
                "# Allergies", "Penicillin - hives"]  # fmt: skip


def test_a_list_beside_a_ruled_table_is_not_lost(tmp_path: Path):
    """The table finder joined the left column's shaded headings to the table beside them and
    its cells held only the headings: the problems and the allergy under them were lost."""
    text = extract_pages(render_list_beside_a_table(tmp_path / "page.pdf"), LIMITS, ocr=False)
    lines = text[0].text.split("\n")
    assert "\n".join(lines[-5:]) == "\n".join(line.removeprefix("# ") for line in LISTS_BESIDE)
    assert lines[0] == "| Current Medications |  |  |"
    assert "| Aspirin 81 mg | 1 tab daily | Discontinued |" in lines


def test_a_word_overflowing_its_cell_leaves_the_table_whole(tmp_path: Path):
    """A guard for the rule above: a ruled table whose cell lets a long label run on past its
    rule keeps all its columns (taking the column apart lost a vital sign's readings)."""
    rows = [("Date", "BP-Sys(mm[Hg])-overflowing-label", "Pulse"), ("01/22/2013", "120", "72")]
    pdf = render_ruled_table(tmp_path / "vitals.pdf", rows, cell_width=30)
    text = extract_pages(pdf, LIMITS, ocr=False)[0].text
    assert "| 01/22/2013 | 120 | 72 |" in text.split("\n")


def render_ruled_table(path: Path, rows: list[tuple[str, ...]], cell_width: float) -> Path:
    pdf = FPDF(unit="mm", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for index, row in enumerate(rows):
        pdf.set_xy(20, 30 + 6 * index)
        for text in row:
            pdf.cell(w=cell_width, h=6, text=text, border=1)
    pdf.output(str(path))
    return path


def render_boxed_form(path: Path, boxes: list[tuple[float, float, float, float, str, str]]) -> Path:
    """A form of ruled boxes, each a small bold label over what is filled in, line by line."""
    pdf = FPDF(unit="mm", format="letter")
    pdf.add_page()
    for x, y, width, height, label, filled in boxes:
        pdf.rect(x, y, width, height)
        pdf.set_xy(x + 1, y + 0.8)
        pdf.set_font("Helvetica", "B", 6.5)
        pdf.cell(width - 2, 3, label)
        pdf.set_xy(x + 1, y + 4)
        pdf.set_font("Helvetica", size=8)
        pdf.multi_cell(width - 2, 3.5, filled)
    pdf.output(str(path))
    return path


PLAN_OF_CARE_BOXES = [
    (10, 20, 60, 10, "2. Start Of Care Date", "07/01/2024"),
    (70, 20, 130, 10, "10. Allergies", "Codeine - vomiting; Shellfish - hives"),
    (10, 30, 110, 30, "11. Medications: Dose/Frequency/Route",
     "Carvedilol 12.5 mg PO BID\nPotassium chloride 20 mEq PO daily - ON HOLD\n"
     "Metolazone 2.5 mg PO - DISCONTINUED 06/28/2024\nAtorvastatin 40 mg PO at bedtime"),
    (120, 30, 80, 30, "12. Principal Diagnosis (ICD-10 / Date)",
     "I50.22 Chronic systolic heart failure"),
    (10, 60, 190, 20, "14. Other Pertinent Diagnoses (ICD-10)",
     "E11.65 Type 2 diabetes mellitus with hyperglycemia\nI48.91 Atrial fibrillation"),
]  # fmt: skip


def test_a_forms_numbered_boxes_keep_their_lines(tmp_path: Path):
    """A plan of care's boxes: each box's lines stay lines, under its label (before: one
    table row, the drugs of box 11 joined into one cell, so one drug's 'DISCONTINUED' was the
    next one's)."""
    pdf = render_boxed_form(tmp_path / "form.pdf", PLAN_OF_CARE_BOXES)
    text = extract_pages(pdf, LIMITS, ocr=False)[0].text
    assert (
        "11. Medications: Dose/Frequency/Route\nCarvedilol 12.5 mg PO BID\n"
        "Potassium chloride 20 mEq PO daily - ON HOLD\n"
        "Metolazone 2.5 mg PO - DISCONTINUED 06/28/2024\nAtorvastatin 40 mg PO at bedtime"
    ) in text
    assert "2. Start Of Care Date:\n07/01/2024" in text
    assert "|" not in text


def test_a_table_of_few_numbered_cells_stays_a_table(tmp_path: Path):
    """Guard: a ruled table whose first column numbers its rows is a table."""
    rows = [("#", "Medication", "Status"), ("1. A", "Lisinopril 10 mg", "Active"),
            ("2. B", "Metformin 500 mg", "Stopped")]  # fmt: skip
    pdf = render_ruled_table(tmp_path / "numbered.pdf", rows, cell_width=40)
    text = extract_pages(pdf, LIMITS, ocr=False)[0].text
    assert "| 1. A | Lisinopril 10 mg | Active |" in text.split("\n")


def test_a_forms_boxes_with_bold_labels_keep_their_lines(tmp_path: Path):
    """Boxes without numbers, each a bold caption over its lines: a form too (before: one row,
    every questionnaire answer and item on one line)."""
    boxes = [
        (10, 20, 95, 30, "Health questionnaire",
         "[ ] YES [X] NO Diabetes\n[X] YES [ ] NO High blood pressure"),
        (105, 20, 95, 30, "Current medications",
         "Amlodipine 5 mg PO daily - active\nCyclobenzaprine 10 mg - stopped 2020"),
        (10, 50, 95, 20, "Allergies", "Bee stings - anaphylaxis 2017"),
        (105, 50, 95, 20, "Family history", "Father - coronary artery disease"),
    ]  # fmt: skip
    text = extract_pages(render_boxed_form(tmp_path / "form.pdf", boxes), LIMITS, ocr=False)[0].text
    assert (
        "Health questionnaire:\n[ ] YES [X] NO Diabetes\n[X] YES [ ] NO High blood pressure" in text
    )
    assert "Allergies:\nBee stings - anaphylaxis 2017" in text


def render_grid(path: Path, rows: list[tuple[float, list[str]]], width: float) -> Path:
    """A ruled grid: each row (its height, its cells' text, lines split by newlines)."""
    pdf = FPDF(unit="mm", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    top = 20.0
    for height, cells in rows:
        for index, text in enumerate(cells):
            x = 10 + index * width
            pdf.rect(x, top, width, height)
            pdf.set_xy(x + 1, top + 1)
            pdf.multi_cell(width - 2, 4, text)
        top += height
    pdf.output(str(path))
    return path


def test_boxes_of_text_side_by_side_keep_their_lines_under_their_captions(tmp_path: Path):
    """A form's 'DISCHARGE DIAGNOSES | ALLERGIES' captions over a numbered list each (before:
    each box one joined cell of one table row, so no diagnosis and no allergy was read)."""
    rows = [
        (6, ["DISCHARGE DIAGNOSES", "ALLERGIES / INTOLERANCES"]),
        (20, ["1. Atrial fibrillation, new onset\n2. Chronic kidney disease, stage 3a\n"
              "3. Essential hypertension",
              "Penicillin - anaphylaxis\nMorphine - itching\nLatex - rash"]),
    ]  # fmt: skip
    text = extract_pages(render_grid(tmp_path / "boxes.pdf", rows, 90), LIMITS, ocr=False)[0].text
    assert (
        "DISCHARGE DIAGNOSES:\n1. Atrial fibrillation, new onset\n"
        "2. Chronic kidney disease, stage 3a\n3. Essential hypertension\n\n"
        "ALLERGIES / INTOLERANCES:\nPenicillin - anaphylaxis\nMorphine - itching\nLatex - rash"
    ) in text
    assert "|" not in text


@pytest.mark.parametrize(
    "rows, line",
    [
        ([(6, ["Test", "Result"]), (10, ["Echo", "LVEF 60%, grade II diastolic\ndysfunction"]),
          (6, ["Chest X-ray", "No acute process"])], "| Chest X-ray | No acute process |"),
        # a row whose cells both wrap over two lines, under a header row
        ([(6, ["Relation", "Conditions"]),
          (10, ["Mother (deceased,\n84)", "Alzheimer disease,\nosteoporosis"])],
         "| Mother (deceased, 84) | Alzheimer disease, osteoporosis |"),
    ],
)  # fmt: skip
def test_a_table_of_labels_and_wrapped_values_stays_a_table(tmp_path: Path, rows, line):
    """Guard: rows of a table whose cells wrap are rows, not boxes of text."""
    text = extract_pages(render_grid(tmp_path / "table.pdf", rows, 60), LIMITS, ocr=False)[0].text
    assert line in text.split("\n")
