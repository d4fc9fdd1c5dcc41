"""Which tests start another process, read from the test source (for the slow-mark check).

A test starts a process when its body, a helper it calls, or a fixture it takes calls
`subprocess.run/Popen/...`, `asyncio.create_subprocess_*`, `os.fork`/`os.spawn*`,
`multiprocessing.Process`, or a tests/support helper that (transitively) does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

STARTERS = {
    "subprocess": {"run", "Popen", "call", "check_call", "check_output", "getoutput"},
    "asyncio": {"create_subprocess_exec", "create_subprocess_shell"},
    "os": {"fork", "spawnv", "spawnl", "spawnvp", "spawnlp", "posix_spawn", "system", "popen"},
    "multiprocessing": {"Process", "Pool"},
}
"""Module attributes that start a process."""

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def _imported_names(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """Local name -> (module, attribute) for every `from X import Y [as Z]` of the module."""
    return {
        alias.asname or alias.name: (node.module or "", alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def _called_names(node: ast.AST) -> Iterator[str]:
    """Names a node calls or hands to a call: `f(...)`, `mod.f(...)` as "mod.f", `g(f)`."""
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Call):
            continue
        for target in (sub.func, *sub.args):
            if isinstance(target, ast.Name):
                yield target.id
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                yield f"{target.value.id}.{target.attr}"


def _seed_starters(tree: ast.Module, known: dict[str, set[str]]) -> set[str]:
    """Names in this module that start a process before any local helper is looked at.

    `known` maps tests.support module names to their own starting functions.
    """
    found = {f"{mod}.{attr}" for mod, attrs in STARTERS.items() for attr in attrs}
    for local, (module, attr) in _imported_names(tree).items():
        if attr in STARTERS.get(module, set()) or attr in known.get(module, set()):
            found.add(local)
    return found


def _functions(tree: ast.Module) -> dict[str, FunctionNode]:
    """Module-level functions and methods of module-level classes, by name."""
    found: dict[str, FunctionNode] = {}
    for node in tree.body:
        body = node.body if isinstance(node, ast.ClassDef) else [node]
        for item in body:
            if isinstance(item, FunctionNode):
                found[item.name] = item
    return found


def starting_functions(tree: ast.Module, known: dict[str, set[str]]) -> set[str]:
    """Names of the module's functions that start a process, directly or through helpers.

    Fixtures count through their parameters too: a fixture taking a starting fixture starts.
    """
    starters = _seed_starters(tree, known)
    functions = _functions(tree)
    starting: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, fn in functions.items():
            if name in starting:
                continue
            uses = set(_called_names(fn)) | {a.arg for a in fn.args.args}
            if uses & (starters | starting):
                starting.add(name)
                changed = True
    return starting


def support_starters(support: Path) -> dict[str, set[str]]:
    """For each tests/support module (dotted name), its functions that start a process."""
    trees = {
        f"tests.support.{p.stem}": ast.parse(p.read_text(encoding="utf-8"), str(p))
        for p in sorted(support.glob("*.py"))
    }
    known: dict[str, set[str]] = {name: set() for name in trees}
    changed = True
    while changed:  # support modules import each other
        changed = False
        for name, tree in trees.items():
            found = starting_functions(tree, known)
            if found != known[name]:
                known[name], changed = found, True
    return known


def _is_slow_mark(node: ast.expr) -> bool:
    """`pytest.mark.slow` (bare or called) or a list/tuple holding it."""
    if isinstance(node, ast.List | ast.Tuple):
        return any(_is_slow_mark(e) for e in node.elts)
    if isinstance(node, ast.Call):
        node = node.func
    return isinstance(node, ast.Attribute) and node.attr == "slow"


def _module_is_slow(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return _is_slow_mark(node.value)
    return False


def _tests(tree: ast.Module) -> Iterator[tuple[str, FunctionNode, bool]]:
    """(name, function, marked slow by its class) for each test function of the module."""
    for node in tree.body:
        if isinstance(node, FunctionNode) and node.name.startswith("test"):
            yield node.name, node, False
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            class_slow = any(_is_slow_mark(d) for d in node.decorator_list)
            for item in node.body:
                if isinstance(item, FunctionNode) and item.name.startswith("test"):
                    yield f"{node.name}.{item.name}", item, class_slow


def unmarked_starters(tree: ast.Module, known: dict[str, set[str]]) -> list[str]:
    """Tests of the module that start a process but carry no slow mark (module, class or own)."""
    if _module_is_slow(tree):
        return []
    starting = starting_functions(tree, known)
    return [
        name
        for name, fn, class_slow in _tests(tree)
        if fn.name in starting
        and not class_slow
        and not any(_is_slow_mark(d) for d in fn.decorator_list)
    ]
