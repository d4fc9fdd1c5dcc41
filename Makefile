# The README's two commands: `make demo` (set up, ingest docs/, answer a question) and `make test`
# (what CI runs); `make test-fast` is the quick tier while editing.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= How do I share one Milvus Lite database between LangGraph Studio and the CLI?

.PHONY: setup demo test test-fast lint lock clean

$(BIN)/research-agent: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,postgres]'
	@touch $@

setup: $(BIN)/research-agent

demo: setup
	$(BIN)/research-agent ingest docs/
	$(BIN)/research-agent ask "$(QUESTION)"

lint: setup
	$(BIN)/ruff check agent tools graphs tests benchmarks
	$(BIN)/ruff format --check agent tools graphs tests benchmarks
	$(BIN)/mypy

# CI's command (.ci/run). Two pytest-xdist workers, each module whole on one worker (its
# module and session fixtures built once per worker, as in a serial run), heaviest files first
# (tests/file_costs.json, read by tests/conftest.py; xdist's own reorder by test count is off),
# then the tests marked `serial` (wall-clock bounds, signals raced against a run) one at a time.
# In CI's `.ci/run` on a fresh clone, idle machine, 2026-12-03 20:12 UTC: 438 s + 135 s of
# pytest, 623 s in all (876 s of pytest at 18:31 with xdist's order; 1,167 s in one serial run).
test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --no-loadscope-reorder -m "not serial"
	$(BIN)/python -m pytest -q -p no:cacheprovider -m serial

# Unit and in-process integration tests (no CLI subprocess, server or corpus ingest), in two
# pytest-xdist workers: 109 s of pytest (1,003 tests) on the idle 2-core machine, 2026-12-03
# 19:56 UTC; 217 s at load average 7-10 from other work (979 tests).
# tests/unit/test_slow_marks.py keeps every test that starts a process out of this tier.
test-fast: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 -m "not slow" tests/unit tests/integration

lock:
	rm -rf /tmp/ra-lock && $(PY) -m venv /tmp/ra-lock
	/tmp/ra-lock/bin/pip install --quiet -e '.[dev,postgres]'
	/tmp/ra-lock/bin/pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) .research-agent .mypy_cache .ruff_cache
