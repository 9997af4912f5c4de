"""How a table header's columns line up with rows that may carry extra empty edge columns.

The table finder may give a table, or its later pages, extra columns empty in every row at
either edge ('|  | 1/2/2013 | Biopsy |  |'). Used by the chunker (may a chunk's rows be read
under their section's header?) and by the offline table reader (which cells are which column).
A leaf module: importing it imports nothing else of the package.
"""


def header_offset(rows: list[list[str]], width: int) -> int | None:
    """The first of `width` consecutive columns holding every filled cell of `rows` (cell texts),
    the leading empty columns cut first; None when the rows have nothing filled, are narrower
    than the header, or are wider by more than empty edge columns."""
    filled = sorted({i for row in rows for i, cell in enumerate(row) if cell})
    extra = max((len(row) for row in rows), default=0) - width
    if not filled or extra < 0:
        return None
    first = min(filled[0], extra)
    return first if filled[-1] < first + width else None
