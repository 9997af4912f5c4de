"""What a text-layer page shows of its layout, kept in its text: pdfplumber joins a line's words
with one space however far apart and writes no blank lines, so a column printed apart ('Lisinopril
10 mg daily   D/C') or a list ended by white space would reach the rules without what marks it.
Words a column apart get a tab (`with_column_gaps`), blocks apart a blank line
(`with_blank_lines`), as in text that keeps its spacing. Used by `pdf.py` on each page.
"""

import bisect
import itertools
import math
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
        if above.size and below.size and below.top >= above.top
    ]
    usual = min(statistics.median_low(spacing), MAX_USUAL_SPACING_EMS) if spacing else 0.0
    lines = [pieces[0].text] if pieces else []
    for above, below in itertools.pairwise(pieces):
        size = above.size or below.size
        if below.top < above.top or (  # the next column of a band printed in two
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


class Region(NamedTuple):
    """A part of a page read as one flow of text: a band across the page, or one column of a
    band printed in two."""

    top: float
    bottom: float
    x0: float = -math.inf
    x1: float = math.inf

    def holds(self, obj: dict[str, Any]) -> bool:
        """Whether an object's centre (a char, a table's box) lies in this region."""
        y = (obj["top"] + obj["bottom"]) / 2
        x = (obj["x0"] + obj["x1"]) / 2
        return self.top <= y < self.bottom and self.x0 <= x < self.x1


def reading_regions(
    words: list[dict[str, Any]], tables: list[dict[str, Any]] | None = None
) -> list[Region]:
    """The page's regions in reading order: a band printed in two columns (an after-visit
    summary's 'Allergies' and 'Today's Diagnoses' on the left, 'Your Medication List' on the
    right) is read left column first, then right; the rest of the page top to bottom.

    pdfplumber writes a line across the page, so two columns side by side reach the rules
    interleaved line by line ('Penicillin - hives<tab>Metformin 1000 mg ...' under
    'Allergies<tab>Your Medication List') and the left column's headings govern the right's text.
    A band is two columns when a vertical gutter `GUTTER_POINTS` wide, away from the text's
    edges, crosses no word nor table of it, and its sides read as two flows of text
    (`_flows_apart`), not as a table printed without rules or a column of labels."""
    if not words:
        return [Region(-math.inf, math.inf)]
    body_size = statistics.median(word["size"] for word in words)
    split = _two_column_band(words, tables or [], body_size)
    if split is None:
        return [Region(-math.inf, math.inf)]
    top, bottom, gutter = split
    above = [word for word in words if _middle(word) < top]
    below = [word for word in words if _middle(word) >= bottom]
    return [
        *(Region(r.top, min(r.bottom, top), r.x0, r.x1) for r in reading_regions(above, tables)),
        Region(top, bottom, -math.inf, gutter),
        Region(top, bottom, gutter, math.inf),
        *(Region(max(r.top, bottom), r.bottom, r.x0, r.x1) for r in reading_regions(below, tables)),
    ]


GUTTER_POINTS = 12.0
GUTTER_SPAN = (0.25, 0.75)  # where across the text a gutter may lie
GUTTER_STEP_POINTS = 2.0
MIN_COLUMN_LINES = 3
STYLED_SIZE_RATIO = 1.15  # a heading printed larger than the body text
BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)


def _middle(word: dict[str, Any]) -> float:
    return (word["top"] + word["bottom"]) / 2


def _two_column_band(
    words: list[dict[str, Any]], tables: list[dict[str, Any]], body_size: float
) -> tuple[float, float, float] | None:
    """(top, bottom, gutter x) of the band with the most words that is printed in two
    columns, or None; a gutter crossing a table's box (`tables`) ends a band there."""
    words = sorted(words, key=_middle)
    middles = [_middle(word) for word in words]
    left_edge, right_edge = min(w["x0"] for w in words), max(w["x1"] for w in words)
    width = right_edge - left_edge
    best: tuple[int, tuple[float, float, float]] | None = None
    x = left_edge + GUTTER_SPAN[0] * width
    while x <= left_edge + GUTTER_SPAN[1] * width:
        for top, bottom in _free_bands([*words, *tables], x):
            band = words[bisect.bisect_left(middles, top) : bisect.bisect_left(middles, bottom)]
            if (
                len(band) >= 2 * MIN_COLUMN_LINES
                and (best is None or len(band) > best[0])
                and _flows_apart(band, x, body_size)
            ):
                best = (len(band), (top, bottom, x))
        x += GUTTER_STEP_POINTS
    return best[1] if best else None


