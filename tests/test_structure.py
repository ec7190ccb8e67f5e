"""The shape DESIGN.md promises, checked: no import cycle between modules, packages that import
only downwards, private names kept private, functions short enough to read at once. A module
is as long as its one concept needs: there is no line cap to split it by.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("search", "trainable")
MOST_FUNCTION_LINES = 60
# The packages from the bottom up: each imports only from its own layer or below. The last
# layer is the service on top: every module directly in search/ (run, check, cli, ...) and a
# plug-in's own step that runs on Ray. A module takes the layer of the longest name it matches.
LAYERS = (
    ("trainable",),  # knows nothing of Ray, Optuna or the search
    ("search.errors", "search.deadlines", "search.echo", "search.registry", "search.urls"),
    ("search.trials",),  # what a stored trial holds, read one way
    # the study's plug-ins: each question a study file asks, one package
    ("search.budget", "search.pruners", "search.samplers", "search.selection"),
    ("search.start.settings",),
    ("search.study",),  # the study file
    ("search.rundir",),  # the run directory and the storage
    ("search.start",),  # the first trials and warm starts (their settings: search.start.settings)
    ("search.engine",),  # Ray Tune and Optuna
    ("search.report",),  # report.html, progress, status, dashboard
    ("search.selection.race_runs",),  # the service
)


def _files(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py"))


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _imports(path: Path) -> list[str]:
    """Every module `path` imports, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            if (ROOT / node.module.replace(".", "/") / "__init__.py").exists():  # a package
                found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def test_functions_stay_short() -> None:
    long = []
    for path in _files(*PACKAGES):
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MOST_FUNCTION_LINES:
                    long.append(f"{_module_name(path)}.{node.name}: {length} lines")
    assert not long, "\n".join(long)


@cache
def _graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, anywhere in it (functions and type-checking
    blocks too: a cycle through either is still two modules that need each other)."""
    modules = {_module_name(p) for p in _files(*PACKAGES)}
    graph: dict[str, set[str]] = {}
    for path in _files(*PACKAGES):
        name = _module_name(path)
        graph[name] = set()
        for imported in _imported_modules(path, modules):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                graph[name].add(imported)
    return graph


def _imported_modules(path: Path, modules: set[str]) -> list[str]:
    """What `path` imports, each name resolved to the module it is in (`from pkg import sub`
    is the submodule sub, not pkg's __init__)."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.append(full if full in modules else node.module)
    return found


def _layer(module: str) -> int:
    matches = [
        (len(unit), rank)
        for rank, units in enumerate(LAYERS)
        for unit in units
        if module == unit or module.startswith(unit + ".")
    ]
    return max(matches)[1] if matches else len(LAYERS) - 1  # modules directly in search/


def test_no_import_cycle_between_modules() -> None:
    graph, cycles = _graph(), []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                cycles.append(" -> ".join([*path[path.index(imported) :], imported]))
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_packages_import_only_downwards() -> None:
    upward = [
        f"{module} imports {imported}"
        for module, imports in sorted(_graph().items())
        for imported in sorted(imports)
        if _layer(imported) > _layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_the_layers_name_every_package() -> None:
    """A new package takes its place in LAYERS, not the top by default."""
    named = {u for units in LAYERS for u in units}
    packages = {
        _module_name(p.parent / "__init__.py") for p in _files("search") if p.name == "__init__.py"
    }
    assert packages - {"search"} <= named | {"search"}, packages - named


def test_no_private_name_is_used_outside_its_module() -> None:
    """`from m import _x`, `m._x` on an imported project module, or "m._x" in a string
    (monkeypatch targets), anywhere in the project, tests and benchmarks included."""
    dotted = re.compile(r"\b(?:search|trainable)(?:\.\w+)*\._[a-zA-Z]\w*")
    uses = []
    for path in _files(*PACKAGES, "tests", "benchmarks"):
        tree = _tree(path)
        modules: set[str] = set()  # local names bound to project modules
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                project = node.module.split(".")[0] in PACKAGES
                for alias in node.names:
                    if project and _private(alias.name):
                        uses.append(f"{path.name}: from {node.module} import {alias.name}")
                    if (
                        project
                        and (ROOT / (node.module + "." + alias.name).replace(".", "/"))
                        .with_suffix(".py")
                        .exists()
                    ):
                        modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in PACKAGES and alias.asname:
                        modules.add(alias.asname)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and _private(node.attr)
            ):
                uses.append(f"{path.name}: {node.value.id}.{node.attr}")
            elif _sets_private(node, modules):
                uses.append(
                    f"{path.name}: setattr({ast.unparse(node.args[0])}, {node.args[1].value!r})"
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                uses += [f"{path.name}: {m}" for m in dotted.findall(node.value)]
    assert not uses, "\n".join(uses)


def _sets_private(node: ast.AST, modules: set[str]) -> bool:
    """`setattr(module, "_x", ...)` or `monkeypatch.setattr(module, "_x", ...)`."""
    if not isinstance(node, ast.Call) or len(node.args) < 2:
        return False
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    target, attribute = node.args[:2]
    return (
        name == "setattr"
        and isinstance(target, ast.Name)
        and target.id in modules
        and isinstance(attribute, ast.Constant)
        and isinstance(attribute.value, str)
        and _private(attribute.value)
    )


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [("trainable", ("ray", "optuna")), ("search/trials", ("ray",))],
)
def test_lower_layers_do_without_ray_and_optuna(folder: str, forbidden: tuple[str, ...]) -> None:
    wrong = [
        f"{_module_name(path)} imports {name}"
        for path in _files(folder)
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]
    assert not wrong, "\n".join(wrong)
