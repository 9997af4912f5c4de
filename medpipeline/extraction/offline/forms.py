"""Printed forms: what a box left empty or an answer of no leaves unsaid.

A form prints every choice it offers ('Constitutional: [ ] fever [ ] chills [X] fatigue',
'Diabetes [ ] Yes [X] No', 'Allergies: [ ] NKDA [X] aspirin - angioedema', 'Heart disease
Y (N)'); only what is ticked, circled or answered yes is said of the patient, and a question
answered yes is said without doubt ('Have you had a heart attack?   Yes'). `mark_answers`
returns a reading of the text of the same length in which every choice not made is blanked
out (no fact can come of it) and every tick is a separator between the items it opens, so the
rules for lists and sentences read only the choices made. Quotes are taken back from the text
as written (`extractor.written_as`).
"""

import re
from typing import NamedTuple

from medpipeline.extraction.offline.text import COLUMN_GAP, Region

UNCHECKED = r"\[[ \t]{0,3}\]|\u2610|\([ \t]{1,3}\)"
CHECKED = (
    r"\[[ \t]?[xX\u2713\u2714\u2717\u2718][ \t]?\]|[\u2611\u2612\u2705]"
    r"|\([ \t]?[xX\u2713\u2714][ \t]?\)|_{1,3}[xX]_{1,3}|(?<![\w\[(])[\u2713\u2714](?![\])])"
)
# Blank lines to tick ('___ Asthma   _X_ Hypertension'), only on a line that ticks one that way:
# elsewhere a run of underscores is a field to fill in ('Name: ________').
UNDERSCORE_UNCHECKED = r"_{3,}(?=[ \t]*[A-Za-z])"
BOX = re.compile(rf"(?P<checked>{CHECKED})|(?P<unchecked>{UNCHECKED})")
UNDERSCORE_BOX = re.compile(
    rf"(?P<checked>{CHECKED})|(?P<unchecked>{UNCHECKED}|{UNDERSCORE_UNCHECKED})"
)
# The labels of answer columns, ending a heading line above the rows they answer ('Yes   No
# Don't know', 'Home medication   Dose   Continue   Stop   Hold   New'): the k-th box of a row is
# the k-th label's. A heading's labels are no words of the text ('Hold' would hold the drug below).
_COLUMN_LABEL = (
    r"not[ \t]+sure|not[ \t]+taking|don'?t[ \t]+know|yes|no|unsure|unknown|n/?a|continue[sd]?"
    r"|stop(?:ped)?|hold|held|changed?|new|discontinued?|modif(?:y|ied)|resumed?|taking"
)
COLUMN_LABEL = re.compile(rf"\b(?:{_COLUMN_LABEL})(?![\w/])", re.IGNORECASE)
COLUMN_HEADING = re.compile(
    # not 'Amoxicillin 875 mg - STOP taking', an instruction
    rf"(?:^|[ \t])(?!stop[ \t]+taking\b)"
    rf"(?P<labels>(?:{_COLUMN_LABEL})(?:[ \t]+(?:{_COLUMN_LABEL}))+)[ \t]*$",
    re.IGNORECASE,
)
# A mark alone after an item, in an answer column ('Sleep apnea / CPAP             X').
BARE_MARK = re.compile(rf"(?<=\S)(?:{COLUMN_GAP})(?P<mark>[xX\u2713\u2714])[ \t]*$")
MARK_SLACK = 3  # characters between a mark and its column's label
ANY_COLUMN_HEADING = re.compile(COLUMN_HEADING.pattern, re.IGNORECASE | re.MULTILINE)
# What a ticked column says of the row's item.
# (A changed row's item is the old one: the new one is written where the form asks for it.)
SAYS_IT = re.compile(r"yes|continue|new|resume|taking", re.IGNORECASE)
STOPS_IT = re.compile(r"stop|discontinu", re.IGNORECASE)
HOLDS_IT = re.compile(r"hold|held", re.IGNORECASE)
# A line that answers the question above it ('If yes, please list: eggs (hives)').
IF_YES_FILLED = re.compile(r"[ \t]*if[ \t]+yes\b[^:\n]*:[ \t]*\S", re.IGNORECASE)
COLUMN_BOX = re.compile(rf"{CHECKED}|{UNCHECKED}|_{{3,}}")
TICKED_LINE = re.compile(r"_{1,3}[xX]_{1,3}")

