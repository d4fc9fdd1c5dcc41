#!/usr/bin/env bash
# The declared floors work: install the lowest version every requirement in pyproject.toml
# allows (each `>=X` or `==X` pinned to X; the rest resolves freely) into a fresh virtual
# environment, then run the quick test tier there.
#
#   .ci/floors.sh [VENV]     # default /tmp/ra-floors; prints the floors it installed
#
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
requirements = project["dependencies"] + [
    r for extra in ("dev", "postgres") for r in project["optional-dependencies"][extra]
]
for requirement in requirements:
    found = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*(?:>=|==)\s*([0-9][^,;\s]*)", requirement)
    if found:
        print(f"{found[1]}=={found[2]}")
PY
cat "$floors"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet -c "$floors" -e '.[dev,postgres]'
"$venv/bin/pip" freeze --exclude-editable >"$venv.freeze.txt"
make test-fast VENV="$venv"
