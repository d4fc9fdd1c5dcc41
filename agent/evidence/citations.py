"""Citations in the model's answer: parse them, check them against what was seen, renumber.

Forms understood: gpt-oss's `【3†L10-L15】` (also `【3†L10】`, ASCII brackets, en dashes)
and a bare `[3]`, read as cursor 3 at the first run of lines seen of that document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.evidence.seen import SeenDoc
from agent.schemas import Citation

MARKER = re.compile(
    r"[【\[]\s*(?P<cursor>\d+)\s*†\s*L?(?P<a>\d+)\s*(?:[-–—]\s*L?(?P<b>\d+))?\s*[】\]]"
    r"|\[(?P<bare>\d+)\](?!\()"
)


@dataclass(frozen=True)
class Marker:
    """One citation as the model wrote it."""

    start: int
    end: int
    cursor: int
    first_line: int | None
    last_line: int | None


def parse_markers(text: str) -> list[Marker]:
    """Every citation marker in `text`, in order.

    Args:
        text: The model's answer.

    Returns:
        The markers with their character spans; line numbers are None for a bare `[n]`.
    """
    found: list[Marker] = []
    for m in MARKER.finditer(text):
        if m.group("bare") is not None:
            found.append(Marker(m.start(), m.end(), int(m.group("bare")), None, None))
            continue
        a = int(m.group("a"))
        b = int(m.group("b")) if m.group("b") else a
        found.append(Marker(m.start(), m.end(), int(m.group("cursor")), min(a, b), max(a, b)))
    return found


def first_run(lines: list[int]) -> list[int]:
    """The first run of consecutive numbers in a sorted list."""
    run = lines[:1]
    for number in lines[1:]:
        if number != run[-1] + 1:
            break
        run.append(number)
    return run


def verify(marker: Marker, seen: dict[int, SeenDoc]) -> tuple[SeenDoc, int, int, str] | None:
    """Clip a marker to the lines seen of its document; None if it points at nothing seen.

    Args:
        marker: A parsed citation.
        seen: Documents seen in the conversation, by cursor.

    Returns:
        (document, first line, last line, quote) or None.
    """
    doc = seen.get(marker.cursor)
    if doc is None or not doc.lines:
        return None
    if marker.first_line is None or marker.last_line is None:
        kept = first_run(sorted(doc.lines))
    else:
        kept = [n for n in sorted(doc.lines) if marker.first_line <= n <= marker.last_line]
    if not kept:
        return None
    quote = "\n".join(doc.lines[n] for n in kept)
    return doc, kept[0], kept[-1], quote


def apply_citations(text: str, seen: dict[int, SeenDoc]) -> tuple[str, list[Citation], int]:
    """Replace markers by display numbers `[n]`, drop unverifiable ones, and count drops.

    Args:
        text: The model's answer with its raw markers.
        seen: Documents seen in the conversation, by cursor.

    Returns:
        (text with `[n]` markers, kept citations numbered from 1, number dropped).
    """
    citations: list[Citation] = []
    numbers: dict[tuple[int, int, int], int] = {}
    dropped = 0
    pieces: list[str] = []
    position = 0
    for marker in parse_markers(text):
        pieces.append(text[position : marker.start])
        position = marker.end
        checked = verify(marker, seen)
        if checked is None:
            dropped += 1
            # close the gap the removed marker leaves, keeping one space between words
            pieces[-1] = pieces[-1].rstrip(" \t")
            following = text[marker.end : marker.end + 1]
            if following not in ("", " ", "\t", "\n") and following not in ".,;:!?)【[":
                pieces[-1] += " "
            continue
        doc, first, last, quote = checked
        key = (doc.cursor, first, last)
        if key not in numbers:
            numbers[key] = len(numbers) + 1
            citations.append(
                Citation(
                    n=numbers[key],
                    cursor=doc.cursor,
                    doc_id=doc.doc_id,
                    source=doc.source,
                    title=doc.title,
                    start_line=first,
                    end_line=last,
                    quote=quote,
                    page=doc.pages.get(first),
                    last_page=doc.pages.get(last),
                )
            )
        pieces.append(f"[{numbers[key]}]")
    pieces.append(text[position:])
    return "".join(pieces).strip(), citations, dropped
