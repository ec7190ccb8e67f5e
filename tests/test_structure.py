"""The shape DESIGN.md promises, checked: small modules and functions, private names kept
private, and the layering (trainable/ knows no search, report/ reads trials without the engine).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("search", "trainable")
MOST_LINES = 300  # a module
MOST_FUNCTION_LINES = 60


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


def test_modules_and_functions_stay_small() -> None:
    large = []
    for path in _files(*PACKAGES):
        lines = len(path.read_text().splitlines())
        if lines > MOST_LINES:
            large.append(f"{_module_name(path)}: {lines} lines")
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MOST_FUNCTION_LINES:
                    large.append(f"{_module_name(path)}.{node.name}: {length} lines")
    assert not large, "\n".join(large)


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
    [
        ("trainable", ("ray", "optuna", "search")),  # trainable knows nothing of the search
        ("search/report", ("search.engine",)),  # reads stored trials through search.trials
        ("search/trials", ("search.engine", "search.report", "search.rundir", "ray")),
    ],
)
def test_layers_import_only_downwards(folder: str, forbidden: tuple[str, ...]) -> None:
    wrong = [
        f"{_module_name(path)} imports {name}"
        for path in _files(folder)
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]
    assert not wrong, "\n".join(wrong)
