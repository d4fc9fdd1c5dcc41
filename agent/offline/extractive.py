"""Lexical tools of the offline policy: sentences with line spans, overlap scores, bridge terms."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from agent.evidence.seen import SeenDoc

STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be been before being below
    between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most
    my no nor not now of off on once only or other our out over own same she should so some such
    than that the their them then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours
    named called known many much one two used using use""".split()
)
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_'.-]*[A-Za-z0-9]|[A-Za-z0-9]")
CAPITALISED = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:of|the|de|von|van|du|la|and|&)?\s*[A-Z][\w'-]*)*")
QUOTED = re.compile(r"[\"“`]([^\"“”`\n]{3,60})[\"”`]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a seen document with the lines it spans."""

    cursor: int
    start_line: int
    end_line: int
    text: str


def terms(text: str) -> set[str]:
    """Content words of a text, lowercased, without stopwords."""
    return {w.lower().strip(".'-") for w in WORD.findall(text)} - STOPWORDS - {""}


def front_matter_end(doc: SeenDoc) -> int:
    """The last line of the document's front matter (`---` on line 1 to the next `---`), or 0."""
    if doc.lines.get(1, "").strip() != "---":
        return 0
    ends = [n for n, line in doc.lines.items() if n > 1 and line.strip() in ("---", "...")]
    return min(ends, default=0)


def _blocks(doc: SeenDoc) -> list[list[tuple[int, str]]]:
    """Paragraphs of the seen lines: runs of consecutive non-blank lines; headings stand alone.

    Front matter (metadata, not what the document says) is left out.
    """
    blocks: list[list[tuple[int, str]]] = []
    previous = -1
    skip = front_matter_end(doc)
    for number in sorted(n for n in doc.lines if n > skip):
        line = doc.lines[number].strip()
        heading = line.startswith("#")
        if not line or heading or number != previous + 1 or not blocks:
            blocks.append([])
        if line:
            blocks[-1].append((number, line))
        if heading:
            blocks.append([])
        previous = number
    return [block for block in blocks if block]


# List bullets, numbers and table pipes that start a line: not part of what it says.
LIST_MARK = re.compile(r"^(?:(?:[-*+]|\d+[.)])\s+|\|\s*)+")


def sentences(doc: SeenDoc) -> list[Sentence]:
    """The sentences of the lines seen of a document, each with its first and last line."""
    found: list[Sentence] = []
    for block in _blocks(doc):
        text, starts = "", []
        for number, line in block:
            starts.append((len(text), number))
            text += line + " "
        position = 0
        for piece in [*SENTENCE_END.split(text.strip())]:
            begin = text.index(piece, position)
            position = begin + len(piece)
            first = max(n for offset, n in starts if offset <= begin)
            last = max(n for offset, n in starts if offset < position)
            clean = LIST_MARK.sub("", piece.strip()).strip(" |")
            if clean and not piece.startswith(("#", "```", "~~~")):
                found.append(Sentence(doc.cursor, first, last, clean))
    return found


def score(sentence: Sentence, question: set[str], bridge: set[str]) -> float:
    """Distinct question terms matched, plus the bridge terms matched (the second hop)."""
    words = terms(sentence.text)
    return len(words & question) + len(words & (bridge - question))


def best_sentences(
    docs: list[SeenDoc], question: set[str], bridge: set[str], limit: int = 3
) -> list[Sentence]:
    """The sentences that best match the question (and the bridge terms), best first."""
    candidates = {s: score(s, question, bridge) for d in docs for s in sentences(d)}
    ranked = sorted(
        (s for s, v in candidates.items() if v >= 1 and len(s.text) >= 12),
        key=lambda s: (-candidates[s], len(s.text), s.cursor, s.start_line),
    )
    return ranked[:limit]


def bridge_terms(docs: list[SeenDoc], question_text: str, limit: int = 2) -> list[str]:
    """Entities the best first-hop sentences name but the question does not.

    Capitalised phrases, quoted terms and rare tokens (with digits, inner capitals or
    underscores) are candidates; those found in more of the best sentences rank first.
    """
    question = terms(question_text)
    top = best_sentences(docs, question, set(), limit=4)
    counts: Counter[str] = Counter()
    for rank, sentence in enumerate(top):
        found = set(CAPITALISED.findall(sentence.text)) | set(QUOTED.findall(sentence.text))
        found |= {w for w in WORD.findall(sentence.text) if re.search(r"\d|_|[a-z][A-Z]", w)}
        for candidate in found:
            words = terms(candidate)
            if words and not words <= question:
                counts[candidate.strip()] += len(top) - rank
    ordered = sorted(counts, key=lambda c: (-counts[c], -len(c), c))
    chosen: list[str] = []
    for candidate in ordered:
        if not any(candidate.lower() in c.lower() for c in chosen):
            chosen.append(candidate)
    return chosen[:limit]
