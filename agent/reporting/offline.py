"""The report without a language model: a deterministic planner and an extractive writer.

The plan is the topic plus follow-ups from what its first search finds (the documents it
hits and the names they mention that the topic does not); each section is the sentences
that the branches read which best match its sub-questions, each cited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.evidence.citations import MARKER
from agent.evidence.seen import SeenDoc, chunk_lines
from agent.offline.extractive import CAPITALISED, best_sentences, bridge_terms, terms
from agent.reporting.schemas import MAX_QUESTIONS, OutlineSection, Plan
from agent.reporting.verify import split_sentences
from tools.schemas import SearchResult

SENTENCES_PER_SECTION = 4
TITLE_CHARS = 120


def _hit_docs(result: SearchResult) -> list[SeenDoc]:
    docs: dict[str, SeenDoc] = {}
    for hit in result.hits:
        doc = docs.setdefault(hit.doc_id, SeenDoc(hit.cursor, hit.doc_id, hit.source, hit.title))
        doc.lines.update(chunk_lines(hit.text, hit.start_line, hit.end_line))
    return list(docs.values())


ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
LINE_START = re.compile(r"^\s*(?:[-*+>|]\s*|\d+[.)]\s*)*")


def subject(name: str, topic: str) -> str:
    """A name worth a follow-up, without its article; "" for numbers and what the topic says."""
    name = ARTICLE.sub("", name.strip())
    if re.search(r"\d", name) or len(name) < 4:
        return ""  # line numbers, versions, years, initials: not a subject to research
    words = terms(name)
    return name if words and not words <= terms(topic) else ""


def names_in(docs: Sequence[SeenDoc], topic: str, limit: int = 3) -> list[str]:
    """Capitalised names the hits mention that the topic does not, in order of appearance.

    A single capitalised word that starts a sentence is only a sentence's first word.
    """
    found: list[str] = []
    for doc in docs:
        for number in sorted(doc.lines):
            line = doc.lines[number]
            if line.lstrip().startswith("#"):
                continue
            first = LINE_START.match(line)
            begin = first.end() if first else 0
            for match in CAPITALISED.finditer(line):
                single = " " not in match.group().strip()
                if single and (
                    match.start() == begin
                    or line[: match.start()].rstrip().endswith((".", "!", "?", ":"))
                ):
                    continue
                name = subject(match.group(), topic)
                if name and name not in found:
                    found.append(name)
    return found[:limit]


def offline_plan(topic: str, first_search: SearchResult | None, max_branches: int) -> Plan:
    """The topic, then a follow-up per document the first search hit and per new name.

    Args:
        topic: The report's topic.
        first_search: What searching the topic found (None or no hits: a generic follow-up).
        max_branches: The most sub-questions to keep (at least 2).

    Returns:
        A valid plan, the same for the same topic and documents.
    """
    core = " ".join(topic.split()).rstrip("?.! ") or topic
    questions, headings = [topic.strip()], ["Overview"]
    if first_search is not None and first_search.hits:
        docs = _hit_docs(first_search)
        bridges = [subject(n, topic) for n in bridge_terms(docs, topic, limit=2)]
        for name in dict.fromkeys(n for n in [*bridges, *names_in(docs, topic)] if n):
            questions.append(f"What is {name}, in connection with {core}?")
            headings.append(name)
        for doc in docs:
            named = any(h.lower() in doc.title.lower() for h in headings[1:])
            if not named and not terms(doc.title) <= terms(topic):
                questions.append(f"What does {doc.title} say about {core}?")
                headings.append(doc.title)
    if len(questions) < 2:
        questions.append(f"What details, limits and examples of {core} do the documents give?")
        headings.append("Details")
    limit = max(2, min(max_branches, MAX_QUESTIONS))
    unique: list[tuple[str, str]] = []
    for question, heading in zip(questions, headings, strict=True):
        if question.lower() not in {q.lower() for q, _ in unique}:
            unique.append((question, heading))
    unique = unique[:limit]
    outline = [OutlineSection(heading=h, covers=[i + 1]) for i, (_, h) in enumerate(unique)]
    title = core if len(core) <= TITLE_CHARS else core[:TITLE_CHARS].rsplit(" ", 1)[0] + " ..."
    return Plan(
        title=title[:1].upper() + title[1:], sub_questions=[q for q, _ in unique], outline=outline
    )


def extractive_section(
    docs: Sequence[SeenDoc], questions: Sequence[str], used: set[tuple[int, int]]
) -> str:
    """The best-matching sentences the branches read, each cited in report numbers.

    Args:
        docs: The documents read by the branches the section covers (report cursors).
        questions: The section's sub-questions.
        used: (cursor, line) of sentences earlier sections used; updated here.

    Returns:
        A Markdown list of cited sentences, or "" when nothing matches.
    """
    wanted = terms(" ".join(questions))
    ranked = best_sentences(list(docs), wanted, set(), limit=SENTENCES_PER_SECTION * 3)
    fresh = [s for s in ranked if (s.cursor, s.start_line) not in used]
    # a sentence may serve two sections when nothing else answers the second
    chosen = (fresh or ranked)[:SENTENCES_PER_SECTION]
    used.update((s.cursor, s.start_line) for s in chosen)
    lines = []
    for s in chosen:
        # a document's own citation marks are its text, not evidence of ours
        text = " ".join(MARKER.sub(" ", s.text).split())
        mark = f"【{s.cursor}†L{s.start_line}-L{s.end_line}】"
        # each piece the verifier reads as a sentence carries the citation
        lines.append("- " + " ".join(f"{piece} {mark}" for piece in split_sentences(text)))
    return "\n".join(lines)
