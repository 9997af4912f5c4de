"""Section-aware, token-sized, overlapping chunks of a document's text.

The document text is the pages' text joined by a blank line; every offset in the pipeline
(chunks, grounding evidence, FHIR derivation extensions) is an offset into that one string.
A chunk is a contiguous span `text[start:end]`, so its own offsets map back without bookkeeping.

A section heading is a line in capitals (`MEDICATIONS`, `VITAL SIGNS:`), a line ending in a colon
(`Plan:`), a table's caption row printing one (`| HOME MEDICATIONS / STATUS AT TRANSFER |  |`), or
a short line in Title Case followed by content (`Procedures`, `Vital Signs`).
"""

import itertools
import re
from functools import cache

from bpe_openai import Encoding, get_encoding
from pydantic import BaseModel, Field

from medpipeline.pdf import PageText
from medpipeline.table_columns import header_offset

PAGE_SEPARATOR = "\n\n"
TOKENIZER = "o200k_base"
_HEADING = re.compile(
    r"^\s*(?:[A-Z][A-Z0-9 /&,()'-]{2,60}:?|[A-Z][A-Za-z /&()'-]{2,40}:)\s*(?:$|(?<=:))"
)
_CAPTION_ROW = re.compile(r"^[ \t]*\|[ \t]*(?P<cell>[^|\n]*?)[ \t]*\|(?:[ \t]*\|)*[ \t]*\n?$")
_TITLE_WORD = r"(?:[A-Z][A-Za-z'()-]*|of|and|or|the|for|to|in|on|with|&|/)"
_TITLE_CASE_HEADING = re.compile(
    rf"^[ \t]*(?=[^\n]{{3,60}}$)[A-Z][A-Za-z'()-]*(?:[ \t/]+{_TITLE_WORD}){{0,4}}[ \t]*\n?$"
)

_NOTHING_RECORDED = re.compile(r"^[ \t]*(?:No|None)\b")


class ChunkingConfig(BaseModel):
    max_tokens: int = Field(default=1500, gt=50, description="Upper bound of tokens per chunk.")
    overlap_tokens: int = Field(default=100, ge=0, description="Tokens repeated from the previous.")


class Chunk(BaseModel):
    chunk_id: str
    index: int
    start: int = Field(description="Character offset in the document text (inclusive).")
    end: int = Field(description="Character offset in the document text (exclusive).")
    pages: list[int]
    tokens: int
    starts_section: bool = Field(description="The chunk begins at a section heading.")
    text: str
    context: str = Field(
        default="",
        description="For a chunk that begins inside a section: the section's heading line and the "
        "line after it (mostly a table's header row), so the offline provider reads the chunk's "
        "rows knowing what they are. Not part of the chunk (`start`/`end` exclude it); LLM "
        "providers ignore it. Empty for a chunk that begins at a heading or before any.",
    )


@cache
def _encoding() -> Encoding:
    return get_encoding(TOKENIZER)


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text))


def join_pages(pages: list[PageText]) -> tuple[str, list[int]]:
    """The document text and the offset at which each page starts."""
    offsets, parts, position = [], [], 0
    for page in pages:
        offsets.append(position)
        parts.append(page.text)
        position += len(page.text) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(parts), offsets


def page_at(offset: int, page_offsets: list[int]) -> int:
    """1-based page number containing a document-text offset."""
    page = 1
    for number, start in enumerate(page_offsets, start=1):
        if start <= offset:
            page = number
    return page


def is_heading(line: str) -> bool:
    """A heading whatever follows it: capitals, or words ending in a colon, on a line of its own
    or as the one filled cell of a table's row (a caption: the rows below are its section's, not
    the section above's)."""
    caption = _CAPTION_ROW.match(line)
    return bool(line.strip()) and bool(_HEADING.match(caption["cell"] if caption else line))


def is_title_case_heading(line: str) -> bool:
    """At most five words, each capitalised (short linking words aside), no digits and no
    sentence punctuation: `Procedures`, `Vital Signs`, `History of Present Illness`. Such a
    line is a heading only when content follows it (see `_lines`). A line saying that nothing
    is recorded ('No Instructions Recorded', 'No Known Allergies') is a section's content."""
    return (
        bool(_TITLE_CASE_HEADING.match(line))
        and line.split()[-1][0].isupper()
        and not _NOTHING_RECORDED.match(line)
    )


class _Line(BaseModel):
    start: int
    end: int
    tokens: int
    heading: bool


def _lines(text: str, max_tokens: int) -> list[_Line]:
    """Lines with offsets; a line longer than `max_tokens` is cut at whitespace. A Title-Case
    line counts as a heading when it opens a run of such lines (the rest of a run is a list of
    names, one a line) and content follows it."""
    lines: list[_Line] = []
    for match in re.finditer(r"[^\n]*\n?", text):
        if match.start() == match.end():
            continue
        lines.extend(_split_long(text, match.start(), match.end(), max_tokens))
    written = [(line, text[line.start : line.end]) for line in lines]
    filled = [(line, content) for line, content in written if content.strip()]
    previous = ""
    for (line, content), _ in zip(
        filled, filled[1:], strict=False
    ):  # the last has no content after
        if not is_title_case_heading(previous) and is_title_case_heading(content):
            line.heading = True
        previous = content
    return lines


