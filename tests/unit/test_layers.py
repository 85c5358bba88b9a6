"""Imports point one way (docs/architecture.md): a new upward or circular import fails here.

Every module under ``ironwal_cli/`` is parsed (ast, nothing imported) and each ``import`` of the
package, at the top or inside a function, is checked against the order of the layers:

    errors, fdio < spec < engine < sharded < audit < ops < the API (ironwal_cli/__init__) < cli

A module may import its own package and any lower layer; ``cli`` may not reach past ``ops`` into
``engine`` or ``audit`` (what it needs of them, it gets from ``ops`` or the API). Inside ``engine``
the rooms have an order of their own: ``seams`` < ``store`` < ``frames`` < ``reader`` < ``repair``
< ``writer`` (the writer cuts its own torn tail through repair). No two packages (or rooms) may
import each other in a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ironwal_cli

PACKAGE = Path(ironwal_cli.__file__).parent
LAYERS = ["errors", "fdio", "spec", "engine", "sharded", "audit", "ops", "", "cli", "__main__"]
# "" is the package itself: ironwal_cli/__init__.py, the public API (``from .. import WriteOptions``).
ROOMS = ["seams", "store", "frames", "reader", "repair", "writer"]
CLI_MAY_NOT_REACH = {"engine", "audit"}


def _module_name(path: Path) -> tuple[str, ...]:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path, source: str | None = None) -> list[tuple[int, tuple[str, ...]]]:
    """(line, imported module) for every import of the package in ``path`` (or in ``source``, as if
    it were that file): ``from X import y`` counts as an import of X.y when X.y is a module, else of X."""
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text() if source is None else source, str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, tuple(a.name.split("."))) for a in node.names
                      if a.name.split(".")[0] == "ironwal_cli"]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else ()
            target = base + (tuple(node.module.split(".")) if node.module else ())
            if target[:1] != ("ironwal_cli",):
                continue
            for alias in node.names:
                sub = target + (alias.name,)
                is_module = PACKAGE.parent.joinpath(*sub).with_suffix(".py").exists() or \
                    PACKAGE.parent.joinpath(*sub, "__init__.py").exists()
                found.append((node.lineno, sub if is_module else target))
    return found


def _layer(module: tuple[str, ...]) -> str:
    return module[1] if len(module) > 1 else ""


def _room(module: tuple[str, ...]) -> str | None:
    return module[2] if len(module) > 2 and module[1] == "engine" else None


def _all_imports():
    for path in sorted(PACKAGE.rglob("*.py")):
        me = _module_name(path)
        for line, target in _imports(path):
            yield path, line, me, target


def test_every_package_and_room_has_a_place_in_the_order():
    for path in PACKAGE.rglob("*.py"):
        me = _module_name(path)
        assert _layer(me) in LAYERS, f"{path}: {_layer(me)!r} is in no layer of test_layers.LAYERS"
        if _layer(me) == "engine" and len(me) > 2:
            assert _room(me) in ROOMS, f"{path}: {_room(me)!r} is in no room of test_layers.ROOMS"


def wrong_way(me: tuple[str, ...], target: tuple[str, ...]) -> str | None:
    """Why module ``me`` may not import ``target``, or None when it may."""
    src, dst = _layer(me), _layer(target)
    if dst not in LAYERS:
        return "not in any layer"
    if LAYERS.index(dst) > LAYERS.index(src):
        return f"{src or 'ironwal_cli'} may not import the layer above it, {dst or 'ironwal_cli'}"
    if src == "cli" and dst in CLI_MAY_NOT_REACH:
        return f"cli reaches past ops into {dst}"
    if src == dst == "engine" and _room(me) and _room(target) and ROOMS.index(_room(target)) > ROOMS.index(_room(me)):
        return f"engine/{_room(me)} may not import engine/{_room(target)}"
    return None


def test_imports_point_down_the_layers():
    bad = [f"{path.relative_to(PACKAGE.parent)}:{line} imports {'.'.join(target)}: {why}"
           for path, line, me, target in _all_imports() if (why := wrong_way(me, target))]
    assert bad == []


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _package_graph() -> dict[str, set[str]]:
    """Package (or engine room) -> the packages it imports, the package's own __init__ left out."""
    def unit(module):
        return ".".join(module[1:3]) if _layer(module) == "engine" and len(module) > 2 else _layer(module)
    graph: dict[str, set[str]] = {}
    for _path, _line, me, target in _all_imports():
        if unit(me) != unit(target) and unit(target) != "" and unit(me) != "":
            graph.setdefault(unit(me), set()).add(unit(target))
    return graph


def test_no_packages_import_each_other_in_a_circle():
    assert _cycle(_package_graph()) is None


def test_the_checks_catch_what_they_are_for():
    """The checks above are not vacuous: each kind of wrong import, and a cycle, is found."""
    files = PACKAGE / "engine" / "store" / "files.py"
    me = _module_name(files)
    parsed = _imports(files, "from ...ops.read import read_batches\nfrom ..repair import undo\n"
                             "def f():\n    from . import locks\n    from ...errors import FormatError\n")
    assert parsed == [(1, ("ironwal_cli", "ops", "read")), (2, ("ironwal_cli", "engine", "repair", "undo")),
                      (4, ("ironwal_cli", "engine", "store", "locks")), (5, ("ironwal_cli", "errors"))]
    assert [wrong_way(me, t) is not None for _, t in parsed] == [True, True, False, False]
    cli = ("ironwal_cli", "cli", "read")
    assert wrong_way(cli, ("ironwal_cli", "engine", "store", "files")) == "cli reaches past ops into engine"
    assert wrong_way(cli, ("ironwal_cli", "ops", "read")) is None
    assert wrong_way(("ironwal_cli", "sharded", "repair"), ("ironwal_cli", "audit", "kinds")) is not None
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None
    assert {"spec", "engine.store"} <= _package_graph()["engine.frames"]  # built from the real imports
