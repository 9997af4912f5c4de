"""Checking and reading PDFs: reason-coded rejection, per-page text, OCR for pages without text.

Parsing runs in a child process with a wall-clock and memory limit (`run_limited`), so a hostile
file can neither hang nor exhaust the run. Errors carry a reason code and a detail free of PHI.
"""

import itertools
import json
import logging
import multiprocessing
import os
import re
import resource
import shutil
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import pdfplumber
import pypdf
from pydantic import BaseModel, Field
from pypdf._encryption import AlgV4, AlgV5

from medpipeline.english import english_words
from medpipeline.page_layout import (
    Piece,
    Region,
    reading_regions,
    with_blank_lines,
    with_column_gaps,
)


class RejectReason(StrEnum):
    NOT_A_PDF = "not_a_pdf"
    EMPTY = "empty"
    ENCRYPTED = "encrypted"
    CORRUPT = "corrupt"
    NO_PAGES = "no_pages"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    RESOURCE_LIMIT = "resource_limit"
    DUPLICATE = "duplicate"


class PdfRejected(Exception):
    """A permanent, non-retryable problem with an input file. `detail` never holds PHI."""

    def __init__(self, reason: RejectReason, detail: str):
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class PdfLimits(BaseModel):
    max_bytes: int = 100 * 1024 * 1024
    max_pages: int = 500
    timeout_seconds: float = 60.0
    ocr_seconds_per_page: float = 20.0  # added to the text-extraction budget when OCR may run
    memory_mb: int = 2048


class PdfProperties(BaseModel):
    pages: int
    pdf_version: str | None
    producer: str | None


OCR_METHOD = "ocr"


class PageText(BaseModel):
    page: int = Field(description="1-based page number.")
    text: str
    method: str = Field(description="text_layer, ocr, or none (unreadable page).")
    quality: float = Field(description="0..1 share of word-like characters in the page text.")
    ocr_confidence: float | None = None
    tables: list[list[list[str | None]]] = Field(default_factory=list)
    error: str | None = Field(default=None, description="Why the page could not be read.")


PDF_MAGIC = b"%PDF-"
_MAGIC_WINDOW = 1024
MIN_TEXT_CHARS = 20
MIN_TEXT_QUALITY = 0.5
_WORDLIKE = re.compile(r"[A-Za-z]{2,}")


def check_file_header(path: Path, limits: PdfLimits) -> None:
    """Cheap checks before any parsing: size and PDF magic bytes."""
    size = path.stat().st_size
    if size == 0:
        raise PdfRejected(RejectReason.EMPTY, "file has 0 bytes")
    if size > limits.max_bytes:
        raise PdfRejected(RejectReason.TOO_LARGE, f"{size} bytes > limit {limits.max_bytes}")
    with path.open("rb") as handle:
        head = handle.read(_MAGIC_WINDOW)
    if PDF_MAGIC not in head:
        raise PdfRejected(RejectReason.NOT_A_PDF, "no %PDF- header in the first 1024 bytes")


def _needs_user_password(reader: pypdf.PdfReader) -> bool:
    """True when the empty string is not the user password.

    pypdf's and pdfminer's `decrypt("")` also accept an empty *owner* password, which would open a
    file its author protected with a user password; we honour the author's intent instead.
    """
    enc = reader._encryption
    if enc is None:
        return False
    if enc.V >= 5:
        key = AlgV5.verify_user_password(enc.R, b"", enc.values.U, enc.values.UE)
    else:
        key = AlgV4.verify_user_password(
            b"",
            enc.R,
            enc.Length,
            enc.values.O,
            enc.values.U,
            enc.P,
            enc.id1_entry,
            enc.EncryptMetadata,
        )
    return not key


