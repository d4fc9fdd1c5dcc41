"""The report graph with scripted models: plan -> branches -> write -> verify, and resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage

from agent.reporting.offline import offline_plan
from agent.reporting.schemas import Report
from agent.settings import ReportContext
from graphs.report import build_report_graph
from tests.support.corpus import DOCS
from tests.support.fake_chat import call
from tests.support.fake_tools import FakeCorpus
from tests.support.routed_chat import RoutedChatModel

TOPIC = "Topic of the report"
Q1 = "Who makes the Zephyr drone?"
Q2 = "Where is Acme Robotics based?"
PLAN = AIMessage(
    "",
    tool_calls=[
        call(
            "submit_plan",
            "p1",
            title="The Zephyr drone",
            sub_questions=[Q1, Q2],
            outline=[{"heading": "Maker", "covers": [1]}, {"heading": "Company", "covers": [2]}],
        )
    ],
)


def branch_routes() -> dict[str, list[AIMessage]]:
    return {
        Q1: [
            AIMessage("", tool_calls=[call("milvus_search", "a1", query="Zephyr drone")]),
            AIMessage("", tool_calls=[call("fetch_doc", "a2", cursor=0)]),
            AIMessage("Acme Robotics makes it 【0†L3-L3】."),
        ],
        Q2: [
            AIMessage("", tool_calls=[call("milvus_search", "b1", query="Acme Robotics office")]),
            AIMessage("", tool_calls=[call("fetch_doc", "b2", cursor=0)]),
            AIMessage("Its office is in Oslo 【0†L3-L3】."),
        ],
    }


def model(writer: dict[str, list[AIMessage]], **extra: Any) -> RoutedChatModel:
    # section requests name the sub-questions too: their routes come first
    return RoutedChatModel(routes={**writer, TOPIC: [PLAN], **branch_routes()}, **extra)


WRITER = {
    "Section: Maker": [
        AIMessage(
            "The Zephyr drone is made by Acme Robotics 【0†L3-L3】. "
            "It is the fastest drone ever built 【0†L9-L9】."
        )
    ],
    "Section: Company": [
        AIMessage(
            "Acme Robotics has its office in Oslo 【1†L3-L3】.\n\n"
            "Acme Robotics employs thousands of engineers worldwide."
        )
    ],
}


def run(chat: RoutedChatModel, **context: Any) -> Report:
    graph = build_report_graph(chat, tools=FakeCorpus(dict(DOCS)).tools())
    return graph.invoke({"topic": "Zephyr drone"}, context=ReportContext(**context))["report"]


def test_plan_branches_write_verify() -> None:
    chat = model(WRITER)
    report = run(chat)
    assert report.title == "The Zephyr drone"
    assert [b.question for b in report.branches] == [Q1, Q2]
    assert [b.answer.status for b in report.branches if b.answer] == ["answered", "answered"]
    assert [s.heading for s in report.sections] == ["Maker", "Company"]
    assert report.sections[0].text == "The Zephyr drone is made by Acme Robotics [1]."
    assert report.sections[1].text == "Acme Robotics has its office in Oslo [2]."
    # the claim citing a line never read and the claim citing nothing are removed, counted
    assert report.dropped_claims == 2
    assert [s.dropped_claims for s in report.sections] == [1, 1]
    assert [(c.n, c.source, c.start_line, c.quote) for c in report.sources] == [
        (1, "drones/zephyr.md", 3, "It is made by Acme Robotics."),
        (2, "companies/acme.md", 3, "Its office is in Oslo."),
    ]
    assert report.status == "complete" and report.why == ""
    # one plan turn, three turns per branch, one per section
    assert [chat.count(k) for k in (TOPIC, Q1, Q2, "Section: Maker", "Section: Company")] == [
        1,
        3,
        3,
        1,
        1,
    ]


def test_each_branch_gets_its_share_of_the_tool_budget() -> None:
    chat = model(WRITER)
    report = run(chat, report_tool_calls=3)
    assert [b.tool_budget for b in report.branches] == [1, 1]
    # one tool call each, then the last turn answers without tools
    assert [b.answer.steps.tool_calls for b in report.branches if b.answer] == [1, 1]


def test_writer_sees_only_verified_findings_in_report_numbers() -> None:
    chat = model(WRITER)
    run(chat)
    request = next(m for k, m in chat.calls if k == "Section: Company")
    brief = request[-1].text
    assert "Answer found: Its office is in Oslo 【1†L3-L3】." in brief
    assert "Evidence 【1†L3-L3】 (companies/acme.md):\nL3: Its office is in Oslo." in brief
    assert "Acme Robotics makes it" not in brief  # the other section's findings stay out


def test_mark_setting_keeps_unverified_sentences_marked() -> None:
    report = run(model(WRITER), unverified="mark")
    assert report.sections[1].text == (
        "Acme Robotics has its office in Oslo [1].\n\n"
        "[unverified] Acme Robotics employs thousands of engineers worldwide."
    ).replace("[1]", "[2]")
    assert report.dropped_claims == 2


def test_a_section_without_verified_findings_makes_the_report_partial() -> None:
    writer = {**WRITER, "Section: Company": [AIMessage("Acme is huge and very old indeed.")]}
    report = run(model(writer))
    assert report.sections[1].text == "" and report.status == "partial"
    assert report.why == "no verified findings for: Company"


def test_plan_repaired_when_intent_is_plain() -> None:
    sloppy = AIMessage(
        "",
        tool_calls=[
            call(
                "submit_plan",
                "p1",
                title="Zephyr",
                sub_questions=f"1. {Q1}\n2. {Q2}\n3. {Q1}",
                outline=["Maker", "Company"],
            )
        ],
    )
    chat = RoutedChatModel(routes={**WRITER, TOPIC: [sloppy], **branch_routes()})
    report = run(chat)
    assert report.plan.sub_questions == [Q1, Q2]
    assert [s.heading for s in report.plan.outline] == ["Maker", "Company"]
    assert chat.count(TOPIC) == 1


def test_invalid_plan_is_asked_again_with_the_error() -> None:
    bad = AIMessage(
        "", tool_calls=[call("submit_plan", "p0", title="Zephyr", sub_questions=["Only one?"])]
    )
    chat = RoutedChatModel(routes={**WRITER, TOPIC: [bad, PLAN], **branch_routes()})
    report = run(chat)
    assert chat.count(TOPIC) == 2
    second = [m for k, m in chat.calls if k == TOPIC][1]
    error = second[-1]
    assert isinstance(error, ToolMessage) and error.tool_call_id == "p0"
    assert "sub_questions: List should have at least 2 items" in error.text
    assert report.plan.title == "The Zephyr drone"
    assert "the plan was valid at attempt 2" in report.notes


def test_three_invalid_plans_fall_back_to_the_deterministic_plan() -> None:
    chat = RoutedChatModel(
        routes={
            **WRITER,
            TOPIC: [AIMessage("I would rather not plan.")],
            "Zephyr drone": [AIMessage("Insufficient evidence: nothing.")],
        }
    )
    report = run(chat)
    assert chat.count(TOPIC) == 3
    assert report.plan.sub_questions[0] == "Zephyr drone"
    assert "the model gave no valid plan in 3 attempts" in report.notes
    assert "the deterministic plan was used instead" in report.notes


def test_max_branches_caps_the_plan() -> None:
    many = AIMessage(
        "",
        tool_calls=[
            call("submit_plan", "p1", title="Zephyr", sub_questions=[Q1, Q2, "Who founded Acme?"])
        ],
    )
    chat = RoutedChatModel(
        routes={"Section": [AIMessage("Nothing.")], TOPIC: [many], **branch_routes()}
    )
    report = run(chat, max_branches=2)
    assert report.plan.sub_questions == [Q1, Q2]
    assert len(report.branches) == 2


def test_offline_plan_of_a_long_topic_is_valid() -> None:
    topic = " ".join(["Rhiwallon ap Cynfyn ruled Powys jointly with his brother"] * 8) + "?"
    plan = offline_plan(topic, None, 5)
    assert len(plan.title) <= 124 and plan.title.endswith(" ...")
    assert plan.sub_questions[0] == topic and len(plan.sub_questions) == 2


def test_graph_shape_snapshot() -> None:
    snapshot = Path(__file__).parents[1] / "fixtures" / "report_graph.mmd"
    drawn = build_report_graph(tools=FakeCorpus(dict(DOCS)).tools()).get_graph().draw_mermaid()
    assert drawn == snapshot.read_text()
    assert "review -.-> research_branch;" in drawn and "write --> verify;" in drawn
