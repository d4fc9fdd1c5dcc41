"""Every package the code imports directly is declared in pyproject.toml (where its floor is).

A module is traced to the distribution whose installed files hold it (the RECORD of each
installed distribution; nothing is imported), so `langgraph.checkpoint.memory` counts as
langgraph-checkpoint, not as langgraph. `.ci/floors.sh` then proves the declared floors work.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from tests.support.foundation import PROJECT_ROOT

SOURCES = ("agent", "tools", "graphs", "tests", "benchmarks")
OWN = {"agent", "tools", "graphs", "tests"}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    """The distribution names of pyproject.toml's dependencies and of every extra."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return {norm(match[0]) for r in requirements if (match := NAME.match(r))}


@functools.cache
def module_owners() -> dict[str, set[str]]:
    """Dotted module name -> the installed distributions whose files (RECORD) hold it."""
    owners: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        name = norm(dist.metadata["Name"])
        for line in (dist.read_text("RECORD") or "").splitlines():
            path = line.split(",", 1)[0]
            if path.startswith("..") or ".dist-info/" in path or ".data/" in path:
                continue
            folder, _, file = path.rpartition("/")
            stem, _, suffix = file.partition(".")
            if file == "__init__.py":
                module = folder
            elif suffix == "py" or suffix.endswith(("so", "pyd")):
                module = f"{folder}/{stem}" if folder else stem
            else:
                continue
            owners.setdefault(module.replace("/", "."), set()).add(name)
    return owners


def owner(module: str) -> set[str]:
    """The distributions of `module`, or of its nearest parent package that one ships."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        found = module_owners().get(".".join(parts[:end]))
        if found:
            return found
    return set()


def imported_modules() -> Iterator[tuple[Path, str]]:
    """(file, module) for each absolute import of a third-party module in the project."""
    local = {path.stem for path in (PROJECT_ROOT / "benchmarks").glob("*.py")}
    for folder in SOURCES:
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.partition(".")[0]
                    if top not in sys.stdlib_module_names | OWN | local:
                        yield path.relative_to(PROJECT_ROOT), name


def test_the_owner_index_tells_namespace_packages_apart() -> None:
    assert owner("langgraph.checkpoint.memory") == {"langgraph-checkpoint"}
    assert owner("langgraph.graph") == {"langgraph"}
    assert owner("bs4") == {"beautifulsoup4"}
    assert owner("no_such_module_anywhere") == set()


def test_every_directly_imported_package_is_declared() -> None:
    wanted = declared()
    missing = sorted(
        f"{path}: {module} ({', '.join(sorted(owner(module))) or 'not installed'})"
        for path, module in imported_modules()
        if not owner(module) & wanted
    )
    assert missing == []
