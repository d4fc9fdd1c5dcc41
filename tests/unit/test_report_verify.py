"""Sentence-level verification of report text against the lines branches read."""

from __future__ import annotations

from agent.evidence.seen import SeenDoc
from agent.reporting.verify import split_sentences, verify_text

SEEN = {0: SeenDoc(0, "d0", "docs/a.md", "A", {3: "Acme makes drones.", 4: "It is in Oslo."})}


def test_split_keeps_citations_with_their_sentence() -> None:
    text = "Acme makes drones. 【0†L3-L3】 It is in Oslo 【0†L4】. Version 2.5 ships soon."
    assert split_sentences(text) == [
        "Acme makes drones. 【0†L3-L3】",
        "It is in Oslo 【0†L4】.",
        "Version 2.5 ships soon.",
    ]


def test_claims_need_a_citation_of_lines_read() -> None:
    text = "\n".join(
        [
            "- Acme makes all of its drones 【0†L3-L3】. Acme sells drones on Mars 【0†L9-L9】.",
            "- The company has offices everywhere in Europe.",
            "",
            "In short: drones.",
            "Its office is in the city of Oslo [0].",
            "Its office is in the city of Oslo 【7†L4-L4】.",
        ]
    )
    kept, failed = verify_text(text, SEEN, mark=False)
    # a line citation to lines read keeps a sentence; none, unread lines, another cursor or
    # a bare [n] do not; "In short: drones." is too short to be a claim
    assert kept == "- Acme makes all of its drones 【0†L3-L3】.\n\nIn short: drones."
    assert failed == 4


def test_mark_mode_keeps_the_sentence_without_its_bad_citation() -> None:
    kept, failed = verify_text("Acme sells drones on the moon 【0†L9-L9】.", SEEN, mark=True)
    assert (kept, failed) == ("[unverified] Acme sells drones on the moon.", 1)