YES = r"(?:yes|y)"
NO = r"(?:no|n)"
# A yes/no pair of boxes after what it answers ('Diabetes [ ] Yes [X] No', 'Latex allergy?
# Yes [ ] No [X]'): the box before or after each word is that word's.
_ANSWER_WORDS = (
    rf"(?P<box1>{{box}})[ \t]*(?P<word1>{YES}|{NO})\b"
    rf"[ \t]*(?P<box2>{{box}})[ \t]*(?P<word2>{YES}|{NO})\b"
    rf"|\b(?P<word3>{YES}|{NO})[ \t]*(?P<box3>{{box}})"
    rf"[ \t]*(?P<word4>{YES}|{NO})[ \t]*(?P<box4>{{box}})"
)
ANSWER_PAIR = re.compile(_ANSWER_WORDS.format(box=f"(?:{CHECKED}|{UNCHECKED})"), re.IGNORECASE)
# A circled answer: 'Y (N)', '(Y) N', 'Yes (No)'.
CIRCLED_ANSWER = re.compile(
    rf"(?<![\w(])(?:(?P<no>{YES}[ \t]+\({NO}\))|(?P<yes>\({YES}\)[ \t]+{NO}))(?![\w)])",
    re.IGNORECASE,
)
# An answer of no written after the item or question: 'Diabetes: N    Asthma: Y', 'Hypertension
# (no)', 'Do you cough, wheeze, or have difficulty breathing during exercise?   No'.
WRITTEN_NO = re.compile(
    rf"(?:(?::|\?)[ \t]*(?:N|No|NO)|[ \t]*\((?:no|n)\))(?={COLUMN_GAP}|[ \t.]*$)"
)
# A question answered yes ('Do you have a history of diabetes?   Yes'): a statement, no doubt.
QUESTION_ANSWERED_YES = re.compile(
    rf"\?(?=[ \t]*{YES}\b(?![ \t]*(?:{CHECKED}|{UNCHECKED}|\()))", re.IGNORECASE
)  # not 'Yes [ ] No [X]', a pair of boxes, nor 'Y (N)', a circled no
# A question wrapped over lines, its boxes on the last ('4. Do you have a long-term health problem
# ...' / '   blood disorder?   [ ]   [X]   [ ]').
MAX_WRAPPED_LINES = 3
WRAPPED = re.compile(r"[ \t]*[a-z(]")  # a line going on with the one above
QUESTION_START = re.compile(r"[ \t]*(?:\d{1,2}[.)]|[A-Z][a-z]*[ \t]+(?:you|your)\b)")
ITEM_GAP = re.compile(rf"(?:{COLUMN_GAP})(?=\S)")
# The next field of the line, after a box's item: 'Reaction:' in '[X] Peanut [ ] Egg   Reaction:
# hives'.
NEXT_LABEL = re.compile(rf"(?:{COLUMN_GAP})[A-Z][\w /()-]{{0,30}}:")
# What a choice not made reads as (a line of them keeps a '_').
BLANKED = " \t_"


def _is_checked(box: str) -> bool:
    return re.fullmatch(CHECKED, box) is not None


def _answered_no(pair: re.Match[str]) -> bool:
    """The pair's chosen answer is no, or none is chosen."""
    if pair["word1"] is not None:
        choices = ((pair["box1"], pair["word1"]), (pair["box2"], pair["word2"]))
    else:
        choices = ((pair["box3"], pair["word3"]), (pair["box4"], pair["word4"]))
    chosen = [word for box, word in choices if _is_checked(box)]
    return len(chosen) != 1 or re.fullmatch(YES, chosen[0], re.IGNORECASE) is None


def _item_start(line: str, answer_start: int, previous_end: int) -> int:
    """Where the item an answer follows begins: after the last answer on its line, else at the
    line's start, and after a gap of spaces that parts it from the item before it ('Asthma: Y
    Diabetes: N')."""
    gaps = list(ITEM_GAP.finditer(line[previous_end:answer_start].rstrip()))
    return previous_end + gaps[-1].end() if gaps else previous_end


