from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.evidence.seen import SeenDoc
from agent.offline.extractive import sentences
from agent.offline.policy import OfflinePolicy, is_follow_up, search_query
from agent.settings import Context
from graphs.research import build_graph
from tests.support.fake_tools import FakeCorpus
from tools.schemas import DocWindow

# Two hops: the question names the drone; only the drone's page names its maker, and only
# the maker's page says who founded it. k=1 keeps the first search from finding both.
DOCS = {
    "zephyr": (
        "drones/zephyr.md",
        "Zephyr",
        [
            "# Zephyr",
            "The Zephyr is a small quadcopter drone.",
            "The Zephyr is built by Borealis Dynamics in Tromso.",
            "Its battery lasts 40 minutes.",
        ],
    ),
    "borealis": (
        "companies/borealis.md",
        "Borealis Dynamics",
        [
            "# Borealis Dynamics",
            "Borealis Dynamics was established by Ingrid Solberg in 2009.",
            "It employs 120 engineers.",
        ],
    ),
    "cats": ("misc/cats.md", "Cats", ["Cats sleep for most of the day.", "Cats purr."]),
}


class KOne(OfflinePolicy):
    """The policy with k=1 on every search, as a user's --k 1 would give."""

    def plan(self, question, run, first_query=None):  # type: ignore[no-untyped-def]
        calls = super().plan(question, run, first_query)
        return [(n, {**a, "k": 1}) if n == "milvus_search" else (n, a) for n, a in calls]


def ask(question: str, policy: OfflinePolicy | None = None) -> tuple[dict, FakeCorpus]:
    corpus = FakeCorpus(dict(DOCS))
    graph = build_graph(policy or KOne(), tools=corpus.tools())
    return graph.invoke({"question": question}, context=Context()), corpus


def test_two_hop_question_is_answered_with_cited_sentences() -> None:
    state, corpus = ask("Who established the company that builds the Zephyr drone?")
    answer = state["answer"]
    assert corpus.searches[0] == "Who established the company that builds the Zephyr drone?"
    assert corpus.searches[1].startswith("Borealis Dynamics")
    assert [r.tool for r in answer.steps.records] == [
        "milvus_search",
        "fetch_doc",
        "milvus_search",
        "fetch_doc",
    ]
    assert answer.status == "answered" and answer.dropped_citations == 0
    assert "not gpt-oss" in answer.answer
    quotes = [c.quote for c in answer.citations]
    assert "Borealis Dynamics was established by Ingrid Solberg in 2009." in quotes
    assert "The Zephyr is built by Borealis Dynamics in Tromso." in quotes
    assert (answer.model, answer.provider) == ("offline-extractive", "offline")


def test_unanswerable_question_says_insufficient_evidence() -> None:
    state, _ = ask("What is the airspeed velocity of an unladen swallow?")
    answer = state["answer"]
    assert answer.status == "insufficient_evidence"
    assert answer.answer.startswith("Insufficient evidence") and "not gpt-oss" in answer.answer
    assert answer.citations == []


def test_policy_is_deterministic_and_reads_dict_artifacts() -> None:
    window = DocWindow(
        cursor=0,
        doc_id="zephyr",
        source="drones/zephyr.md",
        title="Zephyr",
        start_line=1,
        end_line=4,
        total_lines=4,
        lines=DOCS["zephyr"][2],
    )
    messages = [
        HumanMessage("How long does the Zephyr battery last?"),
        AIMessage("", tool_calls=[{"name": "fetch_doc", "args": {"cursor": 0}, "id": "f"}]),
        ToolMessage("...", tool_call_id="f", name="fetch_doc", artifact=window.model_dump()),
    ]
    first = OfflinePolicy().invoke(messages)
    assert first.content == OfflinePolicy().invoke(messages).content
    assert "Its battery lasts 40 minutes. 【0†L4-L4】" in first.text
    assert first.tool_calls == []  # no tools bound: it answers at once


def test_policy_searches_first_when_tools_are_bound() -> None:
    bound = OfflinePolicy().bind_tools(FakeCorpus(dict(DOCS)).tools())
    message = bound.invoke([HumanMessage("Who builds the Zephyr?")])
    assert message.tool_calls == [
        {
            "name": "milvus_search",
            "args": {"query": "Who builds the Zephyr?", "k": 10},  # wide first search
            "id": "offline_0_0",
            "type": "tool_call",
        }
    ]


def test_follow_up_question_borrows_the_subject_of_the_previous_one() -> None:
    first = HumanMessage("Where does Milvus store inserted data?")
    follow = HumanMessage("and where is its metadata kept?")
    assert search_query([first, AIMessage("answer"), follow]) == (
        "Where does Milvus store inserted data? and where is its metadata kept?"
    )
    assert search_query([first]) == "Where does Milvus store inserted data?"


def test_a_short_new_question_is_not_a_follow_up() -> None:
    first = HumanMessage("Where does Milvus store inserted data?")
    short = HumanMessage("What does doctor check?")  # two content words, its own subject
    assert search_query([first, AIMessage("answer"), short]) == "What does doctor check?"
    assert [is_follow_up(q) for q in ("Why?", "What about HNSW?", "Is it fast?")] == [
        True,
        True,
        True,
    ]
    assert not is_follow_up("Which index types exist?")


def test_one_graph_plans_each_run_with_that_runs_k() -> None:
    graph = build_graph(tools=FakeCorpus(dict(DOCS)).tools())
    firsts = []
    for k in (1, 3, 1):
        state = graph.invoke(
            {"question": "Who builds the Zephyr?"}, context=Context(provider="offline", k=k)
        )
        firsts.append(state["answer"].steps.records[0].args["k"])
    assert firsts == [2, 6, 2]  # the wide first search is 2k of each run's own k


def test_front_matter_is_not_a_sentence_of_the_document() -> None:
    lines = [
        "---",
        "title: Backup runbook",
        "tags: [ops]",
        "---",
        "# Backup runbook",
        "",
        "Restore the snapshot nightly.",
    ]
    doc = SeenDoc(0, "d", "runbook.md", "Backup runbook", dict(enumerate(lines, start=1)))
    assert [(s.start_line, s.text) for s in sentences(doc)] == [
        (7, "Restore the snapshot nightly.")
    ]
    no_front = SeenDoc(0, "d", "notes.md", "Notes", {1: "Plain text.", 2: "---", 3: "More text."})
    assert [s.text for s in sentences(no_front)] == ["Plain text. --- More text."]
