"""The package's layers import downward only (``docs/architecture.md``).

Every ``collectsim`` module's imports are read from its source (``ast``): a module imports
only modules of its own layer or of lower ones; the subpackages form a DAG; no import of a
collectsim module hides inside a function unless its line says it is lazy for start-up
time; the command line imports only the public API; the independent checks in
``validation/`` never import the engine they check.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "collectsim"

#: layer of each part, lowest first (docs/architecture.md)
LAYERS: dict[str, int] = {
    "collectsim.errors": 0,
    "collectsim.kernels": 0,
    "collectsim.userfiles": 0,
    "collectsim.lazy": 0,
    "collectsim.vocabulary": 1,
    "collectsim.scenario": 2,
    "collectsim.history": 2,
    "collectsim.streams": 3,
    "collectsim.policies": 4,
    "collectsim.compliance": 4,
    "collectsim.agents": 5,
    "collectsim.validation": 5,
    "collectsim.model": 6,
    "collectsim.results": 7,
    "collectsim.experiments": 8,
    "collectsim.reports": 9,
    "collectsim.api": 10,
    "collectsim.app": 11,
    "collectsim.cli": 12,
    "collectsim.__main__": 12,
}
#: what the independent checks may use: the data they check against, never the engine
VALIDATION_MAY_IMPORT = ("collectsim.errors", "collectsim.vocabulary", "collectsim.scenario", "collectsim.policies",
                         "collectsim.validation", "collectsim.kernels")


def _modules() -> dict[str, Path]:
    out = {}
    for f in PKG.rglob("*.py"):
        rel = f.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _part(module: str) -> str:
    """The layered part a module belongs to (longest prefix in LAYERS)."""
    best = ""
    for p in LAYERS:
        if (module == p or module.startswith(p + ".")) and len(p) > len(best):
            best = p
    return best


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported collectsim module, line, inside a function) for every import in ``path``."""
    tree = ast.parse(path.read_text())
    out: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool, in_type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            fn = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            tc = in_type_checking or (
                isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING"
            )
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0 and not tc:
                base = child.module
                if base.startswith("collectsim"):
                    for alias in child.names:
                        full = f"{base}.{alias.name}"
                        out.append((full if full in MODULES else base, child.lineno, fn))
            elif isinstance(child, ast.Import) and not tc:
                for alias in child.names:
                    if alias.name.startswith("collectsim"):
                        out.append((alias.name, child.lineno, fn))
            visit(child, fn, tc)

    visit(tree, False, False)
    return out


EDGES = [(m, imp, line, fn) for m, f in MODULES.items() for imp, line, fn in _imports(f)]


def test_every_module_belongs_to_a_layer():
    assert [m for m in MODULES if m != "collectsim" and not _part(m)] == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "collectsim"))
def test_imports_go_downward_only(module):
    here = LAYERS[_part(module)]
    up = [(imp, line) for m, imp, line, _ in EDGES if m == module and imp != "collectsim"
          and LAYERS[_part(imp)] > here]
    assert not up, f"{module} imports a higher layer: {up}"


def test_subpackages_form_a_dag():
    graph: dict[str, set[str]] = {}
    for m, imp, _, _ in EDGES:
        a, b = _part(m), _part(imp)
        if a and b and a != b:
            graph.setdefault(a, set()).add(b)
    seen, stack = set(), []

    def visit(n: str) -> None:
        assert n not in stack, f"import cycle: {' -> '.join(stack + [n])}"
        if n in seen:
            return
        stack.append(n)
        for nxt in graph.get(n, ()):
            visit(nxt)
        stack.pop()
        seen.add(n)

    for n in list(graph):
        visit(n)


def test_no_function_level_import_dodges_a_circle():
    hidden = []
    for m, _, line, fn in EDGES:
        if fn:
            text = MODULES[m].read_text().splitlines()[line - 1]
            if "lazy" not in text:
                hidden.append(f"{m}:{line}: {text.strip()}")
    assert not hidden, "imports inside functions (mark `# lazy: start-up time` if that is why):\n" + "\n".join(hidden)


def test_the_command_line_imports_only_the_public_api():
    bad = []
    for m, imp, line, _ in EDGES:
        if _part(m) in ("collectsim.cli", "collectsim.__main__") and _part(imp) != "collectsim.cli":
            public = imp == "collectsim" or (imp.count(".") == 1 and imp in MODULES and MODULES[imp].name == "__init__.py")
            if not public:
                bad.append(f"{m}:{line} imports {imp}")
    assert not bad, bad


def test_the_independent_checks_never_import_the_engine():
    bad = [(m, imp) for m, imp, _, _ in EDGES if _part(m) == "collectsim.validation"
           and not imp.startswith(VALIDATION_MAY_IMPORT)]
    assert not bad, bad


def import_table() -> str:
    """Which part imports which (Markdown), as docs/architecture.md shows it."""
    parts = sorted({p for p in LAYERS}, key=lambda p: (LAYERS[p], p))
    uses: dict[str, set[str]] = {p: set() for p in parts}
    for m, imp, _, _ in EDGES:
        a, b = _part(m), _part(imp)
        if a and b and a != b:
            uses[a].add(b)
    short = {p: p.removeprefix("collectsim.") for p in parts}
    rows = ["| layer | part | imports |", "| ---: | --- | --- |"]
    for p in parts:
        deps = ", ".join(short[d] for d in sorted(uses[p], key=lambda d: (LAYERS[d], d))) or "—"
        rows.append(f"| {LAYERS[p]} | `{short[p]}` | {deps} |")
    return "\n".join(rows) + "\n"


def test_the_architecture_doc_shows_the_actual_imports():
    doc = (PKG.parent / "docs" / "architecture.md").read_text()
    assert import_table() in doc, "docs/architecture.md: paste the output of python -m tests.test_architecture"


if __name__ == "__main__":
    print(import_table(), end="")


def test_lazy_exports_are_not_shadowed_by_submodules():
    """A package's lazily exported name must not also be one of its submodules: importing the
    submodule would replace the exported function by the module."""
    import importlib
    import types

    names = sorted(m for m in MODULES if not m.endswith("__main__"))
    for name in names:
        importlib.import_module(name)
    clashes = []
    for name in names:
        mod = importlib.import_module(name)
        for export in getattr(mod, "_EXPORTS", {}):
            if export != "__version__" and isinstance(getattr(mod, export), types.ModuleType):
                clashes.append(f"{name}.{export}")
    assert not clashes, clashes