def _free_bands(words: list[dict[str, Any]], x: float) -> list[tuple[float, float]]:
    """The bands (top, bottom) between the lines a gutter at `x` would cross, top to bottom."""
    half = GUTTER_POINTS / 2
    crossed = sorted((w["top"], w["bottom"]) for w in words if w["x0"] - half < x < w["x1"] + half)
    free_top, bands = -math.inf, []
    for top, bottom in [*crossed, (math.inf, math.inf)]:
        if top > free_top:
            bands.append((free_top, top))
        free_top = max(free_top, bottom)
    return bands


class _SideLine(NamedTuple):
    top: float
    bottom: float
    heading: bool  # a few words, all bold or larger than the body text
    cells: bool  # words a column apart in it: a row of a table

    def beside(self, other: "_SideLine") -> bool:
        return min(self.bottom, other.bottom) > max(self.top, other.top)


def _flows_apart(band: list[dict[str, Any]], gutter: float, body_size: float) -> bool:
    """Whether the two sides of a band read as two flows of text (see `reading_regions`): on
    one side a heading with body text under it, the heading beside body text of the other side
    off its baseline, the body text under it beside text of the other side. A table's heading
    row spans its columns, its rows share their baselines, and a label column holds labels
    one under another. So at least half the lines beside the other side's must be off their
    baselines, and at most half a side's lines rows of cells a column apart (a column may hold
    a table: a skin-prick test table beside a letter's text)."""
    sides = [
        _side_lines([w for w in band if w["x1"] <= gutter], body_size),
        _side_lines([w for w in band if w["x0"] >= gutter], body_size),
    ]
    if any(
        len(lines) < MIN_COLUMN_LINES
        or sum(line.cells for line in lines) > MAX_TABULAR_SHARE * len(lines)
        for lines in sides
    ):
        return False
    beside = [
        any(line.beside(o) and abs(line.bottom - o.bottom) <= BASELINE_POINTS for o in other)
        for side, other in (sides, sides[::-1])
        for line in side
        if any(line.beside(o) for o in other)
    ]
    if beside.count(False) < MIN_OFF_BASELINE_SHARE * len(beside):
        return False  # rows of a table
    return any(
        heading.heading
        and not heading.cells  # 'Midbody Pattern  1:160  High': an abnormal result in bold
        and not under.heading
        and any(
            heading.beside(o) and not o.heading and abs(heading.bottom - o.bottom) > BASELINE_POINTS
            for o in other
        )
        and any(under.beside(o) for o in other)
        for side, other in (sides, sides[::-1])
        for heading, under in itertools.pairwise(side)
    )


BASELINE_POINTS = 1.5
MAX_TABULAR_SHARE = 0.5  # of a side's lines with cells a column apart: more, and it is a table
MIN_OFF_BASELINE_SHARE = 0.5  # of the lines beside the other side's, off their baselines


def _side_lines(words: list[dict[str, Any]], body_size: float) -> list[_SideLine]:
    lines: list[list[dict[str, Any]]] = []
    for word in sorted(words, key=lambda w: w["top"]):
        if lines and word["top"] < lines[-1][0]["bottom"] - 0.5 * word["size"]:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [
        _SideLine(
            min(w["top"] for w in line),
            max(w["bottom"] for w in line),
            len(line) <= MAX_HEADING_WORDS
            and all(
                BOLD_FONT.search(w["fontname"]) or w["size"] >= STYLED_SIZE_RATIO * body_size
                for w in line
            ),
            any(
                after["x0"] - before["x1"] >= COLUMN_GAP_EMS * before["size"]
                for before, after in itertools.pairwise(sorted(line, key=lambda w: w["x0"]))
            ),
        )
        for line in lines
    ]
