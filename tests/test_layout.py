"""The package's layout: one dependency order, no import circles, public names per layer.

Imports inside functions count too (a circle hidden in a function is still a circle); only
``if TYPE_CHECKING:`` blocks are left out, since they never run. A string that is exactly the
name of one of hooklab's modules counts as an import of it (``importlib.import_module(name)``,
or a helper process told which module to run, is an import all the same).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import hooklab

ROOT = Path(hooklab.__file__).parent

#: each layer may import only from layers listed before it (the README's "Development" section draws them)
LAYERS = [
    {"hooklab._version", "hooklab.jsonread", "hooklab.capture", "hooklab.filters",
     "hooklab.credentials", "hooklab.formdata", "hooklab._secretlike", "hooklab._program",
     "hooklab._pathbin"},
    {"hooklab.providers"},
    {"hooklab.signatures"},
    {"hooklab.store"},
    {"hooklab.server"},
    {"hooklab.outbound"},
    {"hooklab.frame", "hooklab.explore"},
    {"hooklab.export"},
    {"hooklab.widget"},
    {"hooklab.ingress"},
    {"hooklab.core"},
    {"hooklab.magics", "hooklab.cli", "hooklab.pytest_plugin", "hooklab.ws", "hooklab.serverext",
     "hooklab.latency"},
]


#: calls that go up a layer without making a circle, each with its reason
UPWARD = {
    # Capture.verify() is the public contract's shortcut for hooklab.verify_signature(...);
    # signatures never import capture, so this stays a one-way edge.
    ("hooklab.capture", "hooklab.signatures"),
}


def _modules() -> dict[str, Path]:
    found = {"hooklab": ROOT / "__init__.py"}
    for info in pkgutil.walk_packages([str(ROOT)], "hooklab."):
        rel = info.name.split(".")[1:]
        path = ROOT.joinpath(*rel)
        found[info.name] = path / "__init__.py" if info.ispkg else path.with_suffix(".py")
    return found


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def add(target: str) -> None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if (isinstance(child, ast.Constant) and isinstance(child.value, str)
                    and child.value != "hooklab" and child.value in modules):
                add(child.value)  # a module named by its name, imported later
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("hooklab"):
                        add(alias.name)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                if mod.startswith("hooklab"):
                    for alias in child.names:  # `from . import x` may name a submodule
                        sub = f"{mod}.{alias.name}"
                        add(sub if sub in modules else mod)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
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

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def _layer(module: str) -> int | None:
    for i, layer in enumerate(LAYERS):
        if any(module == top or module.startswith(top + ".") for top in layer):
            return i
    return None


def test_no_import_circles():
    assert _cycles(_graph()) == []


def test_cycle_finder_finds_a_hidden_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_a_module_named_in_a_string_counts_as_an_import(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('TASK = ("hooklab.export.jsonl", "prepare_range")\n'
                    'NOTE = "hooklab.export.jsonl is not a whole string here"\n'
                    'def f():\n    return __import__("hooklab.widget")\n')
    assert _imports("hooklab.store.m", path, _modules()) == {"hooklab.export.jsonl", "hooklab.widget"}


def test_layers_import_only_downwards():
    wrong = []
    for module, targets in _graph().items():
        mine = _layer(module)
        if mine is None:
            continue
        for t in targets:
            theirs = _layer(t)
            if (module, t) in UPWARD:
                continue
            if t == "hooklab" or (theirs is not None and theirs > mine):
                wrong.append(f"{module} -> {t}")
    assert wrong == []


def test_every_module_has_a_layer():
    assert [m for m in _modules() if m != "hooklab" and _layer(m) is None] == []


def test_no_module_named_http_or_lab():
    names = {m.rpartition(".")[2] for m in _modules()}
    assert not names & {"http", "lab"}


def test_public_names_exist():  # order is ruff's RUF022
    for name in _modules():
        mod = importlib.import_module(name) if not name.endswith("serverext") else None
        if mod is None or not hasattr(mod, "__all__"):
            continue
        missing = [n for n in mod.__all__ if not hasattr(mod, n)]
        assert missing == [], f"{name}.__all__ names what it does not define: {missing}"


def test_private_names_stay_in_their_subpackage():
    """A private name (``_x``), or any name of a private module (``store._sql``), is imported
    only inside its own subpackage: relative imports and absolute ones (``from
    hooklab.store._sql import x``, ``import hooklab.store._sql``) alike."""
    assert _private_crossings(_modules()) == []


def _private_crossings(modules: dict[str, Path]) -> list[str]:
    crossing = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        top_me = ".".join(name.split(".")[:2])
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hooklab"):
                source = node.module or ""
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "hooklab" and ".".join(parts[:2]) != top_me and any(
                            p.startswith("_") and not p.startswith("__") for p in parts[2:]):
                        crossing.append(f"{name} imports {alias.name}")
                continue
            else:
                continue
            top_src = ".".join(source.split(".")[:2])
            if top_src == top_me:
                continue
            inner = source.split(".")[2:]  # (a private module of another subpackage)
            private_module = any(p.startswith("_") and not p.startswith("__") for p in inner)
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private or private_module:
                    crossing.append(f"{name} imports {source}.{alias.name}")
    return crossing


def test_the_private_names_check_sees_every_spelling(tmp_path):
    """The check above once looked at relative imports only: absolute ones passed unseen."""
    fake = tmp_path / "m.py"
    fake.write_text("from hooklab.store._sql import where_clause\n"
                    "from hooklab.server import _x\n"
                    "import hooklab.widget._render\n"
                    "from ..store._columns import read\n"
                    "from hooklab.store import CaptureStore\n")
    assert _private_crossings({"hooklab.export.m": fake}) == [
        "hooklab.export.m imports hooklab.store._sql.where_clause",
        "hooklab.export.m imports hooklab.server._x",
        "hooklab.export.m imports hooklab.widget._render",
        "hooklab.export.m imports hooklab.store._columns.read",
    ]
