"""What a text-layer page shows of its layout, kept in its text: pdfplumber joins a line's words
with one space however far apart and writes no blank lines, so a column printed apart ('Lisinopril
10 mg daily   D/C') or a list ended by white space would reach the rules without what marks it.
Words a column apart get a tab (`with_column_gaps`), blocks apart a blank line
(`with_blank_lines`), as in text that keeps its spacing. Used by `pdf.py` on each page.
"""

import itertools
import re
import statistics
from typing import Any, NamedTuple

from pdfplumber.utils.text import TextMap

BLANK_LINE_EMS = 0.6
"""How much wider than the page's usual spacing of lines a gap between two lines is where
the text had a blank line: fpdf's 0.6-line break between paragraphs measures 0.75 em beyond
its lines' 0.5."""
MAX_USUAL_SPACING_EMS = 0.5  # a page of a few blocks apart has no usual spacing to learn
COLUMN_GAP_EMS = 1.0
NARROW_COLUMN_GAP_EMS = 0.45
COLUMN_GAP_RATIO = 1.8
"""Where words on a line are in different columns (`with_column_gaps`). Measured on the corpus's
text-layer PDFs: words of prose sit 0.2-0.4 em apart (0.6 in Courier, whose space is 0.6 em; up
to 0.9 where fpdf justifies a line, every gap of the line alike); cells of an HTML table
Chromium printed without rules 1.3 em or more; two Courier spaces are 1.2 em, two Helvetica
spaces 0.56 em beside single ones of 0.28."""


def _is_heading(line: str) -> bool:
    """A label ending in a colon, a line in capitals ('TEST RESULT FLAG UNITS REFERENCE
    INTERVAL') or a short title ('Assessment & Plan', 'Review of Systems')."""
    line = line.strip()
    words = line.split()
    return (
        line.endswith(":")
        or (line.isupper() and "|" not in line)
        or (
            len(words) <= MAX_HEADING_WORDS
            and "\t" not in line
            and all(word[0].isupper() or word.lower() in TITLE_JOINERS for word in words)
        )
    )


MAX_HEADING_WORDS = 6
TITLE_JOINERS = frozenset({"of", "and", "or", "the", "for", "to", "in", "on", "with", "&", "/"})


class Piece(NamedTuple):
    top: float
    bottom: float
    size: float | None  # the font size of a line of text; None for a table
    text: str


def with_blank_lines(pieces: list[Piece]) -> str:
    """The pieces' text one per line, with a blank line where a piece starts `BLANK_LINE_EMS`
    further below the one above than the page's usual spacing of lines, as text that keeps
    its blank lines has them between blocks. A heading's margin is none: what a title or a
    label heads ('Denies:', 'ALLERGIES', 'Assessment & Plan') follows it on the next line."""
    spacing = [
        (below.top - above.bottom) / above.size
        for above, below in itertools.pairwise(pieces)
        if above.size and below.size
    ]
    usual = min(statistics.median_low(spacing), MAX_USUAL_SPACING_EMS) if spacing else 0.0
    lines = [pieces[0].text] if pieces else []
    for above, below in itertools.pairwise(pieces):
        size = above.size or below.size
        if (
            size
            and below.top - above.bottom >= (usual + BLANK_LINE_EMS) * size
            and not _is_heading(above.text)
        ):
            lines.append("")
        lines.append(below.text)
    return "\n".join(lines)


def with_column_gaps(textmap: TextMap) -> TextMap:
    """pdfplumber's text with each space it put between two words printed a column apart made
    a tab, so that a column printed apart on a line without ruling ('Lisinopril 10 mg daily
    D/C' with the status far right) stays a column for the rules downstream, as it does in text
    that keeps its spacing.

    A gap is a column's when it is `COLUMN_GAP_EMS` wide, or at least `NARROW_COLUMN_GAP_EMS`
    and `COLUMN_GAP_RATIO` times the narrowest gap of its line ('Platelets  03/11/2025  241
    K/uL': two spaces among single ones). A justified line widens all its gaps alike, so its
    prose keeps its spaces. Under a heading row of short labels ('Medication  Dose  Action
    Comments'), a word starting where a label starts starts that column however narrow its gap
    ('Discontinue replaced by ...': a full cell and the comment after it)."""
    marked = list(textmap.tuples)
    heading: _Line | None = None  # the last heading row, while its rows follow
    columns: list[float] = []  # where its cells start
    for line in _lines_of(marked):
        narrowest = min((gap for _, gap, _ in line.spaces), default=0.0)
        for space, gap, x0 in line.spaces:
            if (
                gap >= COLUMN_GAP_EMS
                or (
                    len(line.spaces) > 1
                    and gap >= NARROW_COLUMN_GAP_EMS
                    and gap >= COLUMN_GAP_RATIO * narrowest
                )
                or _starts_at(x0, columns)
            ):
                marked[space] = ("\t", None)
        cell_starts = [x0 for space, _, x0 in line.spaces if marked[space][0] == "\t"]
        cells = "".join(text for text, _ in marked[line.start : line.end]).split("\t")
        if len(cells) >= MIN_HEADING_CELLS and all(HEADING_CELL.fullmatch(c) for c in cells):
            heading, columns = line, [line.x0, *cell_starts]
        elif heading and (cell_starts or _starts_at(line.x0, columns[1:]) or line.x1 < columns[1]):
            # a row: a label of the heading over one of its cells starts a column of its own
            # ('Route Frequency' over 'PO' and 'BID')
            for space, _, x0 in heading.spaces:
                if marked[space][0] == " " and _starts_at(x0, cell_starts):
                    marked[space] = ("\t", None)
                    columns.append(x0)
        else:  # a line of its own, not a row nor a cell wrapped in its column
            heading, columns = None, []
    return TextMap(marked, textmap.line_dir_render, textmap.char_dir_render)


MIN_HEADING_CELLS = 3
HEADING_CELL = re.compile(r"[A-Za-z][A-Za-z/&.()#-]*(?: [A-Za-z/&.()#-]+){0,2}")
COLUMN_ALIGN_POINTS = 1.5


def _starts_at(x0: float, starts: list[float]) -> bool:
    return any(abs(x0 - start) <= COLUMN_ALIGN_POINTS for start in starts)


class _Line(NamedTuple):
    start: int
    end: int
    x0: float  # where its first character starts
    x1: float  # where its last one ends
    spaces: list[tuple[int, float, float]]  # (index, gap in ems, where the next word starts)


def _lines_of(tuples: list[tuple[str, Any]]) -> list[_Line]:
    lines: list[_Line] = []
    start = 0
    spaces: list[tuple[int, float, float]] = []
    for index, (text, char) in enumerate([*tuples, ("\n", None)]):
        if text == "\n" and char is None:
            chars = [c for _, c in tuples[start:index] if c is not None]
            if chars:
                lines.append(_Line(start, index, chars[0]["x0"], chars[-1]["x1"], spaces))
            start, spaces = index + 1, []
        elif (gap := _word_gap(tuples, index)) is not None:
            spaces.append((index, gap, tuples[index + 1][1]["x0"]))
    return lines


def _word_gap(tuples: list[tuple[str, Any]], index: int) -> float | None:
    """The width in ems of the gap a space pdfplumber put between two upright words stands
    for; None for any other character."""
    text, char = tuples[index]
    if text != " " or char is not None or not 0 < index < len(tuples) - 1:
        return None
    before, after = tuples[index - 1][1], tuples[index + 1][1]
    if before is None or after is None or not (before["upright"] and after["upright"]):
        return None
    return (after["x0"] - before["x1"]) / max(before["size"], 1.0)
