"""The package's layers, as docs/dev/index.md draws them: imports go down, never up
(two stated exceptions), and the layers below the pytest-facing ones never import pytest."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest_sipfront

PACKAGE = Path(pytest_sipfront.__file__).parent
SHARED = {"options", "settings", "durations", "integers", "sanitize"}
# Top first. An import may only point at its own layer or one further down.
LAYERS = [
    "ci",
    "plugin",
    "session",
    "library",
    "reports",
    "runs",
    "ledger",
    "api",
    "sandbox",
    "manifest",
    "media",
]
ALLOWED_UP = {("api", "pytest_sipfront.runs.outcome"), ("api", "pytest_sipfront.runs.messages")}
WITHOUT_PYTEST = {"library", "reports", "runs", "ledger", "api", "manifest", "sandbox", "media"}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else "__init__"
    if name in SHARED or name in ("__init__", "__main__"):
        return None  # shared by every layer, or the package's own doors
    if name in ("action", "cli"):
        return "ci"
    return name


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def modules() -> list[tuple[str, Path]]:
    return [
        ("pytest_sipfront." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts), path)
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def test_every_module_belongs_to_a_drawn_layer_or_is_shared() -> None:
    for module, _ in modules():
        layer = layer_of(module)
        assert layer is None or layer in LAYERS, module


def test_imports_go_down_the_layers_never_up() -> None:
    upward = []
    for module, path in modules():
        here = layer_of(module)
        if here is None:
            continue
        for target in imports(path):
            there = layer_of(target) if target.startswith("pytest_sipfront.") else None
            if there is None or (here, target) in ALLOWED_UP:
                continue
            if LAYERS.index(there) < LAYERS.index(here):
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_the_layers_below_the_pytest_facing_ones_never_import_pytest() -> None:
    offenders = [
        module
        for module, path in modules()
        if layer_of(module) in WITHOUT_PYTEST
        and any(name.split(".")[0] in ("pytest", "_pytest") for name in imports(path))
    ]
    assert offenders == []


def runtime_imports(path: Path) -> set[str]:
    """The package modules ``path`` imports when it runs (``TYPE_CHECKING`` blocks left out,
    imports inside functions counted: they run too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    known = {module for module, _ in modules()}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only or not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        found.add(node.module)
        found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found & known


def test_the_package_has_no_import_cycle() -> None:
    graph = {module.removesuffix(".__init__"): runtime_imports(path) for module, path in modules()}
    state: dict[str, str] = {}
    cycles: list[str] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, set()) - {module}):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
