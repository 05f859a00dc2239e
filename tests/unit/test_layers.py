"""The package's shape (DESIGN.md, "Layer order"): imports point down the layers only, no module
or package imports itself back through others, and no `_private` name crosses a module border.
Every import counts, those inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src"
PACKAGE = SRC / "fashiongan"

# Lowest first; a unit may import its own layer and those below it.
LAYERS = [
    ("errors", "cpuload", "fileio", "outputs", "validate", "config", "version"),
    ("imageio", "presets", "data"),
    ("models", "augment"),
    ("accel", "snapshot"),
    ("metrics",),
    ("generate",),
    ("training",),
    ("export", "texture", "serve", "share"),
    ("cli",),
    ("__init__", "__main__"),  # the public API and `python -m fashiongan`
]
RANK = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str) -> str:
    """`fashiongan.training.loop` -> `training`; the package itself is `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, modules: dict[str, Path]) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every fashiongan import in the file."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names
                      if a.name.split(".")[0] == "fashiongan"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "fashiongan":
                continue
            names = []
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:  # `from pkg import module`: an edge to that module
                    found.append((sub, [], node.lineno))
                else:
                    names.append(alias.name)
            if names:
                found.append((target, names, node.lineno))
    return found


def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {m: {t for t, _, _ in imports_of(p, modules) if t != m} for m, p in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_every_unit_has_a_layer():
    units = {unit_of(m) for m in all_modules()}
    assert units <= set(RANK), f"modules outside DESIGN.md's layers: {units - set(RANK)}"


def test_imports_point_down_the_layers():
    modules = all_modules()
    upward = [f"{module_name(p)}:{line} imports {target}"
              for p in modules.values() for target, _, line in imports_of(p, modules)
              if RANK[unit_of(target)] > RANK[unit_of(module_name(p))]]
    assert not upward, "\n".join(upward)


def test_no_module_cycle():
    assert cycles(graph()) == []


def test_no_package_cycle():
    units: dict[str, set[str]] = {}
    for m, targets in graph().items():
        units.setdefault(unit_of(m), set()).update(unit_of(t) for t in targets)
    for u, targets in units.items():
        targets.discard(u)
    assert cycles(units) == []


def test_no_private_name_crosses_a_module_border():
    modules = all_modules()
    private = [f"{module_name(p)}:{line} takes {n} from {target}"
               for p in modules.values() for target, names, line in imports_of(p, modules)
               for n in names if n.startswith("_") and not n.startswith("__")]
    assert not private, "\n".join(private)


# The checks above must be able to fail: each is run on a small tree that breaks it.
@pytest.mark.parametrize("edges, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_cycle_finder_finds_cycles(edges, expected):
    assert cycles(edges) == expected


def test_import_reader_sees_relative_function_level_and_private_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "fashiongan"
    (pkg / "metrics").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "metrics" / "__init__.py").write_text("")
    (pkg / "metrics" / "fid.py").write_text("")
    (pkg / "metrics" / "kid.py").write_text(
        "def f():\n    from . import fid\n    from ..cli import _helper\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "SRC", tmp_path)
    modules = {module_name(p): p for p in pkg.rglob("*.py")}
    found = imports_of(pkg / "metrics" / "kid.py", modules)
    assert found == [("fashiongan.metrics.fid", [], 2), ("fashiongan.cli", ["_helper"], 3)]
