"""Nothing under ``garment_transfer.data`` imports in a circle: the import graph of ``src/garment_transfer/data``, read
from the source with ``ast`` (every import statement, those inside functions too, so none can dodge a cycle), has no
cycle; and the cycle finder finds one planted in a folder."""

from __future__ import annotations

import ast
from pathlib import Path

import garment_transfer.data

DATA = Path(garment_transfer.data.__file__).parent


def module_names(folder: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file of every module under ``folder``, the package ``package`` (``__init__.py`` is the
    package itself)."""
    names = {}
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).with_suffix("").parts
        names[".".join((package, *parts[:-1]) if parts[-1] == "__init__" else (package, *parts))] = path
    return names


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` (the file ``path``) imports anywhere in its code. ``from X import
    y`` imports ``X.y`` when that is a module, else ``X``; relative imports are resolved against the package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names}
    return found & known


def import_graph(folder: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same folder it imports."""
    names = module_names(folder, package)
    return {name: imports_of(name, path, set(names)) for name, path in names.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as the modules along it, the first one repeated at the end; None when there is none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, path + [node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_the_data_package_imports_in_no_circle():
    graph = import_graph(DATA, "garment_transfer.data")
    assert "garment_transfer.data.formats.registry" in graph["garment_transfer.data.readers"], "the graph is read"
    assert {"garment_transfer.data.formats.base", "garment_transfer.data.io"} <= graph[
        "garment_transfer.data.formats.canonical"
    ]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_each_format_module_keeps_to_its_layout():
    """A format module may build on the base, the canonical layout (the exporters' source) and the exporters'
    helpers, never on another real layout, the registry or the public entry points."""
    graph = import_graph(DATA, "garment_transfer.data")
    formats = "garment_transfer.data.formats."
    allowed = {f"{formats}{name}" for name in ("base", "canonical", "export", "pairs")}
    for name in ("dresscode", "viton", "cpvton", "gpvton"):
        inside = {target for target in graph[formats + name] if target.startswith("garment_transfer.data.formats")}
        assert inside <= allowed, f"{name} imports {sorted(inside - allowed)}"
    entry_points = {f"garment_transfer.data.{name}" for name in ("readers", "detect", "check", "datamodule")}
    assert not any(graph[name] & entry_points for name in graph if name.startswith(formats))


def test_the_cycle_finder_finds_a_planted_cycle(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg import a\n")  # a package importing its module is no cycle
    (package / "a.py").write_text("import os\nfrom pkg.sub import b\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("from .c import value\n")
    (package / "sub" / "c.py").write_text("def late():\n    from ..a import thing\n")
    graph = import_graph(package, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.sub.c"}
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.sub.c", "pkg.a"]
    (package / "sub" / "c.py").write_text("value = 1\n")
    assert find_cycle(import_graph(package, "pkg")) is None
