"""The layout rules of docs/architecture.md, read from the source: import direction, no
import cycles, and a stated reason beside every import that is not at a module's top."""

from __future__ import annotations

import ast
import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.foundation import PROJECT_ROOT

PACKAGES = ("agent", "tools", "graphs")
LEAVES = {
    "agent.settings",
    "agent.schemas",
    "agent.prompts",
    "tools.schemas",
    "tools.errors",
    "tools.redact",
    "tools.terminal",
}
GRAPH_USERS = ("agent.api", "agent.report_api", "agent.eval.")
API = {
    "agent.api",
    "agent.runs",
    "agent.report_api",
    "agent.documents",
    "agent.catalog",
    "agent.doctor",
    "agent.conversations",
    "agent.interruptions",
    "agent.mcp_server",
    "agent.eval.harness",
    "agent.reporting.schemas",
}
"""What the CLI may import besides leaves: the Python API (and its data types), the MCP
server (a sibling front end) and the eval harness."""
VIEWS = {"tools.render", "tools.pages", "tools.progress"}
"""Text formatting the CLI shares with the tools (how the model sees a search, progress
lines); they import only leaves and each other (checked below), so they do no work."""


@functools.cache  # one parse of a tree for all the tests (they only read it)
def _modules(root: Path = PROJECT_ROOT) -> dict[str, ast.Module]:
    found: dict[str, ast.Module] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported (not under TYPE_CHECKING, not in functions)."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            stack.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            stack.extend([*node.body, *node.orelse, *node.finalbody])
            stack.extend(s for h in node.handlers for s in h.body)
        elif isinstance(node, ast.ClassDef):
            stack.extend(node.body)


def _targets(node: ast.Import | ast.ImportFrom, modules: dict[str, ast.Module]) -> set[str]:
    """The project modules an import statement loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        # `from tools import retry` imports the module tools.retry
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    return {n for n in names if n in modules}


@functools.cache
def _graph(root: Path = PROJECT_ROOT) -> dict[str, set[str]]:
    modules = _modules(root)
    return {
        name: {t for node in _top_level_imports(tree) for t in _targets(node, modules)} - {name}
        for name, tree in modules.items()
    }


def test_no_import_cycles() -> None:
    graph = _graph()
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycles.append([*path[path.index(name) :], name])
            return
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_import_direction() -> None:
    graph = _graph()
    wrong = []
    for name, targets in graph.items():
        for target in targets:
            if name in LEAVES and target not in LEAVES:
                wrong.append(f"leaf {name} imports {target}")
            elif name.startswith("tools") and target.startswith("agent") and target not in LEAVES:
                wrong.append(f"{name} imports {target} (tools import only the leaves)")
            elif target.startswith("graphs") and not name.startswith(("graphs", *GRAPH_USERS)):
                wrong.append(
                    f"{name} imports {target} (only the API modules and the eval harness may)"
                )
    assert not wrong, "\n".join(sorted(wrong))


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module `start` imports, directly or through others."""
    found: set[str] = set()
    stack = list(graph[start])
    while stack:
        name = stack.pop()
        if name not in found:
            found.add(name)
            stack.extend(graph.get(name, ()))
    return found


def room_violations(graph: dict[str, set[str]]) -> list[str]:
    """Breaks of the rules between the agent's rooms (docs/architecture.md, Import direction).

    The nodes reach a chat model, the offline policy included, only through
    agent.llm.servers.choose, so they never import agent.offline; the offline policy never
    reaches the nodes, not even through another module (that would close a nodes -> llm ->
    offline -> nodes cycle).
    Evidence is shared by nodes, the offline policy, the API and the eval harness, so it
    imports none of them: only tools, the leaves, the graph's state and itself.
    """
    wrong = []
    evidence_may = ("tools", "agent.evidence", "agent.state", *LEAVES)
    for name, targets in graph.items():
        for target in sorted(targets):
            if _in(name, "agent.nodes") and _in(target, "agent.offline"):
                wrong.append(f"{name} imports {target} (nodes never import the offline policy)")
            if _in(name, "agent.evidence") and not any(_in(target, p) for p in evidence_may):
                wrong.append(f"{name} imports {target} (evidence imports only tools and leaves)")
        if _in(name, "agent.offline"):
            for target in sorted(t for t in _reach(graph, name) if _in(t, "agent.nodes")):
                wrong.append(f"{name} reaches {target} (the offline policy never reaches nodes)")
    return wrong


def test_rooms_meet_in_one_direction() -> None:
    wrong = room_violations(_graph())
    assert not wrong, "\n".join(wrong)