class ColumnLabel(NamedTuple):
    label: str  # lower case
    start: int  # its place on the heading's line
    end: int


def _column_chosen(boxes: list[re.Match[str]], heading: list[ColumnLabel] | None) -> str | None:
    """The heading's label of the one ticked box of a row, when the heading has a label for
    each box."""
    ticked = [index for index, box in enumerate(boxes) if _is_checked(box.group())]
    if heading is None or len(heading) != len(boxes) or len(ticked) != 1:
        return None
    return heading[ticked[0]].label


def _column_under(position: int, heading: list[ColumnLabel] | None) -> str | None:
    """The heading's label a mark written at `position` stands under (the text keeps its
    columns; a PDF's text, which closes up spaces, does not, and the mark says nothing)."""
    if heading is None:
        return None
    distance, label = min(
        (max(column.start - position, position - column.end + 1, 0), column.label)
        for column in heading
    )
    return label if distance <= MARK_SLACK else None


def _outside(boxes: re.Pattern[str], line: str, answered: list[Region]) -> list[re.Match[str]]:
    """The boxes of the line that are not part of an answer read already."""
    return [
        box
        for box in boxes.finditer(line)
        if not any(start <= box.start() < end for start, end in answered)
    ]


def _blank(chars: list[str], start: int, end: int) -> None:
    for index in range(start, end):
        chars[index] = " "


def _mark_line(
    line: str, answered_below: bool, heading: list[ColumnLabel] | None
) -> tuple[str, bool]:
    """The line's reading, and whether its item is left unsaid by boxes in answer columns;
    `heading` is the labels of the answer columns above, if any."""
    chars = list(line)
    answered: list[Region] = []  # spans of answers and the items they decide
    previous_end = 0
    pairs = list(ANSWER_PAIR.finditer(line))
    answers = sorted(
        [(m.start(), m.end(), _answered_no(m)) for m in pairs]
        + [(m.start(), m.end(), m["no"] is not None) for m in CIRCLED_ANSWER.finditer(line)]
        + [(m.start(), m.end(), True) for m in WRITTEN_NO.finditer(line)]
        + [(m.start(), m.end(), False) for m in QUESTION_ANSWERED_YES.finditer(line)]
    )
    pair_starts = {m.start() for m in pairs}
    for start, end, no in answers:
        if start < previous_end:
            continue
        if start in pair_starts and not line[previous_end:start].strip() and line[end:].strip():
            # the pair opens its item ('[ ] YES [X] NO Diabetes'): the item is after it, to
            # the next pair
            item_end = min([s for s in pair_starts if s > start] + [len(line)])
            _blank(chars, start, item_end if no else end)
            answered.append((start, item_end))
            previous_end = item_end if no else end
            continue
        item_start = _item_start(line, start, previous_end) if no else start
        if not no and line[:start].rstrip().endswith("?"):
            item_start = len(line[:start].rstrip()) - 1  # what the patient said yes to
        _blank(chars, item_start, end)
        answered.append((item_start, end))
        previous_end = end
    mark = BARE_MARK.search(line, previous_end)
    if mark and line[previous_end : mark.start()].strip() and not BOX.search(line, previous_end):
        # a mark in a column after the item ('Sleep apnea / CPAP        X'): as a ticked box
        chosen = _column_under(mark.start("mark"), heading)
        said = chosen is not None and SAYS_IT.match(chosen) is not None
        _blank(chars, mark.start() if said else previous_end, len(line))
        return _kept_a_line("".join(chars), line), False
    ticks_underscores = TICKED_LINE.search(line) is not None
    found = _outside(UNDERSCORE_BOX if ticks_underscores else BOX, line, answered)
    columns = COLUMN_BOX if ticks_underscores else BOX
    in_columns = _outside(columns, line, answered)
    first = in_columns[0].start() if in_columns else len(line)
    in_answer_columns = False
    if len(in_columns) > 1 and line[:first].strip() and not columns.sub("", line[first:]).strip():
        # boxes in columns after the item ('Have you had a stroke?   [ ]   [X]'): the heading
        # above says which column says what; without one, or with no single tick, nothing is
        # said of the item, unless the line below answers it ('If yes, please list: eggs')
        chosen = _column_chosen(in_columns, heading)
        said = answered_below or (chosen is not None and SAYS_IT.match(chosen) is not None)
        # written as a reconciliation prints it ('... 10 mg daily HOLD'), its sentence ended
        # and 'HELD' (ConText reads it backward only): it must not reach the drugs below
        action = " STOP." if chosen and STOPS_IT.match(chosen) else None
        action = " HELD." if chosen and HOLDS_IT.match(chosen) else action
        _blank(chars, first if said or action else previous_end, len(line))
        if action and first + len(action) <= len(line):
            chars[first : first + len(action)] = action
        found = []
        in_answer_columns = not (said or action)
    if _boxes_follow_their_items(line, found, previous_end):
        # 'Diabetes [ ]   Asthma [X]   Hypertension [ ]': each box decides the item before it
        item_start = previous_end + len(LEADING_LABEL.match(line, previous_end)[0])
        for box in found:
            if box["unchecked"] is not None:
                _blank(chars, item_start, box.end())
            else:
                _blank(chars, box.start(), box.end())
                chars[box.start()] = ","
            item_start = box.end()
        found = []
    for index, box in enumerate(found):
        if box["unchecked"] is not None:
            item_end = found[index + 1].start() if index + 1 < len(found) else len(line)
            if label := NEXT_LABEL.search(line, box.end(), item_end):
                item_end = label.start()
            if (bar := line.find("|", box.end(), item_end)) >= 0:
                item_end = bar  # a table's cell ends the choice ('| [ ] NKDA | 1. Codeine |')
            _blank(chars, box.start(), item_end)
        else:
            _blank(chars, box.start(), box.end())
            before = line[: box.start()].rstrip()[-1:]
            if before.isalnum() or before == ")":  # the tick parts this item from the one before
                chars[box.start()] = ","
    return _kept_a_line("".join(chars), line), in_answer_columns


