"""Reviewing the plan (accept, edit, reject) and resuming a report after a failure."""

from __future__ import annotations

import threading
import time

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent.settings import ReportContext
from agent.threads import checkpoint_serde
from graphs.report import build_report_graph
from tests.support.corpus import DOCS
from tests.support.fake_tools import FakeCorpus
from tests.support.routed_chat import RoutedChatModel
from tests.unit.test_report_graph import PLAN, Q1, Q2, TOPIC, WRITER, branch_routes

CONFIG = {"configurable": {"thread_id": "t1"}}


def reviewed_graph(chat: RoutedChatModel):  # type: ignore[no-untyped-def]
    saver = InMemorySaver(serde=checkpoint_serde())
    return build_report_graph(chat, saver, tools=FakeCorpus(dict(DOCS)).tools())


def start(chat: RoutedChatModel):  # type: ignore[no-untyped-def]
    graph = reviewed_graph(chat)
    state = graph.invoke({"topic": "Zephyr drone", "review": True}, CONFIG, context=ReportContext())
    (pending,) = state["__interrupt__"]
    assert pending.value["plan"]["sub_questions"] == [Q1, Q2]
    assert chat.count(Q1) == chat.count(Q2) == 0  # nothing researched before the review
    return graph


def chat() -> RoutedChatModel:
    return RoutedChatModel(routes={**WRITER, TOPIC: [PLAN], **branch_routes()})


def test_review_accept_researches_the_plan() -> None:
    model = chat()
    graph = start(model)
    state = graph.invoke(Command(resume={"action": "accept"}), CONFIG, context=ReportContext())
    assert state["report"].status == "complete"
    assert model.count(Q1) == model.count(Q2) == 3


def test_review_edit_researches_the_edited_plan() -> None:
    founded = [AIMessage("Insufficient evidence: not searched.")]
    writer = [AIMessage("Nothing here.")]
    model = RoutedChatModel(
        routes={"Section:": writer, TOPIC: [PLAN], "Who founded": founded, **branch_routes()}
    )
    graph = start(model)
    edit = {"action": "edit", "sub_questions": [Q2, "Who founded Acme Robotics?"]}
    state = graph.invoke(Command(resume=edit), CONFIG, context=ReportContext())
    report = state["report"]
    assert report.plan.sub_questions == [Q2, "Who founded Acme Robotics?"]
    assert report.plan.title == "The Zephyr drone"
    assert model.count(Q1) == 0 and model.count(Q2) == 3 and model.count("Who founded") == 1


def test_review_invalid_edit_is_shown_again_with_the_reason() -> None:
    graph = start(chat())
    state = graph.invoke(
        Command(resume={"action": "edit", "sub_questions": ["one"]}),
        CONFIG,
        context=ReportContext(),
    )
    (pending,) = state["__interrupt__"]
    assert "at least 2 items" in pending.value["error"]
    assert pending.value["plan"]["sub_questions"] == [Q1, Q2]


def test_review_reject_ends_without_research() -> None:
    model = chat()
    graph = start(model)
    state = graph.invoke(
        Command(resume={"action": "reject", "reason": "too narrow"}),
        CONFIG,
        context=ReportContext(),
    )
    report = state["report"]
    assert report.status == "partial" and report.sections == []
    assert report.why == "the plan was rejected at review: too narrow"
    assert model.count(Q1) == model.count(Q2) == 0


class ServerDown(RuntimeError):
    pass


def test_resume_after_a_failure_in_the_fan_out_reruns_only_unfinished_branches() -> None:
    first_done = threading.Event()
    failed = []

    def q1_hook(index: int) -> None:
        if index == 2:  # its final answer: the branch is about to finish
            first_done.set()

    def q2_hook(index: int) -> None:
        if not failed:
            assert first_done.wait(10)
            time.sleep(0.5)  # let the first branch's result be written
            failed.append(index)
            raise ServerDown("model server down")

    model = RoutedChatModel(
        routes={**WRITER, TOPIC: [PLAN], **branch_routes()}, hooks={Q1: q1_hook, Q2: q2_hook}
    )
    graph = reviewed_graph(model)
    with pytest.raises(ServerDown):
        graph.invoke({"topic": "Zephyr drone"}, CONFIG, context=ReportContext(), durability="sync")
    assert failed == [0]
    assert (model.count(TOPIC), model.count(Q1), model.count(Q2)) == (1, 3, 0)
    state = graph.invoke(None, CONFIG, context=ReportContext(), durability="sync")
    # the finished branch is not run again; the failed one runs from its start
    assert (model.count(TOPIC), model.count(Q1), model.count(Q2)) == (1, 3, 3)
    assert state["report"].status == "complete"
    # the resumed branch gets the share the first run gave it: shares follow the plan only
    budget = state["report"].budget
    assert [b.token_budget for b in state["report"].branches] == [budget.branch_share] * 2
    total = ReportContext().settings().report_tokens
    assert budget.branch_share == (total - budget.planning_tokens) // 3
    assert [s.text for s in state["report"].sections] == [
        "The Zephyr drone is made by Acme Robotics [1].",
        "Acme Robotics has its office in Oslo [2].",
    ]