def _pdf_version(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(_MAGIC_WINDOW)
    found = re.search(rb"%PDF-(\d\.\d)", head)
    return found.group(1).decode() if found else None


def _open_error(error: Exception) -> PdfRejected:
    """Map a parser exception to a reason code.

    pdfminer raises an exception with an empty message for a wrong or missing password.
    """
    if isinstance(error, RecursionError):
        return PdfRejected(RejectReason.CORRUPT, "object structure nests too deeply")
    if isinstance(error, MemoryError):
        return PdfRejected(RejectReason.RESOURCE_LIMIT, "memory limit reached while parsing")
    cause = error.__cause__ or error.__context__
    names = {type(error).__name__, type(cause).__name__ if cause else ""}
    if "PDFPasswordIncorrect" in names or (names & {"PdfminerException"} and not str(error)):
        return PdfRejected(RejectReason.ENCRYPTED, "cannot be opened without a password")
    return PdfRejected(RejectReason.CORRUPT, f"unreadable PDF structure ({type(error).__name__})")


def inspect_pdf(path: Path, limits: PdfLimits, password: str | None = None) -> PdfProperties:
    """Validate a stored file as a readable PDF; raise `PdfRejected` with a reason code if not.

    `password` is a site-supplied user password for this document (see `PasswordMap`)."""
    check_file_header(path, limits)
    return run_limited(_inspect_in_child, (str(path), limits.max_pages, password), limits)


def _inspect_in_child(path_name: str, max_pages: int, password: str | None) -> PdfProperties:
    path = Path(path_name)
    try:
        reader = pypdf.PdfReader(path)
        protected = reader.is_encrypted and _needs_user_password(reader)
        if protected and password is not None:
            protected = not reader.decrypt(password)
    except NotImplementedError:  # an encryption algorithm pypdf does not implement
        protected = True
    except Exception:  # pypdf is stricter than pdfminer on damaged files; pdfplumber decides
        protected = False
    if protected:
        detail = "the supplied password does not open it" if password else "a password is required"
        raise PdfRejected(RejectReason.ENCRYPTED, detail)
    try:
        with pdfplumber.open(path, password=password or "") as pdf:
            pages = len(pdf.pages)
            producer = pdf.metadata.get("Producer")
    except Exception as error:
        raise _open_error(error) from None
    if pages == 0:
        raise PdfRejected(RejectReason.NO_PAGES, "the document opens with 0 pages")
    if pages > max_pages:
        raise PdfRejected(RejectReason.TOO_LARGE, f"{pages} pages > limit {max_pages}")
    return PdfProperties(
        pages=pages,
        pdf_version=_pdf_version(path),
        producer=producer[:200] if isinstance(producer, str) else None,
    )


def text_quality(text: str) -> float:
    """Share of the words (2+ letters) that are English dictionary words; 0 for no words.

    A garbage OCR layer ("PatientSelnDet,h as adhuittd") scores about 0.2, real clinical text
    0.9 or more (pyspellchecker's English frequency list knows common medical words)."""
    words = [match.group().lower() for match in _WORDLIKE.finditer(text)]
    if not words:
        return 0.0
    known = english_words()
    return round(sum(1 for word in words if word in known) / len(words), 3)


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def extract_pages(
    path: Path,
    limits: PdfLimits,
    *,
    ocr: bool = True,
    password: str | None = None,
    pages: int = 0,
) -> list[PageText]:
    """Per-page text (and tables) with pdfplumber; pages without usable text go through OCR.

    The wall-clock budget is `timeout_seconds`, plus `ocr_seconds_per_page` for each of the
    document's `pages` when OCR may run (a long scan legitimately takes minutes)."""
    use_ocr = ocr and ocr_available()
    budget = limits.timeout_seconds + (limits.ocr_seconds_per_page * pages if use_ocr else 0)
    arguments = (str(path), use_ocr, password or "")
    return run_limited(
        _extract_in_child, arguments, limits.model_copy(update={"timeout_seconds": budget})
    )


def _extract_in_child(path_name: str, use_ocr: bool, password: str) -> list[PageText]:
    try:
        with pdfplumber.open(path_name, password=password) as pdf:
            pages = [_read_page(page, number) for number, page in enumerate(pdf.pages, start=1)]
    except Exception as error:
        raise _open_error(error) from None
    return [
        _ocr_page(path_name, page, use_ocr, password) if _needs_ocr(page) else page
        for page in pages
    ]


def _read_page(page: Any, number: int) -> PageText:
    try:
        text, tables = _text_with_tables(page)
    except Exception as error:
        return PageText(
            page=number,
            text="",
            method="none",
            quality=0.0,
            error=f"text layer unreadable ({type(error).__name__})",
        )
    return PageText(
        page=number, text=text, method="text_layer", quality=text_quality(text), tables=tables
    )


def text_unusable(page: PageText) -> bool:
    """Too little text, or mostly not words: OCR is tried; after OCR, a vision model may be."""
    return len(page.text.strip()) < MIN_TEXT_CHARS or page.quality < MIN_TEXT_QUALITY


def _text_with_tables(page: Any) -> tuple[str, list[list[list[str | None]]]]:
    """The page's text with each table the table finder sees written one row per line, cells
    between bars ('| Penicillin | Hives | Active |'), so that rules and LLMs downstream know
    which words share a row and a column; text outside tables reads as pdfplumber writes it,
    except that words printed a column apart keep a tab between them (`with_column_gaps`) and
    a block printed apart from the one above starts after a blank line (`with_blank_lines`).

    A cell wrapped over lines is joined with spaces; a cell covered by a spanning neighbour is
    written empty, so every row of a table has its columns in the same places. A table inside
    another is part of the outer one. A form's grid of boxes (numbered, or each captioned in a
    font of its own) is no table: each box is written as its label and its own lines."""
    found = [table for table in page.find_tables() if table.bbox]
    tables = [t for t in found if not any(o is not t and _inside(t.bbox, o.bbox) for o in found)]
    loose = [_loose_columns(table, page.extract_words()) for table in tables]
    rows = [
        [[cell for index, cell in enumerate(row) if index not in apart] for row in table.extract()]
        for table, apart in zip(tables, loose, strict=True)
    ]

    def outside_tables(obj: dict) -> bool:
        box = (obj.get("x0", 0), obj.get("top", 0), obj.get("x1", 0), obj.get("bottom", 0))
        return not any(
            _inside(box, table.bbox)
            and not any(
                _inside(box, (column.bbox[0], table.bbox[1], column.bbox[2], table.bbox[3]))
                for index, column in enumerate(table.columns)
                if index in apart
            )
            for table, apart in zip(tables, loose, strict=True)
        )

    text_page = page.filter(outside_tables) if tables else page
    regions = reading_regions(
        text_page.extract_words(extra_attrs=["fontname", "size"]),
        [dict(zip(("x0", "top", "x1", "bottom"), table.bbox, strict=True)) for table in tables],
    )
    placed = [
        (index, Piece(line["top"], line["bottom"], max(c["size"] for c in line["chars"]), text))
        for index, region in enumerate(regions)
        for line in with_column_gaps(
            (text_page.filter(region.holds) if len(regions) > 1 else text_page).get_textmap()
        ).extract_text_lines()
        if (text := line["text"]).strip()
    ]
    placed += [
        (_region_of(table.bbox, regions), Piece(table.bbox[1], table.bbox[3], None, text))
        for table, cells in zip(tables, rows, strict=True)
        if (
            text := _box_lines(cells)
            if _is_boxed_form(cells) or _has_labelled_boxes(page, table)
            else _text_box_lines(cells)
            if _is_text_boxes(cells)
            else _table_lines(cells)
        )
    ]
    placed.sort(key=lambda item: (item[0], item[1].top))
    return with_blank_lines([piece for _, piece in placed]), rows


def _loose_columns(table: Any, words: list[dict]) -> set[int]:
    """The columns of a table that hold words none of its cells holds and have a cell in fewer
    than half its rows: a page laid out in columns, one of which the table finder joined to a
    ruled table beside it ('Problem List' items left of the 'Current Medications' table). Their
    words are read as text, not lost."""
    boxes = [(word["x0"], word["top"], word["x1"], word["bottom"]) for word in words]
    lost = [
        box
        for box in boxes
        if _inside(box, table.bbox) and not any(_inside(box, cell) for cell in table.cells)
    ]
    return {
        index
        for index, column in enumerate(table.columns)
        # (a column of the page's layout has few cells: a word a table's cell lets overflow is
        # no reason to take its column apart)
        if sum(cell is None for cell in column.cells) > len(column.cells) / 2
        and any(column.bbox[0] <= (box[0] + box[2]) / 2 <= column.bbox[2] for box in lost)
    }


def _region_of(box: tuple, regions: list[Region]) -> int:
    """The index of the region holding a table's box (its centre)."""
    centre = {"x0": box[0], "top": box[1], "x1": box[2], "bottom": box[3]}
    return next((index for index, region in enumerate(regions) if region.holds(centre)), 0)


def _inside(box: tuple, outer: tuple, slack: float = 1.0) -> bool:
    return (
        box[0] >= outer[0] - slack
        and box[1] >= outer[1] - slack
        and box[2] <= outer[2] + slack
        and box[3] <= outer[3] + slack
    )


def _table_lines(rows: list[list[str | None]]) -> str:
    lines = []
    for row in rows:
        cells = [" ".join((cell or "").split()) for cell in row]
        if any(cells):
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# A form's numbered box: its label, then what is filled in ('10. Allergies', '14. Other Pertinent
# Diagnoses (ICD-10)', '18.A Functional Limitations').
NUMBERED_BOX = re.compile(r"^\d{1,2}(?:\.[A-Z]?\.?|[A-Z]\.?)[ \t]+\S")
MIN_NUMBERED_BOXES = 4


def _is_boxed_form(rows: list[list[str | None]]) -> bool:
    """A grid of numbered boxes (a plan of care, a transfer form), not a table of rows: most
    filled cells open with their box's number."""
    filled = [cell for row in rows for cell in row if cell and cell.strip()]
    numbered = [cell for cell in filled if NUMBERED_BOX.match(cell)]
    return len(numbered) >= MIN_NUMBERED_BOXES and len(numbered) >= 0.6 * len(filled)


MAX_FORM_BOXES = 40  # a form's boxes are few; a table of results has many cells


def _has_labelled_boxes(page: Any, table: Any) -> bool:
    """A grid of boxes each opening with a label line in a font of its own (a form's bold
    caption over what is filled in: 'Allergies' / 'Bee stings - anaphylaxis'), not numbered."""
    cells = [cell for cell in table.cells if cell]
    if len(cells) > MAX_FORM_BOXES:
        return False
    chars = [
        c for c in page.chars if _inside((c["x0"], c["top"], c["x1"], c["bottom"]), table.bbox)
    ]
    filled = labelled = 0
    for cell in cells:
        held = [c for c in chars if _inside((c["x0"], c["top"], c["x1"], c["bottom"]), cell)]
        if not held:
            continue
        filled += 1
        first_top = min(c["top"] for c in held)
        first = {c["fontname"] for c in held if c["top"] - first_top < 1 and c["text"].strip()}
        rest = {c["fontname"] for c in held if c["top"] - first_top >= 2 and c["text"].strip()}
        labelled += bool(rest) and not first & rest
    return labelled >= MIN_NUMBERED_BOXES and labelled >= 0.6 * filled


def _box_lines(rows: list[list[str | None]]) -> str:
    """Each box of a form as its lines, a blank line between boxes: the items of a box
    ('11. Medications' one drug a line) stay apart, where a table's cell is joined into one;
    the first line is the box's label."""
    boxes = []
    for cell in (cell for row in rows for cell in row if cell and cell.strip()):
        label, *filled = [" ".join(line.split()) for line in cell.splitlines() if line.strip()]
        if filled and ":" not in label:
            label += ":"  # its label, as a field's ('2. Start Of Care Date: 07/01/2024')
        boxes.append("\n".join([label, *filled]))
    return "\n\n".join(boxes)


MAX_TEXT_BOX_COLUMNS = 3
MIN_BOX_LINES = 3  # a table's cells wrap over two lines often ('Mother (deceased,\n84)')
MAX_BOX_ROWS = 2  # a form has a row or two of such boxes; a table has many rows


def _cell_lines(cell: str | None) -> list[str]:
    return [" ".join(line.split()) for line in (cell or "").splitlines() if line.strip()]


def _is_text_boxes(rows: list[list[str | None]]) -> bool:
    """Boxes of text side by side, not a table of rows: at most three columns, one or two rows of
    boxes of three lines or more each ('1. Acute on chronic heart failure ...' / '2. Atrial
    fibrillation ...', a box of follow-up orders one a line) or one-line captions over the
    boxes of the next row ('DISCHARGE DIAGNOSES | ALLERGIES / INTOLERANCES'). A table of labels
    and values has rows of one-line cells one after another, or a one-line label beside a
    wrapped value."""
    if max(len(row) for row in rows) > MAX_TEXT_BOX_COLUMNS:
        return False
    kinds = []
    for row in rows:
        counts = [len(_cell_lines(cell)) for cell in row if cell and cell.strip()]
        if not counts:
            continue
        if min(counts) >= MIN_BOX_LINES:
            kinds.append("boxes")
        elif max(counts) == 1:
            kinds.append("captions")
        else:
            return False
    return (
        0 < kinds.count("boxes") <= MAX_BOX_ROWS
        and kinds[-1] == "boxes"
        and not any(a == b == "captions" for a, b in itertools.pairwise(kinds))
    )


def _text_box_lines(rows: list[list[str | None]]) -> str:
    """Each box's lines under its caption (with a colon, as a field's label), a blank line
    between boxes, left to right and row by row."""
    boxes, captions = [], []
    for row in rows:
        lines = [_cell_lines(cell) for cell in row]
        if not any(lines):
            continue
        if max(len(cell) for cell in lines) == 1:
            captions = [cell[0] if cell else "" for cell in lines]
            continue
        for index, cell in enumerate(lines):
            caption = captions[index] if index < len(captions) else ""
            if caption and not caption.endswith(":"):
                caption += ":"
            if cell:
                boxes.append("\n".join([caption, *cell] if caption else cell))
        captions = []
    return "\n\n".join(boxes)


def _needs_ocr(page: PageText) -> bool:
    return page.method != OCR_METHOD and text_unusable(page)


OCR_DPI = 300


def _ocr_page(path_name: str, page: PageText, use_ocr: bool, password: str) -> PageText:
    """OCR one page with Tesseract; keep the text layer if OCR does not do better."""
    if not use_ocr:
        return page.model_copy(
            update={
                "error": "no usable text layer and OCR is not available (install tesseract-ocr)"
            }
        )
    import pypdfium2
    import pytesseract

    document = pypdfium2.PdfDocument(path_name, password=password or None)
    try:
        image = document[page.page - 1].render(scale=OCR_DPI / 72, grayscale=True).to_pil()
    finally:
        document.close()
    data = pytesseract.image_to_data(without_rules(image), output_type=pytesseract.Output.DICT)
    text, confidence = _ocr_lines(data)
    quality = text_quality(text)
    if len(text.strip()) < MIN_TEXT_CHARS or quality <= page.quality:
        if page.text.strip():
            return page.model_copy(update={"error": "low-quality text layer; OCR did no better"})
        return page.model_copy(update={"error": "no usable text found by text layer or OCR"})
    review = (
        "OCR text of low quality (handwriting?): review" if quality < MIN_TEXT_QUALITY else None
    )
    return PageText(
        page=page.page,
        text=text,
        method=OCR_METHOD,
        quality=quality,
        ocr_confidence=confidence,
        error=review,
    )


# A table's ruling: a dark run longer than any glyph (at OCR_DPI, 10-point text is ~40 px tall).
RULE_PIXELS = {"across": 150, "down": 100}
DARK = 128


def without_rules(image: Any) -> Any:
    """The page image with a table's ruling lines whitened, when it has a grid (lines across and
    down). Tesseract reads a ruled table cell by cell, column after column (every result of a
    scanned ruled lab report was lost); without the lines it reads the table row by row."""
    import numpy
    from PIL import Image

    pixels = numpy.asarray(image.convert("L")).copy()
    dark = pixels < DARK
    across = _long_runs(dark, RULE_PIXELS["across"])
    down = _long_runs(dark.T, RULE_PIXELS["down"]).T
    if _lines(across.any(axis=1)) < 2 or _lines(down.any(axis=0)) < 2:
        return image  # no grid: lined paper or a pen's stroke is left as it is
    pixels[across | down] = 255
    return Image.fromarray(pixels)


def _lines(marked: Any) -> int:
    """How many separate lines the marked rows (or columns) make."""
    import numpy

    positions = numpy.flatnonzero(marked)
    return 0 if positions.size == 0 else 1 + int((numpy.diff(positions) > RULE_GAP).sum())


RULE_GAP = 5  # pixels between two rules; a thick rule's rows are one line


def _long_runs(dark: Any, length: int) -> Any:
    """Pixels of each row lying in a run of at least `length` dark pixels."""
    import numpy

    if dark.shape[1] < length:
        return numpy.zeros_like(dark)
    sums = numpy.cumsum(numpy.pad(dark, ((0, 0), (1, 0))), axis=1, dtype=numpy.int32)
    full = (sums[:, length:] - sums[:, :-length]) == length  # a dark window starts here
    starts = numpy.pad(full, ((0, 0), (length - 1, length - 1))).astype(numpy.int32)
    covering = numpy.cumsum(numpy.pad(starts, ((0, 0), (1, 0))), axis=1)
    return (covering[:, length:] - covering[:, :-length]) > 0  # a window covers the pixel


def _ocr_lines(data: dict[str, list[Any]]) -> tuple[str, float]:
    """Rebuild lines from Tesseract's word boxes; mean word confidence in 0..1."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    for index, word in enumerate(data["text"]):
        if not str(word).strip():
            continue
        key = (data["block_num"][index], data["par_num"][index], data["line_num"][index])
        lines.setdefault(key, []).append(str(word))
        confidences.append(float(data["conf"][index]))
    text = "\n".join(" ".join(words) for _, words in sorted(lines.items()))
    mean = sum(confidences) / len(confidences) / 100 if confidences else 0.0
    return text, round(mean, 3)


# Parser children are forked from a server process that imported this module once, instead of
# each starting an interpreter that re-imports the PDF stack: 0.15 s a child instead of 0.6 s on a
# busy 2-core machine. (A child still imports the parent's main module, as with "spawn": keep the
# top level of scripts that parse PDFs light.)
_CHILDREN = multiprocessing.get_context("forkserver")
_CHILDREN.set_forkserver_preload([__name__])


def run_limited(function: Callable[..., Any], args: tuple[Any, ...], limits: PdfLimits) -> Any:
    """Run `function(*args)` in a child process with a wall-clock and address-space limit.

    The child reports ("ok", value) or ("rejected", reason, detail); a child that overruns is
    killed (`timeout`), one that dies or runs out of memory is `resource_limit`.
    """
    receiver, sender = _CHILDREN.Pipe(duplex=False)
    child = _CHILDREN.Process(
        target=_child_main, args=(sender, function, args, limits.memory_mb), daemon=True
    )
    child.start()
    sender.close()
    try:
        if not receiver.poll(limits.timeout_seconds):
            raise PdfRejected(
                RejectReason.TIMEOUT, f"parsing took longer than {limits.timeout_seconds:g} s"
            )
        try:
            outcome = receiver.recv()
        except EOFError:
            raise PdfRejected(
                RejectReason.RESOURCE_LIMIT, "the parser process died (memory or crash)"
            ) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if outcome[0] == "ok":
        return outcome[1]
    raise PdfRejected(RejectReason(outcome[1]), outcome[2])


def _child_main(sender: Any, function: Callable[..., Any], args: tuple[Any, ...], memory_mb: int):
    limit = memory_mb * 1024 * 1024
    # Tesseract's OpenMP threads fight over shared cores: one thread read an OCR page in 4.5 s
    # instead of 24 s with two runs at once on 2 cores (the text is the same).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are noise for damaged files
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        sender.send(("ok", function(*args)))
    except PdfRejected as rejected:
        sender.send(("rejected", rejected.reason.value, rejected.detail))
    except MemoryError:
        sender.send(("rejected", RejectReason.RESOURCE_LIMIT.value, "memory limit reached"))
    except Exception as error:
        rejected = _open_error(error)
        sender.send(("rejected", rejected.reason.value, rejected.detail))
    finally:
        sender.close()


class PasswordMap(BaseModel):
    """Site-supplied passwords for encrypted PDFs, keyed by doc_id or full sha256.

    Read from a JSON object file kept outside the repository (e.g. a mounted secret); its path is
    configured, never the passwords themselves."""

    passwords: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | None) -> "PasswordMap":
        if not path:
            return cls()
        return cls(passwords=json.loads(Path(path).read_text(encoding="utf-8")))

    def password_for(self, doc_id: str, sha256: str) -> str | None:
        return self.passwords.get(sha256) or self.passwords.get(doc_id)
