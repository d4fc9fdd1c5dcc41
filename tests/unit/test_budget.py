from langchain_core.messages import AIMessage, HumanMessage

from agent import prompts
from agent.nodes.budget import spent_budget
from agent.settings import Context
from agent.state import LAST_TURN_ID
from tests.support.corpus import run
from tests.support.fake_chat import call
from tools.render import counted


def test_spent_budget_rules() -> None:
    ctx = Context(max_tool_calls=4, max_turns=5, max_context_tokens=3000)
    args = {
        "context": ctx,
        "tool_calls": 0,
        "turns": 0,
        "context_tokens": 10,
        "remaining_steps": 99,
    }
    assert spent_budget(**args) == ""
    assert spent_budget(**{**args, "tool_calls": 4}) == "4 tool calls"
    assert spent_budget(**{**args, "turns": 4}) == "5 model turns"
    assert spent_budget(**{**args, "context_tokens": 3000}) == "3000 context tokens"
    # a server window smaller than the setting lowers the budget in force
    smaller = {**args, "context_tokens": 1000, "max_context_tokens": 1000}
    assert spent_budget(**smaller) == "1000 context tokens"
    assert spent_budget(**{**args, "remaining_steps": 5}) == "graph steps"


def test_tool_call_budget_ends_with_an_answer_from_a_tools_less_turn() -> None:
    state, model, _ = run(
        [
            AIMessage("", tool_calls=[call("milvus_search", "c1", query="Zephyr")]),
            AIMessage("A quadcopter 【0†L2-L2】."),
        ],
        max_tool_calls=1,
    )
    assert model.calls[1]["tools"] is None
    last = model.calls[1]["messages"][-1]
    assert isinstance(last, HumanMessage) and last.id == LAST_TURN_ID
    assert last.content == prompts.LAST_TURN_PROMPT.format(reason="1 tool call")
    answer = state["answer"]
    assert (answer.status, answer.answer) == ("budget_exhausted", "A quadcopter [1].")
    assert state["budget_spent"] == "1 tool call"


def test_turn_budget_with_a_model_that_never_stops_calling_tools() -> None:
    looping = AIMessage("", tool_calls=[call("milvus_search", "c1", query="Zephyr")])
    state, model, corpus = run([looping], max_turns=3)
    assert [c["tools"] is None for c in model.calls] == [False, False, True]
    assert corpus.searches == ["Zephyr"]  # the second, identical call was not run again
    answer = state["answer"]
    assert (answer.status, answer.answer) == ("budget_exhausted", prompts.EMPTY_ANSWER)
    assert state["messages"][-1].tool_calls == []  # unanswerable calls are not kept
    assert answer.steps.turns == 3


def test_calls_beyond_the_tool_budget_in_one_turn_are_refused() -> None:
    many = AIMessage(
        "", tool_calls=[call("milvus_search", f"c{i}", query=f"q{i}") for i in range(3)]
    )
    state, _, corpus = run([many, AIMessage("Insufficient evidence: none.")], max_tool_calls=2)
    results = [m for m in state["messages"] if m.type == "tool"]
    assert [m.status for m in results] == ["success", "success", "error"]
    assert results[2].content == prompts.TOOL_BUDGET_ERROR and corpus.searches == ["q0", "q1"]


def test_context_token_budget_takes_tools_away() -> None:
    question = "Zephyr " * 8000  # 8,000 o200k tokens and the framing
    state, model, _ = run(
        [AIMessage("Insufficient evidence: too long.")], question, max_context_tokens=2000
    )
    assert model.calls[0]["tools"] is None
    assert state["budget_spent"] == "2000 context tokens"
    assert state["answer"].status == "budget_exhausted"


def test_low_recursion_limit_ends_with_an_answer_not_graph_recursion_error() -> None:
    looping = AIMessage("", tool_calls=[call("milvus_search", "c1", query="Zephyr")])
    state, _, _ = run([looping], config={"recursion_limit": 8}, max_turns=50, max_tool_calls=50)
    assert state["budget_spent"] == "graph steps"
    assert state["answer"].status == "budget_exhausted"


def test_counts_read_in_the_right_number() -> None:
    said = [counted(n, "tool call") for n in (0, 1, 2)]
    assert said == ["0 tool calls", "1 tool call", "2 tool calls"]
