#!/usr/bin/env bash
# The declared floors work: install the lowest version every requirement in pyproject.toml
# allows (each `>=X` or `==X` of the dependencies and of every extra pinned to X; the rest
# resolves freely) into a fresh virtual environment, then run the quick test tier there.
#
#   .ci/floors.sh [VENV]     # default /tmp/ra-floors; prints the floors and each step's time
#
# 1. uv (installed from the registry into VENV-uv) resolves the floors first: a set of floors
#    that cannot be installed together fails here in seconds, with uv's reason. pip's resolver
#    backtracks for 20 minutes and more over the same conflict before giving up.
# 2. pip installs the floors (`pip install -c FLOORS -e '.[dev,postgres]'`, as `make setup`
#    does with constraints.txt) and `make test-fast VENV=...` runs in that environment.
# Needs the package registry, so it is not part of `.ci/run` (CI's default run).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-/tmp/ra-floors}
export PIP_DISABLE_PIP_VERSION_CHECK=1
floors="$venv.floors.txt"
python3 - >"$floors" <<'PY'
import re
import tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
requirements = list(project["dependencies"])
for extra in project["optional-dependencies"].values():
    requirements += extra
for requirement in requirements:
    found = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*(?:>=|==)\s*([0-9][^,;\s]*)", requirement)
    if found:
        print(f"{found[1]}=={found[2]}")
PY
echo "floors ($floors):"
sed 's/^/  /' "$floors"

step() {  # step NAME COMMAND...: run it, print how long it took, return its status
    local name=$1 start=$SECONDS status=0
    shift
    "$@" || status=$?
    echo "floors: $name took $((SECONDS - start)) s"
    return "$status"
}

rm -rf "$venv" "$venv-uv"
python3 -m venv "$venv"
python3 -m venv "$venv-uv"
step "installing uv" "$venv-uv/bin/pip" install --quiet uv==0.13.9
step "resolving the floors (uv)" "$venv-uv/bin/uv" pip compile --quiet --python "$venv/bin/python" \
    -c "$floors" pyproject.toml --all-extras -o "$venv.resolved.txt" \
    || { echo "error: these floors cannot be installed together; raise the one uv names above" \
        "in pyproject.toml and run .ci/floors.sh again" >&2; exit 1; }

"$venv/bin/pip" install --quiet --upgrade pip
step "installing the floors (pip)" "$venv/bin/pip" install --quiet -c "$floors" -e '.[dev,postgres]'
"$venv/bin/pip" freeze --exclude-editable >"$venv.freeze.txt"
step "make test-fast" make test-fast VENV="$venv"
# `make test-fast` reinstalls from constraints.txt when pyproject.toml is newer than the venv;
# the run only counts if the floors were still what it tested.
"$venv/bin/pip" freeze --exclude-editable | diff "$venv.freeze.txt" - \
    || { echo "error: the floors venv changed during the test run" >&2; exit 1; }
echo "floors: passed (installed versions in $venv.freeze.txt)"
