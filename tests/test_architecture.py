"""The packages' layering, checked by reading the source (nothing is imported).

The layers are read from the drawings in docs/architecture.md (xero_panel) and
docs/emulator.md (xero_emulator), so the drawings and the checks cannot drift apart: every
module must sit in exactly one of its layers, imports point down only, there is no import
cycle, and the layers marked "(no Flask)" never import Flask. Imports are read from the AST
wherever they are: at module level, inside functions and under ``if TYPE_CHECKING:`` (a
type-only import is still an arrow from one module to another). Relative imports are
resolved, and ``from . import x`` counts as an import of the submodule ``x`` when there is
one.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PANEL = ROOT / "xero_panel"
EMULATOR = ROOT / "emulator" / "xero_emulator"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
EMULATOR_DOCS = ROOT / "docs" / "emulator.md"
MAX_LINES = 400
#: Flask, its extensions (``flask_*``) and its toolkits.
FLASK = ("flask", "werkzeug", "htmx_flask")


@dataclass(frozen=True)
class Import:
    target: str  # absolute dotted name: a module of the package, or an outside name
    line: int


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    imports: tuple[Import, ...]

    @property
    def where(self) -> str:
        inside = self.path.is_relative_to(ROOT)
        return self.path.relative_to(ROOT).as_posix() if inside else str(self.path)


Edges = dict[str, dict[str, Import]]


def read_package(package_dir: Path) -> dict[str, Module]:
    """Every module of the package at ``package_dir``, by dotted name."""
    paths = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return {
        name: Module(name, path, tuple(sorted(read_imports(path, name, set(paths)), key=line)))
        for name, path in paths.items()
    }


def line(imp: Import) -> int:
    return imp.line


def read_imports(path: Path, name: str, known: set[str]) -> Iterable[Import]:
    """What the module imports: ``from a import b`` is an import of ``a.b`` when that is
    a module of the package, else of ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (Import(alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join([*parent, node.module] if node.module else parent)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield Import(submodule if submodule in known else base, node.lineno)


def internal_edges(modules: dict[str, Module]) -> Edges:
    """module -> {module of the same package it imports -> its first import of it}."""
    edges: Edges = {name: {} for name in modules}
    for module in modules.values():
        for imp in module.imports:
            if imp.target in modules and imp.target != module.name:
                edges[module.name].setdefault(imp.target, imp)
    return edges


def reachable(edges: Edges, source: str, within: set[str] | None = None) -> dict[str, str]:
    """Every module ``source`` reaches, nearest first, each mapped to the module it is
    reached from (breadth first, so the paths are shortest)."""
    queue, previous = deque([source]), {source: source}
    while queue:
        current = queue.popleft()
        for nxt in sorted(edges[current]):
            if nxt not in previous and (within is None or nxt in within):
                previous[nxt] = current
                queue.append(nxt)
    return previous


def path_to(previous: dict[str, str], target: str) -> list[str]:
    path = [target]
    while previous[path[-1]] != path[-1]:
        path.append(previous[path[-1]])
    return path[::-1]


def cycles(edges: Edges) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (the strongly
    connected components of more than one module), each sorted."""
    found: list[list[str]] = []
    for start in sorted(edges):
        if any(start in group for group in found):
            continue
        group = sorted(m for m in reachable(edges, start) if start in reachable(edges, m))
        if len(group) > 1:
            found.append(group)
    return found


def describe(group: list[str], modules: dict[str, Module], edges: Edges) -> str:
    """The group, its shortest cycle through its first module, and every import inside it
    (the arrows to cut)."""
    start, inside = group[0], set(group)
    back = [path_to(reachable(edges, n, inside), start) for n in edges[start] if n in inside]
    arrows = [
        f"\n    {a} -> {b} ({modules[a].where}:{edges[a][b].line})"
        for a in group
        for b in sorted(edges[a])
        if b in inside
    ]
    return (
        f"import cycle among {len(group)} modules: {', '.join(group)}"
        f"\n  shortest: {' -> '.join([start, *min(back, key=len)])}"
        "\n  imports inside the cycle:" + "".join(arrows)
    )


@dataclass(frozen=True)
class Layer:
    """One box of the drawing: its label (``core (no Flask)``) and the files and folders
    it names (``panel/``, ``oauth.py``, ``web/admin_*routes.py``), relative to the package."""

    label: str
    names: tuple[str, ...]

    @property
    def flask_free(self) -> bool:
        return "(no Flask)" in self.label

    def holds(self, where: str) -> bool:
        """Whether the module at ``where`` (``sync/engine.py``) belongs here: a folder holds
        every module below it; a module or pattern holds the modules it matches."""
        return any(
            where.startswith(name) if name.endswith("/") else fnmatchcase(where, name)
            for name in self.names
        )

    def holds_any(self, wheres: Iterable[str]) -> bool:
        return any(self.holds(where) for where in wheres)


#: A file or folder the drawing names: ``oauth.py``, ``web/csrf.py``, ``panel/``.
NAMED = re.compile(r"(?<![\w/.])[a-z_]+(?:/[a-z_*]+)*(?:/|\.py)")


def read_layers(text: str) -> list[Layer]:
    """The layers of the first ``text`` drawing in ``text``, top first. A layer is the
    rows between two rules; its label is what stands left of the box."""
    match = re.search(r"^```text\n(.*?)^```", text, re.S | re.M)
    assert match, "no ```text drawing of the layers in the docs"
    layers: list[Layer] = []
    label: list[str] = []
    inside: list[str] = []
    for row in [*match.group(1).splitlines(), ""]:
        if row.count("│") == 2:
            left, middle, _ = row.split("│")
            label += [left.strip()] if left.strip() else []
            inside.append(middle)
        elif inside:
            layers.append(Layer(" ".join(label), tuple(NAMED.findall(" ".join(inside)))))
            label, inside = [], []
    return layers


def layer_of(module: Module, layers: list[Layer], package_dir: Path) -> list[int]:
    """The indexes (0 = top) of the layers that hold ``module``; one, when the drawing is
    right. A module in a folder the drawing names only file by file (``web/``) belongs to
    the layer that names files of that folder."""
    where = module.path.relative_to(package_dir).as_posix()
    found = [i for i, layer in enumerate(layers) if layer.holds(where)]
    folder = where.rpartition("/")[0] + "/"
    if not found and folder != "/":
        found = [
            i for i, layer in enumerate(layers) if any(n.startswith(folder) for n in layer.names)
        ]
    return found


def is_flask(target: str) -> bool:
    top = target.split(".")[0]
    return top in FLASK or top.startswith("flask_")


def flask_chain(modules: dict[str, Module], edges: Edges, name: str) -> str:
    """How importing ``name`` brings Flask in (shortest way), or "" when it does not."""
    previous = reachable(edges, name)
    for reached in previous:
        flask = [imp for imp in modules[reached].imports if is_flask(imp.target)]
        if flask:
            chain = " -> ".join([*path_to(previous, reached), flask[0].target])
            return f"{chain} ({modules[reached].where}:{flask[0].line})"
    return ""


def fail_on(found: list[str], header: str) -> None:
    if found:
        pytest.fail(header + "\n" + "\n".join(found), pytrace=False)


PANEL_MODULES = read_package(PANEL)
PANEL_EDGES = internal_edges(PANEL_MODULES)
EMULATOR_MODULES = read_package(EMULATOR)
EMULATOR_EDGES = internal_edges(EMULATOR_MODULES)
LAYERS = read_layers(ARCHITECTURE.read_text(encoding="utf-8"))
EMULATOR_LAYERS = read_layers(EMULATOR_DOCS.read_text(encoding="utf-8"))


def placement_errors(
    modules: dict[str, Module], layers: list[Layer], package: Path, docs: str
) -> list[str]:
    """Modules of ``package`` in no layer of the drawing in ``docs`` or in several, and names
    the drawing gives that are no module."""
    found = [
        f"{module.where}: in {len(where)} layers of {docs}"
        f"{': ' if where else ''}{', '.join(layers[i].label for i in where)}"
        for name, module in modules.items()
        if name != package.name and len(where := layer_of(module, layers, package)) != 1
    ]
    paths = [module.path.relative_to(package).as_posix() for module in modules.values()]
    found += [
        f"{docs} names {name} ({layer.label}), which is no module of {package.name}"
        for layer in layers
        for name in layer.names
        if not Layer("", (name,)).holds_any(paths)
    ]
    return found


def test_no_import_cycle_in_xero_panel() -> None:
    found = [describe(group, PANEL_MODULES, PANEL_EDGES) for group in cycles(PANEL_EDGES)]
    fail_on(found, "xero_panel's imports must point down only, with no cycle:")


def test_no_import_cycle_in_xero_emulator() -> None:
    found = [describe(group, EMULATOR_MODULES, EMULATOR_EDGES) for group in cycles(EMULATOR_EDGES)]
    fail_on(found, "xero_emulator's imports must point one way, with no cycle:")


def test_emulator_layers_hold() -> None:
    """Every module of xero_emulator sits in one layer of docs/emulator.md's drawing (the
    public Emulator on top, then the server, the URL map, the views, the backend, the
    models), and its imports point down them only."""
    docs, package = "docs/emulator.md", EMULATOR
    found = placement_errors(EMULATOR_MODULES, EMULATOR_LAYERS, package, docs)
    level = {
        name: where[0]
        for name, module in EMULATOR_MODULES.items()
        if len(where := layer_of(module, EMULATOR_LAYERS, package)) == 1
    }
    found += [
        f"{EMULATOR_MODULES[name].where}:{imp.line} ({EMULATOR_LAYERS[level[name]].label})"
        f" imports {target} ({EMULATOR_LAYERS[level[target]].label})"
        for name, targets in EMULATOR_EDGES.items()
        for target, imp in targets.items()
        if name in level and target in level and level[target] < level[name]
    ]
    assert len(EMULATOR_LAYERS) >= 6, f"too few layers read from {docs}: {EMULATOR_LAYERS}"
    fail_on(found, f"xero_emulator and the layers drawn in {docs} disagree:")


def test_no_module_over_400_lines() -> None:
    sizes = {
        module.where: len(module.path.read_text(encoding="utf-8").splitlines())
        for module in [*PANEL_MODULES.values(), *EMULATOR_MODULES.values()]
    }
    big = [f"{where}: {lines} lines" for where, lines in sorted(sizes.items()) if lines > MAX_LINES]
    fail_on(big, f"modules over {MAX_LINES} lines (split them):")


def test_only_package_init_imports_extension() -> None:
    found = [
        f"{module.where}:{PANEL_EDGES[name]['xero_panel.extension'].line}"
        f" imports xero_panel.extension"
        for name, module in PANEL_MODULES.items()
        if name != "xero_panel" and "xero_panel.extension" in PANEL_EDGES[name]
    ]
    fail_on(found, "only xero_panel/__init__.py may import xero_panel.extension:")


def test_every_module_sits_in_one_layer_of_the_drawing() -> None:
    assert any(layer.flask_free for layer in LAYERS), "no layer marked (no Flask) in the drawing"
    found = placement_errors(PANEL_MODULES, LAYERS, PANEL, "docs/architecture.md")
    fail_on(found, "the layers drawn in docs/architecture.md and the package disagree:")


def test_imports_point_down_only() -> None:
    level = {
        name: where[0]
        for name, module in PANEL_MODULES.items()
        if len(where := layer_of(module, LAYERS, PANEL)) == 1
    }
    found = [
        f"{PANEL_MODULES[name].where}:{imp.line} ({LAYERS[level[name]].label}) imports"
        f" {target} ({LAYERS[level[target]].label})"
        for name, targets in PANEL_EDGES.items()
        for target, imp in targets.items()
        if name in level and target in level and level[target] < level[name]
    ]
    fail_on(found, "imports must point down the layers of docs/architecture.md:")


def test_flask_free_layers_never_import_flask() -> None:
    flask_free = [
        name
        for name, module in PANEL_MODULES.items()
        if any(LAYERS[i].flask_free for i in layer_of(module, LAYERS, PANEL))
    ]
    assert len(flask_free) > 20, f"too few Flask-free modules found: {flask_free}"
    found = [
        f"{name}: {chain}"
        for name in flask_free
        if (chain := flask_chain(PANEL_MODULES, PANEL_EDGES, name))
    ]
    fail_on(
        found,
        "the layers marked (no Flask) in docs/architecture.md must stay Flask-free,"
        " directly or through another module:",
    )


def test_xero_panel_and_the_emulator_never_import_each_other() -> None:
    found = [
        f"{module.where}:{imp.line} imports {imp.target}"
        for modules, other in [(PANEL_MODULES, "xero_emulator"), (EMULATOR_MODULES, "xero_panel")]
        for module in modules.values()
        for imp in module.imports
        if imp.target.split(".")[0] == other
    ]
    fail_on(found, "xero_panel and xero_emulator must not import each other:")


# The walker itself, on a small package made for the purpose.


@pytest.fixture
def walked(tmp_path: Path) -> tuple[dict[str, Module], Edges]:
    files = {
        "pkg/__init__.py": "from .top import Top\n",
        "pkg/top.py": "from . import low\nclass Top: ...\n",
        "pkg/low.py": "def f():\n    from .top import Top\n",
        "pkg/typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from pkg.other import X\n",
        "pkg/other.py": "import pkg.typed\nX = 1\n",
        "pkg/core.py": "from .web import views\n",
        "pkg/web/__init__.py": "",
        "pkg/web/views.py": "from ..low import f\n\nfrom flask import request\n",
        "pkg/plain.py": "from . import core as _\nimport flask_sqlalchemy\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    modules = read_package(tmp_path / "pkg")
    return modules, internal_edges(modules)


def test_walker_finds_cycles_through_function_level_and_type_only_imports(
    walked: tuple[dict[str, Module], Edges], tmp_path: Path
) -> None:
    modules, edges = walked
    assert cycles(edges) == [["pkg.low", "pkg.top"], ["pkg.other", "pkg.typed"]]
    assert describe(["pkg.low", "pkg.top"], modules, edges) == (
        "import cycle among 2 modules: pkg.low, pkg.top"
        "\n  shortest: pkg.low -> pkg.top -> pkg.low"
        "\n  imports inside the cycle:"
        f"\n    pkg.low -> pkg.top ({tmp_path}/pkg/low.py:2)"
        f"\n    pkg.top -> pkg.low ({tmp_path}/pkg/top.py:1)"
    )


def test_walker_follows_flask_through_other_modules(
    walked: tuple[dict[str, Module], Edges], tmp_path: Path
) -> None:
    modules, edges = walked
    assert flask_chain(modules, edges, "pkg.core") == (
        f"pkg.core -> pkg.web.views -> flask ({tmp_path}/pkg/web/views.py:3)"
    )
    assert flask_chain(modules, edges, "pkg.plain") == (
        f"pkg.plain -> flask_sqlalchemy ({tmp_path}/pkg/plain.py:2)"
    )
    assert flask_chain(modules, edges, "pkg") == ""


def test_layers_are_read_from_the_drawing() -> None:
    text = (
        "Prose with a.py in it.\n\n```text\n"
        "       ┌──────────────────────────┐\n"
        " top   │ cli.py  the CLI (x.py)   │\n"
        "       ├──────────────────────────┤\n"
        " web   │ web/a.py, web/b_*.py     │\n"
        "       ├──────────────────────────┤\n"
        " core  │ sync/  Xero -> cache     │\n"
        " (no Flask) │ oauth.py (+mig/)    │\n"
        "       └──────────────────────────┘\n```\n"
    )
    layers = read_layers(text)
    assert layers == [
        Layer("top", ("cli.py", "x.py")),
        Layer("web", ("web/a.py", "web/b_*.py")),
        Layer("core (no Flask)", ("sync/", "oauth.py", "mig/")),
    ]
    assert [layer.flask_free for layer in layers] == [False, False, True]

    def at(where: str) -> list[int]:
        return layer_of(Module("m", Path("/p") / where, ()), layers, Path("/p"))

    assert at("web/b_routes.py") == [1]
    assert at("web/other.py") == [1]  # a folder named file by file
    assert at("sync/engine.py") == [2]
    assert at("mig/versions/one.py") == [2]
    assert at("stray.py") == []
