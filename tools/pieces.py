"""Which characters of a document's lines a tool shows: whole lines, or pieces of long ones.

A window of fetch_doc holds whole lines while its character budget allows; only a line
longer than the budget is cut, and the cut says where to read on (`char_offset`). find_in_doc
shows a long line as a piece around the match. Both record the cut as
(characters before the piece, characters after it), so what the model read is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.errors import ToolInputError


@dataclass
class Shown:
    """The text of the lines a window shows, and the lines shown only in part."""

    lines: list[str] = field(default_factory=list)
    cuts: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Line number -> (characters before the shown piece, characters after it)."""


def check_offset(line: str, number: int, char_offset: int) -> None:
    """Refuse a char_offset outside the line, saying the line's length.

    Args:
        line: The line the offset applies to.
        number: Its line number (1-based), for the message.
        char_offset: The first character to show.

    Raises:
        ToolInputError: The offset is negative or past the end of a non-empty line.
    """
    if char_offset < 0:
        raise ToolInputError(
            f"char_offset must be 0 or more; got {char_offset}. Use 0 to start at the "
            "beginning of the line."
        )
    if char_offset and char_offset >= len(line):
        raise ToolInputError(
            f"char_offset {char_offset} is past the end of line {number}: it has "
            f"{len(line)} characters. Use a char_offset between 0 and {max(len(line) - 1, 0)}, "
            f"or start_line={number + 1} for the next line."
        )


def window_of(
    lines: list[str], start_line: int, num_lines: int, budget: int, char_offset: int = 0
) -> Shown:
    """Lines from start_line (its text from char_offset on) within `budget` characters.

    The first line is always shown, cut at `budget` characters when longer; later lines are
    added whole while the total stays within the budget, and the window ends before the
    first one that does not fit (it is shown whole, or cut, by the next window).

    Args:
        lines: The document's lines (1-based numbers: lines[0] is line 1).
        start_line: The first line to show; it must exist.
        num_lines: The most lines to show.
        budget: The most characters to show in all.
        char_offset: Where in the first line to start (checked by check_offset).

    Returns:
        The lines shown and the cut of any line shown in part.
    """
    first = lines[start_line - 1]
    check_offset(first, start_line, char_offset)
    piece = first[char_offset : char_offset + budget]
    shown = Shown([piece])
    after = len(first) - char_offset - len(piece)
    if char_offset or after:
        shown.cuts[start_line] = (char_offset, after)
    if after:
        return shown
    used = len(piece)
    for line in lines[start_line : start_line - 1 + num_lines]:
        if used + len(line) > budget:
            break
        shown.lines.append(line)
        used += len(line)
    return shown


def piece_around(line: str, at: int, width: int) -> tuple[int, int]:
    """The [start, end) of a piece of `width` characters of a line that shows position `at`.

    The piece starts a quarter of its width before `at` (some words of lead-in), moved left
    when it would run past the end of the line.
    """
    if len(line) <= width:
        return 0, len(line)
    start = max(0, min(at - width // 4, len(line) - width))
    return start, start + width


def match_pieces(
    lines: list[str],
    spans: list[tuple[int, int, int]],
    shown: list[tuple[int, int]],
    width: int,
) -> dict[int, tuple[int, int]]:
    """The piece of each long line shown: around its first match, else its beginning.

    Args:
        lines: The document's lines (lines[0] is line 1).
        spans: (first line, last line, first character) of each match (tools/find.py).
        shown: (first line, last line) of each window shown.
        width: The most characters of one line shown.

    Returns:
        Line number -> (first character, end) of the piece, for lines longer than `width`.
    """
    at: dict[int, int] = {}
    for first, _, offset in spans:
        at.setdefault(first, offset)
    out: dict[int, tuple[int, int]] = {}
    for start, end in shown:
        for number in range(start, end + 1):
            if len(lines[number - 1]) > width:
                out[number] = piece_around(lines[number - 1], at.get(number, 0), width)
    return out


def cut_lines(
    lines: list[str], start: int, end: int, pieces: dict[int, tuple[int, int]]
) -> tuple[list[str], dict[int, tuple[int, int]]]:
    """The text shown of lines start..end and the cut of each piece among them."""
    texts: list[str] = []
    cuts: dict[int, tuple[int, int]] = {}
    for number in range(start, end + 1):
        line = lines[number - 1]
        if number in pieces:
            a, b = pieces[number]
            texts.append(line[a:b])
            cuts[number] = (a, len(line) - b)
        else:
            texts.append(line)
    return texts, cuts