def _split_long(text: str, start: int, end: int, max_tokens: int) -> list[_Line]:
    tokens = count_tokens(text[start:end])
    if tokens <= max_tokens:
        return [_Line(start=start, end=end, tokens=tokens, heading=is_heading(text[start:end]))]
    cut = start + (end - start) * max_tokens // (tokens + 1)
    space = text.rfind(" ", start + 1, cut)
    cut = space + 1 if space > start else max(cut, start + 1)
    return _split_long(text, start, cut, max_tokens) + _split_long(text, cut, end, max_tokens)


def chunk_document(
    doc_id: str, text: str, page_offsets: list[int], config: ChunkingConfig
) -> list[Chunk]:
    """Greedy packing of whole lines; a new section starts a new chunk once the current chunk
    is at least half full, so sections stay together when they fit."""
    lines = _lines(text, config.max_tokens)
    groups: list[list[int]] = []
    current: list[int] = []
    current_tokens = 0
    for index, line in enumerate(lines):
        full = current_tokens + line.tokens > config.max_tokens
        section_break = line.heading and current_tokens >= config.max_tokens // 2
        if current and (full or section_break):
            groups.append(current)
            current = _overlap(
                lines, current, config.overlap_tokens, config.max_tokens - line.tokens
            )
            current_tokens = sum(lines[i].tokens for i in current)
        current.append(index)
        current_tokens += line.tokens
    if current and any(text[lines[i].start : lines[i].end].strip() for i in current):
        groups.append(current)
    return [
        _make_chunk(doc_id, number, text, page_offsets, lines, group)
        for number, group in enumerate(groups)
    ]


def _section_context(text: str, lines: list[_Line], first: int) -> str:
    """The heading line of the section that line `first` is inside and, when `first` is a table
    row, the first row of the table it goes on (the rows right above it, when that row holds no
    figures: a lab table's rows were read under the header of the section's vital-signs table
    above and became blood pressures; a dates row heads the rows below it), else the section's
    first table row before it (a table going on after a page break; lines such as an
    informant's may come between), else the non-blank line after the heading. Empty when
    `first` is a heading or no heading precedes it; the heading alone when that row does not
    fit the rows from `first` to the next blank line as their header: they may be wider only
    by cells empty in every row at their edges (a table's later pages may come out with other
    edge columns; the table reader cuts them)."""
    if lines[first].heading:
        return ""
    heading = next((i for i in range(first - 1, -1, -1) if lines[i].heading), None)
    if heading is None:
        return ""
    written = [text[line.start : line.end].rstrip("\n") for line in lines]
    between = [i for i in range(heading + 1, first) if written[i].strip()]
    opening = list(itertools.takewhile(lambda line: line.strip(), written[first:]))
    rows = list(itertools.takewhile(lambda cells: cells is not None, map(_cells, opening)))
    if not rows:
        after = between[0] if between else None
    else:
        table_start = first
        while table_start - 1 in between and _cells(written[table_start - 1]) is not None:
            table_start -= 1
            if _is_dates_row(written[table_start]):
                break  # a flowsheet's header row, below another table's rows
        after = next((i for i in between if _cells(written[i]) is not None), None)
        if table_start < first and (
            not re.search(r"\d", written[table_start]) or _is_dates_row(written[table_start])
        ):
            after = table_start  # (a row with figures is the table's rows after a page break)
        if after is not None and header_offset(rows, len(_cells(written[after]) or [])) is None:
            after = None
    return "\n".join(written[i] for i in (heading, after) if i is not None)


_DATE_CELL = re.compile(r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b")


def _is_dates_row(line: str) -> bool:
    """A flowsheet's header row: two or more of its cells dates ('| LAB | 06/05 | 06/04 |')."""
    return sum(1 for cell in _cells(line) or [] if _DATE_CELL.search(cell)) >= 2


def _cells(line: str) -> list[str] | None:
    """The cells of a table row (`medpipeline.pdf` writes one as `| a | b |`), or None."""
    stripped = line.strip()
    if len(stripped) < 2 or not (stripped.startswith("|") and stripped.endswith("|")):
        return None
    return [cell.strip() for cell in stripped[1:-1].split("|")]


def _overlap(lines: list[_Line], group: list[int], overlap: int, room: int) -> list[int]:
    """The trailing lines of `group` worth at most `overlap` tokens (and fitting in `room`)."""
    kept: list[int] = []
    tokens = 0
    for index in reversed(group):
        if tokens + lines[index].tokens > min(overlap, room):
            break
        kept.insert(0, index)
        tokens += lines[index].tokens
    return kept


def _make_chunk(
    doc_id: str,
    number: int,
    text: str,
    page_offsets: list[int],
    lines: list[_Line],
    group: list[int],
) -> Chunk:
    start, end = lines[group[0]].start, lines[group[-1]].end
    first_page, last_page = page_at(start, page_offsets), page_at(max(start, end - 1), page_offsets)
    return Chunk(
        chunk_id=f"{doc_id}-c{number:03d}",
        index=number,
        start=start,
        end=end,
        pages=list(range(first_page, last_page + 1)),
        tokens=count_tokens(text[start:end]),
        starts_section=lines[group[0]].heading,
        text=text[start:end],
        context=_section_context(text, lines, group[0]),
    )
