"""A citation quotes what the model was shown, not a whole 1.4 MB line behind it."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agent.evidence.seen import seen_documents, shown_part
from agent.nodes.respond import respond
from tests.support.fake_chat import call
from tools.render import LINE_CHARS, SNIPPET_CHARS, clip_line, render_search, render_window
from tools.schemas import DocWindow, SearchHit, SearchResult

HUGE = "".join(f"word{i} " for i in range(200_000))  # one line of about 1.4 MB


def window(line: str) -> DocWindow:
    return DocWindow(
        cursor=0,
        doc_id="d0",
        source="dump.txt",
        title="Dump",
        start_line=1,
        end_line=1,
        total_lines=1,
        lines=[line],
    )


def hit(line: str) -> SearchHit:
    return SearchHit(
        cursor=0,
        doc_id="d0",
        source="dump.txt",
        title="Dump",
        chunk_id="d0-0",
        chunk_index=0,
        start_line=1,
        end_line=1,
        score=1.0,
        text=line,
    )


def answered(artifact: DocWindow | SearchResult, as_dict: bool = False) -> dict[str, Any]:
    """A finished run whose one tool result is `artifact` and whose answer cites line 1."""
    name = "fetch_doc" if isinstance(artifact, DocWindow) else "milvus_search"
    shown = render_window(artifact) if isinstance(artifact, DocWindow) else render_search(artifact)
    stored = artifact.model_dump() if as_dict else artifact  # as after a checkpoint round trip
    messages = [
        HumanMessage("What is in the dump?"),
        AIMessage("", tool_calls=[call(name, "c1", cursor=0)]),
        ToolMessage(shown, tool_call_id="c1", name=name, artifact=stored),
        AIMessage("Words 【0†L1-L1】."),
    ]
    return {"messages": messages, "tool_calls": 1, "turns": 2}


@pytest.mark.parametrize("as_dict", [False, True])
def test_citation_of_a_huge_fetched_line_quotes_the_shown_part(as_dict: bool) -> None:
    answer = respond(answered(window(HUGE), as_dict))["answer"]
    quote = answer.citations[0].quote
    assert quote == HUGE[:LINE_CHARS] + "…"
    assert quote[:-1] in render_window(window(HUGE))  # the model read exactly this
    serialized = JsonPlusSerializer().dumps_typed(answer)[1]
    assert len(HUGE) > 1_400_000 and len(serialized) < 5_000  # was 1.4 MB per answer


def test_citation_of_a_huge_search_hit_quotes_the_snippet() -> None:
    result = SearchResult(query="words", k=5, hits=[hit(HUGE)])
    quote = respond(answered(result))["answer"].citations[0].quote
    assert quote == HUGE[:SNIPPET_CHARS] + "…"
    assert quote[:-1] in render_search(result)


def test_a_line_that_was_shown_whole_is_quoted_whole() -> None:
    line = "x" * LINE_CHARS
    assert respond(answered(window(line)))["answer"].citations[0].quote == line
    assert shown_part(line, clip_line(line)) == line
    # a line that merely ends like the clip mark is still the document's text
    odd = "see … [3 more characters on this line]"
    assert shown_part(odd, clip_line(odd)) == odd


def test_the_longest_shown_part_of_a_line_is_kept() -> None:
    messages = [
        ToolMessage("", tool_call_id="a", artifact=SearchResult(query="q", k=1, hits=[hit(HUGE)])),
        ToolMessage("", tool_call_id="b", artifact=window(HUGE)),
    ]
    # the window showed fewer characters of the line than the snippet did before it
    assert SNIPPET_CHARS > LINE_CHARS
    assert seen_documents(messages)[0].lines[1] == HUGE[:SNIPPET_CHARS] + "…"
