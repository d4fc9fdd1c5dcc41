"""A corpus and questions for long threads: many questions asked on one thread."""

from __future__ import annotations

from tests.support.fake_tools import FakeCorpus

BIRDS = ["falcon", "heron", "osprey", "condor", "kestrel", "harrier", "merlin", "raven"]


def bird_doc(bird: str, lines: int = 60) -> tuple[str, str, list[str]]:
    """A survey report of one bird: long enough that three exchanges fill a 24k budget."""
    body = [
        f"The {bird} survey line {i} records a wingspan of {i * 3} cm, habitat notes and "
        f"migration data for the {bird} population near station {i}."
        for i in range(1, lines)
    ]
    return (f"birds/{bird}.md", f"{bird.title()} report", [f"# The {bird} report", *body])


def bird_corpus(lines: int = 60) -> FakeCorpus:
    """One report per bird."""
    return FakeCorpus({bird: bird_doc(bird, lines) for bird in BIRDS})


def bird_question(index: int) -> str:
    """The index-th question of the thread (a different bird and station each time)."""
    bird = BIRDS[index % len(BIRDS)]
    return f"What wingspan does the {bird} survey record at station {index % 50 + 1}?"
