"""A report run's options are checked once and its model chosen once (agent.report_runs)."""

from __future__ import annotations

import pytest

from agent.llm.servers.choose import CHOSEN_KEY
from agent.report_runs import BRANCH_THREADS, report_run
from agent.runs import prepare
from tests.support.isolation import data_dir_in_tmp  # noqa: F401
from tools.errors import ConfigError

# conftest's isolated_settings clears the user's variables; the data folder goes in tmp_path
pytestmark = pytest.mark.usefixtures("data_dir_in_tmp")


def test_a_prepared_run_carries_its_model_into_the_report() -> None:
    prepared = prepare(provider="offline", k=2)
    run = report_run({"run": prepared, "max_branches": 3, "thread_id": "t1"})
    assert run.run.chosen is prepared.chosen  # not chosen again
    assert run.thread_id == "t1"
    assert run.context.k == 2 and run.context.max_branches == 3
    assert run.context.provider == "offline"
    assert run.context.milvus_uri == prepared.context.milvus_uri
    config = run.config()
    assert config["max_concurrency"] == BRANCH_THREADS
    assert config["configurable"] == {"thread_id": "t1", CHOSEN_KEY: prepared.chosen}


def test_options_choose_once_or_later() -> None:
    run = report_run({"provider": "offline", "report_tokens": 9000}, choose=False)
    assert run.run.chosen is None and CHOSEN_KEY not in str(run.config())
    chosen = run.with_model()
    assert chosen.run.choice is not None and chosen.run.choice.provider == "offline"
    assert chosen.with_model() is chosen
    assert chosen.context.report_tokens == 9000


def test_research_options_beside_a_prepared_run_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"not beside run=: \['k'\]"):
        report_run({"run": prepare(provider="offline"), "k": 3, "max_branches": 3})


def test_an_unknown_option_names_the_report_options_too() -> None:
    with pytest.raises(ConfigError, match=r"unknown option\(s\) branches; valid: .*max_branches"):
        report_run({"provider": "offline", "branches": 3})


def test_a_bad_report_option_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match="max_branches"):
        report_run({"provider": "offline", "max_branches": 99})


def test_a_review_keeps_the_prepared_runs_thread_or_gets_a_new_one() -> None:
    kept = report_run({"run": prepare(provider="offline", thread_id="rv1")}).on_a_thread()
    assert kept.thread_id == "rv1"
    new = report_run({"run": prepare(provider="offline")}).on_a_thread()
    assert new.thread_id is not None and new.thread_id.startswith("report-")
    assert new.run.chosen is not None and CHOSEN_KEY in new.config()["configurable"]