# The label a line of choices opens with ('Allergies: NKDA [ ]  Latex [X]').
LEADING_LABEL = re.compile(r"[ \t]*(?:[A-Za-z][\w /()-]{0,30}:[ \t]*)?")


def _boxes_follow_their_items(line: str, boxes: list[re.Match[str]], start: int) -> bool:
    """The line prints each choice before its box: an item before the first box and none
    after the last ('NKDA [ ]', 'Diabetes [ ]   Asthma [X]')."""
    if not boxes:
        return False
    opening = line[start : boxes[0].start()]
    return (
        bool(opening[len(LEADING_LABEL.match(opening)[0]) :].strip())
        and not line[boxes[-1].end() :].strip()
    )


def _kept_a_line(marked: str, line: str) -> str:
    """A line of choices none of which was made stays a line of the form: a list goes on past
    it."""
    return "_" + marked[1:] if line.strip() and not marked.strip() else marked


# A form's line offering 'no known allergies' as a choice ('[ ] NKDA  [X] Codeine (nausea)  [X]
# Latex (rash)'): the choices after it are allergies, whatever title the block has ('CODE STATUS /
# PRECAUTIONS / ALLERGIES'). `mark_answers` blanks the choice not made, so it is found in the text
# as written.
NO_KNOWN_ALLERGY_CHOICE = re.compile(
    rf"(?:{CHECKED}|{UNCHECKED})[ \t]*"
    r"(?:NKDA|NKA|no[ \t]+known[ \t]+(?:drug[ \t]+)?allerg(?:y|ies))\b[^\n]*",
    re.IGNORECASE,
)


def allergy_choice_lines(text: str) -> list[Region]:
    """Where a form's line offers 'no known allergies' among its choices: from that choice to the
    line's end."""
    return [match.span() for match in NO_KNOWN_ALLERGY_CHOICE.finditer(text)]