def _tree_with(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the source with one import line added to the end of `module`."""
    for package in PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, tmp_path / package)
    path = tmp_path / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "line", "expected"),
    [
        (
            "agent.nodes.respond",
            "from agent.offline.policy import OfflinePolicy",
            "agent.nodes.respond imports agent.offline.policy",
        ),
        (
            "agent.offline.extractive",
            "from agent.nodes.budget import spent_budget",
            "agent.offline.extractive reaches agent.nodes.budget",
        ),
        (  # not directly: through a module that imports the nodes
            "agent.offline.policy",
            "import agent.eval.harness",
            "agent.offline.policy reaches agent.nodes.respond",
        ),
        (
            "agent.evidence.seen",
            "from agent.offline import extractive",
            "agent.evidence.seen imports agent.offline.extractive",
        ),
    ],
)
def test_an_injected_import_across_rooms_is_caught(
    tmp_path: Path, module: str, line: str, expected: str
) -> None:
    wrong = room_violations(_graph(_tree_with(tmp_path, module, line)))
    assert any(w.startswith(expected + " ") for w in wrong), wrong


def _local_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    yield inner


def test_every_import_inside_a_function_says_why() -> None:
    """Function-local imports are kept only with a `# lazy: <reason>` comment above them."""
    silent = []
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            tree = ast.parse("\n".join(lines))
            for node in set(_local_imports(tree)):
                above = node.lineno - 2  # skip the import group this one belongs to
                while above >= 0 and (  # the group, isort sections split by blank lines
                    lines[above].strip().startswith(("from ", "import "))
                    or not lines[above].strip()
                ):
                    above -= 1
                while above >= 0 and lines[above].strip() == "try:":
                    above -= 1
                comment: list[str] = []
                while above >= 0 and lines[above].strip().startswith("#"):
                    comment.insert(0, lines[above].strip())
                    above -= 1
                if not any(c.lower().startswith("# lazy:") for c in comment):
                    rel = path.relative_to(PROJECT_ROOT)
                    silent.append(f"{rel}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not silent, "imports inside functions without a `# lazy:` reason:\n" + "\n".join(
        sorted(silent)
    )


def test_the_rules_see_the_project() -> None:
    # The checks above pass vacuously if the scan finds nothing; it must find the layers.
    graph = _graph()
    assert {"agent.api", "graphs.research", "tools.store", "tools.retry"} <= set(graph)
    assert "graphs.research" in graph["agent.api"]
    assert "tools.retry" in graph["tools.embeddings"]
    # the evidence room is used by the nodes, the offline policy, the API's events, the eval
    assert {"agent.evidence.seen", "tools.artifacts"} <= graph["agent.offline.policy"] | _reach(
        graph, "agent.offline.policy"
    )
    assert "agent.evidence.citations" in graph["agent.nodes.respond"]
    assert "agent.evidence.summaries" in graph["agent.events"]
    assert "agent.evidence.seen" in graph["agent.eval.harness"]
    assert "tools.artifacts" in graph["tools.cursors"]
    assert Path(PROJECT_ROOT / "docs" / "architecture.md").is_file()


def _all_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import of a module: at the top, in functions, under TYPE_CHECKING."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def _project_names(node: ast.Import | ast.ImportFrom, modules: set[str]) -> set[str]:
    """The project modules an import names, whether they exist yet or not."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif node.level:  # relative imports are not used in this project; flag them
        return {f"{'.' * node.level}{node.module or ''}"}
    else:
        base = node.module or ""
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    return {n for n in names if n.split(".")[0] in PACKAGES}


def cli_violations(tree: ast.Module, modules: set[str]) -> list[str]:
    """Imports of a CLI module that reach past the API and the leaves (any import, lazy too)."""
    allowed = API | LEAVES | VIEWS
    return sorted(
        name
        for node in _all_imports(tree)
        for name in _project_names(node, modules)
        if not name.startswith("agent.cli") and name not in allowed
    )


def test_the_cli_imports_only_the_api_and_leaves() -> None:
    modules = _modules()
    cli = {name: tree for name, tree in modules.items() if name.startswith("agent.cli")}
    assert len(cli) >= 10, sorted(cli)  # the scan sees the CLI
    wrong = [
        f"{n} imports {t}" for n, tree in cli.items() for t in cli_violations(tree, set(modules))
    ]
    assert not wrong, "the CLI is a client of the API:\n" + "\n".join(wrong)


def test_the_cli_s_views_do_no_work() -> None:
    graph = {name: set(targets) for name, targets in _graph().items()}
    wrong = {name: graph[name] - LEAVES - VIEWS for name in VIEWS if graph[name] - LEAVES - VIEWS}
    assert not wrong, wrong
    assert API <= set(graph), sorted(API - set(graph))  # every API module named exists


@pytest.mark.parametrize(
    "source",
    [
        "import agent.llm.chat",
        "from agent.llm.servers.choose import select_chat_model",
        "from tools.store import open_store",
        "import tools.store",
        "from tools import catalog",
        "from graphs.research import graph",
        "from agent.evidence.summaries import summarize",
        "def f() -> None:\n    # lazy: hidden in a function\n    import agent.llm.chat\n",
        "if TYPE_CHECKING:\n    from tools.store import ChunkStore\n",
    ],
)
def test_the_cli_rule_fails_on_an_injected_import(source: str) -> None:
    modules = set(_modules())
    assert cli_violations(ast.parse(source), modules), source


def test_the_cli_rule_lets_the_api_and_leaves_through() -> None:
    source = (
        "from agent.api import stream\nfrom agent.runs import prepare\n"
        "from agent.cli.options import RunFlags\nfrom tools.errors import ConfigError\n"
        "import typer\nfrom agent.settings import Settings\n"
    )
    assert cli_violations(ast.parse(source), set(_modules())) == []


MILVUS_LIBRARIES = ("pymilvus", "langchain_milvus", "milvus_lite")
STORE = "tools.store"


def _in_store(name: str) -> bool:
    return name == STORE or name.startswith(f"{STORE}.")


def _imported_names(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every module an import names, anywhere: top level, functions, TYPE_CHECKING blocks."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def _store_privates(modules: dict[str, ast.Module]) -> set[str]:
    """Private names the store's modules define: functions, class members, self._x fields."""
    names: set[str] = set()
    for name, tree in modules.items():
        if not _in_store(name):
            continue
        for node in ast.walk(tree):
            found = None
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found = node.name
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                found = node.attr
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                found = node.id
            if found and found.startswith("_") and found.strip("_") and not found.startswith("__"):
                names.add(found)
    return names


def _is_store_expr(node: ast.expr) -> bool:
    """A name holding a store (`store`, `self.store`, ...) or a call of open_store()."""
    if isinstance(node, ast.Call):
        func = node.func
        return getattr(func, "attr", getattr(func, "id", "")) == "open_store"
    text = ast.unparse(node).lower()
    return "store" in text.rsplit(".", 1)[-1]


def milvus_outside_store(modules: dict[str, ast.Module]) -> list[str]:
    """Where a module outside tools/store imports a Milvus library or uses store internals.

    Three rules: no import of pymilvus, langchain_milvus or milvus_lite (at any depth);
    no use of a private name of the store's modules except through `self`/`cls`; no call
    through a store's pymilvus client (`store.client.x`, `open_store(s).client`).
    """
    privates = _store_privates(modules)
    wrong = []
    for name, tree in modules.items():
        if _in_store(name):
            continue
        for line, module in _imported_names(tree):
            if module.split(".")[0] in MILVUS_LIBRARIES:
                wrong.append(f"{name}:{line} imports {module} (only tools/store may)")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and _in_store(node.module or ""):
                for alias in node.names:
                    if alias.name in privates:
                        wrong.append(f"{name}:{node.lineno} imports the store's {alias.name}")
            if not isinstance(node, ast.Attribute):
                continue
            owner = node.value
            if node.attr in privates and not (
                isinstance(owner, ast.Name) and owner.id in ("self", "cls")
            ):
                wrong.append(f"{name}:{node.lineno} uses the store's private {node.attr}")
            elif node.attr == "client" and _is_store_expr(owner):
                wrong.append(f"{name}:{node.lineno} calls Milvus through {ast.unparse(node)}")
    return sorted(wrong)


def test_milvus_is_touched_only_in_tools_store() -> None:
    modules = _modules()
    assert not milvus_outside_store(modules), "\n".join(milvus_outside_store(modules))
    # the scan sees the store's own uses, which are allowed there
    store_imports = {m for n, t in modules.items() if _in_store(n) for _, m in _imported_names(t)}
    assert {"pymilvus", "langchain_milvus"} <= {m.split(".")[0] for m in store_imports}
    assert {"_query", "_dense_index"} <= _store_privates(modules)


INJECTED = """
from typing import TYPE_CHECKING
import importlib
if TYPE_CHECKING:
    from pymilvus import MilvusClient
from tools.store import open_store
from tools.store.lite import _served_here
def f(settings):
    # lazy: an injected import the checker must see inside a function
    import langchain_milvus.vectorstores
    store = open_store(settings)
    importlib.import_module("milvus_lite")
    rows = store._query('id != ""', ["id"])
    open_store(settings).client.drop_collection("x")
    return store.client.list_collections(), rows
"""


@pytest.mark.parametrize("where", ["agent.cli.injected", "tools.injected", "graphs.injected"])
def test_the_milvus_rule_catches_injected_uses(where: str) -> None:
    modules = _modules()
    found = milvus_outside_store({**modules, where: ast.parse(INJECTED)})
    assert found == sorted(
        [
            f"{where}:5 imports pymilvus (only tools/store may)",
            f"{where}:7 imports the store's _served_here",
            f"{where}:10 imports langchain_milvus.vectorstores (only tools/store may)",
            f"{where}:12 imports milvus_lite (only tools/store may)",
            f"{where}:13 uses the store's private _query",
            f"{where}:14 calls Milvus through open_store(settings).client",
            f"{where}:15 calls Milvus through store.client",
        ]
    )
    # the same code inside tools/store is the store's own business
    assert not milvus_outside_store({**modules, "tools.store.injected": ast.parse(INJECTED)})
