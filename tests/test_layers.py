"""The package's layers: imports only go downward, and no module imports itself in a circle.

core (errors, times, model) → io (reading, writing, importers) → analysis →
market → plots → report → cli. Lazy imports inside functions count too: a
cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "incident"
LAYERS = ["core", "io", "analysis", "market", "plots", "report", "cli"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every `incident...` module the file imports, at any depth of the code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("incident")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("incident"):
            found.add(node.module)
            # `from incident.io import prices` imports the module incident.io.prices
            found |= {f"{node.module}.{a.name}" for a in node.names if (PACKAGE.parent / f"{node.module}.{a.name}".replace(".", "/")).with_suffix(".py").exists()}
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            raise AssertionError(f"{path}: use absolute imports (from incident.… import …)")
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_imports_only_go_downward():
    wrong = []
    for module, deps in graph().items():
        mine = layer(module)
        for dep in deps:
            theirs = layer(dep)
            if mine is not None and theirs is not None and theirs > mine:
                wrong.append(f"{module} imports {dep} ({LAYERS[mine]} → {LAYERS[theirs]})")
            if mine is not None and dep == "incident" and module != "incident.report.render":
                wrong.append(f"{module} imports the package facade `incident`; import the module it needs")
    assert wrong == []


def test_no_import_cycles():
    g = graph()
    modules = set(g)

    def deps(m):  # a package import means its __init__
        return {d for d in g.get(m, ()) if d in modules and d != m}

    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        for d in sorted(deps(m)):
            if state.get(d) == 1:
                cycles.append(" → ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in sorted(modules):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_the_layers_exist_and_hold_the_modules():
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == ["__init__", "__main__"], "modules belong in a layer's folder"
    assert all((PACKAGE / name / "__init__.py").exists() for name in LAYERS)
