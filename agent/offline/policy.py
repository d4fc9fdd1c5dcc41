"""The offline policy: a deterministic chat model (no LLM) that drives the research graph.

It plans like a careful reader: search wide with the question (2k hits, k the run's
setting, so 10 by default), open the best documents, search narrowly (k hits) for an entity
those results name but the question does not (a two-hop bridge), open what that finds,
then answer with the best-matching sentences, each cited as 【cursor†La-Lb】.
Wide-then-narrow was measured against a single k at about equal documents seen
(benchmarks/quality.py --strategy; README, Evaluation).
All evidence comes from the ToolMessage artifacts it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall

from agent import prompts
from agent.evidence.citations import MARKER
from agent.evidence.seen import SeenDoc, artifacts, seen_documents
from agent.offline.extractive import best_sentences, bridge_terms, terms
from agent.offline.scripted import ScriptedChatModel
from agent.settings import MAX_K
from agent.state import LAST_TURN_ID
from tools.schemas import DocWindow, SearchResult

MODEL_NAME = "offline-extractive"
PROVIDER = "offline"
FETCH_LINES = 60
FETCH_BEFORE = 5  # lines of context to show above the matching chunk


FOLLOW_UP_WORDS = frozenset("it its they them their this that these those he she his her".split())
FOLLOW_UP_OPENINGS = ("and ", "also ", "what about ", "how about ", "and?", "why not")


def _question(messages: Sequence[BaseMessage]) -> tuple[str, int]:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, HumanMessage) and message.id != LAST_TURN_ID:
            return message.text, index
    return "", len(messages)


def search_query(messages: Sequence[BaseMessage]) -> str:
    """The first search of a turn: the question, plus the previous one when it is a follow-up.

    A chat follow-up such as "and where is its metadata kept?" names nothing by itself;
    the earlier question supplies the subject. A follow-up refers back (a pronoun such as
    "its"), opens with "and" or "what about", or has no content word at all; a short
    question that names its own subject ("What does doctor check?") stands alone.
    """
    question, index = _question(messages)
    if not is_follow_up(question):
        return question
    earlier, _ = _question(messages[:index])
    return f"{earlier} {question}".strip()


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the one before it (see search_query)."""
    words = {w.strip("?.,!;:").lower() for w in question.split()}
    opening = question.strip().lower().startswith(FOLLOW_UP_OPENINGS)
    return bool(words & FOLLOW_UP_WORDS) or opening or not terms(question)


class OfflinePolicy(ScriptedChatModel):
    """Deterministic planner and extractive answerer, shaped as a tool-calling chat model."""

    max_sentences: int = 3
    k: int = 5
    """The run's k: the first search asks for 2k hits (at most 20), later ones for k."""

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    def reply(self, messages: list[BaseMessage], tool_names: list[str] | None) -> AIMessage:
        """Plan the next tool calls; answer when there is nothing left to do or no tools."""
        question, start = _question(messages)
        run = messages[start + 1 :]
        turn = sum(isinstance(m, AIMessage) for m in run)
        calls = self.plan(question, run, search_query(messages)) if tool_names else []
        if calls:
            tool_calls = [
                ToolCall(name=name, args=args, id=f"offline_{turn}_{i}", type="tool_call")
                for i, (name, args) in enumerate(calls)
            ]
            return AIMessage(content="", tool_calls=tool_calls)
        return AIMessage(content=self.answer(question, run))

    def plan(
        self, question: str, run: Sequence[BaseMessage], first_query: str | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """The next tool calls, or [] when it is time to answer."""
        found = list(artifacts(run))
        searches = [a for a in found if isinstance(a, SearchResult)]
        fetched = {a.cursor for a in found if isinstance(a, DocWindow)}
        if not searches:
            wide = min(2 * self.k, MAX_K)
            return [("milvus_search", {"query": first_query or question, "k": wide})]
        if not searches[0].hits:
            return []
        if len(searches) == 1 and not fetched:
            return [_fetch(hit) for hit in _best_per_doc(searches[0])[:2]]
        if len(searches) == 1:
            docs = list(seen_documents(run).values())
            bridge = bridge_terms(docs, question, limit=1)
            if not bridge:
                return []
            # the second hop looks for the bridge entity with what the first hop left open
            read = set().union(*(terms(" ".join(d.lines.values())) for d in docs))
            missing = [
                w for w in question.split() if w.lower().strip("?.,!") in terms(question) - read
            ]
            query = " ".join([*bridge, *missing[:4]])
            return [("milvus_search", {"query": query, "k": self.k})]
        fresh = [h for h in _best_per_doc(searches[-1]) if h.cursor not in fetched]
        if len(searches) == 2 and fresh and sum(isinstance(m, AIMessage) for m in run) < 4:
            return [_fetch(fresh[0])]
        return []

    def answer(self, question: str, run: Sequence[BaseMessage]) -> str:
        """The best-matching sentences, each cited; or an honest 'insufficient evidence'."""
        docs: list[SeenDoc] = list(seen_documents(run).values())
        searches = [a for a in artifacts(run) if isinstance(a, SearchResult)]
        # the bridge is what the second search asked for beyond the question's own words
        bridge = terms(searches[1].query) - terms(question) if len(searches) > 1 else set()
        chosen = best_sentences(docs, terms(question), bridge, self.max_sentences)
        if not chosen:
            return prompts.OFFLINE_NOTHING
        # a document's own citation marks are its text, not ours: never turn them into citations
        lines = [
            f"- {_unmarked(s.text)} 【{s.cursor}†L{s.start_line}-L{s.end_line}】" for s in chosen
        ]
        return "\n".join([prompts.OFFLINE_HEADER, *lines])


def _unmarked(text: str) -> str:
    """A sentence without the citation marks its document wrote (they are not evidence)."""
    return " ".join(MARKER.sub(" ", text).split())


def _best_per_doc(result: SearchResult) -> list[Any]:
    """The best hit of each document, in rank order."""
    seen: set[int] = set()
    best = []
    for hit in result.hits:
        if hit.cursor not in seen:
            seen.add(hit.cursor)
            best.append(hit)
    return best


def _fetch(hit: Any) -> tuple[str, dict[str, Any]]:
    start = max(1, hit.start_line - FETCH_BEFORE)
    return "fetch_doc", {"cursor": hit.cursor, "start_line": start, "num_lines": FETCH_LINES}
