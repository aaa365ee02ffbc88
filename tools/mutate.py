"""A small, bounded mutation tester (not part of ``make test``).

Each mutant is a one-node change to one module (a comparison flipped, ``and``/``or`` swapped, a
``not`` dropped, a constant changed, a condition negated, a statement or a return value
removed). The chosen tests run against it in a copy of the repository; the mutant is *killed*
if they fail (or time out), and *survives* if they pass. The score is killed / run.

    python tools/mutate.py --module hooklab/server/guard.py \\
        --tests "tests/test_guard.py tests/test_api_token.py -k 'not notebook'" --max 80

To re-run chosen mutants only (e.g. the survivors of an earlier ``--json`` after adding tests):

    python tools/mutate.py --module hooklab/signatures/_special.py --tests "..." \\
        --only hooklab/signatures/_special.py:198 --only hooklab/signatures/_special.py:609:compare
    python tools/mutate.py --module ... --tests "..." --survivors earlier.json

Bounded: at most ``--max`` mutants (a seeded sample when there are more), each test run at most
``--timeout`` seconds; the repository is never modified (mutants are written to ``--workdir``).
Survivors are listed with their line so they can be read: some are equivalent mutants (a change
no test can see, e.g. in an error message), others are missing tests.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CMP_SWAP: dict[type, type] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE,
    ast.GtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_BIN_SWAP: dict[type, type] = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv,
                               ast.FloorDiv: ast.Mult, ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr}


@dataclass
class Mutant:
    index: int  # position of the node in ast.walk order
    kind: str
    line: int
    text: str  # the original source line


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _kinds(node: ast.AST, docstrings: set[int]) -> list[str]:
    """The mutations that apply to ``node``."""
    out = []
    if isinstance(node, ast.Compare) and type(node.ops[0]) in _CMP_SWAP:
        out.append("compare")
    if isinstance(node, ast.BoolOp):
        out.append("boolop")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append("drop-not")
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN_SWAP:
        out.append("binop")
    if isinstance(node, ast.Constant) and id(node) not in docstrings:
        if isinstance(node.value, bool):
            out.append("bool")
        elif isinstance(node.value, int):
            out.append("int")
        elif isinstance(node.value, str) and node.value:
            out.append("str")
    if isinstance(node, (ast.If, ast.While)):
        out.append("negate-condition")
    if isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        out.append("return-none")
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        out.append("drop-call")
    if isinstance(node, (ast.Assign, ast.AugAssign)) and not isinstance(node, ast.AnnAssign):
        out.append("drop-assign")
    return out


def _apply(node: ast.AST, kind: str) -> ast.AST:
    """The mutated replacement of ``node`` (a copy)."""
    n = copy.deepcopy(node)
    if kind == "compare":
        n.ops[0] = _CMP_SWAP[type(n.ops[0])]()  # type: ignore[attr-defined]
    elif kind == "boolop":
        n.op = ast.Or() if isinstance(n.op, ast.And) else ast.And()  # type: ignore[attr-defined]
    elif kind == "drop-not":
        return n.operand  # type: ignore[attr-defined]
    elif kind == "binop":
        n.op = _BIN_SWAP[type(n.op)]()  # type: ignore[attr-defined]
    elif kind == "bool":
        n.value = not n.value  # type: ignore[attr-defined]
    elif kind == "int":
        n.value = n.value + 1  # type: ignore[attr-defined]
    elif kind == "str":
        n.value = "XX" + n.value + "XX"  # type: ignore[attr-defined]
    elif kind == "negate-condition":
        n.test = ast.UnaryOp(op=ast.Not(), operand=n.test)  # type: ignore[attr-defined]
    elif kind == "return-none":
        n.value = ast.Constant(value=None)  # type: ignore[attr-defined]
    elif kind in ("drop-call", "drop-assign"):
        return ast.Pass()
    return n


class _Replace(ast.NodeTransformer):
    def __init__(self, target: int, kind: str) -> None:
        self.target, self.kind, self.i = target, kind, -1

    def visit(self, node: ast.AST) -> ast.AST:
        self.i += 1
        if self.i == self.target:
            return _apply(node, self.kind)
        return self.generic_visit(node)


def _annotations(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = node.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        return [a.annotation for a in every if a is not None and a.annotation is not None] + (
            [node.returns] if node.returns is not None else [])
    if isinstance(node, ast.AnnAssign):
        return [node.annotation]
    return []


def mutants(source: str) -> list[Mutant]:
    tree = ast.parse(source)
    docs = _docstring_ids(tree)
    lines = source.splitlines()
    out = []
    # the same pre-order the transformer visits in
    order: list[ast.AST] = []

    skip: set[int] = set()

    annotations = {id(a) for n in ast.walk(tree) for a in _annotations(n)}

    def walk(node: ast.AST, skipped: bool = False) -> None:
        order.append(node)
        # __all__ is checked by tests/test_layout.py, not by behaviour, and annotations are
        # never evaluated (from __future__ import annotations): leave them alone
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            skipped = True
        if id(node) in annotations:
            skipped = True
        if skipped:
            skip.add(len(order) - 1)
        for child in ast.iter_child_nodes(node):
            walk(child, skipped)

    walk(tree)
    for i, node in enumerate(order):
        if i in skip:
            continue
        line = getattr(node, "lineno", 0)
        text = lines[line - 1].strip() if line else ""
        if text.startswith(("__all__", "log", "_log")) or "noqa: mutate" in text:
            continue
        for kind in _kinds(node, docs):
            out.append(Mutant(i, kind, line, text))
    return out


def mutate(source: str, m: Mutant) -> str:
    tree = ast.parse(source)
    new = _Replace(m.index, m.kind).visit(tree)
    ast.fix_missing_locations(new)
    return ast.unparse(new)


def _run(workdir: Path, tests: list[str], timeout: float) -> bool:
    """True if the tests pass."""
    env = {**os.environ, "PYTHONPATH": str(workdir), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        r = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=workdir, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--module", action="append", required=True, help="module file (repeatable)")
    p.add_argument("--tests", required=True, help="pytest arguments, one string")
    p.add_argument("--max", type=int, default=60, help="most mutants to run (all modules)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per test run")
    p.add_argument("--workdir", default="/tmp/hooklab-mutate", help="scratch copy of the repo")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--only", action="append", default=[], metavar="MODULE:LINE[:KIND]",
                   help="run only the mutants on this line (of this kind); repeatable")
    p.add_argument("--survivors", metavar="JSON",
                   help="run only the mutants that survived in this earlier --json output")
    args = p.parse_args(argv)
    args.tests = shlex.split(args.tests)
    only = {tuple(o.split(":")) for o in args.only}
    if args.survivors:
        earlier = json.loads(Path(args.survivors).read_text())["results"]
        # the node's index picks the very mutant; without it (older output), its line and kind
        only |= {(r["module"], str(r["line"]), r["kind"], *(
            [str(r["index"])] if "index" in r else [])) for r in earlier if not r["killed"]}

    work = Path(args.workdir)
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(REPO, work, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", ".hooklab", "test-artifacts", "*.egg-info"))
    if not _run(work, args.tests, args.timeout):
        print("the tests fail on the unmutated code: nothing to measure", file=sys.stderr)
        return 2
    pool = []
    for module in args.module:
        source = (REPO / module).read_text()
        pool += [(module, source, m) for m in mutants(source)]
    if only:
        pool = [x for x in pool if (x[0], str(x[2].line)) in only
                or (x[0], str(x[2].line), x[2].kind) in only
                or (x[0], str(x[2].line), x[2].kind, str(x[2].index)) in only]
    total = len(pool)
    random.Random(args.seed).shuffle(pool)
    pool = sorted(pool[: args.max], key=lambda x: (x[0], x[2].line))
    results = []
    t0 = time.monotonic()
    for module, source, m in pool:
        target = work / module
        try:
            target.write_text(mutate(source, m))
            killed = not _run(work, args.tests, args.timeout)
        finally:
            target.write_text(source)
        results.append({"module": module, "line": m.line, "kind": m.kind, "index": m.index,
                        "code": m.text, "killed": killed})
        print(f"{'killed  ' if killed else 'SURVIVED'} {module}:{m.line} {m.kind:16} {m.text[:70]}",
              flush=True)
    killed = sum(r["killed"] for r in results)
    print(f"\n{killed}/{len(results)} mutants killed ({100 * killed / max(1, len(results)):.0f}%), "
          f"{len(results)} run of {total} possible, {time.monotonic() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"total": total, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
