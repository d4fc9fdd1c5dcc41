"""A run's options are checked once and its model chosen once (agent.runs), then reused."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from agent.llm.servers.choose import CHOSEN_KEY, ChosenModel
from agent.runs import from_options, prepare, split
from agent.schemas import ModelChoice
from agent.settings import Context
from graphs.research import build_graph
from tests.support.fake_chat import FakeToolCallingModel
from tests.support.isolation import data_dir_in_tmp  # noqa: F401
from tools.errors import ConfigError

# conftest's isolated_settings clears the user's variables; the data folder goes in tmp_path
pytestmark = pytest.mark.usefixtures("data_dir_in_tmp")


def test_prepare_chooses_the_offline_policy_and_says_why() -> None:
    run = prepare(provider="offline", k=3, thread_id="t1")
    assert run.choice == ModelChoice(provider="offline", model=run.choice.model, reason="chosen")
    assert run.choice is not None and run.choice.offline and run.choice.base_url is None
    assert run.thread_id == "t1" and run.context.k == 3
    # the resolved Milvus URI is pinned into the one Context, so tools read the same store
    assert run.context.milvus_uri == run.settings.resolved_milvus_uri()
    config = run.config()["configurable"]
    assert config["thread_id"] == "t1" and config[CHOSEN_KEY] is run.chosen


def test_a_prepared_run_is_not_chosen_again() -> None:
    run = prepare(provider="offline")
    assert run.with_model() is run
    assert from_options({"run": run}) is run
    moved = from_options({"run": run, "thread_id": "other"})
    assert moved.thread_id == "other" and moved.chosen is run.chosen


def test_split_checks_but_does_not_choose() -> None:
    run = split({"provider": "vllm", "k": 4})  # no server is probed for a split
    assert run.chosen is None and run.choice is None and CHOSEN_KEY not in str(run.config())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"run": "x"}, "run= takes a Run"),
        ({"run": None, "nosuch": 1}, "unknown option"),
        ({"k": 0}, "invalid setting k=0"),
    ],
)
def test_bad_options_are_one_config_error(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_options(options)


def test_options_beside_a_prepared_run_are_refused() -> None:
    run = prepare(provider="offline")
    with pytest.raises(ConfigError, match=r"not beside run=: \['k', 'wait'\]"):
        from_options({"run": run, "k": 3, "wait": False})


def test_call_model_uses_the_model_the_run_carries() -> None:
    carried = FakeToolCallingModel(script=[AIMessage("Carried.")], model_name="carried")
    choice = ModelChoice(provider="vllm", model="carried-20b", base_url="http://h/v1", reason="x")
    graph = build_graph(tools=[])  # no model given: the node would choose one itself
    # a vLLM context with no server behind it: choosing here would fail, so the carried
    # model must be the one that answers
    context = Context(provider="vllm", base_url="http://127.0.0.1:9/v1")
    state = graph.invoke(
        {"question": "q"},
        {"configurable": {CHOSEN_KEY: ChosenModel(carried, choice)}},
        context=context,
    )
    assert len(carried.calls) == 1
    assert (state["answer"].model, state["answer"].provider) == ("carried-20b", "vllm")