def mark_answers(text: str) -> str:
    """The text with every choice not made blanked and every tick made a separator (same
    length, same line breaks)."""
    answers = (BOX, CIRCLED_ANSWER, WRITTEN_NO, QUESTION_ANSWERED_YES, ANY_COLUMN_HEADING)
    if not any(pattern.search(text) for pattern in answers):
        return text
    lines = text.split("\n")
    marked: list[str] = []
    heading: list[ColumnLabel] | None = None
    answer_columns: dict[int, bool] | None = None
    for index, line in enumerate(lines):
        if not line.lstrip().startswith("|"):
            answer_columns = None
        elif columns := yes_no_columns(line):
            answer_columns = columns
        elif answer_columns:
            # (a row with no box under those columns is another table's: they end there)
            answered = _mark_answer_row(line, answer_columns)
            line, answer_columns = answered or line, answer_columns if answered else None
        if (labels := COLUMN_HEADING.search(line)) and not BOX.search(line):
            heading = [
                ColumnLabel(label.group().lower(), label.start(), label.end())
                for label in COLUMN_LABEL.finditer(line, labels.start("labels"))
            ]
            start = labels.start("labels")
            marked.append(line[:start] + " " * (len(line) - start))
            continue
        below = lines[index + 1] if index + 1 < len(lines) else ""
        reading, in_answer_columns = _mark_line(
            line, IF_YES_FILLED.match(below) is not None, heading
        )
        if in_answer_columns and WRAPPED.match(line):  # the question's first lines, above
            for above in range(index - 1, max(-1, index - 1 - MAX_WRAPPED_LINES), -1):
                if not _continues_below(lines[above]):
                    break
                marked[above] = _kept_a_line(" " * len(lines[above]), lines[above])
                if QUESTION_START.match(lines[above]):
                    break
        marked.append(reading)
    return "\n".join(marked)


# A table's yes / no columns ('| Condition | Y | N | Comments |'), the boxes under them answering
# the item cell before them.
YES_NO_LABEL = re.compile(rf"{YES}|(?P<no>{NO})", re.IGNORECASE)


def _bar_cells(line: str) -> list[Region]:
    bars = [index for index, char in enumerate(line) if char == "|"]
    return [(left + 1, right) for left, right in zip(bars, bars[1:], strict=False)]


def yes_no_columns(line: str) -> dict[int, bool] | None:
    """A table's header row with a yes and a no column: each answer column's index, and whether
    it says no."""
    columns = {
        index: label["no"] is not None
        for index, (start, end) in enumerate(_bar_cells(line))
        if (label := YES_NO_LABEL.fullmatch(line[start:end].strip()))
    }
    return columns if set(columns.values()) == {True, False} else None


def _mark_answer_row(line: str, columns: dict[int, bool]) -> str | None:
    """A row under yes / no columns: the cell before each group of answer columns is its item,
    which stays only when a box under a yes column is ticked and none under a no column (a
    question not answered yes is no fact); a blanked item's remarks up to the next item and
    every box go. None when no answer column of the row holds a box."""
    cells = _bar_cells(line)
    if not any(index < len(cells) and BOX.search(line, *cells[index]) for index in columns):
        return None
    chars = list(line)
    groups: list[list[int]] = []
    for index in sorted(columns):
        if groups and groups[-1][-1] == index - 1:
            groups[-1].append(index)
        else:
            groups.append([index])
    for number, group in enumerate(groups):
        item = group[0] - 1
        if item < 0 or group[-1] >= len(cells):
            continue
        ticked = {columns[index] for index in group if _is_ticked(line, *cells[index])}
        for index in group:
            _blank(chars, *cells[index])
        if ticked != {False}:
            remarks_end = groups[number + 1][0] - 1 if number + 1 < len(groups) else len(cells)
            for index in [item, *range(group[-1] + 1, min(remarks_end, len(cells)))]:
                _blank(chars, *cells[index])
    return "".join(chars)


def _is_ticked(line: str, start: int, end: int) -> bool:
    box = BOX.search(line, start, end)
    return box is not None and _is_checked(box.group())


def _continues_below(line: str) -> bool:
    """The line is a question's or an item's beginning that the line below goes on with."""
    return bool(line.strip()) and not BOX.search(line) and not line.rstrip().endswith(("?", ":"))
